//! Exact geometric predicates on `f64` coordinates.
//!
//! Everything here decides with Shewchuk's adaptive-precision `orient2d` (the `robust` crate), so
//! the answers are exact for any finite input: no epsilon, no "almost collinear". The segment
//! intersector follows the case analysis of JTS/GEOS `RobustLineIntersector`, and the angular
//! comparisons at a node follow `PolygonNodeTopology`, so that validity decisions built on them
//! agree with GEOS.

use geo_types::Coord;

/// Orientation of `r` relative to the directed line `p -> q`: `1` left (counter-clockwise),
/// `-1` right (clockwise), `0` collinear. Exact.
#[inline]
pub fn orient(p: Coord, q: Coord, r: Coord) -> i8 {
    let d = robust::orient2d(
        robust::Coord { x: p.x, y: p.y },
        robust::Coord { x: q.x, y: q.y },
        robust::Coord { x: r.x, y: r.y },
    );
    if d > 0.0 {
        1
    } else if d < 0.0 {
        -1
    } else {
        0
    }
}

/// Is `q` inside the closed bounding box of segment `p1 p2`?
#[inline]
pub(crate) fn in_seg_box(p1: Coord, p2: Coord, q: Coord) -> bool {
    q.x >= p1.x.min(p2.x) && q.x <= p1.x.max(p2.x) && q.y >= p1.y.min(p2.y) && q.y <= p1.y.max(p2.y)
}

/// Do the closed bounding boxes of two segments intersect?
#[inline]
pub(crate) fn seg_boxes_meet(p1: Coord, p2: Coord, q1: Coord, q2: Coord) -> bool {
    p1.x.min(p2.x) <= q1.x.max(q2.x)
        && q1.x.min(q2.x) <= p1.x.max(p2.x)
        && p1.y.min(p2.y) <= q1.y.max(q2.y)
        && q1.y.min(q2.y) <= p1.y.max(p2.y)
}

/// How two closed segments meet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SegIntersection {
    /// disjoint
    None,
    /// one common point; `proper` when it is interior to both segments (a true crossing)
    Point { at: Coord, proper: bool },
    /// a common sub-segment from `a` to `b` (collinear overlap of positive length)
    Collinear { a: Coord, b: Coord },
}

impl SegIntersection {
    /// 0, 1 or 2 as JTS's `getIntersectionNum`.
    pub fn num(&self) -> u8 {
        match self {
            SegIntersection::None => 0,
            SegIntersection::Point { .. } => 1,
            SegIntersection::Collinear { .. } => 2,
        }
    }
    /// The first intersection point, if any.
    pub fn first(&self) -> Option<Coord> {
        match *self {
            SegIntersection::None => None,
            SegIntersection::Point { at, .. } => Some(at),
            SegIntersection::Collinear { a, .. } => Some(a),
        }
    }
}

/// Intersect segment `p1 p2` with `q1 q2`, exactly (the case analysis of JTS
/// `RobustLineIntersector.computeIntersect`). A proper crossing point is computed in floating
/// point and only used as a location; all decisions are exact.
pub fn segment_intersection(p1: Coord, p2: Coord, q1: Coord, q2: Coord) -> SegIntersection {
    if !seg_boxes_meet(p1, p2, q1, q2) {
        return SegIntersection::None;
    }
    let pq1 = orient(p1, p2, q1);
    let pq2 = orient(p1, p2, q2);
    if (pq1 > 0 && pq2 > 0) || (pq1 < 0 && pq2 < 0) {
        return SegIntersection::None;
    }
    let qp1 = orient(q1, q2, p1);
    let qp2 = orient(q1, q2, p2);
    if (qp1 > 0 && qp2 > 0) || (qp1 < 0 && qp2 < 0) {
        return SegIntersection::None;
    }
    if pq1 == 0 && pq2 == 0 && qp1 == 0 && qp2 == 0 {
        return collinear_intersection(p1, p2, q1, q2);
    }
    if pq1 == 0 || pq2 == 0 || qp1 == 0 || qp2 == 0 {
        let at = if p1 == q1 || p1 == q2 {
            p1
        } else if p2 == q1 || p2 == q2 {
            p2
        } else if pq1 == 0 {
            q1
        } else if pq2 == 0 {
            q2
        } else if qp1 == 0 {
            p1
        } else {
            p2
        };
        return SegIntersection::Point { at, proper: false };
    }
    SegIntersection::Point {
        at: crossing_point(p1, p2, q1, q2),
        proper: true,
    }
}

fn collinear_intersection(p1: Coord, p2: Coord, q1: Coord, q2: Coord) -> SegIntersection {
    let q1in_p = in_seg_box(p1, p2, q1);
    let q2in_p = in_seg_box(p1, p2, q2);
    let p1in_q = in_seg_box(q1, q2, p1);
    let p2in_q = in_seg_box(q1, q2, p2);
    let pick = |a: Coord, b: Coord, single: bool| {
        if single {
            SegIntersection::Point {
                at: a,
                proper: false,
            }
        } else {
            SegIntersection::Collinear { a, b }
        }
    };
    if q1in_p && q2in_p {
        return pick(q1, q2, q1 == q2);
    }
    if p1in_q && p2in_q {
        return pick(p1, p2, p1 == p2);
    }
    if q1in_p && p1in_q {
        return pick(q1, p1, q1 == p1 && !q2in_p && !p2in_q);
    }
    if q1in_p && p2in_q {
        return pick(q1, p2, q1 == p2 && !q2in_p && !p1in_q);
    }
    if q2in_p && p1in_q {
        return pick(q2, p1, q2 == p1 && !q1in_p && !p2in_q);
    }
    if q2in_p && p2in_q {
        return pick(q2, p2, q2 == p2 && !q1in_p && !p1in_q);
    }
    SegIntersection::None
}

/// Floating-point crossing point of two properly crossing segments, clamped into the
/// intersection of their boxes. Used for reporting only.
pub(crate) fn crossing_point(p1: Coord, p2: Coord, q1: Coord, q2: Coord) -> Coord {
    // shift to a local origin to keep precision for large coordinates
    let o = Coord {
        x: (p1.x + p2.x + q1.x + q2.x) / 4.0,
        y: (p1.y + p2.y + q1.y + q2.y) / 4.0,
    };
    let (a, b, c, d) = (p1 - o, p2 - o, q1 - o, q2 - o);
    let r = b - a;
    let s = d - c;
    let den = r.x * s.y - r.y * s.x;
    let mut x = if den != 0.0 {
        let t = ((c.x - a.x) * s.y - (c.y - a.y) * s.x) / den;
        a + r * t + o
    } else {
        p1
    };
    let lox = p1.x.min(p2.x).max(q1.x.min(q2.x));
    let hix = p1.x.max(p2.x).min(q1.x.max(q2.x));
    let loy = p1.y.min(p2.y).max(q1.y.min(q2.y));
    let hiy = p1.y.max(p2.y).min(q1.y.max(q2.y));
    x.x = x.x.clamp(lox.min(hix), hix.max(lox));
    x.y = x.y.clamp(loy.min(hiy), hiy.max(loy));
    x
}

/// Does point `p` lie on the closed segment `a b`? Exact.
#[inline]
pub fn point_on_segment(p: Coord, a: Coord, b: Coord) -> bool {
    in_seg_box(a, b, p) && orient(a, b, p) == 0
}

/// Where a point lies relative to a ring or polygon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    Interior,
    Boundary,
    Exterior,
}

/// Locate `p` relative to the closed ring `ring` (JTS `RayCrossingCounter`), exactly.
/// The ring may hold repeated points; it should be closed (last == first).
pub fn locate_in_ring(p: Coord, ring: &[Coord]) -> Location {
    let mut crossings = 0u32;
    for w in ring.windows(2) {
        let (p1, p2) = (w[1], w[0]);
        if p1.x < p.x && p2.x < p.x {
            continue;
        }
        if p == p2 {
            return Location::Boundary;
        }
        if p1.y == p.y && p2.y == p.y {
            let (lo, hi) = if p1.x <= p2.x {
                (p1.x, p2.x)
            } else {
                (p2.x, p1.x)
            };
            if p.x >= lo && p.x <= hi {
                return Location::Boundary;
            }
            continue;
        }
        if (p1.y > p.y && p2.y <= p.y) || (p2.y > p.y && p1.y <= p.y) {
            let mut o = orient(p1, p2, p);
            if o == 0 {
                return Location::Boundary;
            }
            if p2.y < p1.y {
                o = -o;
            }
            if o > 0 {
                crossings += 1;
            }
        }
    }
    if !crossings.is_multiple_of(2) {
        Location::Interior
    } else {
        Location::Exterior
    }
}

/// Exact ring orientation as JTS `Orientation.isCCW` decides it: looks at the highest point
/// (or flat top) of the ring. Returns `false` for flat or degenerate rings. The ring must be
/// closed; repeated points are allowed.
pub fn is_ccw(ring: &[Coord]) -> bool {
    ring_orientation(ring) > 0
}

/// Exact orientation of a closed ring: `1` counter-clockwise, `-1` clockwise, `0` when the ring
/// is flat or degenerate (JTS `Orientation.isCCW`'s case analysis at the highest point).
pub fn ring_orientation(ring: &[Coord]) -> i8 {
    if ring.len() < 4 {
        return 0;
    }
    let n = ring.len() - 1;
    let mut up_hi = ring[0];
    let mut prev_y = up_hi.y;
    let mut up_low: Option<Coord> = None;
    let mut i_up_hi = 0usize;
    for (i, c) in ring.iter().enumerate().take(n + 1).skip(1) {
        let py = c.y;
        if py > prev_y && py >= up_hi.y {
            up_hi = *c;
            i_up_hi = i;
            up_low = Some(ring[i - 1]);
        }
        prev_y = py;
    }
    let Some(up_low) = up_low else {
        return 0;
    };
    let mut i_down_low = i_up_hi;
    loop {
        i_down_low = (i_down_low + 1) % n;
        if i_down_low == i_up_hi || ring[i_down_low].y != up_hi.y {
            break;
        }
    }
    let down_low = ring[i_down_low];
    let i_down_hi = if i_down_low > 0 {
        i_down_low - 1
    } else {
        n - 1
    };
    let down_hi = ring[i_down_hi];
    if up_hi == down_hi {
        if up_low == up_hi || down_low == up_hi || up_low == down_low {
            return 0;
        }
        orient(up_low, up_hi, down_low)
    } else if down_hi.x - up_hi.x < 0.0 {
        1
    } else {
        -1
    }
}

/// Quadrant of a non-zero vector: 0 NE, 1 NW, 2 SW, 3 SE (JTS `Quadrant`).
#[inline]
pub(crate) fn quadrant(dx: f64, dy: f64) -> u8 {
    if dx >= 0.0 {
        if dy >= 0.0 {
            0
        } else {
            3
        }
    } else if dy >= 0.0 {
        1
    } else {
        2
    }
}

/// Compare the angles of `p - origin` and `q - origin`, measured counter-clockwise from the
/// positive x axis in `[0, 2π)`: `1` if p's is greater, `-1` if smaller, `0` if equal. Exact.
#[inline]
pub(crate) fn compare_angle(origin: Coord, p: Coord, q: Coord) -> i8 {
    let qp = quadrant(p.x - origin.x, p.y - origin.y);
    let qq = quadrant(q.x - origin.x, q.y - origin.y);
    if qp > qq {
        return 1;
    }
    if qp < qq {
        return -1;
    }
    orient(origin, q, p)
}

#[inline]
fn is_angle_greater(origin: Coord, p: Coord, q: Coord) -> bool {
    compare_angle(origin, p, q) > 0
}

fn compare_between(origin: Coord, p: Coord, e0: Coord, e1: Coord) -> i8 {
    let c0 = compare_angle(origin, p, e0);
    if c0 == 0 {
        return 0;
    }
    let c1 = compare_angle(origin, p, e1);
    if c1 == 0 {
        return 0;
    }
    if c0 > 0 && c1 < 0 {
        1
    } else {
        -1
    }
}

/// Do the edge pairs `(node,a0),(node,a1)` and `(node,b0),(node,b1)` cross at `node`
/// (JTS `PolygonNodeTopology.isCrossing`)? Collinear edges count as not crossing.
pub(crate) fn is_crossing(node: Coord, a0: Coord, a1: Coord, b0: Coord, b1: Coord) -> bool {
    let (lo, hi) = if is_angle_greater(node, a0, a1) {
        (a1, a0)
    } else {
        (a0, a1)
    };
    let c0 = compare_between(node, b0, lo, hi);
    if c0 == 0 {
        return false;
    }
    let c1 = compare_between(node, b1, lo, hi);
    if c1 == 0 {
        return false;
    }
    c0 != c1
}

fn is_between(origin: Coord, p: Coord, e0: Coord, e1: Coord) -> bool {
    if !is_angle_greater(origin, p, e0) {
        return false;
    }
    !is_angle_greater(origin, p, e1)
}

/// Is the segment `node -> b` inside the interior angle of the ring corner `a0 -> node -> a1`
/// whose interior lies on the right when walking `a0, node, a1`
/// (JTS `PolygonNodeTopology.isInteriorSegment`)?
pub(crate) fn is_interior_segment(node: Coord, a0: Coord, a1: Coord, b: Coord) -> bool {
    let (lo, hi, interior_between) = if is_angle_greater(node, a0, a1) {
        (a1, a0, false)
    } else {
        (a0, a1, true)
    };
    let between = is_between(node, b, lo, hi);
    between == interior_between
}

/// Do `v -> p` and `v -> r` point the same way (assuming `p` is on the line `v r`)? Exact.
#[inline]
fn same_direction(v: Coord, r: Coord, p: Coord) -> bool {
    let sg = |d: f64| (d > 0.0) as i8 - (d < 0.0) as i8;
    sg(p.x - v.x) == sg(r.x - v.x) && sg(p.y - v.y) == sg(r.y - v.y)
}

/// Where direction `v -> p` lies when turning counter-clockwise from direction `v -> r`:
/// 0 the same direction, 1 strictly left (angle in (0, π)), 2 opposite (π), 3 strictly right
/// (angle in (π, 2π)). Exact.
#[inline]
pub(crate) fn turn_class(v: Coord, r: Coord, p: Coord) -> u8 {
    match orient(v, r, p) {
        1 => 1,
        -1 => 3,
        _ if same_direction(v, r, p) => 0,
        _ => 2,
    }
}

/// Is the counter-clockwise angle from `v -> r` to `v -> w` smaller than to `v -> x`
/// (angles in `[0, 2π)`)? Exact.
#[inline]
pub(crate) fn ccw_angle_less(v: Coord, r: Coord, w: Coord, x: Coord) -> bool {
    let (cw, cx) = (turn_class(v, r, w), turn_class(v, r, x));
    if cw != cx {
        return cw < cx;
    }
    matches!(cw, 1 | 3) && orient(v, w, x) > 0
}

/// Is direction `v -> x` strictly inside the open counter-clockwise arc from `v -> s` to
/// `v -> e` (the whole turn minus `s` when `e` points like `s`)? Exact.
#[inline]
pub(crate) fn in_open_arc(v: Coord, s: Coord, e: Coord, x: Coord) -> bool {
    if turn_class(v, s, x) == 0 {
        return false;
    }
    if turn_class(v, s, e) == 0 {
        return true;
    }
    ccw_angle_less(v, s, x, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(x: f64, y: f64) -> Coord {
        Coord { x, y }
    }

    #[test]
    fn orientation_is_exact_near_collinear() {
        // classic failure of naive determinant: points nearly on y = x
        let p = c(0.5, 0.5);
        let q = c(12.0, 12.0);
        let r = c(24.0, 24.0);
        assert_eq!(orient(p, q, r), 0);
        let r2 = c(24.0, 24.000000000000004);
        assert_eq!(orient(p, q, r2), 1);
    }

    #[test]
    fn segment_cases() {
        use SegIntersection::*;
        assert_eq!(
            segment_intersection(c(0., 0.), c(2., 2.), c(0., 2.), c(2., 0.)).num(),
            1
        );
        assert!(matches!(
            segment_intersection(c(0., 0.), c(2., 2.), c(0., 2.), c(2., 0.)),
            Point { proper: true, at } if at == c(1., 1.)
        ));
        assert_eq!(
            segment_intersection(c(0., 0.), c(2., 0.), c(2., 0.), c(3., 5.)),
            Point {
                at: c(2., 0.),
                proper: false
            }
        );
        assert_eq!(
            segment_intersection(c(0., 0.), c(2., 0.), c(1., 0.), c(3., 0.)),
            Collinear {
                a: c(1., 0.),
                b: c(2., 0.)
            }
        );
        assert_eq!(
            segment_intersection(c(0., 0.), c(2., 0.), c(2., 0.), c(3., 0.)),
            Point {
                at: c(2., 0.),
                proper: false
            }
        );
        assert_eq!(
            segment_intersection(c(0., 0.), c(2., 0.), c(0., 1.), c(3., 1.)),
            None
        );
        // T: endpoint in the interior of the other
        assert_eq!(
            segment_intersection(c(0., 0.), c(2., 0.), c(1., 0.), c(1., 3.)),
            Point {
                at: c(1., 0.),
                proper: false
            }
        );
    }

    #[test]
    fn locate_and_orientation() {
        let sq = [c(0., 0.), c(10., 0.), c(10., 10.), c(0., 10.), c(0., 0.)];
        assert!(is_ccw(&sq));
        let mut rev = sq;
        rev.reverse();
        assert!(!is_ccw(&rev));
        assert_eq!(locate_in_ring(c(5., 5.), &sq), Location::Interior);
        assert_eq!(locate_in_ring(c(10., 5.), &sq), Location::Boundary);
        assert_eq!(locate_in_ring(c(0., 0.), &sq), Location::Boundary);
        assert_eq!(locate_in_ring(c(11., 5.), &sq), Location::Exterior);
        assert_eq!(locate_in_ring(c(5., 10.), &rev), Location::Boundary);
        // flat top: orientation from the direction of the top edge
        let flat = [
            c(0., 0.),
            c(4., 0.),
            c(4., 2.),
            c(2., 2.),
            c(0., 2.),
            c(0., 0.),
        ];
        assert!(is_ccw(&flat));
    }

    #[test]
    fn arcs() {
        let v = c(0., 0.);
        let (e, n, w, s) = (c(1., 0.), c(0., 1.), c(-1., 0.), c(0., -1.));
        assert!(ccw_angle_less(v, e, n, w));
        assert!(!ccw_angle_less(v, e, w, n));
        assert!(ccw_angle_less(v, e, w, s));
        assert!(ccw_angle_less(v, e, e, n)); // angle 0 is the smallest
        assert!(in_open_arc(v, e, w, n));
        assert!(!in_open_arc(v, e, w, s));
        assert!(!in_open_arc(v, e, w, w));
        assert!(!in_open_arc(v, e, w, c(2., 0.)));
        assert!(in_open_arc(v, w, e, s)); // reflex side
        assert!(in_open_arc(v, e, c(3., 0.), s)); // full turn minus the ray
        assert_eq!(turn_class(v, e, c(5., 0.)), 0);
        assert_eq!(turn_class(v, e, c(-5., 0.)), 2);
    }

    #[test]
    fn node_topology() {
        let n = c(0., 0.);
        // edges east and north; b edges north-east and south-west cross them
        assert!(is_crossing(n, c(1., 0.), c(0., 1.), c(1., 1.), c(-1., -1.)));
        assert!(!is_crossing(
            n,
            c(1., 0.),
            c(0., 1.),
            c(-1., 0.),
            c(0., -1.)
        ));
        // corner (0,1) -> node -> (1,0) with interior on the right: the 270° outside the NE quadrant
        assert!(!is_interior_segment(n, c(0., 1.), c(1., 0.), c(1., 1.)));
        assert!(is_interior_segment(n, c(0., 1.), c(1., 0.), c(-1., -1.)));
        // walked the other way the interior is the NE quadrant
        assert!(is_interior_segment(n, c(1., 0.), c(0., 1.), c(1., 1.)));
    }
}
