//! Fast path: a single ring (a polygon without holes, or a GEOS `LinearRing`).
//!
//! For one ring every intersection other than adjacent edges meeting at their shared vertex is
//! an error, so there is no touch bookkeeping: copy the ring without repeated points into a
//! stack buffer, then test non-adjacent edge pairs (all pairs for small rings, a sweep over
//! x-sorted edges for large ones) with exact predicates.

use super::{check_coords, check_ring_closed, Invalid};
use crate::predicates::{orient, segment_intersection, SegIntersection};
use geo_types::Coord;

/// Rings up to this many distinct points are checked pair by pair from a stack buffer.
const SMALL: usize = 48;

/// Validate one ring: GEOS `LinearRing` semantics, identical to a polygon without holes.
///
/// Checks finite coordinates, closure, at least 4 points after dropping consecutive repeats,
/// and that no two edges meet except consecutive edges at their common vertex.
pub fn validate_raw_ring(ring: &[Coord]) -> Result<(), Invalid> {
    if ring.is_empty() {
        return Ok(());
    }
    check_coords(ring)?;
    check_ring_closed(ring)?;
    if ring.len() <= SMALL {
        let mut buf = [Coord { x: 0.0, y: 0.0 }; SMALL];
        let n = dedup_into(ring, &mut buf);
        check_simple(&buf[..n], ring[0])
    } else {
        let mut v = Vec::with_capacity(ring.len());
        for &c in ring {
            if v.last() != Some(&c) {
                v.push(c);
            }
        }
        check_simple(&v, ring[0])
    }
}

fn dedup_into(ring: &[Coord], buf: &mut [Coord; SMALL]) -> usize {
    let mut n = 0;
    for &c in ring {
        if n == 0 || buf[n - 1] != c {
            buf[n] = c;
            n += 1;
        }
    }
    n
}

/// `pts`: closed ring without consecutive repeats.
fn check_simple(pts: &[Coord], first: Coord) -> Result<(), Invalid> {
    let n = pts.len();
    if n < 4 {
        return Err(Invalid::TooFewPoints { at: Some(first) });
    }
    let nseg = n - 1;
    // adjacent edges (including last/first) may not fold back onto each other
    for i in 0..nseg {
        let a = pts[i];
        let b = pts[i + 1];
        let c = if i + 2 < n { pts[i + 2] } else { pts[1] };
        if folds_back(a, b, c) {
            return Err(Invalid::SelfIntersection { at: b });
        }
    }
    if nseg <= 3 {
        return Ok(()); // a triangle has only adjacent edges
    }
    if n <= SMALL {
        for i in 0..nseg - 2 {
            let (p0, p1) = (pts[i], pts[i + 1]);
            let (pminx, pmaxx) = minmax(p0.x, p1.x);
            let (pminy, pmaxy) = minmax(p0.y, p1.y);
            let last = if i == 0 { nseg - 1 } else { nseg };
            for j in i + 2..last {
                let (q0, q1) = (pts[j], pts[j + 1]);
                if q0.x.max(q1.x) < pminx
                    || q0.x.min(q1.x) > pmaxx
                    || q0.y.max(q1.y) < pminy
                    || q0.y.min(q1.y) > pmaxy
                {
                    continue;
                }
                report(p0, p1, q0, q1)?;
            }
        }
        Ok(())
    } else {
        sweep(pts)
    }
}

#[inline]
fn minmax(a: f64, b: f64) -> (f64, f64) {
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

/// Do edges `a b` and `b c` overlap along a piece of positive length?
#[inline]
fn folds_back(a: Coord, b: Coord, c: Coord) -> bool {
    if orient(a, b, c) != 0 {
        return false;
    }
    (a.x > b.x && c.x > b.x)
        || (a.x < b.x && c.x < b.x)
        || (a.y > b.y && c.y > b.y)
        || (a.y < b.y && c.y < b.y)
}

/// Any intersection of two non-adjacent edges of one ring is invalid.
#[inline]
fn report(p0: Coord, p1: Coord, q0: Coord, q1: Coord) -> Result<(), Invalid> {
    match segment_intersection(p0, p1, q0, q1) {
        SegIntersection::None => Ok(()),
        SegIntersection::Point { at, proper: true } => Err(Invalid::SelfIntersection { at }),
        SegIntersection::Collinear { a, .. } => Err(Invalid::SelfIntersection { at: a }),
        SegIntersection::Point { at, proper: false } => Err(Invalid::RingSelfIntersection { at }),
    }
}

fn sweep(pts: &[Coord]) -> Result<(), Invalid> {
    let nseg = pts.len() - 1;
    let mut order: Vec<(f64, f64, u32)> = (0..nseg)
        .map(|i| {
            let (lo, hi) = minmax(pts[i].x, pts[i + 1].x);
            (lo, hi, i as u32)
        })
        .collect();
    order.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    for (k, &(_, hi, i)) in order.iter().enumerate() {
        let i = i as usize;
        let (p0, p1) = (pts[i], pts[i + 1]);
        let (pminy, pmaxy) = minmax(p0.y, p1.y);
        for &(lo2, _, j) in &order[k + 1..] {
            if lo2 > hi {
                break;
            }
            let j = j as usize;
            let (a, b) = if i < j { (i, j) } else { (j, i) };
            if b - a <= 1 || (a == 0 && b == nseg - 1) {
                continue;
            }
            let (q0, q1) = (pts[j], pts[j + 1]);
            if q0.y.max(q1.y) < pminy || q0.y.min(q1.y) > pmaxy {
                continue;
            }
            report(p0, p1, q0, q1)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_ring_uses_sweep_and_finds_crossing() {
        // a 200-gon star-free circle is valid; swapping two vertices creates a crossing
        let n = 200;
        let mut ring: Vec<Coord> = (0..n)
            .map(|k| {
                let t = k as f64 / n as f64 * std::f64::consts::TAU;
                Coord {
                    x: 100.0 * t.cos(),
                    y: 100.0 * t.sin(),
                }
            })
            .collect();
        ring.push(ring[0]);
        assert_eq!(validate_raw_ring(&ring), Ok(()));
        ring.swap(50, 52);
        assert!(matches!(
            validate_raw_ring(&ring),
            Err(Invalid::SelfIntersection { .. })
        ));
    }

    #[test]
    fn closing_corner_fold_is_found() {
        // fold at the start/end vertex: edges (last) and (first) overlap
        let r = [
            Coord { x: 5.0, y: 0.0 },
            Coord { x: 10.0, y: 0.0 },
            Coord { x: 10.0, y: 10.0 },
            Coord { x: 0.0, y: 10.0 },
            Coord { x: 0.0, y: 0.0 },
            Coord { x: 8.0, y: 0.0 },
            Coord { x: 5.0, y: 0.0 },
        ];
        assert!(validate_raw_ring(&r).is_err());
    }
}
