//! Do the interiors of two polygonal geometries intersect (DE-9IM `II` ≠ F)? Exact, and fast for
//! neighbouring parcels of a coverage, which share edges or touch.
//!
//! For valid inputs the interiors meet if and only if one of these holds:
//!
//! 1. an edge of `a` properly crosses an edge of `b`;
//! 2. at a *node* (a vertex of one lying on the boundary of the other) the interior sectors of
//!    `a` and `b` overlap: around the node, the half-edges of both are sorted by angle (exact
//!    quadrant + orientation comparison) and each side's interior is tracked sector by sector
//!    from the ring orientation (interior left of a counter-clockwise shell or a clockwise
//!    hole). Coincident edges traversed in the same direction are the common special case;
//!    neighbours share edges in opposite directions and never trigger it;
//! 3. a ring without any contact with the other geometry lies inside its interior (one vertex
//!    decides, as the ring cannot cross the other's boundary).
//!
//! Why that is complete: a component of `int(a) ∩ int(b)` is a polygon whose corners are
//! vertices of `a` or `b`. A corner not on the other boundary lies strictly inside the other
//! and belongs to a ring that either has a contact (then the chain from that corner reaches a
//! node where case 2 fires, since no crossings exist) or has none (case 3); a corner on both
//! boundaries is a node where the sectors overlap (case 2).
//!
//! Every decision uses exact predicates; no `Relate` fallback is needed. Inputs are assumed
//! valid (GEOM-01); on invalid input the answer is defined but not meaningful.

use crate::index::Envelope;
use crate::predicates::{
    compare_angle, in_open_arc, locate_in_ring, point_on_segment, ring_orientation,
    segment_intersection, turn_class, Location, SegIntersection,
};
use geo_types::{Coord, MultiPolygon};
use std::cell::RefCell;
use std::cmp::Ordering;

#[derive(Clone, Copy)]
struct Seg {
    u: Coord,
    v: Coord,
    minx: f64,
    maxx: f64,
    miny: f64,
    maxy: f64,
    ring: u32,
    side: u8,
}

#[derive(Clone, Copy)]
struct Half {
    at: Coord,
    to: Coord,
    side: u8,
    seg: u32,
    /// the sector immediately counter-clockwise of this half-edge is interior
    ccw_interior: bool,
}

#[derive(Default)]
struct Scratch {
    segs: Vec<Seg>,
    order: Vec<u32>,
    pairs: Vec<(u32, u32, SegIntersection)>,
    nodes: Vec<Coord>,
    halves: Vec<Half>,
    rings: [Vec<RingInfo>; 2],
}

#[derive(Clone, Copy)]
struct RingInfo {
    poly: u32,
    /// -1 for the shell, else the hole's index
    hole: i32,
    hit: bool,
    /// 1: interior on the left of the ring's direction, -1: on the right, 0: not computed yet
    left: i8,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Do the interiors of `a` and `b` intersect? Exact for valid polygons.
///
/// ```
/// use cadastra_geom::interiors_intersect;
/// let a = geo_types::wkt!(MULTIPOLYGON(((0. 0., 20. 0., 20. 30., 0. 30., 0. 0.))));
/// let right = geo_types::wkt!(MULTIPOLYGON(((20. 0., 40. 0., 40. 30., 20. 30., 20. 0.))));
/// let shifted = geo_types::wkt!(MULTIPOLYGON(((19.99 0., 40. 0., 40. 30., 19.99 30., 19.99 0.))));
/// assert!(!interiors_intersect(&a, &right));  // neighbours sharing an edge
/// assert!(interiors_intersect(&a, &shifted)); // 1 cm overlap
/// ```
pub fn interiors_intersect(a: &MultiPolygon<f64>, b: &MultiPolygon<f64>) -> bool {
    let (Some(ea), Some(eb)) = (Envelope::of_multipolygon(a), Envelope::of_multipolygon(b)) else {
        return false;
    };
    interiors_intersect_env(a, &ea, b, &eb)
}

/// [`interiors_intersect`] with the envelopes already known (from a [`crate::TopoIndex`]).
pub fn interiors_intersect_env(
    a: &MultiPolygon<f64>,
    ea: &Envelope,
    b: &MultiPolygon<f64>,
    eb: &Envelope,
) -> bool {
    if !ea.overlaps_area(eb) {
        return false;
    }
    with_scratch(|s| run(s, a, b, ea, eb)) == AreaRelation::InteriorsIntersect
}

/// How two polygonal geometries meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AreaRelation {
    /// no common point
    Disjoint,
    /// boundaries meet, interiors do not (neighbours): DE-9IM `FF*F0****` or `FF*F1****`
    Touch,
    /// the interiors intersect (overlap, containment, equality)
    InteriorsIntersect,
}

/// Classify a pair: disjoint, touching (neighbours) or overlapping. Exact for valid input.
///
/// ```
/// use cadastra_geom::{relate_areas, AreaRelation};
/// let a = geo_types::wkt!(MULTIPOLYGON(((0. 0., 20. 0., 20. 30., 0. 30., 0. 0.))));
/// let corner = geo_types::wkt!(MULTIPOLYGON(((20. 30., 40. 30., 40. 60., 20. 60., 20. 30.))));
/// assert_eq!(relate_areas(&a, &corner), AreaRelation::Touch);
/// ```
pub fn relate_areas(a: &MultiPolygon<f64>, b: &MultiPolygon<f64>) -> AreaRelation {
    let (Some(ea), Some(eb)) = (Envelope::of_multipolygon(a), Envelope::of_multipolygon(b)) else {
        return AreaRelation::Disjoint;
    };
    relate_areas_env(a, &ea, b, &eb)
}

/// [`relate_areas`] with the envelopes already known.
pub fn relate_areas_env(
    a: &MultiPolygon<f64>,
    ea: &Envelope,
    b: &MultiPolygon<f64>,
    eb: &Envelope,
) -> AreaRelation {
    if !ea.intersects(eb) {
        return AreaRelation::Disjoint;
    }
    with_scratch(|s| run(s, a, b, ea, eb))
}

fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with(|s| match s.try_borrow_mut() {
        Ok(mut s) => f(&mut s),
        // re-entrant call (cannot happen today): use a fresh scratch
        Err(_) => f(&mut Scratch::default()),
    })
}

fn run(
    s: &mut Scratch,
    a: &MultiPolygon<f64>,
    b: &MultiPolygon<f64>,
    ea: &Envelope,
    eb: &Envelope,
) -> AreaRelation {
    use AreaRelation::*;
    let win = Envelope {
        min: Coord {
            x: ea.min.x.max(eb.min.x),
            y: ea.min.y.max(eb.min.y),
        },
        max: Coord {
            x: ea.max.x.min(eb.max.x),
            y: ea.max.y.min(eb.max.y),
        },
    };
    s.segs.clear();
    s.pairs.clear();
    s.nodes.clear();
    s.halves.clear();
    collect(a, 0, &win, &mut s.segs, &mut s.rings[0]);
    collect(b, 1, &win, &mut s.segs, &mut s.rings[1]);

    // 1. edge pairs: proper crossings decide at once; contacts become nodes
    if find_pairs(s) {
        return InteriorsIntersect;
    }
    for (_, _, x) in &s.pairs {
        match *x {
            SegIntersection::Point { at, .. } => s.nodes.push(at),
            SegIntersection::Collinear { a, b } => {
                s.nodes.push(a);
                s.nodes.push(b);
            }
            SegIntersection::None => {}
        }
    }
    if s.nodes.len() <= 24 {
        // few nodes (the coverage case): dedup in place, scan contacts per node
        let mut k = 0;
        while k < s.nodes.len() {
            let n = s.nodes[k];
            if s.nodes[..k].contains(&n) {
                s.nodes.swap_remove(k);
            } else {
                k += 1;
            }
        }
        for ni in 0..s.nodes.len() {
            let n = s.nodes[ni];
            s.halves.clear();
            for k in 0..s.pairs.len() {
                let (ia, ib, x) = s.pairs[k];
                let on = match x {
                    SegIntersection::Point { at, .. } => at == n,
                    SegIntersection::Collinear { a: p, b: q } => point_on_segment(n, p, q),
                    SegIntersection::None => false,
                };
                if on {
                    push_halves(s, a, b, ia, n);
                    push_halves(s, a, b, ib, n);
                }
            }
            if sectors_overlap(&mut s.halves) {
                return InteriorsIntersect;
            }
        }
    } else {
        s.nodes.sort_unstable_by(cmp_coord);
        s.nodes.dedup();
        // 2. half-edges at nodes
        for k in 0..s.pairs.len() {
            let (ia, ib, x) = s.pairs[k];
            match x {
                SegIntersection::Point { at, .. } => {
                    push_halves(s, a, b, ia, at);
                    push_halves(s, a, b, ib, at);
                }
                SegIntersection::Collinear { a: p, b: q } => {
                    let (lo, hi) = if p.x <= q.x { (p.x, q.x) } else { (q.x, p.x) };
                    let mut i = s.nodes.partition_point(|n| n.x < lo);
                    while i < s.nodes.len() && s.nodes[i].x <= hi {
                        let n = s.nodes[i];
                        if point_on_segment(n, p, q) {
                            push_halves(s, a, b, ia, n);
                            push_halves(s, a, b, ib, n);
                        }
                        i += 1;
                    }
                }
                SegIntersection::None => {}
            }
        }
        s.halves.sort_unstable_by(|x, y| {
            cmp_coord(&x.at, &y.at)
                .then(x.side.cmp(&y.side))
                .then(x.seg.cmp(&y.seg))
                .then(cmp_coord(&x.to, &y.to))
        });
        s.halves
            .dedup_by(|x, y| x.at == y.at && x.side == y.side && x.seg == y.seg && x.to == y.to);
        let mut i = 0;
        while i < s.halves.len() {
            let mut j = i + 1;
            while j < s.halves.len() && s.halves[j].at == s.halves[i].at {
                j += 1;
            }
            if sectors_overlap(&mut s.halves[i..j]) {
                return InteriorsIntersect;
            }
            i = j;
        }
    }

    // 3. rings without contact: one vertex decides
    for (side, g, other, eo) in [(0usize, a, b, eb), (1, b, a, ea)] {
        let mut ri = 0;
        for p in &g.0 {
            for r in std::iter::once(p.exterior()).chain(p.interiors()) {
                let info = s.rings[side].get(ri).copied();
                ri += 1;
                if info.is_some_and(|i| i.hit) {
                    continue;
                }
                let Some(&c) = r.0.first() else { continue };
                if c.x < eo.min.x || c.x > eo.max.x || c.y < eo.min.y || c.y > eo.max.y {
                    continue;
                }
                if point_in_interior(c, other) {
                    return InteriorsIntersect;
                }
            }
        }
    }
    if s.pairs.is_empty() {
        Disjoint
    } else {
        Touch
    }
}

fn cmp_coord(a: &Coord, b: &Coord) -> Ordering {
    a.x.total_cmp(&b.x).then(a.y.total_cmp(&b.y))
}

/// Segments of `g` meeting the window; ring table for `side`.
fn collect(
    g: &MultiPolygon<f64>,
    side: u8,
    win: &Envelope,
    segs: &mut Vec<Seg>,
    rings: &mut Vec<RingInfo>,
) {
    rings.clear();
    for (pi, p) in g.0.iter().enumerate() {
        for (k, r) in std::iter::once(p.exterior())
            .chain(p.interiors())
            .enumerate()
        {
            let ring = rings.len() as u32;
            rings.push(RingInfo {
                poly: pi as u32,
                hole: k as i32 - 1,
                hit: false,
                left: 0,
            });
            for w in r.0.windows(2) {
                let (u, v) = (w[0], w[1]);
                if u == v {
                    continue;
                }
                let (minx, maxx) = if u.x <= v.x { (u.x, v.x) } else { (v.x, u.x) };
                let (miny, maxy) = if u.y <= v.y { (u.y, v.y) } else { (v.y, u.y) };
                if maxx < win.min.x || minx > win.max.x || maxy < win.min.y || miny > win.max.y {
                    continue;
                }
                segs.push(Seg {
                    u,
                    v,
                    minx,
                    maxx,
                    miny,
                    maxy,
                    ring,
                    side,
                });
            }
        }
    }
}

/// Test all a/b edge pairs whose boxes meet; returns true on a proper crossing.
fn find_pairs(s: &mut Scratch) -> bool {
    let n = s.segs.len();
    let na = s.segs.iter().take_while(|x| x.side == 0).count();
    let nb = n - na;
    if na * nb <= 400 {
        for i in 0..na {
            let sa = s.segs[i];
            for j in na..n {
                if test_pair(s, &sa, i as u32, j as u32) {
                    return true;
                }
            }
        }
        return false;
    }
    s.order.clear();
    s.order.extend(0..n as u32);
    let segs = &s.segs;
    s.order
        .sort_unstable_by(|&x, &y| segs[x as usize].minx.total_cmp(&segs[y as usize].minx));
    for k in 0..n {
        let i = s.order[k];
        let si = s.segs[i as usize];
        for l in k + 1..n {
            let j = s.order[l];
            let sj = s.segs[j as usize];
            if sj.minx > si.maxx {
                break;
            }
            if sj.side == si.side {
                continue;
            }
            let (ia, ib, sa) = if si.side == 0 { (i, j, si) } else { (j, i, sj) };
            if test_pair(s, &sa, ia, ib) {
                return true;
            }
        }
    }
    false
}

#[inline]
fn test_pair(s: &mut Scratch, sa: &Seg, ia: u32, ib: u32) -> bool {
    let sb = s.segs[ib as usize];
    if sb.minx > sa.maxx || sb.maxx < sa.minx || sb.miny > sa.maxy || sb.maxy < sa.miny {
        return false;
    }
    let x = segment_intersection(sa.u, sa.v, sb.u, sb.v);
    match x {
        SegIntersection::None => false,
        SegIntersection::Point { proper: true, .. } => true,
        _ => {
            s.rings[0][sa.ring as usize].hit = true;
            s.rings[1][sb.ring as usize].hit = true;
            s.pairs.push((ia, ib, x));
            false
        }
    }
}

/// Half-edges of segment `si` at point `at` (which lies on it).
fn push_halves(s: &mut Scratch, a: &MultiPolygon<f64>, b: &MultiPolygon<f64>, si: u32, at: Coord) {
    let seg = s.segs[si as usize];
    let side = seg.side as usize;
    let info = s.rings[side][seg.ring as usize];
    let left = if info.left != 0 {
        info.left
    } else {
        let g = if side == 0 { a } else { b };
        let l = ring_interior_left(g, info);
        s.rings[side][seg.ring as usize].left = l;
        l
    };
    let left = left > 0;
    let known =
        |h: &Vec<Half>, to: Coord| h.iter().any(|x| x.seg == si && x.to == to && x.at == at);
    if at != seg.u && !known(&s.halves, seg.u) {
        // the part u -> at arrives here; interior (left of travel) is clockwise of `to u`
        s.halves.push(Half {
            at,
            to: seg.u,
            side: seg.side,
            seg: si,
            ccw_interior: !left,
        });
    }
    if at != seg.v && !known(&s.halves, seg.v) {
        s.halves.push(Half {
            at,
            to: seg.v,
            side: seg.side,
            seg: si,
            ccw_interior: left,
        });
    }
}

fn ring_interior_left(g: &MultiPolygon<f64>, info: RingInfo) -> i8 {
    let Some(p) = g.0.get(info.poly as usize) else {
        return 1;
    };
    if info.hole < 0 {
        // counter-clockwise shell: interior on the left
        if ring_orientation(&p.exterior().0) < 0 {
            -1
        } else {
            1
        }
    } else {
        // clockwise hole: the polygon's interior is on the left
        match p.interiors().get(info.hole as usize) {
            Some(h) if ring_orientation(&h.0) > 0 => -1,
            _ => 1,
        }
    }
}

/// Angle order around `at` (exact), ties broken by side so equal directions group together.
fn sectors_overlap(h: &mut [Half]) -> bool {
    if h.len() < 4 {
        return false; // a node has at least two half-edges of each side
    }
    let at = h[0].at;
    if h.len() == 4 {
        // the common case: one ring of each side passes through the node. Each interior is
        // the open arc turning counter-clockwise from its "interior on the left" half-edge to
        // the other one; two arcs overlap iff they start together or one starts inside the
        // other.
        let mut arcs = [[None::<Coord>; 2]; 2];
        let mut ok = true;
        for x in h.iter() {
            let slot = &mut arcs[x.side as usize][usize::from(!x.ccw_interior)];
            ok &= slot.is_none();
            *slot = Some(x.to);
        }
        if let [[Some(a1), Some(a2)], [Some(b1), Some(b2)]] = arcs {
            if ok {
                return turn_class(at, a1, b1) == 0
                    || in_open_arc(at, a1, a2, b1)
                    || in_open_arc(at, b1, b2, a1);
            }
        }
    }
    let less = |x: &Half, y: &Half| match compare_angle(at, x.to, y.to) {
        -1 => true,
        1 => false,
        _ => x.side < y.side,
    };
    if h.len() <= 16 {
        for i in 1..h.len() {
            let mut j = i;
            while j > 0 && less(&h[j], &h[j - 1]) {
                h.swap(j, j - 1);
                j -= 1;
            }
        }
    } else {
        h.sort_unstable_by(|x, y| {
            if less(x, y) {
                Ordering::Less
            } else if less(y, x) {
                Ordering::Greater
            } else {
                Ordering::Equal
            }
        });
    }
    // state of each side in the sector after the last group holding it (cyclic start)
    let mut state = [None::<bool>; 2];
    for x in h.iter() {
        state[x.side as usize] = Some(x.ccw_interior);
    }
    let (Some(mut sa), Some(mut sb)) = (state[0], state[1]) else {
        return false;
    };
    let mut i = 0;
    while i < h.len() {
        let mut j = i + 1;
        while j < h.len() && compare_angle(at, h[i].to, h[j].to) == 0 {
            j += 1;
        }
        for x in &h[i..j] {
            if x.side == 0 {
                sa = x.ccw_interior;
            } else {
                sb = x.ccw_interior;
            }
        }
        if sa && sb {
            return true;
        }
        i = j;
    }
    false
}

/// Is `c` strictly inside `g` (inside a shell, not inside or on any of its holes)?
pub(crate) fn point_in_interior(c: Coord, g: &MultiPolygon<f64>) -> bool {
    for p in &g.0 {
        if locate_in_ring(c, &p.exterior().0) != Location::Interior {
            continue;
        }
        if p.interiors()
            .iter()
            .all(|h| locate_in_ring(c, &h.0) == Location::Exterior)
        {
            return true;
        }
    }
    false
}
