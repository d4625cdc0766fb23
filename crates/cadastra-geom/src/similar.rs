//! Geometry comparison for the merge stage: canonical equality, Hausdorff distance, overlap
//! ratio (MERGE-01/-02) and duplicate detection within one layer.

use crate::index::{Envelope, TopoIndex};
use crate::overlay::distance_to_boundary;
use crate::predicates::ring_orientation;
use crate::shape::{area, perimeter};
use geo::BooleanOps;
use geo_types::{Coord, MultiPolygon};
use rayon::prelude::*;
use std::cmp::Ordering;

fn cmp_coord(a: &Coord, b: &Coord) -> Ordering {
    a.x.total_cmp(&b.x).then(a.y.total_cmp(&b.y))
}

/// Canonical ring: no repeated points, no closing point, given orientation, starting at the
/// smallest vertex.
fn canonical_ring(r: &[Coord], ccw: bool) -> Vec<Coord> {
    let mut v: Vec<Coord> = Vec::with_capacity(r.len());
    for &c in r {
        // +0.0 for -0.0
        let c = Coord {
            x: c.x + 0.0,
            y: c.y + 0.0,
        };
        if v.last() != Some(&c) {
            v.push(c);
        }
    }
    if v.len() > 1 && v.first() == v.last() {
        v.pop();
    }
    let o = ring_orientation(&[v.as_slice(), &v[..v.len().min(1)]].concat());
    if (ccw && o < 0) || (!ccw && o > 0) {
        v.reverse();
    }
    if let Some(k) = (0..v.len()).min_by(|&i, &j| cmp_coord(&v[i], &v[j])) {
        v.rotate_left(k);
    }
    v
}

/// Canonical form of a multipolygon: rings as above (shells CCW, holes CW), holes and
/// polygons sorted.
pub fn canonical(g: &MultiPolygon<f64>) -> Vec<Vec<Vec<Coord>>> {
    let cmp_ring = |a: &Vec<Coord>, b: &Vec<Coord>| {
        for (x, y) in a.iter().zip(b) {
            let c = cmp_coord(x, y);
            if c != Ordering::Equal {
                return c;
            }
        }
        a.len().cmp(&b.len())
    };
    let mut polys: Vec<Vec<Vec<Coord>>> =
        g.0.iter()
            .filter(|p| !p.exterior().0.is_empty())
            .map(|p| {
                let mut holes: Vec<Vec<Coord>> = p
                    .interiors()
                    .iter()
                    .map(|h| canonical_ring(&h.0, false))
                    .collect();
                holes.sort_by(cmp_ring);
                let mut rings = vec![canonical_ring(&p.exterior().0, true)];
                rings.extend(holes);
                rings
            })
            .collect();
    polys.sort_by(|a, b| cmp_ring(&a[0], &b[0]));
    polys
}

/// Same geometry up to vertex order, start point, ring orientation, repeated points and part
/// order (exact coordinates).
pub fn equal_normalized(a: &MultiPolygon<f64>, b: &MultiPolygon<f64>) -> bool {
    canonical(a) == canonical(b)
}

/// Hausdorff distance between the boundaries of `a` and `b`, measured from vertices to
/// boundaries in both directions (the discrete Hausdorff distance of GEOS/PostGIS
/// `ST_HausdorffDistance` without densification).
pub fn hausdorff(a: &MultiPolygon<f64>, b: &MultiPolygon<f64>) -> f64 {
    let dir = |x: &MultiPolygon<f64>, y: &MultiPolygon<f64>| {
        let mut m: f64 = 0.0;
        for p in &x.0 {
            for r in std::iter::once(p.exterior()).chain(p.interiors()) {
                for &c in &r.0 {
                    m = m.max(distance_to_boundary(c, y));
                }
            }
        }
        m
    };
    let (ea, eb) = (
        a.0.iter().any(|p| !p.exterior().0.is_empty()),
        b.0.iter().any(|p| !p.exterior().0.is_empty()),
    );
    if !ea || !eb {
        return if ea == eb { 0.0 } else { f64::INFINITY };
    }
    dir(a, b).max(dir(b, a))
}

/// `area(a ∩ b) / min(area a, area b)`: 1 when one contains the other, 0 when they only touch.
/// 0 when either has no area or a non-finite coordinate.
pub fn overlap_ratio(a: &MultiPolygon<f64>, b: &MultiPolygon<f64>) -> f64 {
    if !crate::shape::all_finite(a) || !crate::shape::all_finite(b) {
        return 0.0;
    }
    let m = area(a).min(area(b));
    if m <= 0.0 {
        return 0.0;
    }
    (area(&a.intersection(b)) / m).clamp(0.0, 1.0)
}

/// A pair of duplicate features.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Duplicate {
    pub i: usize,
    pub j: usize,
    /// boundary Hausdorff distance (0 for exact duplicates)
    pub hausdorff: f64,
    /// equal up to vertex order, start point, orientation and part order
    pub exact: bool,
}

/// Duplicate geometries of a layer: pairs `i < j` equal up to vertex order/start
/// point/orientation, or within `tol` metres: Hausdorff distance ≤ `tol` and areas differing
/// by at most `tol × perimeter` (which rules out a different polygon on the same vertices).
/// Sorted by `(i, j)`, independent of the number of threads.
pub fn find_duplicates(geoms: &[Option<MultiPolygon<f64>>], tol: f64) -> Vec<Duplicate> {
    let envs: Vec<Option<Envelope>> = geoms
        .par_iter()
        .map(|g| {
            g.as_ref()
                .and_then(Envelope::of_multipolygon)
                .map(|e| e.expand(tol / 2.0))
        })
        .collect();
    let index = TopoIndex::from_envelopes(envs);
    let pairs = index.candidate_pairs();
    pairs
        .par_iter()
        .filter_map(|&(i, j)| {
            let (i, j) = (i as usize, j as usize);
            let (a, b) = (geoms[i].as_ref()?, geoms[j].as_ref()?);
            if equal_normalized(a, b) {
                return Some(Duplicate {
                    i,
                    j,
                    hausdorff: 0.0,
                    exact: true,
                });
            }
            let h = hausdorff(a, b);
            if h > tol {
                return None;
            }
            let slack = tol * perimeter(a).max(perimeter(b)) + 1e-9 * area(a).abs().max(1.0);
            if (area(a) - area(b)).abs() > slack {
                return None;
            }
            Some(Duplicate {
                i,
                j,
                hausdorff: h,
                exact: false,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::wkt;

    #[test]
    fn canonical_equality() {
        let a = wkt!(MULTIPOLYGON(((0. 0., 10. 0., 10. 10., 0. 10., 0. 0.))));
        let b = wkt!(MULTIPOLYGON(((10. 10., 10. 0., 10. 0., 0. 0., 0. 10., 10. 10.))));
        assert!(equal_normalized(&a, &b));
        let c = wkt!(MULTIPOLYGON(((0. 0., 10. 0., 10. 10., 0. 10.0001, 0. 0.))));
        assert!(!equal_normalized(&a, &c));
        assert!(hausdorff(&a, &c) < 1e-3);
        assert_eq!(hausdorff(&a, &b), 0.0);
        // extra collinear vertex: same shape, Hausdorff 0
        let d = wkt!(MULTIPOLYGON(((0. 0., 5. 0., 10. 0., 10. 10., 0. 10., 0. 0.))));
        assert_eq!(hausdorff(&a, &d), 0.0);
    }

    #[test]
    fn ratio_and_duplicates() {
        let a = wkt!(MULTIPOLYGON(((0. 0., 10. 0., 10. 10., 0. 10., 0. 0.))));
        let half = wkt!(MULTIPOLYGON(((5. 0., 15. 0., 15. 10., 5. 10., 5. 0.))));
        assert!((overlap_ratio(&a, &half) - 0.5).abs() < 1e-12);
        let inner = wkt!(MULTIPOLYGON(((1. 1., 2. 1., 2. 2., 1. 2., 1. 1.))));
        assert!((overlap_ratio(&a, &inner) - 1.0).abs() < 1e-12);
        let geoms = vec![
            Some(a.clone()),
            Some(half),
            Some(wkt!(MULTIPOLYGON(((0. 10., 0. 0., 10. 0., 10. 10., 0. 10.))))),
            Some(wkt!(MULTIPOLYGON(((0.02 0., 10. 0., 10. 10., 0. 10., 0.02 0.))))),
            None,
        ];
        let d = find_duplicates(&geoms, 0.05);
        let got: Vec<(usize, usize, bool)> = d.iter().map(|d| (d.i, d.j, d.exact)).collect();
        assert_eq!(got, vec![(0, 2, true), (0, 3, false), (2, 3, false)]);
        assert!(find_duplicates(&geoms, 0.0).iter().all(|d| d.exact));
    }
}
