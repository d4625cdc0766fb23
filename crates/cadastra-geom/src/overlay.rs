//! Overlap of parcels (TOPO-01, TOPO-05) and buildings outside their parcel (TOPO-04), built on
//! geo's `BooleanOps` (i_overlay). The exact [`interiors_intersect`] test runs first, so the
//! costly overlay is computed only for pairs that really overlap.

use crate::index::{Envelope, TopoIndex};
use crate::interiors::interiors_intersect_env;
use crate::shape::{all_finite, area, perimeter, width_estimate};
use geo::BooleanOps;
use geo_types::{Coord, MultiPolygon};
use rayon::prelude::*;

/// TOPO-01 default: an overlap counts as real above this area (m²) …
pub const OVERLAP_MIN_AREA_M2: f64 = 0.01;
/// … and above this width (m); smaller overlaps are snapping noise.
pub const OVERLAP_MIN_WIDTH_M: f64 = 0.01;

/// The common part of two polygons.
#[derive(Debug, Clone, PartialEq)]
pub struct Overlap {
    pub geom: MultiPolygon<f64>,
    pub area: f64,
    /// width estimate `2·area/perimeter` (see [`crate::shape::width_estimate`]): the width of a
    /// strip-shaped overlap along a shared boundary
    pub width: f64,
}

/// Intersection of `a` and `b` with its area and width, `None` if it has no area (or a
/// coordinate is not finite).
///
/// Meant for pairs whose interiors intersect ([`crate::interiors_intersect`]); overlaps
/// below the overlay's resolution (about 1e-9 of the pair's extent) may come back as `None`.
pub fn overlap(a: &MultiPolygon<f64>, b: &MultiPolygon<f64>) -> Option<Overlap> {
    // the overlay panics on non-finite coordinates (GEOM-01 reports those)
    if !all_finite(a) || !all_finite(b) {
        return None;
    }
    let geom = a.intersection(b);
    let ar = area(&geom);
    if geom.0.is_empty() || ar <= 0.0 {
        return None;
    }
    let width = width_estimate(ar, perimeter(&geom));
    Some(Overlap {
        geom,
        area: ar,
        width,
    })
}

/// One overlapping pair of a layer.
#[derive(Debug, Clone, PartialEq)]
pub struct OverlapFinding {
    pub i: usize,
    pub j: usize,
    pub area: f64,
    pub width: f64,
    /// the overlap; empty when the interiors meet but the overlap is below the overlay's
    /// resolution (then `area` and `width` are 0 and `noise` is true)
    pub geom: MultiPolygon<f64>,
    /// below tolerance: snapping noise to count and fix, not a real overlap
    pub noise: bool,
}

/// TOPO-01 / TOPO-05: every pair `i < j` of features whose interiors intersect, sorted by
/// `(i, j)`. A finding is real (`noise == false`) when `area > min_area` and
/// `width > min_width` (defaults [`OVERLAP_MIN_AREA_M2`], [`OVERLAP_MIN_WIDTH_M`]).
/// Runs on the rayon pool; the result does not depend on the number of threads.
pub fn find_overlaps(
    geoms: &[Option<MultiPolygon<f64>>],
    min_area: f64,
    min_width: f64,
) -> Vec<OverlapFinding> {
    let index = TopoIndex::new(geoms);
    find_overlaps_indexed(geoms, &index, min_area, min_width)
}

/// [`find_overlaps`] with an index built by the caller (and shared with other rules).
pub fn find_overlaps_indexed(
    geoms: &[Option<MultiPolygon<f64>>],
    index: &TopoIndex,
    min_area: f64,
    min_width: f64,
) -> Vec<OverlapFinding> {
    let pairs = index.candidate_pairs_grid_order();
    let mut found: Vec<OverlapFinding> = pairs
        .par_iter()
        .with_min_len(256)
        .filter_map(|&(i, j)| {
            let (i, j) = (i as usize, j as usize);
            let (a, b) = (geoms.get(i)?.as_ref()?, geoms.get(j)?.as_ref()?);
            let (ea, eb) = (index.envelope(i)?, index.envelope(j)?);
            if !interiors_intersect_env(a, &ea, b, &eb) {
                return None;
            }
            Some(match overlap(a, b) {
                Some(o) => OverlapFinding {
                    i,
                    j,
                    noise: !(o.area > min_area && o.width > min_width),
                    area: o.area,
                    width: o.width,
                    geom: o.geom,
                },
                None => OverlapFinding {
                    i,
                    j,
                    area: 0.0,
                    width: 0.0,
                    geom: MultiPolygon(vec![]),
                    noise: true,
                },
            })
        })
        .collect();
    found.sort_unstable_by_key(|f| (f.i, f.j));
    found
}

/// TOPO-04 default: an outside part at most this wide (m) is eaves/digitising noise (W),
/// wider is a real overhang (E).
pub const OUTSIDE_NOISE_WIDTH_M: f64 = 0.05;

/// The part of a building outside its parcel.
#[derive(Debug, Clone, PartialEq)]
pub struct OutsidePart {
    pub geom: MultiPolygon<f64>,
    pub area: f64,
    /// how far the building sticks out: the largest distance from a vertex of the outside part
    /// to the parcel's boundary (exact where the farthest point is a vertex, which holds for
    /// the strips and corners that eaves and misplaced buildings produce)
    pub max_width: f64,
}

/// TOPO-04: `building − parcel`, `None` when the building lies within the parcel (or a
/// coordinate is not finite).
///
/// ```
/// use cadastra_geom::outside_part;
/// let parcel = geo_types::wkt!(MULTIPOLYGON(((0. 0., 20. 0., 20. 30., 0. 30., 0. 0.))));
/// let eaves = geo_types::wkt!(MULTIPOLYGON(((5. 5., 20.03 5., 20.03 15., 5. 15., 5. 5.))));
/// let o = outside_part(&eaves, &parcel).unwrap();
/// assert!((o.area - 0.3).abs() < 1e-6);
/// assert!((o.max_width - 0.03).abs() < 1e-6);
/// ```
pub fn outside_part(
    building: &MultiPolygon<f64>,
    parcel: &MultiPolygon<f64>,
) -> Option<OutsidePart> {
    if let (Some(eb), Some(ep)) = (
        Envelope::of_multipolygon(building),
        Envelope::of_multipolygon(parcel),
    ) {
        if !eb.intersects(&ep) {
            return Some(OutsidePart {
                area: area(building),
                max_width: max_vertex_distance(building, parcel),
                geom: building.clone(),
            });
        }
    }
    if !all_finite(building) || !all_finite(parcel) {
        return None; // the overlay panics on non-finite coordinates (GEOM-01 reports those)
    }
    let geom = building.difference(parcel);
    let ar = area(&geom);
    if geom.0.is_empty() || ar <= 0.0 {
        return None;
    }
    let max_width = max_vertex_distance(&geom, parcel);
    Some(OutsidePart {
        geom,
        area: ar,
        max_width,
    })
}

fn seg_dist(p: Coord, a: Coord, b: Coord) -> f64 {
    // relative to a for precision with large coordinates
    let (px, py) = (p.x - a.x, p.y - a.y);
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let l2 = dx * dx + dy * dy;
    let t = if l2 > 0.0 {
        ((px * dx + py * dy) / l2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    (px - t * dx).hypot(py - t * dy)
}

/// Distance from `p` to the boundary (all rings) of `g`.
pub fn distance_to_boundary(p: Coord, g: &MultiPolygon<f64>) -> f64 {
    let mut best = f64::INFINITY;
    for poly in &g.0 {
        for r in std::iter::once(poly.exterior()).chain(poly.interiors()) {
            for w in r.0.windows(2) {
                best = best.min(seg_dist(p, w[0], w[1]));
            }
        }
    }
    best
}

fn max_vertex_distance(part: &MultiPolygon<f64>, parcel: &MultiPolygon<f64>) -> f64 {
    let mut m: f64 = 0.0;
    for poly in &part.0 {
        for r in std::iter::once(poly.exterior()).chain(poly.interiors()) {
            for &c in &r.0 {
                let d = distance_to_boundary(c, parcel);
                if d.is_finite() {
                    m = m.max(d);
                }
            }
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::wkt;

    #[test]
    fn overlaps_classified() {
        let geoms = vec![
            Some(wkt!(MULTIPOLYGON(((0. 0., 20. 0., 20. 30., 0. 30., 0. 0.))))),
            // neighbour sharing the edge x = 20
            Some(wkt!(MULTIPOLYGON(((20. 0., 40. 0., 40. 30., 20. 30., 20. 0.))))),
            // overlaps #1 by a 0.5 m strip: real
            Some(wkt!(MULTIPOLYGON(((39.5 0., 60. 0., 60. 30., 39.5 30., 39.5 0.))))),
            None,
            // overlaps #0 by 5 mm: noise (width below 1 cm)
            Some(wkt!(MULTIPOLYGON(((-10. 0., 0.005 0., 0.005 30., -10. 30., -10. 0.))))),
        ];
        let f = find_overlaps(&geoms, OVERLAP_MIN_AREA_M2, OVERLAP_MIN_WIDTH_M);
        let got: Vec<(usize, usize, bool)> = f.iter().map(|o| (o.i, o.j, o.noise)).collect();
        assert_eq!(got, vec![(0, 4, true), (1, 2, false)]);
        assert!((f[1].area - 15.0).abs() < 1e-9);
        assert!((f[1].width - 2.0 * 15.0 / 61.0).abs() < 1e-9);
        assert!((f[0].area - 0.15).abs() < 1e-6, "{:?}", f[0]);
    }

    #[test]
    fn building_inside_and_outside() {
        let parcel = wkt!(MULTIPOLYGON(((0. 0., 20. 0., 20. 30., 0. 30., 0. 0.))));
        let inside = wkt!(MULTIPOLYGON(((5. 5., 20. 5., 20. 15., 5. 15., 5. 5.))));
        assert_eq!(outside_part(&inside, &parcel), None);
        let over = wkt!(MULTIPOLYGON(((15. 25., 22. 25., 22. 32., 15. 32., 15. 25.))));
        let o = outside_part(&over, &parcel).unwrap();
        assert!((o.area - (49.0 - 25.0)).abs() < 1e-9);
        assert!((o.max_width - 8f64.sqrt()).abs() < 1e-9);
        let away = wkt!(MULTIPOLYGON(((100. 100., 110. 100., 110. 110., 100. 100.))));
        assert!((outside_part(&away, &parcel).unwrap().area - 50.0).abs() < 1e-9);
    }
}
