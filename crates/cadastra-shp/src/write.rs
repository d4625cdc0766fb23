//! The legacy-style writer: .shp/.shx by hand, a .dbf in a chosen encoding with a chosen
//! code-page byte (LDID), and optional .cpg and .prj files.
//!
//! It exists to fake vendor deliveries (GBK text, LDID 0, no .cpg) for tests and samples, so
//! it writes what it is told: number and date fields take any ASCII text that fits, duplicate
//! field names are allowed. What it never does is lose data silently: text wider than its field
//! or not representable in the encoding is an error naming the record and the field.
//!
//! Polygons are written with shells clockwise and holes counter-clockwise (y up), as the
//! shapefile specification wants, whatever orientation the input rings have.

use crate::error::ShpError;
use crate::field::{DbfField, FieldKind};
use crate::shape_type::ShapeType;
use encoding_rs::{EncoderResult, Encoding};
use geo_types::{Coord, Geometry, LineString, Polygon};
use rayon::prelude::*;
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::Path;

/// How the DBF text is encoded and which companion files are written.
#[derive(Debug, Clone)]
pub struct WriteSpec {
    /// Encoding of DBF text and field names (e.g. `encoding_rs::GBK`).
    pub encoding: &'static Encoding,
    /// Code-page byte written at offset 29 of the .dbf (0 = undeclared, 77 = CP936, ...).
    pub ldid: u8,
    /// Text of the .cpg file, or `None` to write no .cpg.
    pub cpg: Option<String>,
    /// Text of the .prj file, or `None` to write no .prj.
    pub prj: Option<String>,
}

impl WriteSpec {
    /// GBK text, LDID 0, no .cpg: the typical undeclared legacy delivery.
    pub fn gbk_undeclared() -> WriteSpec {
        WriteSpec {
            encoding: encoding_rs::GBK,
            ldid: 0,
            cpg: None,
            prj: None,
        }
    }
    /// GBK text declared only by LDID 77 (CP936).
    pub fn gbk_ldid() -> WriteSpec {
        WriteSpec {
            ldid: 77,
            ..WriteSpec::gbk_undeclared()
        }
    }
    /// UTF-8 text with a `UTF-8` .cpg (what a modern export should look like).
    pub fn utf8() -> WriteSpec {
        WriteSpec {
            encoding: encoding_rs::UTF_8,
            ldid: 0,
            cpg: Some("UTF-8".to_string()),
            prj: None,
        }
    }
}

impl Default for WriteSpec {
    fn default() -> Self {
        WriteSpec::utf8()
    }
}

/// Last-update date written in DBF headers. Fixed so that the same input gives the same bytes.
const DBF_DATE: (u8, u8, u8) = (120, 1, 1); // 2020-01-01, year counted from 1900

/// Records per parallel work unit.
const CHUNK: usize = 16 * 1024;

/// Write `<path>.shp`, `.shx`, `.dbf` (and `.cpg`/`.prj` when the spec has them); the
/// extension of `path` is replaced. One geometry per record; `None` or an empty geometry is
/// written as a null shape. The shape type follows the geometries (polygon for
/// `Polygon`/`MultiPolygon`, polyline for `LineString`/`MultiLineString`, point, multipoint);
/// mixing families is an error. On error the files written so far are removed.
///
/// ```
/// use cadastra_shp::{write_shapefile, DbfField, WriteSpec};
/// use geo_types::{polygon, Geometry};
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("parcels.shp");
/// let fields = [DbfField::text("ZDDM", 19), DbfField::number("ZDMJ", 12, 2)];
/// let records = vec![vec![Some("371202001001GB00001".to_string()), Some("120.50".to_string())]];
/// let geoms = vec![Some(Geometry::Polygon(polygon![(x: 0., y: 0.), (x: 0., y: 1.), (x: 1., y: 0.)]))];
/// write_shapefile(&path, &WriteSpec::gbk_undeclared(), &fields, &records, &geoms).unwrap();
/// assert!(path.with_extension("dbf").exists() && !path.with_extension("cpg").exists());
/// ```
pub fn write_shapefile(
    path: &Path,
    spec: &WriteSpec,
    fields: &[DbfField],
    records: &[Vec<Option<String>>],
    geoms: &[Option<Geometry<f64>>],
) -> Result<(), ShpError> {
    let shp = path.with_extension("shp");
    if records.len() != geoms.len() {
        return Err(ShpError::Input {
            path: shp,
            reason: format!(
                "{} attribute records but {} geometries",
                records.len(),
                geoms.len()
            ),
        });
    }
    let written = [
        shp.clone(),
        path.with_extension("shx"),
        path.with_extension("dbf"),
        path.with_extension("cpg"),
        path.with_extension("prj"),
    ];
    let result = write_dbf(path, spec, fields, records)
        .and_then(|()| write_shp_shx(&shp, geoms))
        .and_then(|()| match &spec.prj {
            Some(prj) => write_text(&path.with_extension("prj"), prj),
            None => Ok(()),
        });
    if result.is_err() {
        for p in &written {
            let _ = std::fs::remove_file(p); // best effort: the error is what the caller needs
        }
    }
    result
}

/// Write `<path>.dbf` (and `.cpg` when the spec has one) alone; the extension is replaced.
/// On error the .dbf is removed.
pub fn write_dbf(
    path: &Path,
    spec: &WriteSpec,
    fields: &[DbfField],
    records: &[Vec<Option<String>>],
) -> Result<(), ShpError> {
    let dbf = path.with_extension("dbf");
    let result = write_dbf_inner(&dbf, spec, fields, records).and_then(|()| match &spec.cpg {
        Some(cpg) => write_text(&path.with_extension("cpg"), cpg),
        None => Ok(()),
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&dbf); // best effort: the error is what the caller needs
    }
    result
}

fn write_text(path: &Path, text: &str) -> Result<(), ShpError> {
    std::fs::write(path, text).map_err(|e| ShpError::io(path, e))
}

fn create(path: &Path) -> Result<BufWriter<File>, ShpError> {
    let f = File::create(path).map_err(|e| ShpError::io(path, e))?;
    Ok(BufWriter::with_capacity(1 << 20, f))
}

// ---------------------------------------------------------------------------------------------
// DBF

struct Layout {
    /// (field, encoded name)
    fields: Vec<(DbfField, Vec<u8>)>,
    record_len: usize,
}

fn layout(path: &Path, spec: &WriteSpec, fields: &[DbfField]) -> Result<Layout, ShpError> {
    let bad = |index: usize, f: &DbfField, reason: String| ShpError::FieldSpec {
        path: path.to_path_buf(),
        index,
        name: f.name.clone(),
        reason,
    };
    if spec.encoding.output_encoding() != spec.encoding {
        return Err(ShpError::Input {
            path: path.to_path_buf(),
            reason: format!("cannot write dbf text in {}", spec.encoding.name()),
        });
    }
    if fields.len() > 2046 {
        return Err(ShpError::Input {
            path: path.to_path_buf(),
            reason: format!("{} fields, a dbf holds at most 2046", fields.len()),
        });
    }
    let mut out = Vec::with_capacity(fields.len());
    let mut record_len = 1usize;
    let mut scratch = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        if f.name.is_empty() || f.name.contains('\0') {
            return Err(bad(i, f, "field name is empty or contains NUL".into()));
        }
        if !encode_into(spec.encoding, &f.name, &mut scratch) {
            return Err(bad(
                i,
                f,
                format!("name cannot be encoded in {}", spec.encoding.name()),
            ));
        }
        if scratch.len() > 10 {
            return Err(bad(
                i,
                f,
                format!(
                    "name is {} bytes in {}, a dbf field name holds at most 10",
                    scratch.len(),
                    spec.encoding.name()
                ),
            ));
        }
        match f.kind {
            FieldKind::Char | FieldKind::Numeric | FieldKind::Float => {
                if f.length > 255 {
                    return Err(bad(i, f, format!("width {} exceeds 255", f.length)));
                }
            }
            FieldKind::Date if f.length != 8 => {
                return Err(bad(
                    i,
                    f,
                    format!("a date field is 8 wide, not {}", f.length),
                ));
            }
            FieldKind::Logical if f.length != 1 => {
                return Err(bad(
                    i,
                    f,
                    format!("a logical field is 1 wide, not {}", f.length),
                ));
            }
            FieldKind::Date | FieldKind::Logical => {}
            FieldKind::Other(b) => {
                return Err(bad(
                    i,
                    f,
                    format!(
                        "type {:?} not supported by the writer (C, N, F, D, L)",
                        b as char
                    ),
                ));
            }
        }
        if f.decimals > 0 && (!f.kind.is_number() || usize::from(f.decimals) >= f.length.into()) {
            return Err(bad(
                i,
                f,
                format!("{} decimals do not fit this field", f.decimals),
            ));
        }
        record_len += usize::from(f.length);
        out.push((f.clone(), scratch.clone()));
    }
    if record_len > usize::from(u16::MAX) {
        return Err(ShpError::Input {
            path: path.to_path_buf(),
            reason: format!("record length {record_len} exceeds 65535 bytes"),
        });
    }
    Ok(Layout {
        fields: out,
        record_len,
    })
}

/// Encode `s` into `out` (cleared first); false when a character is not representable.
fn encode_into(encoding: &'static Encoding, s: &str, out: &mut Vec<u8>) -> bool {
    out.clear();
    if encoding == encoding_rs::UTF_8 || (s.is_ascii() && encoding.is_ascii_compatible()) {
        out.extend_from_slice(s.as_bytes());
        return true;
    }
    let mut enc = encoding.new_encoder();
    let Some(max) = enc.max_buffer_length_from_utf8_without_replacement(s.len()) else {
        return false;
    };
    out.reserve(max);
    let (res, _read) = enc.encode_from_utf8_to_vec_without_replacement(s, out, true);
    matches!(res, EncoderResult::InputEmpty)
}

/// Per-worker memo of character encodings: encoding_rs's CJK encoders search their index for
/// every character, the memo makes encoding Chinese text a table lookup per character.
struct CharMemo {
    encoding: &'static Encoding,
    /// BMP code point -> 0 unknown, `u64::MAX` unmappable, else `len << 32 | bytes` (LE)
    bmp: Vec<u64>,
}

impl CharMemo {
    fn new(encoding: &'static Encoding) -> CharMemo {
        CharMemo {
            encoding,
            bmp: vec![0; 0x1_0000],
        }
    }

    fn lookup(&mut self, ch: char) -> Option<([u8; 4], usize)> {
        let encode_one = |enc: &'static Encoding| -> Option<([u8; 4], usize)> {
            let mut tmp = [0u8; 4];
            let s = ch.encode_utf8(&mut tmp);
            let mut out = Vec::with_capacity(8);
            if !encode_into(enc, s, &mut out) || out.len() > 4 {
                return None;
            }
            let mut b = [0u8; 4];
            b[..out.len()].copy_from_slice(&out);
            Some((b, out.len()))
        };
        let cp = ch as usize;
        if cp >= self.bmp.len() {
            return encode_one(self.encoding);
        }
        match self.bmp[cp] {
            0 => {
                let r = encode_one(self.encoding);
                self.bmp[cp] = match r {
                    Some((b, n)) => ((n as u64) << 32) | u64::from(u32::from_le_bytes(b)),
                    None => u64::MAX,
                };
                r
            }
            u64::MAX => None,
            v => Some(((v as u32).to_le_bytes(), (v >> 32) as usize)),
        }
    }

    /// Encode `s` into `out` (cleared first); false when a character is not representable.
    fn encode(&mut self, s: &str, out: &mut Vec<u8>) -> bool {
        out.clear();
        if s.is_ascii() {
            out.extend_from_slice(s.as_bytes());
            return true;
        }
        for ch in s.chars() {
            if ch.is_ascii() {
                out.push(ch as u8);
            } else {
                match self.lookup(ch) {
                    Some((b, n)) => out.extend_from_slice(&b[..n]),
                    None => return false,
                }
            }
        }
        true
    }
}

/// Text encoder for one worker: UTF-8 as is, stateless legacy encodings through a memo.
enum TextEncoder {
    Direct(&'static Encoding),
    Memo(CharMemo),
}

impl TextEncoder {
    fn new(encoding: &'static Encoding) -> TextEncoder {
        if encoding == encoding_rs::UTF_8 || encoding == encoding_rs::ISO_2022_JP {
            TextEncoder::Direct(encoding)
        } else {
            TextEncoder::Memo(CharMemo::new(encoding))
        }
    }
    fn encode(&mut self, s: &str, out: &mut Vec<u8>) -> bool {
        match self {
            TextEncoder::Direct(e) => encode_into(e, s, out),
            TextEncoder::Memo(m) => m.encode(s, out),
        }
    }
}

fn write_dbf_inner(
    path: &Path,
    spec: &WriteSpec,
    fields: &[DbfField],
    records: &[Vec<Option<String>>],
) -> Result<(), ShpError> {
    let lay = layout(path, spec, fields)?;
    let n = u32::try_from(records.len()).map_err(|_| ShpError::Input {
        path: path.to_path_buf(),
        reason: format!("{} records, a dbf holds at most 2^32-1", records.len()),
    })?;
    let header_len = 32 + 32 * fields.len() + 1;
    let mut w = create(path)?;
    let mut head = Vec::with_capacity(header_len);
    head.push(0x03);
    head.extend_from_slice(&[DBF_DATE.0, DBF_DATE.1, DBF_DATE.2]);
    head.extend_from_slice(&n.to_le_bytes());
    // both fit: checked in layout()
    head.extend_from_slice(&(header_len as u16).to_le_bytes());
    head.extend_from_slice(&(lay.record_len as u16).to_le_bytes());
    head.extend_from_slice(&[0u8; 17]);
    head.push(spec.ldid);
    head.extend_from_slice(&[0u8; 2]);
    for (f, name) in &lay.fields {
        let mut d = [0u8; 32];
        d[..name.len()].copy_from_slice(name);
        d[11] = f.kind.as_byte();
        // lengths above 255 were rejected in layout()
        d[16] = f.length as u8;
        d[17] = f.decimals;
        head.extend_from_slice(&d);
    }
    head.push(0x0D);
    w.write_all(&head).map_err(|e| ShpError::io(path, e))?;

    let batch = CHUNK * rayon::current_num_threads().max(1) * 2;
    for (b, recs) in records.chunks(batch).enumerate() {
        let bufs: Vec<Result<Vec<u8>, ShpError>> = recs
            .par_chunks(CHUNK)
            .enumerate()
            .map(|(c, chunk)| {
                let first = b * batch + c * CHUNK;
                let mut buf = Vec::with_capacity(chunk.len() * lay.record_len);
                let mut scratch = Vec::new();
                let mut encoder = TextEncoder::new(spec.encoding);
                for (k, rec) in chunk.iter().enumerate() {
                    encode_record(
                        path,
                        spec,
                        &lay,
                        first + k,
                        rec,
                        &mut buf,
                        &mut scratch,
                        &mut encoder,
                    )?;
                }
                Ok(buf)
            })
            .collect();
        for buf in bufs {
            w.write_all(&buf?).map_err(|e| ShpError::io(path, e))?;
        }
    }
    w.write_all(&[0x1A]).map_err(|e| ShpError::io(path, e))?;
    w.flush().map_err(|e| ShpError::io(path, e))?;
    Ok(())
}

#[allow(clippy::too_many_arguments)] // per-record hot path: plain arguments
fn encode_record(
    path: &Path,
    spec: &WriteSpec,
    lay: &Layout,
    row: usize,
    rec: &[Option<String>],
    out: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
    encoder: &mut TextEncoder,
) -> Result<(), ShpError> {
    if rec.len() != lay.fields.len() {
        return Err(ShpError::Input {
            path: path.to_path_buf(),
            reason: format!(
                "record {row} has {} values for {} fields",
                rec.len(),
                lay.fields.len()
            ),
        });
    }
    out.push(b' ');
    for ((f, _), v) in lay.fields.iter().zip(rec) {
        let width = usize::from(f.length);
        let Some(v) = v else {
            let fill = if f.kind == FieldKind::Logical {
                b'?'
            } else {
                b' '
            };
            out.resize(out.len() + width, fill);
            continue;
        };
        let bad_value = |reason: &str| ShpError::BadValue {
            path: path.to_path_buf(),
            record: row,
            field: f.name.clone(),
            value: v.clone(),
            reason: reason.to_string(),
        };
        let bytes: &[u8] = match f.kind {
            FieldKind::Char => {
                if !encoder.encode(v, scratch) {
                    return Err(ShpError::Unencodable {
                        path: path.to_path_buf(),
                        record: row,
                        field: f.name.clone(),
                        value: v.clone(),
                        encoding: spec.encoding.name(),
                    });
                }
                scratch
            }
            FieldKind::Logical => match v.as_str() {
                "T" | "t" | "Y" | "y" | "F" | "f" | "N" | "n" | "?" => v.as_bytes(),
                "true" => b"T",
                "false" => b"F",
                _ => return Err(bad_value("a logical is one of T F Y N ?")),
            },
            _ => {
                if !v.is_ascii() {
                    return Err(bad_value("number and date fields hold ASCII text only"));
                }
                v.as_bytes()
            }
        };
        if bytes.len() > width {
            return Err(ShpError::ValueTooLong {
                path: path.to_path_buf(),
                record: row,
                field: f.name.clone(),
                value: v.clone(),
                needed: bytes.len(),
                width,
                encoding: spec.encoding.name(),
            });
        }
        let pad = width - bytes.len();
        if f.kind.is_number() {
            out.resize(out.len() + pad, b' ');
            out.extend_from_slice(bytes);
        } else {
            out.extend_from_slice(bytes);
            out.resize(out.len() + pad, b' ');
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// SHP / SHX

/// Bounding box (xmin, ymin, xmax, ymax); `None` for no coordinates.
type Bbox = Option<[f64; 4]>;

fn bbox_add(b: &mut Bbox, c: Coord<f64>) {
    match b {
        None => *b = Some([c.x, c.y, c.x, c.y]),
        Some(v) => {
            v[0] = v[0].min(c.x);
            v[1] = v[1].min(c.y);
            v[2] = v[2].max(c.x);
            v[3] = v[3].max(c.y);
        }
    }
}

fn bbox_union(a: &mut Bbox, b: Bbox) {
    if let Some(v) = b {
        bbox_add(a, Coord { x: v[0], y: v[1] });
        bbox_add(a, Coord { x: v[2], y: v[3] });
    }
}

/// The shape type a geometry is written as; `None` for an empty geometry (a null shape).
fn shape_type_of(g: &Geometry<f64>) -> Result<Option<ShapeType>, String> {
    Ok(match g {
        Geometry::Point(_) => Some(ShapeType::Point),
        Geometry::MultiPoint(m) if m.0.is_empty() => None,
        Geometry::MultiPoint(_) => Some(ShapeType::MultiPoint),
        Geometry::Line(_) => Some(ShapeType::PolyLine),
        Geometry::LineString(l) if l.0.is_empty() => None,
        Geometry::LineString(_) => Some(ShapeType::PolyLine),
        Geometry::MultiLineString(m) if m.0.iter().all(|l| l.0.is_empty()) => None,
        Geometry::MultiLineString(_) => Some(ShapeType::PolyLine),
        Geometry::Polygon(p) if p.exterior().0.is_empty() => None,
        Geometry::MultiPolygon(m) if m.0.iter().all(|p| p.exterior().0.is_empty()) => None,
        Geometry::Polygon(_) | Geometry::MultiPolygon(_) | Geometry::Rect(_) => {
            Some(ShapeType::Polygon)
        }
        Geometry::Triangle(_) => Some(ShapeType::Polygon),
        Geometry::GeometryCollection(_) => {
            return Err("a geometry collection cannot be written to a shapefile".into())
        }
    })
}

/// Twice the signed area of a ring (positive = counter-clockwise with y up).
pub(crate) fn ring_area2(pts: &[Coord<f64>]) -> f64 {
    if pts.len() < 3 {
        return 0.0;
    }
    let (x0, y0) = (pts[0].x, pts[0].y);
    let mut s = 0.0;
    for w in pts.windows(2) {
        s += (w[0].x - x0) * (w[1].y - y0) - (w[1].x - x0) * (w[0].y - y0);
    }
    s
}

/// A part as written: the points of a ring or line, possibly reversed, possibly closed by
/// repeating the first point. No coordinates are copied until they are written.
#[derive(Clone, Copy)]
struct Part<'a> {
    pts: &'a [Coord<f64>],
    reverse: bool,
    close: bool,
}

impl<'a> Part<'a> {
    fn line(pts: &'a [Coord<f64>]) -> Part<'a> {
        Part {
            pts,
            reverse: false,
            close: false,
        }
    }
    /// A ring closed and oriented as wanted (`clockwise` for shells, with y up).
    fn ring(ring: &'a LineString<f64>, clockwise: bool) -> Part<'a> {
        let pts = ring.0.as_slice();
        let close = pts.len() > 1 && pts.first() != pts.last();
        // ring_area2 works relative to the first point, so the closing edge adds nothing
        let a = ring_area2(pts);
        Part {
            pts,
            reverse: (clockwise && a > 0.0) || (!clockwise && a < 0.0),
            close,
        }
    }
    fn len(&self) -> usize {
        self.pts.len() + usize::from(self.close)
    }
    /// The points in writing order.
    fn points(&self) -> impl Iterator<Item = Coord<f64>> + 'a {
        let closing = self.pts.first().copied().filter(|_| self.close);
        let forward = self.pts.iter().copied().chain(closing);
        let (rev, fwd) = if self.reverse {
            (
                Some(closing.into_iter().chain(self.pts.iter().rev().copied())),
                None,
            )
        } else {
            (None, Some(forward))
        };
        rev.into_iter().flatten().chain(fwd.into_iter().flatten())
    }
}

fn put_f64(out: &mut Vec<u8>, v: f64) {
    out.extend_from_slice(&v.to_le_bytes());
}
fn put_i32(out: &mut Vec<u8>, v: i32) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Append the record content of `parts` (polyline/polygon) and return its bbox.
fn put_parts(out: &mut Vec<u8>, ty: ShapeType, parts: &[Part<'_>]) -> Result<Bbox, String> {
    let mut bb: Bbox = None;
    let n_points: usize = parts.iter().map(Part::len).sum();
    let n_parts = i32::try_from(parts.len()).map_err(|_| "too many parts".to_string())?;
    let n_points_i = i32::try_from(n_points).map_err(|_| "too many points".to_string())?;
    for p in parts {
        for c in p.pts {
            bbox_add(&mut bb, *c);
        }
    }
    out.reserve(44 + 4 * parts.len() + 16 * n_points);
    put_i32(out, ty.code());
    for v in bb.unwrap_or([0.0; 4]) {
        put_f64(out, v);
    }
    put_i32(out, n_parts);
    put_i32(out, n_points_i);
    let mut start = 0i32;
    for p in parts {
        put_i32(out, start);
        start += p.len() as i32; // the sum fits: checked above
    }
    for p in parts {
        for c in p.points() {
            put_f64(out, c.x);
            put_f64(out, c.y);
        }
    }
    Ok(bb)
}

fn polygon_parts<'a>(p: &'a Polygon<f64>, parts: &mut Vec<Part<'a>>) {
    if p.exterior().0.is_empty() {
        return;
    }
    parts.push(Part::ring(p.exterior(), true));
    for h in p.interiors() {
        if !h.0.is_empty() {
            parts.push(Part::ring(h, false));
        }
    }
}

/// Append the record content of `g` (known non-empty, of shape type `ty`) and return its bbox.
fn put_shape(out: &mut Vec<u8>, ty: ShapeType, g: &Geometry<f64>) -> Result<Bbox, String> {
    match g {
        Geometry::Point(p) => {
            put_i32(out, ShapeType::Point.code());
            put_f64(out, p.x());
            put_f64(out, p.y());
            let mut bb = None;
            bbox_add(&mut bb, p.0);
            Ok(bb)
        }
        Geometry::MultiPoint(m) => {
            let mut bb = None;
            for p in &m.0 {
                bbox_add(&mut bb, p.0);
            }
            put_i32(out, ty.code());
            for v in bb.unwrap_or([0.0; 4]) {
                put_f64(out, v);
            }
            put_i32(
                out,
                i32::try_from(m.0.len()).map_err(|_| "too many points")?,
            );
            for p in &m.0 {
                put_f64(out, p.x());
                put_f64(out, p.y());
            }
            Ok(bb)
        }
        Geometry::Line(l) => put_parts(out, ty, &[Part::line(&[l.start, l.end])]),
        Geometry::LineString(l) => put_parts(out, ty, &[Part::line(&l.0)]),
        Geometry::MultiLineString(m) => {
            let parts: Vec<Part<'_>> =
                m.0.iter()
                    .filter(|l| !l.0.is_empty())
                    .map(|l| Part::line(&l.0))
                    .collect();
            put_parts(out, ty, &parts)
        }
        Geometry::Polygon(p) => {
            let mut parts = Vec::with_capacity(1 + p.interiors().len());
            polygon_parts(p, &mut parts);
            put_parts(out, ty, &parts)
        }
        Geometry::MultiPolygon(m) => {
            let mut parts = Vec::new();
            for p in &m.0 {
                polygon_parts(p, &mut parts);
            }
            put_parts(out, ty, &parts)
        }
        Geometry::Rect(r) => put_shape(out, ty, &Geometry::Polygon(r.to_polygon())),
        Geometry::Triangle(t) => put_shape(out, ty, &Geometry::Polygon(t.to_polygon())),
        Geometry::GeometryCollection(_) => {
            Err("a geometry collection cannot be written to a shapefile".into())
        }
    }
}

fn shp_header(ty: ShapeType, file_len_bytes: u64, bb: Bbox) -> [u8; 100] {
    let mut h = [0u8; 100];
    h[0..4].copy_from_slice(&9994i32.to_be_bytes());
    // callers check that the length in 16-bit words fits an i32
    h[24..28].copy_from_slice(&((file_len_bytes / 2) as i32).to_be_bytes());
    h[28..32].copy_from_slice(&1000i32.to_le_bytes());
    h[32..36].copy_from_slice(&ty.code().to_le_bytes());
    let b = bb.unwrap_or([0.0; 4]);
    for (i, v) in b.iter().enumerate() {
        h[36 + 8 * i..44 + 8 * i].copy_from_slice(&v.to_le_bytes());
    }
    h
}

fn write_shp_shx(shp: &Path, geoms: &[Option<Geometry<f64>>]) -> Result<(), ShpError> {
    let shx = shp.with_extension("shx");
    // the layer's shape type: the first non-empty geometry decides, the others must agree
    let mut layer_ty: Option<ShapeType> = None;
    let mut types = Vec::with_capacity(geoms.len());
    for (i, g) in geoms.iter().enumerate() {
        let t = match g {
            None => None,
            Some(g) => shape_type_of(g).map_err(|reason| ShpError::Geometry {
                path: shp.to_path_buf(),
                record: i,
                reason,
            })?,
        };
        if let Some(t) = t {
            match layer_ty {
                None => layer_ty = Some(t),
                Some(l) if l != t => {
                    return Err(ShpError::Geometry {
                        path: shp.to_path_buf(),
                        record: i,
                        reason: format!("{t} geometry in a {l} layer"),
                    })
                }
                Some(_) => {}
            }
        }
        types.push(t);
    }
    let layer_ty = layer_ty.unwrap_or(ShapeType::Null);

    let mut w_shp = create(shp)?;
    let mut w_shx = create(&shx)?;
    let placeholder = [0u8; 100];
    w_shp
        .write_all(&placeholder)
        .map_err(|e| ShpError::io(shp, e))?;
    w_shx
        .write_all(&placeholder)
        .map_err(|e| ShpError::io(&shx, e))?;
    let mut offset: u64 = 100;
    let mut layer_bb: Bbox = None;
    let batch = CHUNK * rayon::current_num_threads().max(1) * 2;
    let max_len = 2 * i32::MAX as u64;
    let too_large = |record: usize| ShpError::Corrupt {
        path: shp.to_path_buf(),
        record,
        reason: "the .shp would exceed the 4 GB limit of the format".into(),
    };
    for (b, (gs, ts)) in geoms.chunks(batch).zip(types.chunks(batch)).enumerate() {
        // each work unit: concatenated record contents, their lengths, their bbox
        type Unit = Result<(Vec<u8>, Vec<u32>, Bbox), ShpError>;
        let units: Vec<Unit> = gs
            .par_chunks(CHUNK)
            .zip(ts.par_chunks(CHUNK))
            .enumerate()
            .map(|(c, (gs, ts))| {
                let mut buf = Vec::with_capacity(gs.len() * 64);
                let mut lens = Vec::with_capacity(gs.len());
                let mut bb: Bbox = None;
                for (k, (g, t)) in gs.iter().zip(ts).enumerate() {
                    let start = buf.len();
                    match (g, t) {
                        (Some(g), Some(t)) => {
                            let gbb = put_shape(&mut buf, *t, g).map_err(|reason| {
                                ShpError::Geometry {
                                    path: shp.to_path_buf(),
                                    record: b * batch + c * CHUNK + k,
                                    reason,
                                }
                            })?;
                            bbox_union(&mut bb, gbb);
                        }
                        _ => put_i32(&mut buf, 0),
                    }
                    let len = u32::try_from(buf.len() - start)
                        .map_err(|_| too_large(b * batch + c * CHUNK + k))?;
                    lens.push(len);
                }
                Ok((buf, lens, bb))
            })
            .collect();
        let mut record = b * batch;
        for unit in units {
            let (buf, lens, bb) = unit?;
            bbox_union(&mut layer_bb, bb);
            let mut pos = 0usize;
            for len in lens {
                record += 1;
                let words = len / 2;
                if offset + 8 + u64::from(len) > max_len {
                    return Err(too_large(record - 1));
                }
                let mut idx = [0u8; 8];
                idx[0..4].copy_from_slice(&((offset / 2) as i32).to_be_bytes());
                idx[4..8].copy_from_slice(&(words as i32).to_be_bytes());
                w_shx.write_all(&idx).map_err(|e| ShpError::io(&shx, e))?;
                let mut rh = [0u8; 8];
                rh[0..4].copy_from_slice(&(record as i32).to_be_bytes());
                rh[4..8].copy_from_slice(&(words as i32).to_be_bytes());
                w_shp.write_all(&rh).map_err(|e| ShpError::io(shp, e))?;
                let end = pos + len as usize;
                w_shp
                    .write_all(&buf[pos..end])
                    .map_err(|e| ShpError::io(shp, e))?;
                pos = end;
                offset += 8 + u64::from(len);
            }
        }
    }
    let shx_len = 100 + 8 * geoms.len() as u64;
    finish_header(w_shp, shp, &shp_header(layer_ty, offset, layer_bb))?;
    finish_header(w_shx, &shx, &shp_header(layer_ty, shx_len, layer_bb))?;
    Ok(())
}

fn finish_header(w: BufWriter<File>, path: &Path, header: &[u8; 100]) -> Result<(), ShpError> {
    let mut f = w
        .into_inner()
        .map_err(|e| ShpError::io(path, e.into_error()))?;
    f.seek(SeekFrom::Start(0))
        .map_err(|e| ShpError::io(path, e))?;
    f.write_all(header).map_err(|e| ShpError::io(path, e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::{polygon, MultiPolygon};

    fn tmp() -> tempfile::TempDir {
        tempfile::tempdir().expect("temp dir")
    }

    #[test]
    fn gbk_dbf_bytes_are_gbk_with_the_given_ldid_and_no_cpg() {
        let dir = tmp();
        let p = dir.path().join("t.dbf");
        let fields = [DbfField::text("名称", 10), DbfField::number("MJ", 8, 2)];
        let recs = vec![
            vec![Some("张三".to_string()), Some("12.50".to_string())],
            vec![None, None],
        ];
        write_dbf(&p, &WriteSpec::gbk_undeclared(), &fields, &recs).unwrap();
        let b = std::fs::read(&p).unwrap();
        assert_eq!(b[29], 0);
        assert_eq!(u32::from_le_bytes([b[4], b[5], b[6], b[7]]), 2);
        // field name 名称 in GBK
        assert_eq!(&b[32..36], &[0xC3, 0xFB, 0xB3, 0xC6]);
        assert_eq!(b[32 + 11], b'C');
        let data = 32 + 64 + 1;
        assert_eq!(b[data], b' ');
        // 张三 in GBK = D5 C5 C8 FD, then 6 spaces; number right-aligned
        assert_eq!(&b[data + 1..data + 11], b"\xD5\xC5\xC8\xFD      ");
        assert_eq!(&b[data + 11..data + 19], b"   12.50");
        assert_eq!(&b[data + 19..data + 38], &[b' '; 19][..]);
        assert_eq!(*b.last().unwrap(), 0x1A);
        assert!(!dir.path().join("t.cpg").exists());
    }

    #[test]
    fn too_long_text_names_record_and_field_and_leaves_no_file() {
        let dir = tmp();
        let p = dir.path().join("t.dbf");
        let fields = [DbfField::text("QLRMC", 4)];
        let recs = vec![
            vec![Some("李四".to_string())],
            vec![Some("王小二".to_string())],
        ];
        let err = write_dbf(&p, &WriteSpec::gbk_undeclared(), &fields, &recs).unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(
                err,
                ShpError::ValueTooLong {
                    record: 1,
                    needed: 6,
                    width: 4,
                    ..
                }
            ),
            "{msg}"
        );
        assert!(msg.contains("record 1") && msg.contains("QLRMC"), "{msg}");
        assert!(!p.exists());
    }

    #[test]
    fn unencodable_text_and_long_names_are_errors() {
        let dir = tmp();
        let p = dir.path().join("t.dbf");
        let recs = vec![vec![Some("😀".to_string())]];
        let err = write_dbf(
            &p,
            &WriteSpec::gbk_undeclared(),
            &[DbfField::text("A", 10)],
            &recs,
        )
        .unwrap_err();
        assert!(
            matches!(err, ShpError::Unencodable { record: 0, .. }),
            "{err}"
        );
        // six Chinese characters are 12 bytes in GBK
        let err = write_dbf(
            &p,
            &WriteSpec::gbk_undeclared(),
            &[DbfField::text("不动产单元号", 4)],
            &[],
        )
        .unwrap_err();
        assert!(matches!(err, ShpError::FieldSpec { index: 0, .. }), "{err}");
    }

    #[test]
    fn polygon_shells_are_written_clockwise_and_holes_counter_clockwise() {
        let dir = tmp();
        let p = dir.path().join("poly.shp");
        // counter-clockwise shell, clockwise hole: both must be flipped
        let poly = polygon!(
            exterior: [(x: 0., y: 0.), (x: 10., y: 0.), (x: 10., y: 10.), (x: 0., y: 10.)],
            interiors: [[(x: 2., y: 2.), (x: 2., y: 4.), (x: 4., y: 4.), (x: 4., y: 2.)]],
        );
        let mp = MultiPolygon(vec![
            poly.clone(),
            polygon![(x: 20., y: 0.), (x: 21., y: 0.), (x: 21., y: 1.)],
        ]);
        let geoms = vec![
            Some(Geometry::Polygon(poly)),
            None,
            Some(Geometry::MultiPolygon(mp)),
        ];
        let recs = vec![vec![]; 3];
        write_shapefile(&p, &WriteSpec::utf8(), &[], &recs, &geoms).unwrap();
        let b = std::fs::read(&p).unwrap();
        assert_eq!(i32::from_be_bytes([b[0], b[1], b[2], b[3]]), 9994);
        let file_words = i32::from_be_bytes([b[24], b[25], b[26], b[27]]) as usize;
        assert_eq!(file_words * 2, b.len());
        assert_eq!(i32::from_le_bytes([b[32], b[33], b[34], b[35]]), 5);
        // first record: 2 parts, 10 points
        let c = 108;
        let ty = i32::from_le_bytes(b[c..c + 4].try_into().unwrap());
        let parts = i32::from_le_bytes(b[c + 36..c + 40].try_into().unwrap());
        let npts = i32::from_le_bytes(b[c + 40..c + 44].try_into().unwrap()) as usize;
        assert_eq!((ty, parts, npts), (5, 2, 10));
        let pts: Vec<Coord<f64>> = (0..npts)
            .map(|i| {
                let o = c + 52 + 16 * i;
                Coord {
                    x: f64::from_le_bytes(b[o..o + 8].try_into().unwrap()),
                    y: f64::from_le_bytes(b[o + 8..o + 16].try_into().unwrap()),
                }
            })
            .collect();
        assert!(ring_area2(&pts[..5]) < 0.0, "shell must be clockwise");
        assert!(
            ring_area2(&pts[5..]) > 0.0,
            "hole must be counter-clockwise"
        );
        let shx = std::fs::read(p.with_extension("shx")).unwrap();
        assert_eq!(shx.len(), 100 + 3 * 8);
        // the null record: offset after record 1, content 2 words
        let off1 = i32::from_be_bytes(shx[108..112].try_into().unwrap()) as usize * 2;
        assert_eq!(i32::from_be_bytes(shx[112..116].try_into().unwrap()), 2);
        assert_eq!(&b[off1 + 8..off1 + 12], &[0, 0, 0, 0]);
    }

    #[test]
    fn mixed_geometry_families_are_refused_with_the_record() {
        let dir = tmp();
        let p = dir.path().join("mixed.shp");
        let geoms = vec![
            Some(Geometry::Point(geo_types::point!(x: 1., y: 2.))),
            Some(Geometry::Polygon(
                polygon![(x: 0., y: 0.), (x: 1., y: 0.), (x: 1., y: 1.)],
            )),
        ];
        let err =
            write_shapefile(&p, &WriteSpec::utf8(), &[], &[vec![], vec![]], &geoms).unwrap_err();
        assert!(matches!(err, ShpError::Geometry { record: 1, .. }), "{err}");
        assert!(!p.exists() && !p.with_extension("dbf").exists());
    }

    #[test]
    fn memo_encoding_matches_encoding_rs() {
        let texts = [
            "莱芜区张家洼街道",
            "Zürich café",
            "繁體國語",
            "ひらがな",
            "€ and ½",
            "😀 emoji",
            "a\u{0}b",
        ];
        for enc in [
            encoding_rs::GBK,
            encoding_rs::GB18030,
            encoding_rs::BIG5,
            encoding_rs::SHIFT_JIS,
            encoding_rs::WINDOWS_1252,
        ] {
            let mut memo = CharMemo::new(enc);
            for t in texts {
                let (mut a, mut b) = (Vec::new(), Vec::new());
                let ok_a = memo.encode(t, &mut a);
                let ok_b = encode_into(enc, t, &mut b);
                assert_eq!(ok_a, ok_b, "{} {t}", enc.name());
                if ok_a {
                    assert_eq!(a, b, "{} {t}", enc.name());
                }
                // a second time through the memo gives the same answer
                let mut c = Vec::new();
                assert_eq!(memo.encode(t, &mut c), ok_a);
                assert!(!ok_a || c == a);
            }
        }
    }

    #[test]
    fn gbk_shapefile_round_trips_through_the_reader() {
        use crate::{read_shapefile, EncodingSource, ReadOptions, TextEncoding};
        let dir = tmp();
        let fields = [
            DbfField::text("ZDDM", 19),
            DbfField::text("QLRMC", 20),
            DbfField::number("ZDMJ", 12, 2),
            DbfField::date("DJRQ"),
            DbfField::logical("YX"),
        ];
        let holey = polygon!(
            exterior: [(x: 0., y: 0.), (x: 10., y: 0.), (x: 10., y: 10.), (x: 0., y: 10.)],
            interiors: [[(x: 2., y: 2.), (x: 2., y: 4.), (x: 4., y: 4.), (x: 4., y: 2.)]],
        );
        let island = polygon![(x: 20., y: 0.), (x: 21., y: 0.), (x: 21., y: 1.)];
        let geoms = vec![
            Some(Geometry::Polygon(holey.clone())),
            Some(Geometry::MultiPolygon(MultiPolygon(vec![holey, island]))),
            None,
        ];
        let recs = vec![
            vec![
                Some("371202001001GB00001".into()),
                Some("张三".into()),
                Some("120.50".into()),
                Some("20240102".into()),
                Some("T".into()),
            ],
            vec![
                Some("371202001001GB00002".into()),
                Some("莱芜区国有资产".into()),
                None,
                None,
                None,
            ],
            vec![None, None, Some("0.00".into()), None, Some("F".into())],
        ];
        for (spec, source) in [
            (WriteSpec::gbk_undeclared(), EncodingSource::Detected),
            (WriteSpec::gbk_ldid(), EncodingSource::Ldid),
            (
                WriteSpec {
                    cpg: Some("936".into()),
                    ..WriteSpec::gbk_undeclared()
                },
                EncodingSource::Cpg,
            ),
        ] {
            let p = dir.path().join(format!(
                "rt{}.shp",
                spec.ldid + u8::from(spec.cpg.is_some())
            ));
            write_shapefile(&p, &spec, &fields, &recs, &geoms).unwrap();
            let opts = ReadOptions {
                chinese: true,
                ..ReadOptions::default()
            };
            let l = read_shapefile(&p, &opts).unwrap();
            let d = l.encoding.as_ref().unwrap();
            assert_eq!(
                (d.encoding, d.source),
                (TextEncoding::GBK, source),
                "{:?}",
                d.evidence
            );
            assert!(l.problems.is_empty(), "{:?}", l.problems);
            for (f, field) in fields.iter().enumerate() {
                for (r, rec) in recs.iter().enumerate() {
                    assert_eq!(
                        l.columns[f].get(r),
                        rec[f].as_deref(),
                        "{} row {r}",
                        field.name
                    );
                }
            }
            assert_eq!(l.geoms.len(), 3);
            assert!(l.geoms[2].is_none());
            let Some(Geometry::MultiPolygon(mp)) = &l.geoms[1] else {
                panic!("{:?}", l.geoms[1])
            };
            assert_eq!(mp.0.len(), 2);
            assert_eq!(mp.0[0].interiors().len(), 1);
            let Some(Geometry::Polygon(p0)) = &l.geoms[0] else {
                panic!("{:?}", l.geoms[0])
            };
            assert!(ring_area2(&p0.exterior().0) < 0.0 && ring_area2(&p0.interiors()[0].0) > 0.0);
            let mut pts: Vec<(i64, i64)> = p0
                .exterior()
                .0
                .iter()
                .map(|c| (c.x as i64, c.y as i64))
                .collect();
            pts.sort_unstable();
            assert_eq!(pts, [(0, 0), (0, 0), (0, 10), (10, 0), (10, 10)]);
        }
    }
}
