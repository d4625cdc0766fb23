//! General path: polygons with holes and multipolygons, a port of GEOS/JTS `IsValidOp` with
//! `PolygonTopologyAnalyzer`, `PolygonIntersectionAnalyzer` and `PolygonRing` (hole-cycle
//! detection). Edge pairs come from a sweep over edges sorted along the longer axis of the
//! input's bounding box instead of GEOS's monotone-chain noder; every pair of edges whose boxes
//! meet is tested, as there.

use super::{check_coords, check_ring_closed, check_ring_size, Invalid, RawPolygon};
use crate::predicates::{
    is_ccw, is_crossing, is_interior_segment, locate_in_ring, point_on_segment,
    segment_intersection, Location, SegIntersection,
};
use geo_types::Coord;

/// One ring as a segment string without consecutive repeated points.
struct Ring {
    pts: Vec<Coord>,
    poly: usize,
    /// -1 for the shell, else the hole's index (the key GEOS orders touches by)
    key: i32,
    /// GEOS only tracks touches for polygons that have holes
    tracked: bool,
}

#[derive(Clone, Copy)]
struct Touch {
    key: i32,
    ring: usize,
    at: Coord,
}

pub(crate) fn validate_polygons(polys: &[RawPolygon<'_>], multi: bool) -> Result<(), Invalid> {
    for p in polys {
        check_coords(p.shell)?;
        for h in p.holes {
            check_coords(h)?;
        }
        check_ring_closed(p.shell)?;
        for h in p.holes {
            check_ring_closed(h)?;
        }
        check_ring_size(p.shell)?;
        for h in p.holes {
            check_ring_size(h)?;
        }
    }

    let rings = build_rings(polys);
    let mut an = Analyzer {
        touches: vec![Vec::new(); rings.len()],
        double_touch: None,
    };
    an.analyze(&rings)?;

    for p in polys {
        check_holes_in_shell(p)?;
    }
    for p in polys {
        check_holes_not_nested(p)?;
    }
    if multi && polys.len() > 1 {
        check_shells_not_nested(polys)?;
    }
    if let Some(at) = an.double_touch {
        return Err(Invalid::DisconnectedInterior { at });
    }
    if let Some(at) = find_hole_cycle(&rings, &an.touches) {
        return Err(Invalid::DisconnectedInterior { at });
    }
    Ok(())
}

fn dedup(raw: &[Coord]) -> Vec<Coord> {
    let mut v: Vec<Coord> = Vec::with_capacity(raw.len());
    for &c in raw {
        if v.last() != Some(&c) {
            v.push(c);
        }
    }
    v
}

fn build_rings(polys: &[RawPolygon<'_>]) -> Vec<Ring> {
    let mut rings = Vec::new();
    for (pi, p) in polys.iter().enumerate() {
        if p.shell.is_empty() {
            continue;
        }
        let tracked = !p.holes.is_empty();
        rings.push(Ring {
            pts: dedup(p.shell),
            poly: pi,
            key: -1,
            tracked,
        });
        for (hi, h) in p.holes.iter().enumerate() {
            if h.is_empty() {
                continue;
            }
            rings.push(Ring {
                pts: dedup(h),
                poly: pi,
                key: hi as i32,
                tracked,
            });
        }
    }
    rings
}

#[derive(Clone, Copy)]
struct Seg {
    lo: f64,
    hi: f64,
    olo: f64,
    ohi: f64,
    ring: u32,
    idx: u32,
}

struct Analyzer {
    touches: Vec<Vec<Touch>>,
    double_touch: Option<Coord>,
}

impl Analyzer {
    fn analyze(&mut self, rings: &[Ring]) -> Result<(), Invalid> {
        // sweep along the longer axis of the overall box
        let (mut minx, mut maxx, mut miny, mut maxy) = (
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
        );
        for r in rings {
            for c in &r.pts {
                minx = minx.min(c.x);
                maxx = maxx.max(c.x);
                miny = miny.min(c.y);
                maxy = maxy.max(c.y);
            }
        }
        let along_x = maxx - minx >= maxy - miny;
        let mut segs = Vec::new();
        for (ri, r) in rings.iter().enumerate() {
            for (i, w) in r.pts.windows(2).enumerate() {
                let (a, b) = if along_x {
                    (w[0].x, w[1].x)
                } else {
                    (w[0].y, w[1].y)
                };
                let (oa, ob) = if along_x {
                    (w[0].y, w[1].y)
                } else {
                    (w[0].x, w[1].x)
                };
                segs.push(Seg {
                    lo: a.min(b),
                    hi: a.max(b),
                    olo: oa.min(ob),
                    ohi: oa.max(ob),
                    ring: ri as u32,
                    idx: i as u32,
                });
            }
        }
        segs.sort_unstable_by(|a, b| a.lo.total_cmp(&b.lo));
        for (k, s) in segs.iter().enumerate() {
            for t in &segs[k + 1..] {
                if t.lo > s.hi {
                    break;
                }
                if t.olo > s.ohi || t.ohi < s.olo {
                    continue;
                }
                self.process(rings, s, t)?;
            }
        }
        Ok(())
    }

    /// GEOS `PolygonIntersectionAnalyzer::findInvalidIntersection`.
    fn process(&mut self, rings: &[Ring], s: &Seg, t: &Seg) -> Result<(), Invalid> {
        let (r0, i0, r1, i1) = (
            s.ring as usize,
            s.idx as usize,
            t.ring as usize,
            t.idx as usize,
        );
        let same_ring = r0 == r1;
        if same_ring && i0 == i1 {
            return Ok(());
        }
        let ss0 = &rings[r0].pts;
        let ss1 = &rings[r1].pts;
        let (p00, p01, p10, p11) = (ss0[i0], ss0[i0 + 1], ss1[i1], ss1[i1 + 1]);
        let at = match segment_intersection(p00, p01, p10, p11) {
            SegIntersection::None => return Ok(()),
            SegIntersection::Point { at, proper: true } => {
                return Err(Invalid::SelfIntersection { at });
            }
            SegIntersection::Collinear { a, .. } => {
                return Err(Invalid::SelfIntersection { at: a })
            }
            SegIntersection::Point { at, proper: false } => at,
        };
        if same_ring {
            let delta = i0.abs_diff(i1);
            if delta <= 1 || delta >= ss0.len() - 2 {
                return Ok(()); // adjacent edges meeting at their common vertex
            }
            return Err(Invalid::RingSelfIntersection { at });
        }
        // each vertex touch is seen from the two edges starting there
        if at == p01 || at == p11 {
            return Ok(());
        }
        let (e00, e01) = if at == p00 {
            (prev_in_ring(ss0, i0), p01)
        } else {
            (p00, p01)
        };
        let (e10, e11) = if at == p10 {
            (prev_in_ring(ss1, i1), p11)
        } else {
            (p10, p11)
        };
        if is_crossing(at, e00, e01, e10, e11) {
            return Err(Invalid::SelfIntersection { at });
        }
        if self.add_touch(rings, r0, r1, at) && self.double_touch.is_none() {
            self.double_touch = Some(at);
        }
        Ok(())
    }

    /// GEOS `PolygonRing::addTouch`: returns true for a second touch point between two rings.
    fn add_touch(&mut self, rings: &[Ring], r0: usize, r1: usize, at: Coord) -> bool {
        let (a, b) = (&rings[r0], &rings[r1]);
        if !a.tracked || !b.tracked || a.poly != b.poly {
            return false;
        }
        let only_touch =
            |from: &Vec<Touch>, other: usize| match from.iter().find(|t| t.ring == other) {
                None => true,
                Some(t) => t.at == at,
            };
        if !only_touch(&self.touches[r0], r1) || !only_touch(&self.touches[r1], r0) {
            return true;
        }
        insert_touch(
            &mut self.touches[r0],
            Touch {
                key: b.key,
                ring: r1,
                at,
            },
        );
        insert_touch(
            &mut self.touches[r1],
            Touch {
                key: a.key,
                ring: r0,
                at,
            },
        );
        false
    }
}

fn insert_touch(list: &mut Vec<Touch>, t: Touch) {
    if list.iter().any(|x| x.ring == t.ring) {
        return;
    }
    let pos = list.partition_point(|x| x.key < t.key);
    list.insert(pos, t);
}

fn prev_in_ring(pts: &[Coord], seg: usize) -> Coord {
    if seg == 0 {
        pts[pts.len() - 2]
    } else {
        pts[seg - 1]
    }
}

/// GEOS `PolygonRing::findHoleCycleLocation` over all tracked rings.
fn find_hole_cycle(rings: &[Ring], touches: &[Vec<Touch>]) -> Option<Coord> {
    let mut root_of: Vec<Option<usize>> = vec![None; rings.len()];
    let mut stack: Vec<(usize, Coord)> = Vec::new();
    for r in 0..rings.len() {
        if !rings[r].tracked || root_of[r].is_some() {
            continue;
        }
        root_of[r] = Some(r);
        stack.clear();
        for t in &touches[r] {
            root_of[t.ring] = Some(r);
            stack.push((t.ring, t.at));
        }
        while let Some((ring, entry)) = stack.pop() {
            for t in &touches[ring] {
                if t.at == entry {
                    continue;
                }
                if root_of[t.ring] == Some(r) {
                    return Some(t.at);
                }
                root_of[t.ring] = Some(r);
                stack.push((t.ring, t.at));
            }
        }
    }
    None
}

#[derive(Clone, Copy)]
struct Env {
    minx: f64,
    miny: f64,
    maxx: f64,
    maxy: f64,
}

fn env(pts: &[Coord]) -> Env {
    let mut e = Env {
        minx: f64::INFINITY,
        miny: f64::INFINITY,
        maxx: f64::NEG_INFINITY,
        maxy: f64::NEG_INFINITY,
    };
    for c in pts {
        e.minx = e.minx.min(c.x);
        e.miny = e.miny.min(c.y);
        e.maxx = e.maxx.max(c.x);
        e.maxy = e.maxy.max(c.y);
    }
    e
}

fn covers(a: Env, b: Env) -> bool {
    b.minx >= a.minx && b.maxx <= a.maxx && b.miny >= a.miny && b.maxy <= a.maxy
}

fn check_holes_in_shell(p: &RawPolygon<'_>) -> Result<(), Invalid> {
    if p.holes.is_empty() {
        return Ok(());
    }
    let shell_env = env(p.shell);
    for h in p.holes.iter().filter(|h| !h.is_empty()) {
        let outside =
            p.shell.is_empty() || !covers(shell_env, env(h)) || !is_ring_nested(h, p.shell);
        if outside {
            return Err(Invalid::HoleOutsideShell { at: h[0] });
        }
    }
    Ok(())
}

fn check_holes_not_nested(p: &RawPolygon<'_>) -> Result<(), Invalid> {
    if p.holes.len() <= 1 {
        return Ok(());
    }
    let envs: Vec<Option<Env>> = p
        .holes
        .iter()
        .map(|h| if h.is_empty() { None } else { Some(env(h)) })
        .collect();
    for (i, h) in p.holes.iter().enumerate() {
        let Some(ei) = envs[i] else { continue };
        for (j, t) in p.holes.iter().enumerate() {
            if i == j {
                continue;
            }
            let Some(ej) = envs[j] else { continue };
            if covers(ej, ei) && is_ring_nested(h, t) {
                return Err(Invalid::NestedHoles { at: h[0] });
            }
        }
    }
    Ok(())
}

fn check_shells_not_nested(polys: &[RawPolygon<'_>]) -> Result<(), Invalid> {
    let envs: Vec<Env> = polys.iter().map(|p| env(p.shell)).collect();
    for (i, p) in polys.iter().enumerate() {
        if p.shell.is_empty() {
            continue;
        }
        for (j, q) in polys.iter().enumerate() {
            if i == j || q.shell.is_empty() || !covers(envs[j], envs[i]) {
                continue;
            }
            let s0 = p.shell[0];
            let s1 = find_non_equal_vertex(p.shell, s0);
            if !is_segment_in_ring(s0, s1, q.shell) {
                continue;
            }
            let in_hole = q
                .holes
                .iter()
                .any(|h| !h.is_empty() && covers(env(h), envs[i]) && is_ring_nested(p.shell, h));
            if !in_hole {
                return Err(Invalid::NestedShells { at: s0 });
            }
        }
    }
    Ok(())
}

/// GEOS `PolygonTopologyAnalyzer::isRingNested`: is ring `test` inside ring `target`, given
/// that they do not cross?
pub(crate) fn is_ring_nested(test: &[Coord], target: &[Coord]) -> bool {
    let p0 = test[0];
    match locate_in_ring(p0, target) {
        Location::Exterior => false,
        Location::Interior => true,
        Location::Boundary => {
            let p1 = find_non_equal_vertex(test, p0);
            is_incident_segment_in_ring(p0, p1, target)
        }
    }
}

fn is_segment_in_ring(p0: Coord, p1: Coord, ring: &[Coord]) -> bool {
    match locate_in_ring(p0, ring) {
        Location::Exterior => false,
        Location::Interior => true,
        Location::Boundary => is_incident_segment_in_ring(p0, p1, ring),
    }
}

fn find_non_equal_vertex(ring: &[Coord], p: Coord) -> Coord {
    let mut i = 1;
    if ring.len() < 2 {
        return p;
    }
    let mut next = ring[i];
    while next == p && i < ring.len() - 1 {
        i += 1;
        next = ring[i];
    }
    next
}

fn is_incident_segment_in_ring(p0: Coord, p1: Coord, ring: &[Coord]) -> bool {
    let Some(index) = intersecting_seg_index(ring, p0) else {
        return false; // p0 is on the ring by construction; be safe on bad input
    };
    let mut prev = ring_vertex_prev(ring, index, p0);
    let mut next = ring_vertex_next(ring, index, p0);
    if is_ccw(ring) {
        std::mem::swap(&mut prev, &mut next);
    }
    is_interior_segment(p0, prev, next, p1)
}

fn intersecting_seg_index(ring: &[Coord], p: Coord) -> Option<usize> {
    for i in 0..ring.len().saturating_sub(1) {
        if point_on_segment(p, ring[i], ring[i + 1]) {
            if p == ring[i + 1] {
                return Some(i + 1);
            }
            return Some(i);
        }
    }
    None
}

fn ring_index_prev(ring: &[Coord], i: usize) -> usize {
    if i == 0 {
        ring.len() - 2
    } else {
        i - 1
    }
}

fn ring_index_next(ring: &[Coord], i: usize) -> usize {
    if i >= ring.len() - 2 {
        0
    } else {
        i + 1
    }
}

fn ring_vertex_prev(ring: &[Coord], index: usize, node: Coord) -> Coord {
    let mut i = index;
    let mut prev = ring[i];
    let mut guard = ring.len();
    while prev == node && guard > 0 {
        i = ring_index_prev(ring, i);
        prev = ring[i];
        guard -= 1;
    }
    prev
}

fn ring_vertex_next(ring: &[Coord], index: usize, node: Coord) -> Coord {
    let mut i = (index + 1).min(ring.len() - 1);
    let mut next = ring[i];
    let mut guard = ring.len();
    while next == node && guard > 0 {
        i = ring_index_next(ring, i);
        next = ring[i];
        guard -= 1;
    }
    next
}
