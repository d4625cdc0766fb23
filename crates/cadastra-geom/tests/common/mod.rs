//! Test support: JTS/GEOS XML test files, a WKT and hex-WKB reader that keeps what
//! `geo_types` cannot hold (EMPTY points, unclosed rings, LINEARRING, NaN), and conversion to
//! `geo_types` where possible.
#![allow(dead_code)] // each test binary uses a different part of this module

pub mod grid;

use geo_types::{
    Coord, Geometry, GeometryCollection, LineString, MultiLineString, MultiPoint, MultiPolygon,
    Point, Polygon,
};
use std::path::{Path, PathBuf};

/// The peer-test folder, relative to this crate; panics loudly if it is missing.
pub fn peer_dir(sub: &str) -> PathBuf {
    let p = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/peer-tests"
    ))
    .join(sub);
    assert!(
        p.is_dir(),
        "peer-test folder {} is missing: these tests need /work/shared/peer-tests",
        p.display()
    );
    p
}

/// A geometry as written in the test file.
#[derive(Debug, Clone)]
pub enum G {
    Point(Option<Coord>),
    Line(Vec<Coord>),
    Ring(Vec<Coord>),
    Poly(Vec<Vec<Coord>>),
    MultiPoint(Vec<Option<Coord>>),
    MultiLine(Vec<Vec<Coord>>),
    MultiPoly(Vec<Vec<Vec<Coord>>>),
    Collection(Vec<G>),
}

impl G {
    /// `geo_types` form; `None` when it would change the geometry (unclosed rings, LINEARRING).
    pub fn to_geo(&self) -> Option<Geometry<f64>> {
        fn closed(r: &[Coord]) -> bool {
            r.is_empty() || r.first() == r.last()
        }
        fn poly(rings: &[Vec<Coord>]) -> Option<Polygon<f64>> {
            if !rings.iter().all(|r| closed(r)) {
                return None;
            }
            let mut it = rings.iter();
            let shell = it.next().cloned().unwrap_or_default();
            Some(Polygon::new(
                LineString(shell),
                it.map(|r| LineString(r.clone())).collect(),
            ))
        }
        Some(match self {
            G::Point(None) => Geometry::GeometryCollection(GeometryCollection(vec![])),
            G::Point(Some(c)) => Geometry::Point(Point(*c)),
            G::Line(l) => Geometry::LineString(LineString(l.clone())),
            G::Ring(_) => return None,
            G::Poly(r) => Geometry::Polygon(poly(r)?),
            G::MultiPoint(ps) => {
                Geometry::MultiPoint(MultiPoint(ps.iter().flatten().map(|c| Point(*c)).collect()))
            }
            G::MultiLine(ls) => Geometry::MultiLineString(MultiLineString(
                ls.iter().map(|l| LineString(l.clone())).collect(),
            )),
            G::MultiPoly(ps) => Geometry::MultiPolygon(MultiPolygon(
                ps.iter().map(|p| poly(p)).collect::<Option<Vec<_>>>()?,
            )),
            G::Collection(gs) => Geometry::GeometryCollection(GeometryCollection(
                gs.iter().map(|g| g.to_geo()).collect::<Option<Vec<_>>>()?,
            )),
        })
    }

    pub fn map_coords(&mut self, f: &impl Fn(Coord) -> Coord) {
        let ring = |r: &mut Vec<Coord>| r.iter_mut().for_each(|c| *c = f(*c));
        match self {
            G::Point(p) => {
                if let Some(c) = p {
                    *c = f(*c)
                }
            }
            G::Line(l) | G::Ring(l) => ring(l),
            G::Poly(rs) | G::MultiLine(rs) => rs.iter_mut().for_each(ring),
            G::MultiPoint(ps) => ps.iter_mut().flatten().for_each(|c| *c = f(*c)),
            G::MultiPoly(ps) => ps.iter_mut().flatten().for_each(ring),
            G::Collection(gs) => gs.iter_mut().for_each(|g| g.map_coords(f)),
        }
    }
}

// ---------------------------------------------------------------- WKT

struct Lex<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Lex<'a> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.i).copied()
    }
    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn expect(&mut self, b: u8) -> Result<(), String> {
        if self.eat(b) {
            Ok(())
        } else {
            Err(format!("expected '{}' at {}", b as char, self.i))
        }
    }
    fn word(&mut self) -> String {
        self.ws();
        let st = self.i;
        while self.i < self.s.len() && self.s[self.i].is_ascii_alphabetic() {
            self.i += 1;
        }
        String::from_utf8_lossy(&self.s[st..self.i]).to_ascii_uppercase()
    }
    fn number(&mut self) -> Result<f64, String> {
        self.ws();
        let st = self.i;
        while self.i < self.s.len()
            && (self.s[self.i].is_ascii_alphanumeric() || b"+-.".contains(&self.s[self.i]))
        {
            self.i += 1;
        }
        let t = String::from_utf8_lossy(&self.s[st..self.i]);
        t.parse::<f64>()
            .map_err(|e| format!("bad number {t:?}: {e}"))
    }
    /// EMPTY or '('
    fn open(&mut self) -> Result<bool, String> {
        if self.eat(b'(') {
            return Ok(true);
        }
        let save = self.i;
        if self.word() == "EMPTY" {
            return Ok(false);
        }
        self.i = save;
        Err(format!("expected '(' or EMPTY at {}", self.i))
    }
    fn coord(&mut self) -> Result<Coord, String> {
        let x = self.number()?;
        let y = self.number()?;
        // drop Z / M
        while matches!(self.peek(), Some(b) if b != b',' && b != b')') {
            self.number()?;
        }
        Ok(Coord { x, y })
    }
    fn coords(&mut self) -> Result<Vec<Coord>, String> {
        if !self.open()? {
            return Ok(vec![]);
        }
        let mut v = vec![];
        loop {
            // MULTIPOINT((1 2), (3 4)) or MULTIPOINT(1 2, 3 4)
            if self.eat(b'(') {
                v.push(self.coord()?);
                self.expect(b')')?;
            } else {
                v.push(self.coord()?);
            }
            if !self.eat(b',') {
                break;
            }
        }
        self.expect(b')')?;
        Ok(v)
    }
    fn rings(&mut self) -> Result<Vec<Vec<Coord>>, String> {
        if !self.open()? {
            return Ok(vec![]);
        }
        let mut v = vec![self.coords()?];
        while self.eat(b',') {
            v.push(self.coords()?);
        }
        self.expect(b')')?;
        Ok(v)
    }
    fn geom(&mut self) -> Result<G, String> {
        let kw = self.word();
        let save = self.i;
        // skip Z, M, ZM markers
        let w = self.word();
        if !matches!(w.as_str(), "Z" | "M" | "ZM") {
            self.i = save;
        }
        Ok(match kw.as_str() {
            "POINT" => {
                let c = self.coords()?;
                G::Point(c.first().copied())
            }
            "LINESTRING" => G::Line(self.coords()?),
            "LINEARRING" => G::Ring(self.coords()?),
            "POLYGON" => G::Poly(self.rings()?),
            "MULTIPOINT" => {
                if !self.open()? {
                    return Ok(G::MultiPoint(vec![]));
                }
                let mut v = vec![];
                loop {
                    if self.eat(b'(') {
                        v.push(Some(self.coord()?));
                        self.expect(b')')?;
                    } else {
                        let save = self.i;
                        if self.word() == "EMPTY" {
                            v.push(None);
                        } else {
                            self.i = save;
                            v.push(Some(self.coord()?));
                        }
                    }
                    if !self.eat(b',') {
                        break;
                    }
                }
                self.expect(b')')?;
                G::MultiPoint(v)
            }
            "MULTILINESTRING" => G::MultiLine(self.rings()?),
            "MULTIPOLYGON" => {
                if !self.open()? {
                    return Ok(G::MultiPoly(vec![]));
                }
                let mut v = vec![self.rings()?];
                while self.eat(b',') {
                    v.push(self.rings()?);
                }
                self.expect(b')')?;
                G::MultiPoly(v)
            }
            "GEOMETRYCOLLECTION" => {
                if !self.open()? {
                    return Ok(G::Collection(vec![]));
                }
                let mut v = vec![self.geom()?];
                while self.eat(b',') {
                    v.push(self.geom()?);
                }
                self.expect(b')')?;
                G::Collection(v)
            }
            other => return Err(format!("unknown geometry type {other:?}")),
        })
    }
}

pub fn parse_wkt(s: &str) -> Result<G, String> {
    let mut l = Lex {
        s: s.as_bytes(),
        i: 0,
    };
    let g = l.geom()?;
    if l.peek().is_some() {
        return Err(format!("trailing text at {}", l.i));
    }
    Ok(g)
}

// ---------------------------------------------------------------- WKB

struct Wkb {
    b: Vec<u8>,
    i: usize,
}

impl Wkb {
    fn bytes<const N: usize>(&mut self, le: bool) -> Result<[u8; N], String> {
        let s = self.b.get(self.i..self.i + N).ok_or("wkb truncated")?;
        self.i += N;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        if !le {
            a.reverse();
        }
        Ok(a)
    }
    fn u32(&mut self, le: bool) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.bytes::<4>(le)?))
    }
    fn f64(&mut self, le: bool) -> Result<f64, String> {
        Ok(f64::from_le_bytes(self.bytes::<8>(le)?))
    }
    fn pts(&mut self, le: bool, dims: usize) -> Result<Vec<Coord>, String> {
        let n = self.u32(le)?;
        (0..n)
            .map(|_| {
                let x = self.f64(le)?;
                let y = self.f64(le)?;
                for _ in 2..dims {
                    self.f64(le)?;
                }
                Ok(Coord { x, y })
            })
            .collect()
    }
    fn geom(&mut self) -> Result<G, String> {
        let le = self.bytes::<1>(true)?[0] == 1;
        let t = self.u32(le)?;
        let (base, dims) = match t {
            t if t & 0x8000_0000 != 0 || t & 0x4000_0000 != 0 => (
                t & 0xff,
                2 + usize::from(t & 0x8000_0000 != 0) + usize::from(t & 0x4000_0000 != 0),
            ),
            t if t > 3000 => (t - 3000, 4),
            t if t > 2000 => (t - 2000, 3),
            t if t > 1000 => (t - 1000, 3),
            t => (t, 2),
        };
        Ok(match base {
            1 => {
                let x = self.f64(le)?;
                let y = self.f64(le)?;
                for _ in 2..dims {
                    self.f64(le)?;
                }
                G::Point(if x.is_nan() && y.is_nan() {
                    None
                } else {
                    Some(Coord { x, y })
                })
            }
            2 => G::Line(self.pts(le, dims)?),
            3 => {
                let n = self.u32(le)?;
                G::Poly(
                    (0..n)
                        .map(|_| self.pts(le, dims))
                        .collect::<Result<_, _>>()?,
                )
            }
            4..=7 => {
                let n = self.u32(le)?;
                let parts = (0..n).map(|_| self.geom()).collect::<Result<Vec<_>, _>>()?;
                match base {
                    4 => G::MultiPoint(
                        parts
                            .into_iter()
                            .map(|g| if let G::Point(c) = g { c } else { None })
                            .collect(),
                    ),
                    5 => G::MultiLine(
                        parts
                            .into_iter()
                            .map(|g| if let G::Line(l) = g { l } else { vec![] })
                            .collect(),
                    ),
                    6 => G::MultiPoly(
                        parts
                            .into_iter()
                            .map(|g| if let G::Poly(p) = g { p } else { vec![] })
                            .collect(),
                    ),
                    _ => G::Collection(parts),
                }
            }
            other => return Err(format!("unsupported wkb type {other}")),
        })
    }
}

pub fn parse_hex_wkb(s: &str) -> Result<G, String> {
    let s: String = s.split_whitespace().collect();
    if !s.len().is_multiple_of(2) {
        return Err("odd hex length".into());
    }
    let b = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|e| e.to_string()))
        .collect::<Result<Vec<u8>, _>>()?;
    let mut r = Wkb { b, i: 0 };
    r.geom()
}

/// Parse WKT or hex WKB, rounding to `1/scale` when a FIXED precision model is given.
pub fn parse_geom(text: &str, scale: Option<f64>) -> Result<G, String> {
    let t = text.trim();
    let mut g = if !t.is_empty()
        && t.chars()
            .all(|c| c.is_ascii_hexdigit() || c.is_whitespace())
    {
        parse_hex_wkb(t)?
    } else {
        parse_wkt(t)?
    };
    if let Some(s) = scale {
        g.map_coords(&|c| Coord {
            x: (c.x * s).round() / s,
            y: (c.y * s).round() / s,
        });
    }
    Ok(g)
}

// ---------------------------------------------------------------- XML test files

/// One `<op>` of a case.
#[derive(Debug, Clone)]
pub struct Case {
    pub file: String,
    pub index: usize,
    pub desc: String,
    pub a: Option<String>,
    pub b: Option<String>,
    pub scale: Option<f64>,
    pub op: String,
    pub arg1: String,
    pub arg2: String,
    pub arg3: Option<String>,
    pub expected: String,
}

pub fn xml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let rd = std::fs::read_dir(&d).unwrap_or_else(|e| panic!("read {}: {e}", d.display()));
        for e in rd {
            let p = e.expect("dir entry").path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x.eq_ignore_ascii_case("xml")) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn scale_of(pm: Option<roxmltree::Node<'_, '_>>) -> Option<f64> {
    let pm = pm?;
    let t = pm.attribute("type").unwrap_or("").to_ascii_uppercase();
    if t == "FLOATING" || t == "FLOATING_SINGLE" {
        return None;
    }
    let s: f64 = pm.attribute("scale")?.parse().ok()?;
    (s > 0.0).then_some(s)
}

pub fn read_cases(path: &Path, root_dir: &Path) -> Vec<Case> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc =
        roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let root = doc.root_element();
    let scale = scale_of(root.children().find(|n| n.has_tag_name("precisionModel")));
    let file = path
        .strip_prefix(root_dir)
        .unwrap_or(path)
        .display()
        .to_string();
    let mut out = vec![];
    for (ci, case) in root
        .descendants()
        .filter(|n| n.has_tag_name("case"))
        .enumerate()
    {
        let child_text = |tag: &str| {
            case.children()
                .find(|n| n.has_tag_name(tag))
                .map(|n| n.text().unwrap_or("").to_string())
        };
        let desc = child_text("desc")
            .unwrap_or_default()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let a = child_text("a");
        let b = child_text("b");
        for test in case.children().filter(|n| n.has_tag_name("test")) {
            for op in test.children().filter(|n| n.has_tag_name("op")) {
                out.push(Case {
                    file: file.clone(),
                    index: ci + 1,
                    desc: desc.clone(),
                    a: a.clone(),
                    b: b.clone(),
                    scale,
                    op: op.attribute("name").unwrap_or("").trim().to_string(),
                    arg1: op
                        .attribute("arg1")
                        .unwrap_or("A")
                        .trim()
                        .to_ascii_uppercase(),
                    arg2: op
                        .attribute("arg2")
                        .unwrap_or("B")
                        .trim()
                        .to_ascii_uppercase(),
                    arg3: op.attribute("arg3").map(|s| s.trim().to_string()),
                    expected: op.text().unwrap_or("").trim().to_string(),
                });
            }
        }
    }
    out
}
