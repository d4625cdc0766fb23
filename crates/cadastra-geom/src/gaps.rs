//! TOPO-02: gaps between the polygons of a group (one cadastral sub-zone): the holes of their
//! union, not its outer boundary.
//!
//! Method, linear in the size of the coverage plus the size of its boundary:
//!
//! 1. **Cancel edges.** Orient every shell counter-clockwise and every hole clockwise. In an
//!    exactly noded coverage an interior edge is used twice in opposite directions and
//!    cancels (hash of the undirected edge, parallel sort). What is left, with multiplicity,
//!    is a closed chain whose winding number around any point counts the polygons covering it.
//! 2. **Node the chain.** Split leftover edges at leftover vertices lying inside them
//!    (T-junctions, exact) and cancel again; if leftover edges still cross (a coverage that is
//!    not noded, e.g. overlapping parcels), split them at the crossing points (computed in
//!    floating point, the only inexact step, reported as [`GapMethod::Noded`]).
//! 3. **Faces and winding numbers.** Trace the faces of the planar chain (exact angular order
//!    around each vertex) and give each face its winding number: across an edge of
//!    multiplicity `m` it changes by `m`; each connected piece of the chain gets the winding
//!    of the rest of the chain at one of its vertices (an exact ray count). Bounded faces of
//!    winding 0 are the gaps, the outer boundaries of pieces lying in a gap are its islands.
//!
//! Overlaps therefore never hide or invent a gap, and no polygon overlay is needed: the
//! result keeps the input's coordinates. geo's `unary_union` remains as a last resort if the
//! chain cannot be traced ([`GapMethod::UnaryUnion`]; not seen in the tests).
//!
//! Each gap is measured (area, width `2·area/perimeter`) and classified: a sliver
//! (`width <= sliver_max_width`, TOPO-02 "auto-close") or a real gap. Gaps are not dropped:
//! the caller decides. Parts of gaps covered by `allowed` polygons (roads, water, state land)
//! are removed with geo's `BooleanOps` (so those gaps' coordinates are rounded to the
//! overlay's grid); what remains is reported, classified the same way.

use crate::index::{Envelope, TopoIndex};
use crate::predicates::{
    compare_angle, locate_in_ring, orient, ring_orientation, segment_intersection, Location,
    SegIntersection,
};
use crate::shape::{ring_length, ring_signed_area, width_estimate};
use geo::BooleanOps;
use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use rayon::prelude::*;
use std::cmp::Ordering;
use std::collections::{HashMap, VecDeque};

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
    /// exactly noded coverage (T-junctions allowed): exact throughout
    EdgeMatching,
    /// boundary edges crossed (a coverage that is not noded, or overlaps) and were split at
    /// crossing points computed in floating point; everything else exact
    Noded,
    /// last resort: geo's `unary_union` of all polygons
    UnaryUnion,
}

/// What [`find_gaps_with_stats`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct GapStats {
    pub method: GapMethod,
    /// why the last resort was needed
    pub fallback_reason: Option<String>,
    /// directed edges in the input
    pub edges: usize,
    /// edges left after cancelling and noding (the boundary chain)
    pub boundary_edges: usize,
    /// edge splits at vertices of other edges (T-junctions, partial overlaps): exact
    pub splits: usize,
    /// edge splits at crossing points (0 for a noded coverage)
    pub crossings: usize,
    /// holes of the union before removing allowed polygons
    pub holes: usize,
    /// holes fully covered by allowed polygons
    pub excused: usize,
}

/// TOPO-02: gaps (holes of the union) of a group of polygons, sorted by the lowest-left vertex
/// of each gap. See the module docs for the method. Runs on the rayon pool; the result does
/// not depend on the number of threads.
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
        crossings: 0,
        holes: 0,
        excused: 0,
    };
    let holes = match boundary_chain(geoms, &mut stats).and_then(|c| face_loops(&c)) {
        Ok(loops) => assemble(loops),
        Err(reason) => {
            stats.method = GapMethod::UnaryUnion;
            stats.fallback_reason = Some(reason);
            assemble(union_loops(&union_all(geoms)))
        }
    };
    stats.holes = holes.len();
    let allowed_index = (!opts.allowed.is_empty()).then(|| {
        TopoIndex::from_envelopes(opts.allowed.iter().map(Envelope::of_multipolygon).collect())
    });
    let pieces: Vec<(Vec<Polygon<f64>>, bool)> = holes
        .into_par_iter()
        .map(|h| match (&allowed_index, Envelope::of_polygon(&h)) {
            (Some(idx), Some(env)) => {
                let cands = idx.query(&env);
                if cands.is_empty() {
                    return (vec![h], false);
                }
                let mut rest = MultiPolygon(vec![h]);
                for c in cands {
                    rest = rest.difference(&opts.allowed[c as usize]);
                    if rest.0.is_empty() {
                        break;
                    }
                }
                let excused = rest.0.is_empty();
                (rest.0, excused)
            }
            _ => (vec![h], false),
        })
        .collect();
    let mut gaps = Vec::new();
    for (ps, excused) in pieces {
        stats.excused += usize::from(excused);
        for p in ps {
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
    if stats.method == GapMethod::EdgeMatching && stats.crossings > 0 {
        stats.method = GapMethod::Noded;
    }
    (gaps, stats)
}

/// TOPO-02 for a whole layer: `group[i]` is the group (cadastral sub-zone) of feature `i`;
/// gaps are searched within each group, groups in parallel. Features without geometry are
/// skipped; geometries and groups pair up by position. Sorted by group, then as
/// [`find_gaps`].
pub fn find_gaps_by_group(
    geoms: &[Option<MultiPolygon<f64>>],
    group: &[u32],
    opts: &GapOptions<'_>,
) -> Vec<(u32, Gap)> {
    let mut members: Vec<(u32, usize)> = group
        .iter()
        .zip(geoms)
        .enumerate()
        .filter_map(|(i, (&g, geom))| geom.as_ref().map(|_| (g, i)))
        .collect();
    members.sort_unstable();
    let mut groups: Vec<(u32, Vec<&MultiPolygon<f64>>)> = Vec::new();
    for (g, i) in members {
        let Some(geom) = geoms[i].as_ref() else {
            continue;
        };
        match groups.last_mut() {
            Some((last, v)) if *last == g => v.push(geom),
            _ => groups.push((g, vec![geom])),
        }
    }
    groups
        .par_iter()
        .flat_map_iter(|(g, refs)| find_gaps(refs, opts).into_iter().map(move |gap| (*g, gap)))
        .collect()
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

// ------------------------------------------------------------------ the boundary chain

#[derive(Clone, Copy, Debug)]
struct DEdge {
    key: u64,
    from: Coord,
    to: Coord,
}

/// A chain edge with its multiplicity.
#[derive(Clone, Copy, Debug)]
struct CEdge {
    from: Coord,
    to: Coord,
    mult: u32,
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
    if (want_ccw && o < 0) || (!want_ccw && o > 0) {
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

/// Cancel opposite edges; what is left keeps its multiplicity (an edge used twice in one
/// direction, by overlapping polygons, has multiplicity 2). Still a closed chain.
fn cancel(edges: &mut [DEdge]) -> Vec<CEdge> {
    edges.par_sort_unstable_by_key(|e| e.key);
    cancel_sorted(edges)
}

fn cancel_sequential(edges: &mut [DEdge]) -> Vec<CEdge> {
    edges.sort_unstable_by_key(|e| e.key);
    cancel_sorted(edges)
}

/// [`cancel`] on edges sorted by key.
fn cancel_sorted(edges: &[DEdge]) -> Vec<CEdge> {
    let mut out = Vec::new();
    let mut run: Vec<DEdge> = Vec::new();
    let mut i = 0;
    while i < edges.len() {
        let mut j = i + 1;
        while j < edges.len() && edges[j].key == edges[i].key {
            j += 1;
        }
        let group = &edges[i..j];
        if group.len() == 2 && group[0].from == group[1].to && group[0].to == group[1].from {
            // the common case: an interior edge and its twin
        } else {
            // several edges, or a hash collision: group exactly by the undirected edge
            run.clear();
            run.extend_from_slice(group);
            run.sort_unstable_by(|a, b| {
                let (al, ah) = lo_hi(a);
                let (bl, bh) = lo_hi(b);
                cmp_coord(&al, &bl).then(cmp_coord(&ah, &bh))
            });
            let mut k = 0;
            while k < run.len() {
                let (lo, hi) = lo_hi(&run[k]);
                let mut l = k + 1;
                while l < run.len() && lo_hi(&run[l]) == (lo, hi) {
                    l += 1;
                }
                let fwd = run[k..l].iter().filter(|e| e.from == lo).count();
                let back = (l - k) - fwd;
                if fwd != back {
                    let (from, to) = if fwd > back { (lo, hi) } else { (hi, lo) };
                    out.push(CEdge {
                        from,
                        to,
                        mult: fwd.abs_diff(back) as u32,
                    });
                }
                k = l;
            }
        }
        i = j;
    }
    out
}

fn expand(chain: &[CEdge], out: &mut Vec<DEdge>, mut split: impl FnMut(&CEdge) -> Vec<Coord>) {
    for e in chain {
        let inner = split(e);
        let mut prev = e.from;
        for c in inner.into_iter().chain(std::iter::once(e.to)) {
            for _ in 0..e.mult {
                out.push(dedge(prev, c));
            }
            prev = c;
        }
    }
}

/// Sort points lying on segment `from -> to` along it (they are collinear with it).
fn sort_along(from: Coord, to: Coord, pts: &mut [Coord]) {
    let (fx, fy) = (from.x <= to.x, from.y <= to.y);
    pts.sort_unstable_by(|a, b| {
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
}

/// The boundary chain of the coverage: oriented edges of all polygons with finite
/// coordinates, cancelled, split at T-junctions and at crossings.
fn boundary_chain(
    geoms: &[&MultiPolygon<f64>],
    stats: &mut GapStats,
) -> Result<Vec<CEdge>, String> {
    let finite = |g: &MultiPolygon<f64>| {
        g.0.iter().all(|p| {
            std::iter::once(p.exterior())
                .chain(p.interiors())
                .all(|r| r.0.iter().all(|c| c.x.is_finite() && c.y.is_finite()))
        })
    };
    // cancel within chunks of consecutive features first (in cache; layers are usually
    // stored in spatial order, so most shared edges cancel here), then across chunks
    let parts: Vec<(usize, Vec<DEdge>)> = geoms
        .par_chunks(8192)
        .map(|chunk| {
            let mut v = Vec::with_capacity(chunk.len() * 6);
            for g in chunk.iter().filter(|g| finite(g)) {
                for p in &g.0 {
                    push_ring(&p.exterior().0, true, &mut v);
                    for h in p.interiors() {
                        push_ring(&h.0, false, &mut v);
                    }
                }
            }
            let n = v.len();
            let left = cancel_sequential(&mut v);
            v.clear();
            v.shrink_to_fit();
            let mut out = Vec::with_capacity(left.len());
            expand(&left, &mut out, |_| Vec::new());
            (n, out)
        })
        .collect();
    stats.edges = parts.iter().map(|p| p.0).sum();
    let mut edges: Vec<DEdge> = parts.into_iter().flat_map(|p| p.1).collect();
    let mut chain = cancel(&mut edges);
    drop(edges);
    // T-junctions (a vertex inside another edge: exact) and crossings (a coverage that is
    // not noded: the crossing point is rounded): split and cancel again
    for _round in 0..4 {
        let eidx = TopoIndex::from_envelopes(
            chain
                .iter()
                .map(|e| Envelope::of_coords([e.from, e.to].iter()))
                .collect(),
        );
        let pairs = eidx.candidate_pairs();
        let cuts: Vec<(u32, Coord, bool)> = pairs
            .par_iter()
            .with_min_len(1024)
            .flat_map_iter(|&(i, j)| {
                let (a, b) = (chain[i as usize], chain[j as usize]);
                let mut v: Vec<(u32, Coord, bool)> = Vec::new();
                let mut cut = |k: u32, e: &CEdge, c: Coord| {
                    if c != e.from && c != e.to {
                        v.push((k, c, false));
                    }
                };
                match segment_intersection(a.from, a.to, b.from, b.to) {
                    SegIntersection::None => {}
                    SegIntersection::Point { at, proper: true } => {
                        v.push((i, at, true));
                        v.push((j, at, true));
                    }
                    SegIntersection::Point { at, proper: false } => {
                        cut(i, &a, at);
                        cut(j, &b, at);
                    }
                    SegIntersection::Collinear { a: p, b: q } => {
                        for c in [p, q] {
                            cut(i, &a, c);
                            cut(j, &b, c);
                        }
                    }
                }
                v
            })
            .collect();
        if cuts.is_empty() {
            stats.boundary_edges = chain.len();
            return Ok(chain);
        }
        let mut by_edge: HashMap<u32, Vec<Coord>> = HashMap::new();
        for (k, c, crossing) in cuts {
            if crossing {
                stats.crossings += 1;
            } else {
                stats.splits += 1;
            }
            by_edge.entry(k).or_default().push(c);
        }
        let mut split = Vec::new();
        let mut k = 0u32;
        expand(&chain, &mut split, |e| {
            let mut v = by_edge.remove(&k).unwrap_or_default();
            k += 1;
            v.dedup();
            sort_along(e.from, e.to, &mut v);
            v.dedup();
            v
        });
        chain = cancel(&mut split);
    }
    Err("boundary edges still cross after noding".into())
}

// ------------------------------------------------------------------ faces and windings

/// Loops of the gap faces (clockwise) and of pieces lying in gaps (counter-clockwise).
fn face_loops(chain: &[CEdge]) -> Result<Vec<Vec<Coord>>, String> {
    if chain.is_empty() {
        return Ok(vec![]);
    }
    // vertices
    let mut verts: Vec<Coord> = chain.iter().flat_map(|e| [e.from, e.to]).collect();
    verts.par_sort_unstable_by(cmp_coord);
    verts.dedup();
    let vid = |c: &Coord| verts.binary_search_by(|v| cmp_coord(v, c)).unwrap_or(0) as u32;
    // half-edges: 2k = chain edge k, 2k + 1 its twin
    let nh = chain.len() * 2;
    let from: Vec<u32> = (0..nh)
        .into_par_iter()
        .with_min_len(4096)
        .map(|h| {
            let e = &chain[h / 2];
            vid(if h.is_multiple_of(2) { &e.from } else { &e.to })
        })
        .collect();
    let to = |h: usize| from[h ^ 1];
    // outgoing half-edges around each vertex, counter-clockwise from the positive x axis
    let mut out: Vec<u32> = (0..nh as u32).collect();
    out.par_sort_unstable_by(|&a, &b| {
        let (fa, fb) = (from[a as usize], from[b as usize]);
        fa.cmp(&fb).then_with(|| {
            let v = verts[fa as usize];
            match compare_angle(
                v,
                verts[to(a as usize) as usize],
                verts[to(b as usize) as usize],
            ) {
                1 => Ordering::Greater,
                -1 => Ordering::Less,
                _ => Ordering::Equal,
            }
        })
    });
    let mut pos = vec![0u32; nh];
    let mut start = vec![0u32; verts.len() + 1];
    for (k, &h) in out.iter().enumerate() {
        pos[h as usize] = k as u32;
        start[from[h as usize] as usize + 1] = k as u32 + 1;
    }
    for v in 1..start.len() {
        start[v] = start[v].max(start[v - 1]);
    }
    for w in out.windows(2) {
        let (a, b) = (w[0] as usize, w[1] as usize);
        if from[a] == from[b]
            && compare_angle(
                verts[from[a] as usize],
                verts[to(a) as usize],
                verts[to(b) as usize],
            ) == 0
        {
            let c = verts[from[a] as usize];
            return Err(format!("overlapping boundary edges at ({}, {})", c.x, c.y));
        }
    }
    // next half-edge around the face on the right: first counter-clockwise after the twin
    let next = |h: usize| -> usize {
        let v = to(h) as usize;
        let (s, e) = (start[v] as usize, start[v + 1] as usize);
        let p = pos[h ^ 1] as usize + 1;
        out[if p < e { p } else { s }] as usize
    };
    let mult = |h: usize| -> i64 {
        let m = i64::from(chain[h / 2].mult);
        if h.is_multiple_of(2) {
            m
        } else {
            -m
        }
    };
    // faces
    let mut face = vec![u32::MAX; nh];
    let mut faces: Vec<Vec<u32>> = Vec::new();
    for h0 in 0..nh {
        if face[h0] != u32::MAX {
            continue;
        }
        let f = faces.len() as u32;
        let mut walk = Vec::new();
        let mut h = h0;
        loop {
            if face[h] != u32::MAX {
                return Err("inconsistent face walk".into());
            }
            face[h] = f;
            walk.push(h as u32);
            h = next(h);
            if h == h0 {
                break;
            }
            if walk.len() > nh {
                return Err("face walk does not close".into());
            }
        }
        faces.push(walk);
    }
    let coords = |f: usize| -> Vec<Coord> {
        let mut r: Vec<Coord> = faces[f]
            .iter()
            .map(|&h| verts[from[h as usize] as usize])
            .collect();
        if let Some(&c) = r.first() {
            r.push(c);
        }
        r
    };
    let area: Vec<f64> = (0..faces.len())
        .into_par_iter()
        .map(|f| ring_signed_area(&coords(f)))
        .collect();
    // relative windings and connected pieces: the left face of h is the right face of its twin
    let nf = faces.len();
    let mut wind = vec![i64::MIN; nf];
    let mut piece = vec![u32::MAX; nf];
    let mut pieces: Vec<Vec<u32>> = Vec::new();
    let mut queue = VecDeque::new();
    for f0 in 0..nf {
        if piece[f0] != u32::MAX {
            continue;
        }
        let pc = pieces.len() as u32;
        pieces.push(vec![f0 as u32]);
        piece[f0] = pc;
        wind[f0] = 0;
        queue.push_back(f0);
        while let Some(f) = queue.pop_front() {
            for &h in &faces[f] {
                let g = face[h as usize ^ 1] as usize;
                let w = wind[f] + mult(h as usize);
                if piece[g] == u32::MAX {
                    piece[g] = pc;
                    wind[g] = w;
                    pieces[pc as usize].push(g as u32);
                    queue.push_back(g);
                } else if wind[g] != w {
                    return Err("inconsistent winding numbers".into());
                }
            }
        }
    }
    // the outer face of each piece (traced counter-clockwise) and the winding of the rest of
    // the chain there, by an exact ray count from one of the piece's vertices
    let piece_of_edge = |k: usize| piece[face[2 * k] as usize];
    let eidx = TopoIndex::from_envelopes(
        chain
            .iter()
            .map(|e| Envelope::of_coords([e.from, e.to].iter()))
            .collect(),
    );
    let max_x = verts.iter().map(|c| c.x).fold(f64::NEG_INFINITY, f64::max);
    let outside: Vec<(usize, i64)> = pieces
        .par_iter()
        .enumerate()
        .map(|(pc, fs)| {
            let outer = fs
                .iter()
                .map(|&f| f as usize)
                .max_by(|&a, &b| area[a].total_cmp(&area[b]))
                .unwrap_or(fs[0] as usize);
            let p = verts[from[faces[outer][0] as usize] as usize];
            let ray = Envelope {
                min: p,
                max: Coord { x: max_x, y: p.y },
            };
            let mut w: i64 = 0;
            eidx.visit(&ray, |k| {
                let k = k as usize;
                if piece_of_edge(k) as usize == pc {
                    return;
                }
                let e = &chain[k];
                let m = i64::from(e.mult);
                if e.from.y <= p.y && e.to.y > p.y && orient(e.from, e.to, p) > 0 {
                    w += m;
                } else if e.to.y <= p.y && e.from.y > p.y && orient(e.from, e.to, p) < 0 {
                    w -= m;
                }
            });
            (outer, w)
        })
        .collect();
    let mut loops = Vec::new();
    for (pc, fs) in pieces.iter().enumerate() {
        let (outer, w_out) = outside[pc];
        for &f in fs {
            let f = f as usize;
            let w = w_out + wind[f] - wind[outer];
            if w != 0 {
                continue;
            }
            let mut sub = Vec::new();
            split_loops(&coords(f), &mut sub);
            if f == outer {
                // a piece lying in a gap: its outer boundary makes islands
                loops.extend(sub.into_iter().filter(|l| ring_signed_area(l) > 0.0));
            } else {
                loops.extend(sub);
            }
        }
    }
    Ok(loops)
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

// ------------------------------------------------------------------ union (last resort)

fn union_all(geoms: &[&MultiPolygon<f64>]) -> MultiPolygon<f64> {
    let polys: Vec<Polygon<f64>> = geoms
        .iter()
        .filter(|g| crate::shape::all_finite(g))
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
    fn overlaps_resolved_by_winding_numbers() {
        let g = [
            rect(0., 0., 10., 10.),
            rect(9., 0., 20., 10.), // overlaps: the shared strip has winding 2
            rect(0., 10., 20., 20.),
            rect(0., 20., 20., 30.),
        ];
        let refs: Vec<&MultiPolygon<f64>> = g.iter().collect();
        let (gaps, st) = find_gaps_with_stats(&refs, &GapOptions::default());
        // T-junction splitting nodes this overlap exactly: no crossing, no rounding
        assert_eq!(
            (st.method, st.crossings),
            (GapMethod::EdgeMatching, 0),
            "{st:?}"
        );
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
        assert_eq!((st.method, st.crossings), (GapMethod::Noded, 4), "{st:?}");
        assert_eq!(gaps.len(), 1);
        assert!(
            (gaps[0].area - (95.0 - 0.5)).abs() < 1e-6,
            "{}",
            gaps[0].area
        );
    }

    #[test]
    fn gaps_per_group() {
        // two zones side by side; the hole lies in zone 7 only, the seam between zones is
        // not a gap
        let mut g = vec![
            rect(0., 0., 30., 10.),
            rect(0., 10., 10., 20.),
            rect(20., 10., 30., 20.),
            rect(0., 20., 30., 30.),
        ];
        let mut zone = vec![7, 7, 7, 7];
        g.push(rect(30., 0., 60., 30.));
        zone.push(3);
        let geoms: Vec<Option<MultiPolygon<f64>>> = g.into_iter().map(Some).chain([None]).collect();
        zone.push(3);
        let found = find_gaps_by_group(&geoms, &zone, &GapOptions::default());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, 7);
        assert_eq!(found[0].1.area, 100.0);
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
        assert_eq!(st.method, GapMethod::EdgeMatching, "{st:?}");
        assert!(gaps.is_empty(), "{gaps:?}");
        // without y the hole is a gap, found exactly
        let (gaps, st) = find_gaps_with_stats(&[&x], &GapOptions::default());
        assert_eq!((st.method, gaps.len()), (GapMethod::EdgeMatching, 1));
        // the same parcel twice: edges used twice in one direction
        let (gaps, st) = find_gaps_with_stats(&[&x, &x, &dup], &GapOptions::default());
        assert_eq!(st.method, GapMethod::EdgeMatching, "{st:?}");
        assert!(gaps.is_empty());
        let (gaps, _) = find_gaps_with_stats(&[&x, &x], &GapOptions::default());
        assert_eq!(gaps.len(), 1);
        assert!((gaps[0].area - 100.0).abs() < 1e-6);
    }
}
