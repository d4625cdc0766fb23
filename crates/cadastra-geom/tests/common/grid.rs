//! Synthetic parcel coverage for performance and determinism tests: a grid of ~20 × 30 m
//! parcels in Gauss-Krüger coordinates with a zone prefix, exactly noded (shared vertices are
//! computed once), with
//!
//! - x-jitter of every grid node (±0.3 m) and y-jitter of every row (±0.5 m), coordinates on mm;
//! - bends: a third of the vertical edges carry a middle vertex shared by both neighbours;
//! - T-junctions: some parcels are split in two, their neighbours above and below are not;
//! - half of the parcels clockwise (as in shapefiles), half counter-clockwise;
//! - planted problems on sparse lattices (never adjacent to each other): missing parcels
//!   (real gaps of ~600 m²), parcels whose right edge is pulled in by 2 cm (slivers), pushed
//!   out by 0.5 m (real overlaps of ~15 m²) or by 4 mm (noise overlaps, narrower than 1 cm),
//!   and "twisted" parcels whose right edge crosses the neighbour's (bottom corner pulled in,
//!   top corner pushed out by 0.5 m: a real overlap and a real gap of 2-7 m² each, depending on the neighbour's bend, and a
//!   coverage that is no longer noded).

use geo_types::{Coord, LineString, MultiPolygon, Polygon};

pub const X0: f64 = 39_500_000.0;
pub const Y0: f64 = 4_000_000.0;
const W: f64 = 20.0;
const H: f64 = 30.0;

#[derive(Debug, Clone, Copy)]
pub struct GridOptions {
    pub cols: usize,
    pub rows: usize,
    pub seed: u64,
    /// plant holes, slivers and overlaps
    pub problems: bool,
}

#[derive(Debug, Default)]
pub struct GridCoverage {
    pub parcels: Vec<Option<MultiPolygon<f64>>>,
    pub holes: usize,
    pub slivers: usize,
    pub overlaps: usize,
    pub noise_overlaps: usize,
    pub twists: usize,
    pub t_junction_parcels: usize,
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
    Hole,
    Sliver,
    Overlap,
    Noise,
    Twist,
}

fn kind(o: &GridOptions, i: usize, j: usize) -> Kind {
    if !o.problems || i == 0 || j == 0 || i + 2 >= o.cols || j + 2 >= o.rows {
        return Kind::Normal;
    }
    let (a, b) = (i % 7, j % 11);
    let pick = |k: u64| h(o.seed, i as u64, j as u64, k).is_multiple_of(13);
    match (a, b) {
        (3, 5) if pick(1) => Kind::Hole,
        (5, 8) if pick(2) => Kind::Sliver,
        (1, 2) if pick(3) => Kind::Overlap,
        (1, 9) if pick(4) => Kind::Noise,
        (5, 2) if pick(5) => Kind::Twist,
        _ => Kind::Normal,
    }
}

pub fn grid_coverage(o: &GridOptions) -> GridCoverage {
    let s = o.seed;
    let node = |i: usize, j: usize| Coord {
        x: mm(X0 + i as f64 * W + (unit(s, i as u64, j as u64, 10) - 0.5) * 0.6),
        y: mm(Y0 + j as f64 * H + (unit(s, 0, j as u64, 11) - 0.5) * 1.0),
    };
    // middle vertex of the vertical edge from node (i, j) to (i, j + 1), if it has one
    let bend = |i: usize, j: usize| -> Option<Coord> {
        if !h(s, i as u64, j as u64, 12).is_multiple_of(3) {
            return None;
        }
        let (a, b) = (node(i, j), node(i, j + 1));
        let off = (unit(s, i as u64, j as u64, 13) - 0.5) * 0.4;
        Some(Coord {
            x: mm((a.x + b.x) / 2.0 + off),
            y: mm((a.y + b.y) / 2.0),
        })
    };
    let mut out = GridCoverage::default();
    out.parcels.reserve(o.cols * o.rows * 21 / 20);
    for j in 0..o.rows {
        for i in 0..o.cols {
            let k = kind(o, i, j);
            let shift = match k {
                Kind::Hole => {
                    out.holes += 1;
                    continue;
                }
                Kind::Sliver => {
                    out.slivers += 1;
                    -0.02
                }
                Kind::Overlap => {
                    out.overlaps += 1;
                    0.5
                }
                Kind::Noise => {
                    out.noise_overlaps += 1;
                    0.004
                }
                Kind::Twist => {
                    out.twists += 1;
                    0.5
                }
                Kind::Normal => 0.0,
            };
            let mv = |c: Coord| Coord {
                x: mm(c.x + shift),
                y: c.y,
            };
            let bottom_shift = if k == Kind::Twist { -shift } else { shift };
            let mvb = |c: Coord| Coord {
                x: mm(c.x + bottom_shift),
                y: c.y,
            };
            let (bl, br, tr, tl) = (
                node(i, j),
                mvb(node(i + 1, j)),
                mv(node(i + 1, j + 1)),
                node(i, j + 1),
            );
            let lb = bend(i, j);
            let rb = if k == Kind::Twist {
                None
            } else {
                bend(i + 1, j).map(mv)
            };
            let split = k == Kind::Normal && h(s, i as u64, j as u64, 14).is_multiple_of(20);
            let mut rings: Vec<Vec<Coord>> = Vec::new();
            if split {
                out.t_junction_parcels += 1;
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
            } else {
                let mut r = vec![bl, br];
                r.extend(rb);
                r.extend([tr, tl]);
                r.extend(lb);
                rings.push(r);
            }
            for (n, mut r) in rings.into_iter().enumerate() {
                if h(s, i as u64, j as u64, 20 + n as u64).is_multiple_of(2) {
                    r.reverse(); // clockwise, as in shapefiles
                }
                r.push(r[0]);
                out.parcels.push(Some(MultiPolygon(vec![Polygon::new(
                    LineString(r),
                    vec![],
                )])));
            }
        }
    }
    out
}
