//! Per-feature shape checks and fixes: GEOM-03 vertex defects, GEOM-05 small/thin polygons,
//! GEOM-06 ring orientation.
//!
//! Areas and perimeters are computed relative to a local origin (the ring's first vertex), so
//! Gauss-Krüger coordinates with a zone prefix (easting ≈ 39 500 000 m) lose no precision.

use crate::predicates::ring_orientation;
use geo_types::{Coord, LineString, MultiPolygon, Polygon};

/// GEOM-03 default snap distance: 1 mm.
pub const SNAP_M: f64 = 0.001;
/// GEOM-05 default minimum area: 1 m².
pub const MIN_AREA_M2: f64 = 1.0;
/// GEOM-05 default minimum thinness 4πA/P² (1 for a circle, ≈0.785 for a square).
pub const MIN_THINNESS: f64 = 0.05;

/// Which ring of a multipolygon: `polygon` index, `ring` 0 for the shell, `k` for hole `k-1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RingRef {
    pub polygon: usize,
    pub ring: usize,
}

/// A GEOM-03 vertex defect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VertexDefectKind {
    /// two consecutive vertices are identical
    DuplicateVertex,
    /// two consecutive vertices are closer than the snap distance (but not identical)
    ZeroLengthSegment,
    /// the ring runs out to a vertex and comes back along (almost) the same line
    Spike,
}

impl VertexDefectKind {
    /// kebab-case code
    pub fn code(self) -> &'static str {
        match self {
            VertexDefectKind::DuplicateVertex => "duplicate-vertex",
            VertexDefectKind::ZeroLengthSegment => "zero-length-segment",
            VertexDefectKind::Spike => "spike",
        }
    }
}

/// One vertex defect: where, and its size (segment length for short segments, width of the
/// spike at its base for spikes, 0 for duplicates).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VertexDefect {
    pub kind: VertexDefectKind,
    pub ring: RingRef,
    /// index of the offending vertex in the ring (the second of a pair, the tip of a spike)
    pub vertex: usize,
    pub at: Coord,
    pub size: f64,
}

fn dist(a: Coord, b: Coord) -> f64 {
    (a.x - b.x).hypot(a.y - b.y)
}

/// Distance from `p` to the infinite line through `a` and `b` (`a != b`).
fn dist_to_line(p: Coord, a: Coord, b: Coord) -> f64 {
    let d = b - a;
    let len = d.x.hypot(d.y);
    if len == 0.0 {
        return dist(p, a);
    }
    ((p.x - a.x) * d.y - (p.y - a.y) * d.x).abs() / len
}

/// Spike width at tip `v` between neighbours `p` and `n`, if the corner folds back
/// (angle < 90° and the nearer neighbour lies within `snap` of the line through the tip and
/// the farther neighbour).
fn spike_width(p: Coord, v: Coord, n: Coord, snap: f64) -> Option<f64> {
    let (a, b) = (p - v, n - v);
    if a.x * b.x + a.y * b.y <= 0.0 {
        return None;
    }
    let (la, lb) = (a.x.hypot(a.y), b.x.hypot(b.y));
    let (near, far) = if la <= lb { (p, n) } else { (n, p) };
    if la.min(lb) <= snap {
        return None; // a short segment, not a spike
    }
    let w = dist_to_line(near, v, far);
    (w <= snap).then_some(w)
}

fn ring_defects(ring: &[Coord], rref: RingRef, snap: f64, out: &mut Vec<VertexDefect>) {
    if ring.len() < 2 {
        return;
    }
    // closing vertex is not a duplicate of the first
    let n = if ring.first() == ring.last() {
        ring.len() - 1
    } else {
        ring.len()
    };
    for i in 1..=n {
        let (a, b) = (ring[i - 1], ring[i % ring.len()]);
        if i == n && ring.first() != ring.last() {
            break;
        }
        if a == b {
            out.push(VertexDefect {
                kind: VertexDefectKind::DuplicateVertex,
                ring: rref,
                vertex: i % n.max(1),
                at: b,
                size: 0.0,
            });
        } else {
            let d = dist(a, b);
            if d <= snap {
                out.push(VertexDefect {
                    kind: VertexDefectKind::ZeroLengthSegment,
                    ring: rref,
                    vertex: i % n.max(1),
                    at: b,
                    size: d,
                });
            }
        }
    }
    // spikes, between distinct neighbours
    let pts: Vec<(usize, Coord)> = {
        let mut v: Vec<(usize, Coord)> = Vec::with_capacity(n);
        for (i, &c) in ring.iter().enumerate().take(n) {
            if v.last().map(|l| l.1) != Some(c) {
                v.push((i, c));
            }
        }
        if v.len() > 1 && v.first().map(|f| f.1) == v.last().map(|l| l.1) {
            v.pop();
        }
        v
    };
    let m = pts.len();
    if m < 3 {
        return;
    }
    for k in 0..m {
        let p = pts[(k + m - 1) % m].1;
        let (vi, v) = pts[k];
        let nx = pts[(k + 1) % m].1;
        if let Some(w) = spike_width(p, v, nx, snap) {
            out.push(VertexDefect {
                kind: VertexDefectKind::Spike,
                ring: rref,
                vertex: vi,
                at: v,
                size: w,
            });
        }
    }
}

/// GEOM-03: duplicate consecutive vertices, segments not longer than `snap`, and spikes whose
/// base is at most `snap` wide, in ring order.
///
/// ```
/// use cadastra_geom::shape::{vertex_defects, VertexDefectKind, SNAP_M};
/// let p = geo_types::wkt!(MULTIPOLYGON(((0. 0., 10. 0., 10. 0., 10. 10., 0. 10., 0. 0.))));
/// let d = vertex_defects(&p, SNAP_M);
/// assert_eq!(d.len(), 1);
/// assert_eq!(d[0].kind, VertexDefectKind::DuplicateVertex);
/// ```
pub fn vertex_defects(g: &MultiPolygon<f64>, snap: f64) -> Vec<VertexDefect> {
    let mut out = Vec::new();
    for (pi, p) in g.0.iter().enumerate() {
        ring_defects(
            &p.exterior().0,
            RingRef {
                polygon: pi,
                ring: 0,
            },
            snap,
            &mut out,
        );
        for (hi, h) in p.interiors().iter().enumerate() {
            ring_defects(
                &h.0,
                RingRef {
                    polygon: pi,
                    ring: hi + 1,
                },
                snap,
                &mut out,
            );
        }
    }
    out
}

/// Remove GEOM-03 defects from one closed ring; returns the number of vertices removed.
/// The original coordinates of the vertices kept are not moved (they may be boundary points).
fn clean_ring(ring: &mut Vec<Coord>, snap: f64) -> usize {
    if ring.len() < 2 {
        return 0;
    }
    let closed = ring.first() == ring.last();
    let mut pts: Vec<Coord> = ring[..if closed { ring.len() - 1 } else { ring.len() }].to_vec();
    let before = pts.len();
    loop {
        let mut changed = false;
        // duplicates and short segments: drop the later vertex (keep the ring's first)
        let mut out: Vec<Coord> = Vec::with_capacity(pts.len());
        for &c in &pts {
            match out.last() {
                Some(&l) if dist(l, c) <= snap => changed = true,
                _ => out.push(c),
            }
        }
        while out.len() > 1 && dist(out[out.len() - 1], out[0]) <= snap {
            out.pop();
            changed = true;
        }
        // spikes: drop the tip, one at a time, then re-check
        let m = out.len();
        if m >= 3 {
            if let Some(k) = (0..m).find(|&k| {
                spike_width(out[(k + m - 1) % m], out[k], out[(k + 1) % m], snap).is_some()
            }) {
                out.remove(k);
                changed = true;
            }
        }
        pts = out;
        if !changed || pts.len() < 3 {
            break;
        }
    }
    let removed = before - pts.len();
    if closed {
        if let Some(&f) = pts.first() {
            pts.push(f);
        }
    }
    *ring = pts;
    removed
}

/// GEOM-03 fix: drop duplicate vertices, vertices closer than `snap` to their predecessor, and
/// spike tips, repeatedly. Rings that collapse below 3 distinct vertices are dropped (a polygon
/// whose shell collapses is dropped whole). Returns the cleaned geometry and the number of
/// vertices removed.
pub fn remove_vertex_defects(g: &MultiPolygon<f64>, snap: f64) -> (MultiPolygon<f64>, usize) {
    let mut removed = 0;
    let mut polys = Vec::with_capacity(g.0.len());
    for p in &g.0 {
        let mut shell = p.exterior().0.clone();
        removed += clean_ring(&mut shell, snap);
        if shell.len() < 4 {
            removed += shell.len().saturating_sub(1);
            continue;
        }
        let mut holes = Vec::with_capacity(p.interiors().len());
        for h in p.interiors() {
            let mut r = h.0.clone();
            removed += clean_ring(&mut r, snap);
            if r.len() >= 4 {
                holes.push(LineString(r));
            } else {
                removed += r.len().saturating_sub(1);
            }
        }
        polys.push(Polygon::new(LineString(shell), holes));
    }
    (MultiPolygon(polys), removed)
}

/// Are all coordinates finite (no NaN, no infinity)?
pub fn all_finite(g: &MultiPolygon<f64>) -> bool {
    g.0.iter().all(|p| {
        std::iter::once(p.exterior())
            .chain(p.interiors())
            .all(|r| r.0.iter().all(|c| c.x.is_finite() && c.y.is_finite()))
    })
}

/// Signed area of a closed ring (positive when counter-clockwise), computed around the first
/// vertex for precision.
pub fn ring_signed_area(ring: &[Coord]) -> f64 {
    let Some(&o) = ring.first() else { return 0.0 };
    let mut s = 0.0;
    for w in ring.windows(2) {
        let (a, b) = (w[0] - o, w[1] - o);
        s += a.x * b.y - a.y * b.x;
    }
    s / 2.0
}

/// Length of a ring or line.
pub fn ring_length(ring: &[Coord]) -> f64 {
    ring.windows(2).map(|w| dist(w[0], w[1])).sum()
}

/// Area of a valid polygon: shell minus holes, whatever the ring orientation.
pub fn polygon_area(p: &Polygon<f64>) -> f64 {
    ring_signed_area(&p.exterior().0).abs()
        - p.interiors()
            .iter()
            .map(|h| ring_signed_area(&h.0).abs())
            .sum::<f64>()
}

/// Area of a valid multipolygon.
pub fn area(g: &MultiPolygon<f64>) -> f64 {
    g.0.iter().map(polygon_area).sum()
}

/// Total length of all rings.
pub fn perimeter(g: &MultiPolygon<f64>) -> f64 {
    g.0.iter()
        .map(|p| {
            ring_length(&p.exterior().0)
                + p.interiors().iter().map(|h| ring_length(&h.0)).sum::<f64>()
        })
        .sum()
}

/// Width estimate of a thin shape, `2·area/perimeter`: exact for a long strip (a `w × L` strip
/// gives `w·L/(L+w)`, so `w` as `L` grows), half the width for a square. Used for overlaps, gaps
/// and overhangs, whose shape is usually a strip along a boundary.
pub fn width_estimate(area: f64, perimeter: f64) -> f64 {
    if perimeter > 0.0 {
        2.0 * area / perimeter
    } else {
        0.0
    }
}

/// GEOM-05 measures of one feature.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SliverCheck {
    pub area: f64,
    pub perimeter: f64,
    /// 4πA/P²: 1 for a circle, ≈0.785 for a square, → 0 for a sliver
    pub thinness: f64,
    /// area below the minimum
    pub too_small: bool,
    /// thinness below the minimum
    pub too_thin: bool,
}

impl SliverCheck {
    /// Should GEOM-05 report this feature?
    pub fn flagged(&self) -> bool {
        self.too_small || self.too_thin
    }
}

/// GEOM-05: area below `min_area` or thinness `4πA/P²` below `min_thinness`
/// (defaults [`MIN_AREA_M2`], [`MIN_THINNESS`]).
///
/// ```
/// use cadastra_geom::shape::{sliver_check, MIN_AREA_M2, MIN_THINNESS};
/// let strip = geo_types::wkt!(MULTIPOLYGON(((0. 0., 100. 0., 100. 0.5, 0. 0.5, 0. 0.))));
/// let s = sliver_check(&strip, MIN_AREA_M2, MIN_THINNESS);
/// assert!(s.too_thin && !s.too_small);
/// ```
pub fn sliver_check(g: &MultiPolygon<f64>, min_area: f64, min_thinness: f64) -> SliverCheck {
    let a = area(g);
    let p = perimeter(g);
    let thinness = if p > 0.0 {
        4.0 * std::f64::consts::PI * a / (p * p)
    } else {
        0.0
    };
    SliverCheck {
        area: a,
        perimeter: p,
        thinness,
        too_small: a < min_area,
        too_thin: thinness < min_thinness,
    }
}

/// GEOM-06: orient shells counter-clockwise and holes clockwise (the GeoPackage / OGC
/// convention). Returns whether any ring was reversed. Flat rings are left alone.
///
/// ```
/// use cadastra_geom::shape::normalize_orientation;
/// let mut p = geo_types::wkt!(MULTIPOLYGON(((0. 0., 0. 10., 10. 10., 10. 0., 0. 0.))));
/// assert!(normalize_orientation(&mut p));   // was clockwise
/// assert!(!normalize_orientation(&mut p));  // now stable
/// ```
pub fn normalize_orientation(g: &mut MultiPolygon<f64>) -> bool {
    let mut changed = false;
    for p in &mut g.0 {
        changed |= normalize_polygon(p);
    }
    changed
}

/// GEOM-06 for one polygon; returns whether any ring was reversed.
pub fn normalize_polygon(p: &mut Polygon<f64>) -> bool {
    let mut changed = false;
    if ring_orientation(&p.exterior().0) < 0 {
        p.exterior_mut(|r| r.0.reverse());
        changed = true;
    }
    if p.interiors().iter().any(|h| ring_orientation(&h.0) > 0) {
        p.interiors_mut(|hs| {
            for h in hs {
                if ring_orientation(&h.0) > 0 {
                    h.0.reverse();
                }
            }
        });
        changed = true;
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::wkt;

    #[test]
    fn defects_found_and_removed() {
        let g = wkt!(MULTIPOLYGON(((0. 0., 10. 0., 10.0005 0., 10. 10., 10. 20., 10.0004 10., 0. 10., 0. 0.))));
        let d = vertex_defects(&g, SNAP_M);
        let kinds: Vec<_> = d.iter().map(|d| d.kind).collect();
        assert!(
            kinds.contains(&VertexDefectKind::ZeroLengthSegment),
            "{d:?}"
        );
        assert!(kinds.contains(&VertexDefectKind::Spike), "{d:?}");
        let spike = d
            .iter()
            .find(|d| d.kind == VertexDefectKind::Spike)
            .map(|d| d.at);
        assert_eq!(spike, Some(Coord { x: 10.0, y: 20.0 }));
        let (clean, removed) = remove_vertex_defects(&g, SNAP_M);
        assert!(removed >= 2);
        assert!(vertex_defects(&clean, SNAP_M).is_empty(), "{clean:?}");
        assert!((area(&clean) - 100.0).abs() < 0.01);
        assert!(crate::valid::validate_multipolygon(&clean).is_ok());
    }

    #[test]
    fn legit_sharp_corner_is_not_a_spike() {
        let g = wkt!(MULTIPOLYGON(((0. 0., 10. 0., 9. 1., 0. 0.))));
        assert!(vertex_defects(&g, SNAP_M).is_empty());
    }

    #[test]
    fn area_is_precise_with_zone_prefix() {
        let g = wkt!(MULTIPOLYGON(((39512000.0 4012000.0, 39512020.0 4012000.0, 39512020.0 4012030.0, 39512000.0 4012030.0, 39512000.0 4012000.0))));
        assert_eq!(area(&g), 600.0);
        assert_eq!(perimeter(&g), 100.0);
        let s = sliver_check(&g, MIN_AREA_M2, MIN_THINNESS);
        assert!(!s.flagged());
        assert!((s.thinness - 4.0 * std::f64::consts::PI * 600.0 / 10000.0).abs() < 1e-12);
        let tiny = wkt!(MULTIPOLYGON(((0. 0., 0.5 0., 0.5 0.5, 0. 0.5, 0. 0.))));
        assert!(sliver_check(&tiny, MIN_AREA_M2, MIN_THINNESS).too_small);
    }

    #[test]
    fn orientation_normalised() {
        let mut g = wkt!(MULTIPOLYGON(((0. 0., 0. 10., 10. 10., 10. 0., 0. 0.),(2. 2., 4. 2., 4. 4., 2. 2.))));
        assert!(normalize_orientation(&mut g));
        assert!(ring_signed_area(&g.0[0].exterior().0) > 0.0);
        assert!(ring_signed_area(&g.0[0].interiors()[0].0) < 0.0);
        assert!(!normalize_orientation(&mut g));
    }
}
