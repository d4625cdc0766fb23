//! A synthetic cadastral world for determinism and performance tests: 地籍子区 of 40 × 25
//! parcels (about 20 × 30 m, jittered nodes shared exactly between neighbours, a third of the
//! vertical edges bent, some parcels split in two with T-junctions), sub-zones separated by 8 m
//! roads, one building inset in every parcel, registry attributes filled coherently. Adapted
//! from cadastra-geom's tests/common/grid.rs.
//!
//! With `defects`, problems are planted on sparse lattices of interior parcels (never adjacent):
//! overlaps (right edge pushed 0.5 m into the neighbour: TOPO-01), gaps (pulled back 0.5 m:
//! TOPO-02 W01), slivers (pulled back 2 cm: TOPO-02 I01), missing parcels (TOPO-02 W01),
//! bow-tie rings (GEOM-01), buildings shifted 0.8 m out of their parcel (TOPO-04), registered areas off
//! by 10 % (AREA-01), an impossible land-use code (ATTR-02), an incoherent feature code (ATTR-03)
//! and a missing address (ATTR-01).

use super::RowsBuilder;
use cadastra_model::{Geom, Rows};
use geo_types::{Coord, LineString, MultiPolygon, Polygon};

pub const X0: f64 = 540_000.0;
pub const Y0: f64 = 4_005_000.0;
const W: f64 = 20.0;
const H: f64 = 30.0;
pub const COLS: usize = 40;
pub const ROWS: usize = 25;
const ROAD: f64 = 8.0;

#[derive(Debug, Default, Clone, Copy)]
pub struct Planted {
    pub overlaps: usize,
    pub gaps: usize,
    pub slivers: usize,
    pub holes: usize,
    pub bowties: usize,
    pub buildings_out: usize,
    pub areas: usize,
    pub bad_yt: usize,
    pub bad_tzm: usize,
    pub no_zl: usize,
    pub t_junctions: usize,
}

pub struct World {
    pub parcels: Rows,
    pub buildings: Rows,
    pub planted: Planted,
}

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn h(seed: u64, a: u64, b: u64, c: u64) -> u64 {
    mix(seed ^ mix(a ^ mix(b ^ mix(c))))
}

fn unit(seed: u64, a: u64, b: u64, c: u64) -> f64 {
    (h(seed, a, b, c) >> 11) as f64 / (1u64 << 53) as f64
}

fn mm(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Normal,
    Overlap,
    Gap,
    Sliver,
    Hole,
    Bowtie,
}

fn ring_area(r: &[Coord]) -> f64 {
    let o = r[0];
    let mut s = 0.0;
    for w in r.windows(2) {
        s += (w[0].x - o.x) * (w[1].y - o.y) - (w[1].x - o.x) * (w[0].y - o.y);
    }
    (s / 2.0).abs()
}

/// A world of about `parcels` parcels (whole sub-zones of 1 000).
pub fn world(parcels: usize, seed: u64, defects: bool) -> World {
    let zones = parcels.div_ceil(COLS * ROWS).max(1);
    let per_row = (zones as f64).sqrt().ceil() as usize;
    let pfields = [
        "ZDDM", "BDCDYH", "ZDTZM", "ZL", "ZDMJ", "MJDW", "YT", "YTBB", "QLLX", "QLXZ", "src_key",
    ];
    let bfields = ["ZRZH", "ZDDM", "ZL", "BDCDYH", "src_key"];
    let mut pb = RowsBuilder::new("ZDJBXX", &pfields);
    let mut bb = RowsBuilder::new("ZRZ", &bfields);
    let mut planted = Planted::default();
    for z in 0..zones {
        let (zx, zy) = (z % per_row, z / per_row);
        let ox = X0 + zx as f64 * (COLS as f64 * W + ROAD);
        let oy = Y0 + zy as f64 * (ROWS as f64 * H + ROAD);
        let s = seed ^ (z as u64).wrapping_mul(0x1234_5678_9abc);
        let node = |i: usize, j: usize| Coord {
            x: mm(ox
                + i as f64 * W
                + if i == 0 || i == COLS {
                    0.0
                } else {
                    (unit(s, i as u64, j as u64, 10) - 0.5) * 0.6
                }),
            y: mm(oy
                + j as f64 * H
                + if j == 0 || j == ROWS {
                    0.0
                } else {
                    (unit(s, 0, j as u64, 11) - 0.5) * 1.0
                }),
        };
        let bend = |i: usize, j: usize| -> Option<Coord> {
            if i == 0 || i == COLS || !h(s, i as u64, j as u64, 12).is_multiple_of(3) {
                return None;
            }
            let (a, b) = (node(i, j), node(i, j + 1));
            Some(Coord {
                x: mm((a.x + b.x) / 2.0 + (unit(s, i as u64, j as u64, 13) - 0.5) * 0.4),
                y: mm((a.y + b.y) / 2.0),
            })
        };
        let djq = z / 999 + 1;
        let djzq = z % 999 + 1;
        let mut seq = 0usize;
        for j in 0..ROWS {
            for i in 0..COLS {
                let interior = defects && i >= 1 && j >= 1 && i + 2 < COLS && j + 2 < ROWS;
                let pick = |k: u64| h(s, i as u64, j as u64, k).is_multiple_of(7);
                let kind = if !interior {
                    Kind::Normal
                } else {
                    match (i % 7, j % 5) {
                        (1, 1) if pick(1) => Kind::Overlap,
                        (3, 1) if pick(2) => Kind::Gap,
                        (5, 1) if pick(3) => Kind::Sliver,
                        (1, 3) if pick(4) => Kind::Hole,
                        (3, 3) if pick(5) => Kind::Bowtie,
                        _ => Kind::Normal,
                    }
                };
                let shift = match kind {
                    Kind::Overlap => 0.5,
                    Kind::Gap => -0.5,
                    Kind::Sliver => -0.02,
                    _ => 0.0,
                };
                match kind {
                    Kind::Hole => {
                        planted.holes += 1;
                        continue;
                    }
                    Kind::Overlap => planted.overlaps += 1,
                    Kind::Gap => planted.gaps += 1,
                    Kind::Sliver => planted.slivers += 1,
                    Kind::Bowtie => planted.bowties += 1,
                    Kind::Normal => {}
                }
                let mv = |c: Coord| Coord {
                    x: mm(c.x + shift),
                    y: c.y,
                };
                let (bl, br, tr, tl) = (
                    node(i, j),
                    mv(node(i + 1, j)),
                    mv(node(i + 1, j + 1)),
                    node(i, j + 1),
                );
                let lb = bend(i, j);
                let rb = bend(i + 1, j).map(mv);
                let split = kind == Kind::Normal && h(s, i as u64, j as u64, 14).is_multiple_of(20);
                let mut rings: Vec<Vec<Coord>> = Vec::new();
                if split {
                    planted.t_junctions += 1;
                    let mb = Coord {
                        x: mm((bl.x + br.x) / 2.0),
                        y: bl.y,
                    };
                    let mt = Coord {
                        x: mm((tl.x + tr.x) / 2.0),
                        y: tl.y,
                    };
                    let mut left = vec![bl, mb, mt, tl];
                    left.extend(lb);
                    let mut right = vec![mb, br];
                    right.extend(rb);
                    right.extend([tr, mt]);
                    rings.push(left);
                    rings.push(right);
                } else if kind == Kind::Bowtie {
                    let mut r = vec![br, bl];
                    r.extend(rb);
                    r.extend([tr, tl]);
                    r.extend(lb);
                    rings.push(r);
                } else {
                    let mut r = vec![bl, br];
                    r.extend(rb);
                    r.extend([tr, tl]);
                    r.extend(lb);
                    rings.push(r);
                }
                for (n, mut r) in rings.into_iter().enumerate() {
                    seq += 1;
                    let k = seq as u64;
                    let zddm = format!("371202{djq:03}{djzq:03}GB{seq:05}");
                    if h(s, i as u64, j as u64, 20 + n as u64).is_multiple_of(2) {
                        r.reverse(); // clockwise, as in shapefiles
                    }
                    r.push(r[0]);
                    let area = ring_area(&r);
                    // building: the ring shrunk by 30 % towards its vertex mean
                    let m = r.len() - 1;
                    let c = Coord {
                        x: r[..m].iter().map(|c| c.x).sum::<f64>() / m as f64,
                        y: r[..m].iter().map(|c| c.y).sum::<f64>() / m as f64,
                    };
                    let right_split = h(s, i as u64 + 1, j as u64, 14).is_multiple_of(20);
                    let out = defects
                        && interior
                        && kind == Kind::Normal
                        && !split
                        && !right_split
                        && h(s, k, 0, 30).is_multiple_of(97);
                    let dx = if out {
                        planted.buildings_out += 1;
                        0.3 * (br.x - bl.x) / 2.0 + 0.8
                    } else {
                        0.0
                    };
                    let b: Vec<Coord> = r
                        .iter()
                        .map(|p| Coord {
                            x: mm(c.x + 0.7 * (p.x - c.x) + dx),
                            y: mm(c.y + 0.7 * (p.y - c.y)),
                        })
                        .collect();
                    let clean = defects && interior && kind == Kind::Normal && !split;
                    let wrong_area = clean && h(s, k, 1, 31).is_multiple_of(89);
                    let bad_yt = clean && !wrong_area && h(s, k, 2, 32).is_multiple_of(83);
                    let bad_tzm =
                        clean && !wrong_area && !bad_yt && h(s, k, 3, 33).is_multiple_of(79);
                    let no_zl = clean
                        && !wrong_area
                        && !bad_yt
                        && !bad_tzm
                        && h(s, k, 4, 34).is_multiple_of(73);
                    planted.areas += usize::from(wrong_area);
                    planted.bad_yt += usize::from(bad_yt);
                    planted.bad_tzm += usize::from(bad_tzm);
                    planted.no_zl += usize::from(no_zl);
                    let zdmj = format!("{:.2}", if wrong_area { area * 1.1 } else { area });
                    let bdcdyh = format!("{zddm}W00000000");
                    let zl = format!("莱城区测试镇第{z}区{seq}号");
                    let src = format!("ZD{z}-{seq}");
                    pb.push(
                        &[
                            Some(&zddm),
                            Some(&bdcdyh),
                            Some(if bad_tzm { "JC" } else { "GB" }),
                            (!no_zl).then_some(zl.as_str()),
                            Some(&zdmj),
                            Some("1"),
                            Some(if bad_yt { "0799" } else { "0701" }),
                            Some("GB/T 21010-2017"),
                            Some("3"),
                            Some("102"),
                            Some(&src),
                        ],
                        Some(MultiPolygon(vec![Polygon::new(LineString(r), vec![])])),
                    );
                    let zrzh = format!("{zddm}F0001");
                    let bsrc = format!("ZRZ{z}-{seq}");
                    bb.push(
                        &[Some(&zrzh), Some(&zddm), Some(&zl), None, Some(&bsrc)],
                        Some(MultiPolygon(vec![Polygon::new(LineString(b), vec![])])),
                    );
                }
            }
        }
    }
    World {
        parcels: pb.rows,
        buildings: bb.rows,
        planted,
    }
}

/// A stable text form of a geometry, for comparing runs.
pub fn geom_text(g: &Option<Geom>) -> String {
    match g {
        None => "-".into(),
        Some(g) => {
            g.0.iter()
                .map(|p| {
                    p.exterior()
                        .0
                        .iter()
                        .map(|c| format!("{:.6} {:.6}", c.x, c.y))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .collect::<Vec<_>>()
                .join(";")
        }
    }
}
