//! Structures several rules read, built once per run (see `Rule::prepare`): validity of every
//! feature, the parcel and building sets with their spatial index, key lookups, and the parcel
//! pair analysis that TOPO-01, TOPO-08 and TOPO-09 share.

use crate::context::RuleContext;
use crate::rules::{
    topo01_parcel_overlap as topo01, topo08_edge_matching as topo08, topo09_coverage as topo09,
};
use cadastra_geom::interiors::interiors_intersect_env;
use cadastra_geom::overlay::distance_to_boundary;
use cadastra_geom::shape::{area, perimeter};
use cadastra_geom::{hausdorff, overlap, Envelope, Invalid, TopoIndex};
use cadastra_model::Geom;
use geo_types::Coord;
use rayon::prelude::*;
use std::sync::OnceLock;

/// Vertices closer than this (m) to another feature's boundary count as on it (GEOM-03's snap:
/// deliberate T-junctions are digitised to within a millimetre).
pub const SNAP_M: f64 = 0.001;

#[derive(Default)]
pub(crate) struct Shared<'a> {
    validity: OnceLock<Vec<Validity>>,
    parcels: OnceLock<FeatureSet<'a>>,
    buildings: OnceLock<FeatureSet<'a>>,
    parcel_keys: OnceLock<KeyIndex<'a>>,
    building_keys: OnceLock<KeyIndex<'a>>,
    pairs: OnceLock<Vec<PairInfo>>,
    unit_checks: OnceLock<Vec<UnitCheck>>,
    parcel_attrs: OnceLock<ParcelAttrs<'a>>,
    /// set once the rules run in parallel: from then on every structure must have been built
    /// by `Rule::prepare` (lazy initialisation inside the parallel section could re-enter a
    /// `OnceLock` through rayon's work stealing)
    pub(crate) sealed: std::sync::atomic::AtomicBool,
}

/// GEOM-01 validity of one layer's features.
#[derive(Debug, Default)]
pub struct Validity {
    /// geometry present, not empty and valid
    pub ok: Vec<bool>,
    /// rows whose geometry is invalid, ascending
    pub errors: Vec<(usize, Invalid)>,
}

/// Every feature of one table across the run's layers (parcels or buildings), with a spatial index.
pub struct FeatureSet<'a> {
    /// (layer, row) of every item
    pub refs: Vec<(u32, u32)>,
    /// first item of each layer (`None` for layers of other tables)
    pub first: Vec<Option<usize>>,
    /// valid geometry only (null, empty and invalid geometries are `None`: GEOM-01/-02 report them)
    pub geoms: Vec<Option<&'a Geom>>,
    /// exact envelopes of the geometries above
    pub envs: Vec<Option<Envelope>>,
    /// index over the envelopes grown by `margin` (so that near misses become candidate pairs)
    pub index: TopoIndex,
    pub margin: f64,
    /// source system of each item (index into `systems`)
    pub system: Vec<u16>,
    pub systems: Vec<&'a str>,
}

impl FeatureSet<'_> {
    pub fn len(&self) -> usize {
        self.refs.len()
    }
    pub fn is_empty(&self) -> bool {
        self.refs.is_empty()
    }
    pub fn item(&self, layer: usize, row: usize) -> Option<usize> {
        self.first.get(layer).copied().flatten().map(|f| f + row)
    }
    pub fn layer_row(&self, i: usize) -> (usize, usize) {
        let (l, r) = self.refs[i];
        (l as usize, r as usize)
    }
}

/// Items of a feature set by a key field's value (sorted; duplicates kept).
pub struct KeyIndex<'a> {
    sorted: Vec<(&'a str, u32)>,
}

impl<'a> KeyIndex<'a> {
    /// Items whose key equals `k`.
    pub fn get<'k>(&'k self, k: &'k str) -> impl Iterator<Item = usize> + 'k {
        let start = self.sorted.partition_point(|(s, _)| *s < k);
        self.sorted[start..]
            .iter()
            .take_while(move |(s, _)| *s == k)
            .map(|(_, i)| *i as usize)
    }
    pub fn contains(&self, k: &str) -> bool {
        self.get(k).next().is_some()
    }
    /// Keys held by more than one item, with their items.
    pub fn duplicates(&self) -> Vec<(&'a str, Vec<usize>)> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.sorted.len() {
            let mut j = i + 1;
            while j < self.sorted.len() && self.sorted[j].0 == self.sorted[i].0 {
                j += 1;
            }
            if j - i > 1 {
                out.push((
                    self.sorted[i].0,
                    self.sorted[i..j].iter().map(|x| x.1 as usize).collect(),
                ));
            }
            i = j;
        }
        out
    }
}

/// Per-parcel attributes the topology rules group and filter by (item ids of the parcel set).
pub struct ParcelAttrs<'a> {
    /// 地籍子区 (ZDDM characters 1-12, else BDCDYH's)
    pub zone: Vec<Option<&'a str>>,
    /// 权利设定方式 class: 1 above ground, 2 surface, 3 below ground
    pub class: Vec<u8>,
}

/// A parcel pair worth a look: overlapping interiors, or near each other without touching
/// everywhere they are near.
#[derive(Debug, Clone)]
pub struct PairInfo {
    pub i: u32,
    pub j: u32,
    pub kind: PairKind,
}

#[derive(Debug, Clone)]
pub enum PairKind {
    /// interiors intersect
    Overlap {
        area: f64,
        /// width estimate 2·area/perimeter
        width: f64,
        /// largest distance of a vertex of the overlap from the other parcel's boundary: how far
        /// one parcel reaches into the other
        depth: f64,
        geom: Geom,
        /// same ground (Hausdorff distance ≤ the duplicate tolerance)
        duplicate: bool,
    },
    /// interiors do not intersect, but a vertex of one lies off the other's boundary by
    /// `offset` (more than the snap, at most the search distance) at `at`
    Near { offset: f64, at: Coord },
}

/// 地籍子区 of a parcel: ZDDM (else BDCDYH) characters 1-12, when they are ASCII.
pub fn sub_zone<'s>(zddm: Option<&'s str>, bdcdyh: Option<&'s str>) -> Option<&'s str> {
    [zddm, bdcdyh]
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|s| s.len() >= 12 && s.is_char_boundary(12))
        .map(|s| &s[..12])
}

/// 权利设定方式 class of a parcel: 1 above ground, 2 surface, 3 below ground (QLSDFS, else the
/// parcel type S/X in ZDTZM or BDCDYH position 14).
pub fn layer_class(qlsdfs: Option<&str>, zdtzm: Option<&str>, bdcdyh: Option<&str>) -> u8 {
    match qlsdfs.map(str::trim) {
        Some("1") => return 1,
        Some("3") => return 3,
        Some("2") => return 2,
        _ => {}
    }
    let t = zdtzm
        .and_then(|z| z.trim().chars().nth(1))
        .or_else(|| bdcdyh.and_then(|b| b.trim().chars().nth(13)));
    match t {
        Some('S') => 1,
        Some('X') => 3,
        _ => 2,
    }
}

/// Guard of the shared structures: in test builds, building one after the rules started running
/// in parallel is a bug (the rule's `prepare` does not name it).
fn shared_init<'l, T>(
    cx: &RuleContext<'_>,
    lock: &'l OnceLock<T>,
    what: &str,
    init: impl FnOnce() -> T,
) -> &'l T {
    if lock.get().is_none() && cx.shared.sealed.load(std::sync::atomic::Ordering::Relaxed) {
        debug_assert!(false, "shared structure {what} built inside the parallel section: add it to the rule's prepare()");
    }
    lock.get_or_init(init)
}

impl<'a> RuleContext<'a> {
    /// GEOM-01 validity of every feature, per layer (empty for layers without geometry).
    pub fn validity(&self) -> &Vec<Validity> {
        shared_init(self, &self.shared.validity, "validity", || {
            self.layers
                .iter()
                .map(|l| {
                    if !l.spatial() {
                        return Validity::default();
                    }
                    let res: Vec<Option<Result<(), Invalid>>> = (0..l.len())
                        .into_par_iter()
                        .with_min_len(512)
                        .map(|r| {
                            let g = l.geom(r)?;
                            if g.0.iter().all(|p| p.exterior().0.is_empty()) {
                                return None;
                            }
                            Some(cadastra_geom::validate_multipolygon(g))
                        })
                        .collect();
                    let mut v = Validity {
                        ok: Vec::with_capacity(res.len()),
                        errors: Vec::new(),
                    };
                    for (r, x) in res.into_iter().enumerate() {
                        v.ok.push(matches!(x, Some(Ok(()))));
                        if let Some(Err(e)) = x {
                            v.errors.push((r, e));
                        }
                    }
                    v
                })
                .collect()
        })
    }

    fn feature_set(&self, table: &str, margin: f64) -> FeatureSet<'a> {
        let validity = self.validity();
        let mut refs = Vec::new();
        let mut first = vec![None; self.layers.len()];
        let mut systems: Vec<&'a str> = Vec::new();
        let mut system = Vec::new();
        for (li, l) in self.layers.iter().enumerate() {
            if l.table != table {
                continue;
            }
            first[li] = Some(refs.len());
            let s = match systems.iter().position(|s| *s == l.system) {
                Some(p) => p,
                None => {
                    systems.push(l.system);
                    systems.len() - 1
                }
            } as u16;
            for r in 0..l.len() {
                refs.push((li as u32, r as u32));
                system.push(s);
            }
        }
        let layers = self.layers;
        let geoms: Vec<Option<&'a Geom>> = refs
            .par_iter()
            .with_min_len(1024)
            .map(|&(l, r)| {
                let (l, r) = (l as usize, r as usize);
                if validity[l].ok.get(r).copied().unwrap_or(false) {
                    layers[l].geom(r)
                } else {
                    None
                }
            })
            .collect();
        let envs: Vec<Option<Envelope>> = geoms
            .par_iter()
            .with_min_len(1024)
            .map(|g| g.and_then(Envelope::of_multipolygon))
            .collect();
        let grown: Vec<Option<Envelope>> =
            envs.iter().map(|e| e.map(|e| e.expand(margin))).collect();
        FeatureSet {
            refs,
            first,
            geoms,
            envs,
            index: TopoIndex::from_envelopes(grown),
            margin,
            system,
            systems,
        }
    }

    /// All parcels (ZDJBXX layers). The index is grown by half the widest near-miss search of
    /// TOPO-08 / TOPO-09, so that parcels that almost touch become candidate pairs; its R-tree
    /// for envelope queries is built here too.
    pub fn parcels(&self) -> &FeatureSet<'a> {
        shared_init(self, &self.shared.parcels, "parcels", || {
            let set =
                self.feature_set("ZDJBXX", self.near_range().0.max(self.near_range().1) / 2.0);
            // cadastra-geom builds the R-tree of `query` lazily, in parallel and behind a
            // OnceLock: build it here, before rules query it from inside parallel loops
            // (TOPO-02), where rayon's work stealing could re-enter that OnceLock
            let _ = set.index.query(&Envelope {
                min: Coord { x: 0.0, y: 0.0 },
                max: Coord { x: 0.0, y: 0.0 },
            });
            set
        })
    }

    /// All buildings (ZRZ layers).
    pub fn buildings(&self) -> &FeatureSet<'a> {
        shared_init(self, &self.shared.buildings, "buildings", || {
            self.feature_set("ZRZ", 0.0)
        })
    }

    fn key_index(&self, table: &str, field: &str) -> KeyIndex<'a> {
        let mut sorted: Vec<(&'a str, u32)> = Vec::new();
        let mut item = 0u32;
        for l in self.layers.iter().filter(|l| l.table == table) {
            let f = l.field(field);
            for r in 0..l.len() {
                if let Some(k) = f.value(r) {
                    sorted.push((k, item));
                }
                item += 1;
            }
        }
        sorted.par_sort_unstable();
        KeyIndex { sorted }
    }

    /// Sub-zone and layer class of every parcel (item ids of [`RuleContext::parcels`]).
    pub fn parcel_attrs(&self) -> &ParcelAttrs<'a> {
        shared_init(self, &self.shared.parcel_attrs, "parcel_attrs", || {
            let mut a = ParcelAttrs {
                zone: Vec::new(),
                class: Vec::new(),
            };
            for l in self.layers.iter().filter(|l| l.table == "ZDJBXX") {
                let (zddm, bdcdyh, qlsdfs, zdtzm) = (
                    l.field("ZDDM"),
                    l.field("BDCDYH"),
                    l.field("QLSDFS"),
                    l.field("ZDTZM"),
                );
                for r in 0..l.len() {
                    let b = bdcdyh.value(r);
                    a.zone.push(sub_zone(zddm.text(r), b));
                    a.class
                        .push(layer_class(qlsdfs.value(r), zdtzm.value(r), b));
                }
            }
            a
        })
    }

    /// Parcels by ZDDM (item ids of [`RuleContext::parcels`]).
    pub fn parcel_keys(&self) -> &KeyIndex<'a> {
        shared_init(self, &self.shared.parcel_keys, "parcel_keys", || {
            self.key_index("ZDJBXX", "ZDDM")
        })
    }

    /// Buildings by ZRZH (item ids of [`RuleContext::buildings`]).
    pub fn building_keys(&self) -> &KeyIndex<'a> {
        shared_init(self, &self.shared.building_keys, "building_keys", || {
            self.key_index("ZRZ", "ZRZH")
        })
    }

    fn enabled(&self, id: cadastra_model::RuleId) -> bool {
        !self.options.disabled.iter().any(|d| d == id.0)
    }

    /// Near-miss search distances: (TOPO-09 within a sub-zone, TOPO-08 across systems).
    pub fn near_range(&self) -> (f64, f64) {
        let t09 = if self.enabled(topo09::ID) {
            self.opt_f64(topo09::ID, &topo09::TOLERANCE).max(0.0)
        } else {
            0.0
        };
        let mut systems: Vec<&str> = self
            .layers
            .iter()
            .filter(|l| l.table == "ZDJBXX" && !l.is_empty())
            .map(|l| l.system)
            .collect();
        systems.sort_unstable();
        systems.dedup();
        let t08 = if self.enabled(topo08::ID) && systems.len() > 1 {
            self.opt_f64(topo08::ID, &topo08::MAX_OFFSET).max(0.0)
        } else {
            0.0
        };
        (t09, t08)
    }

    /// The parcel pair analysis, sorted by `(i, j)`: every candidate pair whose interiors
    /// intersect, and every pair that comes within the near-miss search distance without
    /// coinciding (same 地籍子区 for TOPO-09, different systems for TOPO-08). Pairs of different
    /// 权利设定方式 layers (地上/地下 against 地表) are left out: they may overlap.
    pub fn parcel_pairs(&self) -> &Vec<PairInfo> {
        shared_init(self, &self.shared.pairs, "parcel_pairs", || {
            let p = self.parcels();
            let (t09, t08) = self.near_range();
            let dup_tol = self.opt_f64(topo01::ID, &topo01::DUPLICATE_TOLERANCE);
            let attrs = self.parcel_attrs();
            let pairs = p.index.candidate_pairs();
            pairs
                .par_iter()
                .with_min_len(256)
                .filter_map(|&(i, j)| {
                    let (iu, ju) = (i as usize, j as usize);
                    let (a, b) = (p.geoms[iu]?, p.geoms[ju]?);
                    let (ea, eb) = (p.envs[iu]?, p.envs[ju]?);
                    if attrs.class[iu] != attrs.class[ju] {
                        return None;
                    }
                    if ea.overlaps_area(&eb) && interiors_intersect_env(a, &ea, b, &eb) {
                        let kind = match overlap(a, b) {
                            Some(o) => {
                                let (aa, ab) = (area(a), area(b));
                                let duplicate =
                                    o.area >= 0.9 * aa.min(ab) && hausdorff(a, b) <= dup_tol;
                                PairKind::Overlap {
                                    depth: depth(&o.geom, a, b),
                                    area: o.area,
                                    width: o.width,
                                    geom: o.geom,
                                    duplicate,
                                }
                            }
                            None => PairKind::Overlap {
                                area: 0.0,
                                width: 0.0,
                                depth: 0.0,
                                geom: Geom::new(vec![]),
                                duplicate: false,
                            },
                        };
                        return Some(PairInfo { i, j, kind });
                    }
                    let range = if p.system[iu] != p.system[ju] {
                        t08
                    } else if attrs.zone[iu].is_some() && attrs.zone[iu] == attrs.zone[ju] {
                        t09
                    } else {
                        0.0
                    };
                    if range <= SNAP_M {
                        return None;
                    }
                    let (o1, at1) = near_offset(a, b, &eb, range);
                    let (o2, at2) = near_offset(b, a, &ea, range);
                    // the larger offset; on a tie the lower-left place (independent of pair order)
                    let first = o1 > o2 || (o1 == o2 && (at1.x, at1.y) <= (at2.x, at2.y));
                    let (offset, at) = if first { (o1, at1) } else { (o2, at2) };
                    (offset > SNAP_M).then_some(PairInfo {
                        i,
                        j,
                        kind: PairKind::Near { offset, at },
                    })
                })
                .collect()
        })
    }
}

/// How far an overlap reaches: the largest distance from the boundary of `a` or `b` of the
/// overlap's vertices and edge midpoints (each lies on one boundary; its distance from the other
/// is the offset), at least the overlap's width estimate.
fn depth(o: &Geom, a: &Geom, b: &Geom) -> f64 {
    let mut m: f64 = cadastra_geom::shape::width_estimate(area(o), perimeter(o));
    let mut probe = |c: Coord| {
        let d = distance_to_boundary(c, a).max(distance_to_boundary(c, b));
        if d.is_finite() {
            m = m.max(d);
        }
    };
    for p in &o.0 {
        for r in std::iter::once(p.exterior()).chain(p.interiors()) {
            for w in r.0.windows(2) {
                probe(w[0]);
                probe(Coord {
                    x: (w[0].x + w[1].x) / 2.0,
                    y: (w[0].y + w[1].y) / 2.0,
                });
            }
        }
    }
    m
}

/// The largest distance (≤ `range`) of a vertex of `a` from the boundary of `b`, among the
/// vertices of `a`'s edges that run along `b` (both ends within `range` of `b`'s boundary), and
/// where; 0 when every such vertex lies on `b`'s boundary. Corners that merely come close (a
/// diagonal neighbour) do not count: only a shared stretch of border does.
fn near_offset(a: &Geom, b: &Geom, eb: &Envelope, range: f64) -> (f64, Coord) {
    let grown = eb.expand(range);
    let r2 = range * range;
    let mut best = (0.0f64, Coord { x: 0.0, y: 0.0 });
    // squared distance from c to b's boundary, INFINITY when beyond `range`
    let dist2 = |c: Coord| -> f64 {
        if c.x < grown.min.x || c.x > grown.max.x || c.y < grown.min.y || c.y > grown.max.y {
            return f64::INFINITY;
        }
        let mut m = f64::INFINITY;
        for p in &b.0 {
            for r in std::iter::once(p.exterior()).chain(p.interiors()) {
                for w in r.0.windows(2) {
                    let d = seg_dist2(c, w[0], w[1]);
                    if d < m {
                        m = d;
                        if m == 0.0 {
                            return 0.0;
                        }
                    }
                }
            }
        }
        if m <= r2 {
            m
        } else {
            f64::INFINITY
        }
    };
    for p in &a.0 {
        for r in std::iter::once(p.exterior()).chain(p.interiors()) {
            let pts = &r.0;
            let mut prev: Option<(Coord, f64)> = None;
            for &c in pts {
                let d = dist2(c);
                if let Some((pc, pd)) = prev {
                    if pd.is_finite() && d.is_finite() {
                        for (q, dq) in [(pc, pd), (c, d)] {
                            if dq > best.0 * best.0 {
                                best = (dq.sqrt(), q);
                            }
                        }
                    }
                }
                prev = Some((c, d));
            }
        }
    }
    best
}

/// Squared distance from `p` to the segment `a b` (relative to `a`, for large coordinates).
fn seg_dist2(p: Coord, a: Coord, b: Coord) -> f64 {
    let (px, py) = (p.x - a.x, p.y - a.y);
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let l2 = dx * dx + dy * dy;
    let t = if l2 > 0.0 {
        ((px * dx + py * dy) / l2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (ex, ey) = (px - t * dx, py - t * dy);
    ex * ex + ey * ey
}

/// Perimeter, re-exported for rules that report widths.
pub fn perimeter_of(g: &Geom) -> f64 {
    perimeter(g)
}

impl RuleContext<'_> {
    /// How far a parcel's drawn area is from its registered ZDMJ, relative to the drawn area
    /// (0 when either is unknown). Pair findings name the parcel with the larger mismatch first:
    /// the one whose boundary was most likely edited.
    pub fn area_mismatch(&self, item: usize) -> f64 {
        let p = self.parcels();
        let Some(g) = p.geoms.get(item).copied().flatten() else {
            return 0.0;
        };
        let (l, r) = p.layer_row(item);
        let l = &self.layers[l];
        let (Some(zdmj), Some(f)) = (
            l.field("ZDMJ").f64(r),
            crate::util::unit_factor(l.field("MJDW").value(r)),
        ) else {
            return 0.0;
        };
        let a = area(g);
        if a > 0.0 {
            (zdmj * f - a).abs() / a
        } else {
            0.0
        }
    }

    /// Order a parcel pair for a finding: the likelier culprit first (larger area mismatch); on
    /// a tie the smaller key, then the lower-left envelope, so that the order never depends on the
    /// input order.
    pub fn blame(&self, i: usize, j: usize) -> (usize, usize) {
        let (mi, mj) = (self.area_mismatch(i), self.area_mismatch(j));
        let first = match mj.total_cmp(&mi) {
            std::cmp::Ordering::Greater => false,
            std::cmp::Ordering::Less => true,
            std::cmp::Ordering::Equal => {
                self.item_order(self.parcels(), i, j) != std::cmp::Ordering::Greater
            }
        };
        if first {
            (i, j)
        } else {
            (j, i)
        }
    }

    /// A total order of two items of a set that does not depend on the input order: by key, then
    /// by the lower-left corner of the envelope, then (identical keys and envelopes) by item.
    pub fn item_order(&self, set: &FeatureSet<'_>, i: usize, j: usize) -> std::cmp::Ordering {
        let env = |k: usize| {
            set.envs
                .get(k)
                .copied()
                .flatten()
                .map(|e| (e.min.x, e.min.y))
        };
        self.item_key(set, i)
            .cmp(&self.item_key(set, j))
            .then_with(|| match (env(i), env(j)) {
                (Some(a), Some(b)) => a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)),
                _ => std::cmp::Ordering::Equal,
            })
            .then(i.cmp(&j))
    }

    /// Key of a feature-set item.
    pub fn item_key(&self, set: &FeatureSet<'_>, item: usize) -> String {
        let (l, r) = set.layer_row(item);
        self.layers[l].key(r)
    }
}

/// A unit-number problem found on one field of one row (UNIT-01, -02, -04, -05, -08).
#[derive(Debug, Clone)]
pub struct UnitCheck {
    pub layer: u32,
    pub row: u32,
    pub field: &'static str,
    pub problem: cadastra_model::ids::UnitProblem,
}

/// The unit-number fields checked per table: (field, length: 28 unit number, 19 parcel code,
/// 24 building number).
pub fn unit_fields(table: &str, right: bool) -> &'static [(&'static str, usize)] {
    match table {
        "ZDJBXX" => &[("ZDDM", 19), ("BDCDYH", 28)],
        "ZRZ" => &[("ZRZH", 24), ("BDCDYH", 28)],
        "H" | "QLR" => &[("BDCDYH", 28)],
        _ if right => &[("BDCDYH", 28)],
        _ => &[],
    }
}

/// A cheap proof that a code has no UNIT-01/-02/-04/-05/-08 problem (the common case), so that
/// the full check with its messages runs only on suspicious values. `false` means: check it.
pub fn fast_ok(s: &str, len: usize) -> bool {
    let b = s.as_bytes();
    if b.len() != len {
        return false;
    }
    for (i, &c) in b.iter().enumerate() {
        let ok = match i {
            12 => matches!(c, b'G' | b'J' | b'Z'),
            13 => b"ABSXCDEFLNHGWY".contains(&c),
            19 => matches!(c, b'F' | b'L' | b'Q' | b'W'),
            _ => c.is_ascii_digit(),
        };
        if !ok {
            return false;
        }
    }
    if &b[6..12] == b"000000" || &b[14..19] == b"00000" {
        return false; // virtual number, sequence 00000
    }
    let (own, kind) = (b[12], b[13]);
    if (matches!(kind, b'A' | b'C') && own != b'J') || (matches!(kind, b'H' | b'G') && own != b'G')
    {
        return false;
    }
    let fixture = if len >= 20 {
        b[19]
    } else if len == 19 {
        b'W'
    } else {
        b'F'
    };
    // the vendor-accepted type + fixture pairs (codelists ZDTZM2_DZW), spelled out
    let pair_ok = match fixture {
        b'W' => true,
        b'F' => matches!(kind, b'B' | b'C' | b'G' | b'H' | b'S' | b'X' | b'W' | b'Y'),
        b'L' => matches!(kind, b'E' | b'G' | b'H' | b'L'),
        _ => matches!(kind, b'B' | b'C' | b'E' | b'G' | b'H' | b'L' | b'S' | b'X'),
    };
    if !pair_ok {
        return false;
    }
    match (len, fixture) {
        (28, b'W') => &b[20..28] == b"00000000",
        (28, b'F') | (24, _) => &b[20..24] != b"0000",
        _ => true,
    }
}

/// Structural check of a parcel code (19), building number (24) or unit number (28): the 19- and
/// 24-character codes are the unit number's prefixes and are checked as such.
pub fn check_code(s: &str, len: usize) -> Vec<cadastra_model::ids::UnitProblem> {
    use cadastra_model::ids::{check_unit_number, UnitProblem};
    if len == 28 {
        let mut p = check_unit_number(s);
        if p.is_empty() && !s.is_ascii() {
            // 28 characters, one of them not ASCII (e.g. a Chinese character): `check_unit_number`
            // cannot split it into positions
            p.push(UnitProblem {
                rule: "UNIT-02",
                sub: "E01",
                zh: format!("不动产单元号含非ASCII字符: {s:?}"),
                en: format!("unit number holds non-ASCII characters: {s:?}"),
            });
        }
        return p;
    }
    let name = if len == 19 {
        ("宗地代码", "parcel code")
    } else {
        ("自然幢号", "building number")
    };
    let p = |rule, sub, zh: String, en: String| vec![UnitProblem { rule, sub, zh, en }];
    if s.chars()
        .any(|c| c.is_whitespace() || ('\u{FF01}'..='\u{FF5E}').contains(&c))
    {
        return p(
            "UNIT-01",
            "E02",
            format!("{}含空格或全角字符: {s:?}", name.0),
            format!("{} contains blanks or full-width characters: {s:?}", name.1),
        );
    }
    let n = s.chars().count();
    if n != len {
        return p(
            "UNIT-01",
            "E01",
            format!("{}长度为{n}, 应为{len}位", name.0),
            format!("{} has {n} characters, expected {len}", name.1),
        );
    }
    let padded = if len == 19 {
        format!("{s}W00000000")
    } else {
        format!("{s}0001")
    };
    check_unit_number(&padded)
        .into_iter()
        .map(|mut q| {
            q.zh = q.zh.replace("不动产单元号", name.0);
            q.en = q.en.replace("unit number", name.1);
            q
        })
        .collect()
}

impl<'a> RuleContext<'a> {
    /// Unit-number problems of every unit-number field of every layer, sorted by (layer, row).
    pub fn unit_checks(&self) -> &Vec<UnitCheck> {
        shared_init(self, &self.shared.unit_checks, "unit_checks", || {
            let mut out = Vec::new();
            for (li, l) in self.layers.iter().enumerate() {
                for &(field, len) in unit_fields(l.table, l.def().right) {
                    let f = l.field(field);
                    if !f.exists() {
                        continue;
                    }
                    let found: Vec<UnitCheck> = (0..l.len())
                        .into_par_iter()
                        .with_min_len(1024)
                        .flat_map_iter(|r| {
                            let v = f.text(r).filter(|v| !v.is_empty());
                            v.filter(|v| !fast_ok(v, len))
                                .map(|v| check_code(v, len))
                                .unwrap_or_default()
                                .into_iter()
                                .map(move |problem| UnitCheck {
                                    layer: li as u32,
                                    row: r as u32,
                                    field,
                                    problem,
                                })
                        })
                        .collect();
                    out.extend(found);
                }
            }
            out.sort_by_key(|c| (c.layer, c.row));
            out
        })
    }

    /// Rows of a table's layers by a field's value (not cached; item ids count rows of the
    /// table's layers in layer order).
    pub fn key_index_of(&self, table: &str, field: &str) -> KeyIndex<'a> {
        self.key_index(table, field)
    }

    /// (layer, row) of item `i` of a table's layers in layer order.
    pub fn table_item(&self, table: &str, mut i: usize) -> Option<(usize, usize)> {
        for (li, l) in self.layers.iter().enumerate() {
            if l.table != table {
                continue;
            }
            if i < l.len() {
                return Some((li, i));
            }
            i -= l.len();
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast path agrees with the full check on every code it accepts.
    #[test]
    fn fast_path_agrees_with_the_full_check() {
        let mut n = 0;
        for own in ["G", "J", "Z", "X"] {
            for kind in "ABSXCDEFLNHGWYQ".chars() {
                for fix in [
                    "W00000000",
                    "F00010001",
                    "F00000001",
                    "L00000001",
                    "Q00000000",
                    "W00010000",
                    "F0001000A",
                ] {
                    for zone in ["001002", "000000"] {
                        for seq in ["00015", "00000"] {
                            let s = format!("371202{zone}{own}{kind}{seq}{fix}");
                            assert!(!fast_ok(&s, 28) || check_code(&s, 28).is_empty(), "{s}");
                            let zd = &s[..19];
                            assert!(!fast_ok(zd, 19) || check_code(zd, 19).is_empty(), "{zd}");
                            let zr = format!("{zd}F{}", &fix[1..5]);
                            assert!(!fast_ok(&zr, 24) || check_code(&zr, 24).is_empty(), "{zr}");
                            n += usize::from(fast_ok(&s, 28));
                        }
                    }
                }
            }
        }
        assert!(n > 50, "the fast path accepts the common codes ({n})");
        assert!(fast_ok("371202001002JC00015W00000000", 28));
        assert!(fast_ok("371202001002GB00015F00010001", 28));
        assert!(fast_ok("371202001002JC00015", 19));
        assert!(fast_ok("371202001002GB00015F0001", 24));
    }
}
