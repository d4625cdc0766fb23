//! Polygon assembly from shapefile rings, as GDAL 3.6 does it (`organizePolygons` with
//! `METHOD=ONLY_CCW`, fast variant): clockwise rings are shells, each counter-clockwise ring
//! becomes a hole of the smallest clockwise ring that contains it; with exactly one clockwise
//! ring every other ring is its hole. Rings with fewer than 4 points make the record
//! "not organisable": every ring is returned as its own polygon.

use geo_types::{Coord, Geometry, LineString, MultiPolygon, Polygon};

/// GDAL's `OGRLinearRing::isClockwise`: orientation at the lowest-rightmost vertex, with the
/// shoelace sum as the fallback for degenerate pivots.
pub(crate) fn is_clockwise(p: &[Coord<f64>]) -> bool {
    let n = p.len();
    if n < 2 {
        return true;
    }
    const EPS: f64 = 1e-5;
    let mut use_fallback = false;
    let mut v = 0usize;
    for i in 1..n - 1 {
        if p[i].y < p[v].y || (p[i].y == p[v].y && p[i].x > p[v].x) {
            v = i;
            use_fallback = false;
        } else if p[i].y == p[v].y && p[i].x == p[v].x {
            use_fallback = true;
        }
    }
    let near = |a: Coord<f64>, b: Coord<f64>| (a.x - b.x).abs() < EPS && (a.y - b.y).abs() < EPS;
    let prev = if v == 0 { n.saturating_sub(2) } else { v - 1 };
    if near(p[prev], p[v]) {
        use_fallback = true;
    }
    let (dx0, dy0) = (p[prev].x - p[v].x, p[prev].y - p[v].y);
    let next = if v + 1 >= n - 1 { 0 } else { v + 1 };
    if near(p[next], p[v]) {
        use_fallback = true;
    }
    let (dx1, dy1) = (p[next].x - p[v].x, p[next].y - p[v].y);
    let cross = dx1 * dy0 - dx0 * dy1;
    if !use_fallback {
        if cross > 0.0 {
            return false;
        }
        if cross < 0.0 {
            return true;
        }
    }
    // Green's formula
    let mut sum = p[0].x * (p[1].y - p[n - 1].y);
    for i in 1..n - 1 {
        sum += p[i].x * (p[i + 1].y - p[i - 1].y);
    }
    sum += p[n - 1].x * (p[0].y - p[n - 2].y);
    sum < 0.0
}

/// Strict point-in-ring test by crossings (GDAL's `isPointInRing`).
fn point_in_ring(pt: Coord<f64>, ring: &[Coord<f64>]) -> bool {
    let n = ring.len();
    let mut crossings = 0u32;
    for i in 0..n {
        let j = (i + 1) % n;
        let (x1, y1) = (ring[i].x - pt.x, ring[i].y - pt.y);
        let (x2, y2) = (ring[j].x - pt.x, ring[j].y - pt.y);
        if (y1 > 0.0 && y2 <= 0.0) || (y2 > 0.0 && y1 <= 0.0) {
            let x = (x1 * y2 - x2 * y1) / (y2 - y1);
            if 0.0 < x {
                crossings += 1;
            }
        }
    }
    crossings % 2 == 1
}

/// The point lies on a segment of the ring (exact arithmetic on the cross product).
fn point_on_boundary(pt: Coord<f64>, ring: &[Coord<f64>]) -> bool {
    ring.windows(2).any(|w| {
        let (a, b) = (w[0], w[1]);
        let cross = (b.x - a.x) * (pt.y - a.y) - (b.y - a.y) * (pt.x - a.x);
        cross == 0.0
            && pt.x >= a.x.min(b.x)
            && pt.x <= a.x.max(b.x)
            && pt.y >= a.y.min(b.y)
            && pt.y <= a.y.max(b.y)
    })
}

#[derive(Clone, Copy)]
struct Env {
    min_x: f64,
    min_y: f64,
    max_x: f64,
    max_y: f64,
}

impl Env {
    fn of(p: &[Coord<f64>]) -> Env {
        let mut e = Env {
            min_x: f64::INFINITY,
            min_y: f64::INFINITY,
            max_x: f64::NEG_INFINITY,
            max_y: f64::NEG_INFINITY,
        };
        for c in p {
            e.min_x = e.min_x.min(c.x);
            e.min_y = e.min_y.min(c.y);
            e.max_x = e.max_x.max(c.x);
            e.max_y = e.max_y.max(c.y);
        }
        e
    }
    fn contains(&self, o: &Env) -> bool {
        self.min_x <= o.min_x
            && self.min_y <= o.min_y
            && self.max_x >= o.max_x
            && self.max_y >= o.max_y
    }
}

fn area(p: &[Coord<f64>]) -> f64 {
    if p.len() < 3 {
        return 0.0;
    }
    let mut s = 0.0;
    for i in 0..p.len() {
        let j = (i + 1) % p.len();
        s += p[i].x * p[j].y - p[j].x * p[i].y;
    }
    (s / 2.0).abs()
}

/// Is ring `i` inside ring `j` (GDAL's fast test: a first point strictly inside, walking
/// along `i` while its points lie on `j`'s boundary, then mid-points of its segments)?
fn inside(ri: &[Coord<f64>], rj: &[Coord<f64>]) -> bool {
    let a = ri[0];
    if point_on_boundary(a, rj) {
        let mut prev = a;
        let mut k = 1;
        while k < ri.len() {
            let p = ri[k];
            if p == prev {
                k += 1;
                continue;
            }
            if !point_on_boundary(p, rj) {
                return point_in_ring(p, rj);
            }
            prev = p;
            k += 1;
        }
        if ri.len() > 2 {
            let mut prev = ri[0];
            for &p in &ri[1..] {
                if p == prev {
                    continue;
                }
                let mid = Coord {
                    x: (p.x + prev.x) / 2.0,
                    y: (p.y + prev.y) / 2.0,
                };
                if point_on_boundary(mid, rj) {
                    // keep walking
                } else {
                    return point_in_ring(mid, rj);
                }
                prev = p;
            }
        }
        false
    } else {
        point_in_ring(a, rj)
    }
}

/// The polygon(s) of a shapefile polygon record. `None` for zero rings. The bool is false when
/// the rings could not be organised (then each ring is its own polygon, as GDAL returns).
pub(crate) fn organize(rings: Vec<Vec<Coord<f64>>>) -> (Option<Geometry<f64>>, bool) {
    let n = rings.len();
    if n == 0 {
        return (None, true);
    }
    if n == 1 {
        let r = rings.into_iter().next().unwrap_or_default();
        return (
            Some(Geometry::Polygon(Polygon::new(LineString(r), vec![]))),
            true,
        );
    }
    if rings.iter().any(|r| r.len() < 4) {
        let polys = rings
            .into_iter()
            .map(|r| Polygon::new(LineString(r), vec![]))
            .collect();
        return (Some(Geometry::MultiPolygon(MultiPolygon(polys))), false);
    }
    let cw: Vec<bool> = rings.iter().map(|r| is_clockwise(r)).collect();
    let n_cw = cw.iter().filter(|&&c| c).count();
    if n_cw == 1 {
        // invariant: exactly one clockwise ring exists
        let shell_idx = cw.iter().position(|&c| c).unwrap_or(0);
        let mut shell = Vec::new();
        let mut holes = Vec::with_capacity(n - 1);
        for (i, r) in rings.into_iter().enumerate() {
            if i == shell_idx {
                shell = r;
            } else {
                holes.push(LineString(r));
            }
        }
        return (
            Some(Geometry::Polygon(Polygon::new(LineString(shell), holes))),
            true,
        );
    }
    let envs: Vec<Env> = rings.iter().map(|r| Env::of(r)).collect();
    let areas: Vec<f64> = rings.iter().map(|r| area(r)).collect();
    // step 1: by descending area (stable for equal areas)
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| {
        areas[b]
            .partial_cmp(&areas[a])
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    // step 2: enclosing shell of each ring, None = top level
    let mut top = vec![false; n];
    let mut parent: Vec<Option<usize>> = vec![None; n];
    top[order[0]] = true;
    for oi in 1..n {
        let i = order[oi];
        if cw[i] {
            top[i] = true;
            continue;
        }
        let mut found = false;
        for oj in (0..oi).rev() {
            let j = order[oj];
            if !cw[j] {
                continue;
            }
            if envs[j].contains(&envs[i]) && (oj == 0 || inside(&rings[i], &rings[j])) {
                if top[j] {
                    parent[i] = Some(j);
                } else {
                    top[i] = true;
                }
                found = true;
                break;
            }
        }
        if !found {
            top[i] = true;
        }
    }
    // steps 3-5: original order, holes to their shells
    let mut holes: Vec<Vec<LineString<f64>>> = vec![Vec::new(); n];
    let mut rings: Vec<Option<Vec<Coord<f64>>>> = rings.into_iter().map(Some).collect();
    for i in 0..n {
        if let Some(p) = parent[i] {
            if let Some(r) = rings[i].take() {
                holes[p].push(LineString(r));
            }
        }
    }
    let mut polys = Vec::new();
    for i in 0..n {
        if top[i] {
            if let Some(r) = rings[i].take() {
                polys.push(Polygon::new(LineString(r), std::mem::take(&mut holes[i])));
            }
        }
    }
    if polys.len() == 1 {
        let p = polys
            .pop()
            .unwrap_or_else(|| Polygon::new(LineString(vec![]), vec![]));
        (Some(Geometry::Polygon(p)), true)
    } else {
        (Some(Geometry::MultiPolygon(MultiPolygon(polys))), true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(pts: &[(f64, f64)]) -> Vec<Coord<f64>> {
        pts.iter().map(|&(x, y)| Coord { x, y }).collect()
    }
    fn square(x: f64, y: f64, s: f64, clockwise: bool) -> Vec<Coord<f64>> {
        let mut r = ring(&[(x, y), (x, y + s), (x + s, y + s), (x + s, y), (x, y)]);
        if !clockwise {
            r.reverse();
        }
        r
    }

    #[test]
    fn orientation_follows_gdal() {
        assert!(is_clockwise(&square(0., 0., 1., true)));
        assert!(!is_clockwise(&square(0., 0., 1., false)));
    }

    #[test]
    fn one_shell_takes_all_other_rings_as_holes() {
        let (g, ok) = organize(vec![square(0., 0., 10., true), square(2., 2., 1., false)]);
        assert!(ok);
        match g {
            Some(Geometry::Polygon(p)) => assert_eq!(p.interiors().len(), 1),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn two_shells_with_a_hole_each_make_a_multipolygon() {
        let (g, ok) = organize(vec![
            square(0., 0., 10., true),
            square(20., 0., 10., true),
            square(22., 2., 1., false),
            square(2., 2., 1., false),
        ]);
        assert!(ok);
        let Some(Geometry::MultiPolygon(mp)) = g else {
            panic!("{g:?}")
        };
        assert_eq!(mp.0.len(), 2);
        assert_eq!(mp.0[0].exterior().0[0], Coord { x: 0., y: 0. });
        assert_eq!(mp.0[0].interiors()[0].0[0], Coord { x: 2., y: 2. });
        assert_eq!(mp.0[1].interiors()[0].0[0], Coord { x: 22., y: 2. });
    }

    #[test]
    fn counter_clockwise_ring_outside_every_shell_is_its_own_polygon() {
        let (g, _) = organize(vec![
            square(0., 0., 10., true),
            square(20., 0., 10., true),
            square(50., 50., 1., false),
        ]);
        let Some(Geometry::MultiPolygon(mp)) = g else {
            panic!("{g:?}")
        };
        assert_eq!(mp.0.len(), 3);
    }

    #[test]
    fn degenerate_rings_are_returned_unorganised() {
        let (g, ok) = organize(vec![square(0., 0., 10., true), ring(&[(1., 1.), (1., 1.)])]);
        assert!(!ok);
        let Some(Geometry::MultiPolygon(mp)) = g else {
            panic!("{g:?}")
        };
        assert_eq!(mp.0.len(), 2);
    }
}
