//! TOPO-02: gaps between the polygons of a group (one cadastral sub-zone): the holes of their
//! union, not its outer boundary.
//!
//! Edge method (exactly noded coverages, the normal case): orient every shell counter-clockwise
//! and every hole clockwise; an interior edge of the coverage is then used twice, in opposite
//! directions, and cancels. Edges left over after cancelling, after splitting edges at the
//! vertices of neighbours lying on them (T-junctions), are the boundary of the union, with the
//! union on their left. Tracing the face on their right gives clockwise rings (gaps) and
//! counter-clockwise ones (outer boundaries, or islands of parcels inside a gap).
//!
//! When the leftovers do not form clean rings (edges that cross or overlap without a common
//! vertex, an edge used twice in the same direction, a "gap" that another polygon covers),
//! the coverage is not exactly noded or has overlaps. The leftovers are still a closed chain
//! whose winding number counts the polygons covering each point, so the union is where it is
//! positive: geo's overlay resolves just this chain ([`GapMethod::Winding`]), which stays fast
//! on a million parcels because the chain is small.
//!
//! Each gap is measured (area, width `2·area/perimeter`) and classified: a sliver
//! (`width <= sliver_max_width`, TOPO-02 "auto-close") or a real gap. Gaps are not dropped:
//! the caller decides. Parts of gaps covered by `allowed` polygons (roads, water, state land)
//! are removed; what remains is reported, classified the same way.

use crate::index::{Envelope, TopoIndex};
use crate::interiors::interiors_intersect;
use crate::predicates::{
    locate_in_ring, orient, point_on_segment, ring_orientation, segment_intersection, Location,
    SegIntersection,
};
use crate::shape::{ring_length, ring_signed_area, width_estimate};
use geo::BooleanOps;
use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use rayon::prelude::*;
use std::cmp::Ordering;
use std::collections::HashMap;

/// TOPO-02 default: gaps at most this wide (m) are slivers to close automatically.
pub const SLIVER_MAX_WIDTH_M: f64 = 0.05;

/// Options of [`find_gaps`].
#[derive(Debug, Clone, Copy)]
pub struct GapOptions<'a> {
    /// gaps at most this wide are slivers (default [`SLIVER_MAX_WIDTH_M`])
    pub sliver_max_width: f64,
    /// polygons allowed to fill gaps (roads, water, unregistered state land)
    pub allowed: &'a [MultiPolygon<f64>],
}

impl Default for GapOptions<'_> {
    fn default() -> Self {
        GapOptions {
            sliver_max_width: SLIVER_MAX_WIDTH_M,
            allowed: &[],
        }
    }
}

/// One gap: a hole in the union of the group (minus allowed polygons).
#[derive(Debug, Clone, PartialEq)]
pub struct Gap {
    /// the gap; its holes are islands of polygons inside it
    pub geom: Polygon<f64>,
    pub area: f64,
    /// width estimate `2·area/perimeter`
    pub width: f64,
    /// `width <= sliver_max_width`
    pub sliver: bool,
}

/// How the union boundary was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GapMethod {
    /// edge cancelling on an exactly noded coverage, faces traced exactly
    EdgeMatching,
    /// the coverage was not exactly noded or had overlaps: the leftover boundary chain was
    /// resolved by winding number with geo's overlay (i_overlay); gap coordinates are rounded
    /// to the overlay's grid (about 1e-9 of the group's extent)
    Winding,
    /// last resort: geo's `unary_union` of all polygons
    UnaryUnion,
}

/// What [`find_gaps_with_stats`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct GapStats {
    pub method: GapMethod,
    /// why the exact edge method was not enough
    pub fallback_reason: Option<String>,
    /// directed edges in the input
    pub edges: usize,
    /// edges left after cancelling and T-junction splitting (the union boundary)
    pub boundary_edges: usize,
    /// T-junction splits made
    pub splits: usize,
    /// holes of the union before removing allowed polygons
    pub holes: usize,
    /// holes fully covered by allowed polygons
    pub excused: usize,
}

/// TOPO-02: gaps (holes of the union) of a group of polygons, sorted by the lowest-left vertex
/// of each gap. See the module docs for the method.
///
/// ```
/// use cadastra_geom::gaps::{find_gaps, GapOptions};
/// let a = geo_types::wkt!(MULTIPOLYGON(((0. 0., 30. 0., 30. 10., 0. 10., 0. 0.))));
/// let b = geo_types::wkt!(MULTIPOLYGON(((0. 10., 10. 10., 10. 20., 0. 20., 0. 10.))));
/// let c = geo_types::wkt!(MULTIPOLYGON(((20. 10., 30. 10., 30. 20., 20. 20., 20. 10.))));
/// let d = geo_types::wkt!(MULTIPOLYGON(((0. 20., 30. 20., 30. 30., 0. 30., 0. 20.))));
/// let gaps = find_gaps(&[&a, &b, &c, &d], &GapOptions::default());
/// assert_eq!(gaps.len(), 1);
/// assert_eq!(gaps[0].area, 100.0);
/// assert!(!gaps[0].sliver);
/// ```
pub fn find_gaps(geoms: &[&MultiPolygon<f64>], opts: &GapOptions<'_>) -> Vec<Gap> {
    find_gaps_with_stats(geoms, opts).0
}

/// [`find_gaps`], also saying how the gaps were found.
pub fn find_gaps_with_stats(
    geoms: &[&MultiPolygon<f64>],
    opts: &GapOptions<'_>,
) -> (Vec<Gap>, GapStats) {
    let mut stats = GapStats {
        method: GapMethod::EdgeMatching,
        fallback_reason: None,
        edges: 0,
        boundary_edges: 0,
        splits: 0,
        holes: 0,
        excused: 0,
    };
    let chain = boundary_chain(geoms, &mut stats);
    let holes = match gaps_from_clean_chain(&chain, geoms) {
        Ok(h) => h,
        Err(reason) => {
            stats.method = GapMethod::Winding;
            stats.fallback_reason = Some(reason);
            match gaps_from_winding(&chain) {
                Ok(h) => h,
                Err(reason) => {
                    // cannot happen for a closed chain; a last resort anyway
                    stats.method = GapMethod::UnaryUnion;
                    stats.fallback_reason = Some(reason);
                    assemble(union_loops(&union_all(geoms)))
                }
            }
        }
    };
    stats.holes = holes.len();
    let mut gaps = Vec::new();
    let allowed_index = (!opts.allowed.is_empty()).then(|| {
        TopoIndex::from_envelopes(opts.allowed.iter().map(Envelope::of_multipolygon).collect())
    });
    for h in holes {
        let pieces = match (&allowed_index, Envelope::of_polygon(&h)) {
            (Some(idx), Some(env)) => {
                let cands = idx.query(&env);
                if cands.is_empty() {
                    vec![h]
                } else {
                    let mut rest = MultiPolygon(vec![h]);
                    for c in cands {
                        rest = rest.difference(&opts.allowed[c as usize]);
                        if rest.0.is_empty() {
                            break;
                        }
                    }
                    if rest.0.is_empty() {
                        stats.excused += 1;
                    }
                    rest.0
                }
            }
            _ => vec![h],
        };
        for p in pieces {
            let area = crate::shape::polygon_area(&p);
            if area <= 0.0 {
                continue;
            }
            let per = ring_length(&p.exterior().0)
                + p.interiors().iter().map(|r| ring_length(&r.0)).sum::<f64>();
            let width = width_estimate(area, per);
            gaps.push(Gap {
                sliver: width <= opts.sliver_max_width,
                geom: p,
                area,
                width,
            });
        }
    }
    gaps.sort_by(|a, b| {
        let ka = lowest(&a.geom.exterior().0);
        let kb = lowest(&b.geom.exterior().0);
        cmp_coord(&ka, &kb).then(a.area.total_cmp(&b.area))
    });
    (gaps, stats)
}

fn lowest(r: &[Coord]) -> Coord {
    r.iter()
        .copied()
        .min_by(cmp_coord)
        .unwrap_or(Coord { x: 0.0, y: 0.0 })
}

fn cmp_coord(a: &Coord, b: &Coord) -> Ordering {
    a.x.total_cmp(&b.x).then(a.y.total_cmp(&b.y))
}

// ------------------------------------------------------------------ edge method

#[derive(Clone, Copy, Debug)]
struct DEdge {
    key: u64,
    from: Coord,
    to: Coord,
}

#[inline]
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[inline]
fn lo_hi(e: &DEdge) -> (Coord, Coord) {
    if cmp_coord(&e.from, &e.to) == Ordering::Less {
        (e.from, e.to)
    } else {
        (e.to, e.from)
    }
}

#[inline]
fn dedge(from: Coord, to: Coord) -> DEdge {
    // +0.0 turns -0.0 into 0.0 so equal coordinates have equal bits
    let from = Coord {
        x: from.x + 0.0,
        y: from.y + 0.0,
    };
    let to = Coord {
        x: to.x + 0.0,
        y: to.y + 0.0,
    };
    let (lo, hi) = if cmp_coord(&from, &to) == Ordering::Less {
        (from, to)
    } else {
        (to, from)
    };
    let key = mix(lo.x.to_bits() ^ mix(lo.y.to_bits() ^ mix(hi.x.to_bits() ^ mix(hi.y.to_bits()))));
    DEdge { key, from, to }
}

fn push_ring(r: &[Coord], want_ccw: bool, out: &mut Vec<DEdge>) {
    let o = ring_orientation(r);
    let reverse = (want_ccw && o < 0) || (!want_ccw && o > 0);
    if reverse {
        for w in r.windows(2).rev() {
            if w[0] != w[1] {
                out.push(dedge(w[1], w[0]));
            }
        }
    } else {
        for w in r.windows(2) {
            if w[0] != w[1] {
                out.push(dedge(w[0], w[1]));
            }
        }
    }
}

fn sort_edges(edges: &mut [DEdge]) {
    edges.par_sort_unstable_by(|a, b| {
        a.key.cmp(&b.key).then_with(|| {
            let (al, ah) = lo_hi(a);
            let (bl, bh) = lo_hi(b);
            cmp_coord(&al, &bl).then(cmp_coord(&ah, &bh))
        })
    });
}

/// Cancel opposite edges; returns what is left with its multiplicity (an edge used twice in
/// one direction, by overlapping polygons, stays twice). The result is still a closed chain.
fn cancel(edges: &mut [DEdge]) -> Vec<DEdge> {
    sort_edges(edges);
    let mut out = Vec::new();
    let mut i = 0;
    while i < edges.len() {
        let (lo, hi) = lo_hi(&edges[i]);
        let mut j = i + 1;
        while j < edges.len() && edges[j].key == edges[i].key && lo_hi(&edges[j]) == (lo, hi) {
            j += 1;
        }
        let fwd = edges[i..j].iter().filter(|e| e.from == lo).count();
        let back = (j - i) - fwd;
        let e = if fwd > back {
            dedge(lo, hi)
        } else {
            dedge(hi, lo)
        };
        for _ in 0..fwd.abs_diff(back) {
            out.push(e);
        }
        i = j;
    }
    out
}

/// Oriented edges of all polygons with finite coordinates, cancelled and split at
/// T-junctions: the boundary chain of the coverage.
fn boundary_chain(geoms: &[&MultiPolygon<f64>], stats: &mut GapStats) -> Vec<DEdge> {
    let finite = |g: &MultiPolygon<f64>| {
        g.0.iter().all(|p| {
            std::iter::once(p.exterior())
                .chain(p.interiors())
                .all(|r| r.0.iter().all(|c| c.x.is_finite() && c.y.is_finite()))
        })
    };
    let mut edges: Vec<DEdge> = geoms
        .par_iter()
        .with_min_len(512)
        .fold(Vec::new, |mut v, g| {
            if finite(g) {
                for p in &g.0 {
                    push_ring(&p.exterior().0, true, &mut v);
                    for h in p.interiors() {
                        push_ring(&h.0, false, &mut v);
                    }
                }
            }
            v
        })
        .flatten()
        .collect();
    stats.edges = edges.len();
    let mut left = cancel(&mut edges);
    drop(edges);
    // T-junctions: split leftover edges at leftover vertices lying inside them
    let (mut split, n) = split_at_vertices(&left);
    stats.splits = n;
    if n > 0 {
        left = cancel(&mut split);
    }
    stats.boundary_edges = left.len();
    left
}

/// Clean chain: trace faces, clockwise loops are the gaps.
fn gaps_from_clean_chain(
    chain: &[DEdge],
    geoms: &[&MultiPolygon<f64>],
) -> Result<Vec<Polygon<f64>>, String> {
    check_clean(chain)?;
    let rings = trace_faces(chain)?;
    let mut loops = Vec::new();
    for r in rings {
        split_loops(&r, &mut loops);
    }
    let holes = assemble(loops);
    check_not_covered(&holes, geoms)?;
    Ok(holes)
}

/// Any chain: the union is where the chain's winding number is positive (each polygon adds
/// one inside itself; cancelled edges do not change winding numbers), computed by geo's
/// overlay on the (small) chain only.
fn gaps_from_winding(chain: &[DEdge]) -> Result<Vec<Polygon<f64>>, String> {
    let rings = trace_faces(chain)?;
    let mut polys: Vec<Polygon<f64>> = rings
        .into_iter()
        .map(|r| Polygon::new(LineString(r), vec![]))
        .collect();
    // geo's unary_union picks the positive fill rule when the first ring is counter-clockwise
    let Some(k) = polys
        .iter()
        .position(|p| ring_signed_area(&p.exterior().0) > 0.0)
    else {
        return Ok(vec![]);
    };
    polys.swap(0, k);
    let u = geo::unary_union(&polys);
    Ok(assemble(union_loops(&u)))
}

/// A gap found by the edge method must be a true hole: no polygon may overlap it (a polygon
/// lying over a hole without touching its edges leaves no trace in the edges).
fn check_not_covered(holes: &[Polygon<f64>], geoms: &[&MultiPolygon<f64>]) -> Result<(), String> {
    if holes.is_empty() {
        return Ok(());
    }
    let hidx = TopoIndex::from_envelopes(holes.iter().map(Envelope::of_polygon).collect());
    let genv: Vec<Option<Envelope>> = geoms
        .par_iter()
        .map(|g| Envelope::of_multipolygon(g))
        .collect();
    let gidx = TopoIndex::from_envelopes(genv);
    let pairs = hidx.pairs_with(&gidx);
    let covered = pairs.par_iter().find_first(|&&(h, g)| {
        interiors_intersect(
            &MultiPolygon(vec![holes[h as usize].clone()]),
            geoms[g as usize],
        )
    });
    match covered {
        Some(&(h, g)) => {
            let c = holes[h as usize]
                .exterior()
                .0
                .first()
                .copied()
                .unwrap_or(Coord { x: 0.0, y: 0.0 });
            Err(format!(
                "polygon {g} lies over the gap at ({}, {}): polygons overlap",
                c.x, c.y
            ))
        }
        None => Ok(()),
    }
}

/// Split edges at endpoints of other edges lying strictly inside them.
fn split_at_vertices(edges: &[DEdge]) -> (Vec<DEdge>, usize) {
    let mut pts: Vec<Coord> = edges.iter().flat_map(|e| [e.from, e.to]).collect();
    pts.sort_unstable_by(cmp_coord);
    pts.dedup();
    let tree = rstar::RTree::bulk_load(pts.iter().map(|c| [c.x, c.y]).collect::<Vec<_>>());
    let mut out = Vec::with_capacity(edges.len());
    let mut n = 0;
    let mut inner: Vec<Coord> = Vec::new();
    for e in edges {
        let env = rstar::AABB::from_corners([e.from.x, e.from.y], [e.to.x, e.to.y]);
        inner.clear();
        for p in tree.locate_in_envelope(&env) {
            let c = Coord { x: p[0], y: p[1] };
            if c != e.from && c != e.to && point_on_segment(c, e.from, e.to) {
                inner.push(c);
            }
        }
        if inner.is_empty() {
            out.push(*e);
            continue;
        }
        n += inner.len();
        // collinear points sort along the edge by x, then y, in the edge's direction
        let (fx, fy) = (e.from.x <= e.to.x, e.from.y <= e.to.y);
        inner.sort_unstable_by(|a, b| {
            let cx = if fx {
                a.x.total_cmp(&b.x)
            } else {
                b.x.total_cmp(&a.x)
            };
            let cy = if fy {
                a.y.total_cmp(&b.y)
            } else {
                b.y.total_cmp(&a.y)
            };
            cx.then(cy)
        });
        let mut prev = e.from;
        for &c in &inner {
            out.push(dedge(prev, c));
            prev = c;
        }
        out.push(dedge(prev, e.to));
    }
    (out, n)
}

/// Leftover edges must form rings that meet only at vertices: equal in/out degree at each
/// vertex and no crossing or overlapping pair.
fn check_clean(edges: &[DEdge]) -> Result<(), String> {
    let mut outs: Vec<Coord> = edges.iter().map(|e| e.from).collect();
    let mut ins: Vec<Coord> = edges.iter().map(|e| e.to).collect();
    outs.sort_unstable_by(cmp_coord);
    ins.sort_unstable_by(cmp_coord);
    if outs != ins {
        return Err("boundary edges do not close into rings".into());
    }
    let mut order: Vec<usize> = (0..edges.len()).collect();
    let minx = |e: &DEdge| e.from.x.min(e.to.x);
    order.sort_unstable_by(|&a, &b| minx(&edges[a]).total_cmp(&minx(&edges[b])));
    for (k, &i) in order.iter().enumerate() {
        let a = edges[i];
        let amaxx = a.from.x.max(a.to.x);
        for &j in &order[k + 1..] {
            let b = edges[j];
            if minx(&b) > amaxx {
                break;
            }
            match segment_intersection(a.from, a.to, b.from, b.to) {
                SegIntersection::None => {}
                SegIntersection::Point { at, proper: false }
                    if (at == a.from || at == a.to) && (at == b.from || at == b.to) => {}
                SegIntersection::Point { at, .. } | SegIntersection::Collinear { a: at, .. } => {
                    return Err(format!(
                        "boundary edges cross or overlap at ({}, {})",
                        at.x, at.y
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Is `w` (seen from `v`) before `x` when turning counter-clockwise from the direction `v -> u`?
/// Directions equal to `v -> u` come last.
fn ccw_before(v: Coord, u: Coord, w: Coord, x: Coord) -> bool {
    // half 0: strictly left of v->u; half 1: straight back, right, or along v->u (last)
    let half = |p: Coord| -> (u8, u8) {
        let o = orient(v, u, p);
        if o > 0 {
            (0, 0)
        } else if o < 0 {
            (1, 1)
        } else {
            // collinear: opposite direction (angle π) or same direction (angle 2π)
            let same = (p.x - v.x) * (u.x - v.x) + (p.y - v.y) * (u.y - v.y) > 0.0;
            if same {
                (2, 0)
            } else {
                (1, 0)
            }
        }
    };
    let (hw, sw) = half(w);
    let (hx, sx) = half(x);
    if hw != hx {
        return hw < hx;
    }
    if hw == 1 && sw != sx {
        // angle π comes before the right half
        return sw < sx;
    }
    orient(v, w, x) > 0
}

/// Trace the faces to the right of the directed boundary edges.
fn trace_faces(edges: &[DEdge]) -> Result<Vec<Vec<Coord>>, String> {
    let mut order: Vec<usize> = (0..edges.len()).collect();
    order.sort_unstable_by(|&a, &b| cmp_coord(&edges[a].from, &edges[b].from));
    let mut pos: HashMap<(u64, u64), (usize, usize)> = HashMap::new();
    let mut i = 0;
    while i < order.len() {
        let f = edges[order[i]].from;
        let mut j = i + 1;
        while j < order.len() && edges[order[j]].from == f {
            j += 1;
        }
        pos.insert((f.x.to_bits(), f.y.to_bits()), (i, j));
        i = j;
    }
    let mut used = vec![false; edges.len()];
    let mut rings = Vec::new();
    for start in 0..edges.len() {
        if used[start] {
            continue;
        }
        let mut ring = vec![edges[start].from];
        let mut cur = start;
        loop {
            used[cur] = true;
            let (u, v) = (edges[cur].from, edges[cur].to);
            ring.push(v);
            let Some(&(lo, hi)) = pos.get(&(v.x.to_bits(), v.y.to_bits())) else {
                return Err(format!("dangling boundary edge at ({}, {})", v.x, v.y));
            };
            let mut best: Option<usize> = None;
            for &k in &order[lo..hi] {
                if used[k] && k != start {
                    continue;
                }
                best = match best {
                    None => Some(k),
                    Some(b) if ccw_before(v, u, edges[k].to, edges[b].to) => Some(k),
                    keep => keep,
                };
            }
            match best {
                Some(k) if k == start => break,
                Some(k) => cur = k,
                None => {
                    return Err(format!(
                        "boundary ring does not close at ({}, {})",
                        v.x, v.y
                    ))
                }
            }
            if ring.len() > edges.len() + 1 {
                return Err("boundary ring does not close".into());
            }
        }
        rings.push(ring);
    }
    Ok(rings)
}

/// Split a closed ring at repeated vertices into simple closed loops.
fn split_loops(ring: &[Coord], out: &mut Vec<Vec<Coord>>) {
    let n = ring.len().saturating_sub(1);
    let mut stack: Vec<Coord> = Vec::with_capacity(n);
    let mut at: HashMap<(u64, u64), usize> = HashMap::new();
    for &c in &ring[..n] {
        let k = (c.x.to_bits(), c.y.to_bits());
        if let Some(&p) = at.get(&k) {
            let mut l: Vec<Coord> = stack.drain(p..).collect();
            for d in &l[1..] {
                at.remove(&(d.x.to_bits(), d.y.to_bits()));
            }
            l.push(c);
            stack.push(c);
            if l.len() >= 4 {
                out.push(l);
            }
        } else {
            at.insert(k, stack.len());
            stack.push(c);
        }
    }
    if let Some(&f) = stack.first() {
        stack.push(f);
        if stack.len() >= 4 {
            out.push(stack);
        }
    }
}

// ------------------------------------------------------------------ union

fn union_all(geoms: &[&MultiPolygon<f64>]) -> MultiPolygon<f64> {
    let polys: Vec<Polygon<f64>> = geoms
        .iter()
        .flat_map(|g| g.0.iter().cloned())
        .map(|mut p| {
            crate::shape::normalize_polygon(&mut p);
            p
        })
        .collect();
    geo::unary_union(&polys)
}

/// Shells counter-clockwise, holes clockwise.
fn union_loops(u: &MultiPolygon<f64>) -> Vec<Vec<Coord>> {
    let mut loops = Vec::new();
    for p in &u.0 {
        let mut s = p.exterior().0.clone();
        if ring_signed_area(&s) < 0.0 {
            s.reverse();
        }
        loops.push(s);
        for h in p.interiors() {
            let mut r = h.0.clone();
            if ring_signed_area(&r) > 0.0 {
                r.reverse();
            }
            loops.push(r);
        }
    }
    loops
}

// ------------------------------------------------------------------ assembly

/// Clockwise loops are gaps; counter-clockwise loops inside a gap are its islands.
fn assemble(loops: Vec<Vec<Coord>>) -> Vec<Polygon<f64>> {
    let (holes, shells): (Vec<Vec<Coord>>, Vec<Vec<Coord>>) =
        loops.into_iter().partition(|l| ring_signed_area(l) < 0.0);
    let hole_area: Vec<f64> = holes.iter().map(|h| -ring_signed_area(h)).collect();
    let hole_env: Vec<Option<Envelope>> = holes
        .iter()
        .map(|h| Envelope::of_coords(h.iter()))
        .collect();
    let mut islands: Vec<Vec<LineString<f64>>> = vec![Vec::new(); holes.len()];
    if !holes.is_empty() {
        for s in shells {
            let Some(se) = Envelope::of_coords(&s) else {
                continue;
            };
            let mut best: Option<usize> = None;
            for (k, h) in holes.iter().enumerate() {
                if !hole_env[k].is_some_and(|e| e.covers(&se)) {
                    continue;
                }
                let inside = s
                    .iter()
                    .map(|&c| locate_in_ring(c, h))
                    .find(|l| *l != Location::Boundary);
                if inside == Some(Location::Interior)
                    && best.is_none_or(|b| hole_area[k] < hole_area[b])
                {
                    best = Some(k);
                }
            }
            if let Some(k) = best {
                let mut r = s;
                r.reverse(); // islands become clockwise holes of the gap polygon
                islands[k].push(LineString(r));
            }
        }
    }
    holes
        .into_iter()
        .zip(islands)
        .map(|(mut h, isl)| {
            h.reverse(); // gap shell counter-clockwise
            Polygon::new(LineString(h), isl)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> MultiPolygon<f64> {
        let r = vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)];
        MultiPolygon(vec![Polygon::new(LineString::from(r), vec![])])
    }

    #[test]
    fn t_junctions_and_sliver() {
        // a 2x2 block where the top row is split differently (T-junctions), with a 2 cm
        // sliver between the right column and the rest
        let g = [
            rect(0., -10., 20., 0.),
            rect(0., 0., 10., 10.),
            rect(10.02, 0., 20., 10.),
            rect(0., 10., 5., 20.),
            rect(5., 10., 20., 20.),
        ];
        let refs: Vec<&MultiPolygon<f64>> = g.iter().collect();
        let (gaps, st) = find_gaps_with_stats(&refs, &GapOptions::default());
        assert_eq!(st.method, GapMethod::EdgeMatching, "{st:?}");
        assert!(st.splits > 0);
        assert_eq!(gaps.len(), 1, "{gaps:?}");
        assert!(gaps[0].sliver);
        assert!((gaps[0].area - 0.2).abs() < 1e-9);
    }

    #[test]
    fn ring_of_parcels_around_a_gap_with_an_island() {
        let mut g = vec![
            rect(0., 0., 30., 10.),
            rect(0., 10., 10., 20.),
            rect(20., 10., 30., 20.),
            rect(0., 20., 30., 30.),
        ];
        g.push(rect(14., 14., 16., 16.)); // island inside the gap
        let refs: Vec<&MultiPolygon<f64>> = g.iter().collect();
        let (gaps, st) = find_gaps_with_stats(&refs, &GapOptions::default());
        assert_eq!(st.method, GapMethod::EdgeMatching, "{st:?}");
        assert_eq!(gaps.len(), 1);
        assert_eq!(gaps[0].geom.interiors().len(), 1);
        assert!((gaps[0].area - 96.0).abs() < 1e-9);
        // a lake layer that covers the gap excuses it
        let lake = rect(9., 9., 21., 21.);
        let opts = GapOptions {
            allowed: std::slice::from_ref(&lake),
            ..Default::default()
        };
        let (gaps, st) = find_gaps_with_stats(&refs, &opts);
        assert!(gaps.is_empty(), "{gaps:?}");
        assert_eq!(st.excused, 1);
    }

    #[test]
    fn holes_touching_at_a_point_are_two_gaps() {
        // 3x3 grid of unit cells with cells (1,1) missing and (2,2) missing -> they touch at (2,2)
        let mut g = vec![];
        for i in 0..3 {
            for j in 0..3 {
                if (i, j) == (1, 1) || (i, j) == (2, 2) {
                    continue;
                }
                g.push(rect(i as f64, j as f64, i as f64 + 1., j as f64 + 1.));
            }
        }
        // close the outside around (2,2)
        g.push(rect(3., 0., 4., 4.));
        g.push(rect(0., 3., 3., 4.));
        let refs: Vec<&MultiPolygon<f64>> = g.iter().collect();
        let (gaps, st) = find_gaps_with_stats(&refs, &GapOptions::default());
        assert_eq!(st.method, GapMethod::EdgeMatching);
        assert_eq!(gaps.len(), 2, "{gaps:?}");
        assert!(gaps.iter().all(|g| (g.area - 1.0).abs() < 1e-12));
    }

    #[test]
    fn overlapping_input_resolved_by_winding() {
        let g = [
            rect(0., 0., 10., 10.),
            rect(9., 0., 20., 10.), // overlaps, not noded
            rect(0., 10., 20., 20.),
            rect(0., 20., 20., 30.),
        ];
        let refs: Vec<&MultiPolygon<f64>> = g.iter().collect();
        let (gaps, st) = find_gaps_with_stats(&refs, &GapOptions::default());
        assert_eq!(st.method, GapMethod::Winding, "{st:?}");
        assert!(gaps.is_empty(), "{gaps:?}");
        // with a real hole
        let g2 = [
            rect(0., 0., 30., 10.),
            rect(0., 10., 10.5, 20.),
            rect(10., 12., 11., 13.), // overlaps the left block, not noded
            rect(20., 10., 30., 20.),
            rect(0., 20., 30., 30.),
        ];
        let refs: Vec<&MultiPolygon<f64>> = g2.iter().collect();
        let (gaps, st) = find_gaps_with_stats(&refs, &GapOptions::default());
        assert_eq!(st.method, GapMethod::Winding);
        assert_eq!(gaps.len(), 1);
        assert!(
            (gaps[0].area - (95.0 - 0.5)).abs() < 1e-6,
            "{}",
            gaps[0].area
        );
    }

    #[test]
    fn hole_covered_by_another_polygon_is_no_gap() {
        let x = MultiPolygon(vec![Polygon::new(
            LineString::from(vec![(0., 0.), (30., 0.), (30., 30.), (0., 30.), (0., 0.)]),
            vec![LineString::from(vec![
                (10., 10.),
                (10., 20.),
                (20., 20.),
                (20., 10.),
                (10., 10.),
            ])],
        )]);
        let y = rect(5., 5., 25., 25.);
        let dup = rect(0., 0., 30., 30.);
        let (gaps, st) = find_gaps_with_stats(&[&x, &y], &GapOptions::default());
        assert_eq!(st.method, GapMethod::Winding, "{st:?}");
        assert!(gaps.is_empty(), "{gaps:?}");
        // without y the hole is a gap, found exactly
        let (gaps, st) = find_gaps_with_stats(&[&x], &GapOptions::default());
        assert_eq!((st.method, gaps.len()), (GapMethod::EdgeMatching, 1));
        // the same parcel twice: edges used twice in one direction
        let (gaps, st) = find_gaps_with_stats(&[&x, &x, &dup], &GapOptions::default());
        assert_eq!(st.method, GapMethod::Winding, "{st:?}");
        assert!(gaps.is_empty());
        let (gaps, _) = find_gaps_with_stats(&[&x, &x], &GapOptions::default());
        assert_eq!(gaps.len(), 1);
        assert!((gaps[0].area - 100.0).abs() < 1e-6);
    }
}
