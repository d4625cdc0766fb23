//! TOPO-09 coverage-validity: the parcels of each 地籍子区 form a valid polygonal coverage
//! (edge-matched and non-overlapping, as PostGIS `ST_CoverageInvalidEdges(tolerance)` decides
//! it, with the 1 mm snap for deliberate T-junctions) — W, one verdict per sub-zone.
//!
//! What it adds to TOPO-01 and TOPO-02: those report overlaps above 0.01 m² × 0.01 m and closed
//! gaps; this rule finds what they leave as noise — pairs of parcels of the same sub-zone whose
//! boundaries run along each other within `tolerance` without coinciding (an edge whose two ends
//! lie within `tolerance` of the neighbour's boundary, a vertex of it 1 mm to 5 cm off; corners of
//! diagonal neighbours that merely come close do not count), and overlaps below TOPO-01's
//! thresholds (deeper than the 1 mm snap). A coverage with
//! such edges is not edge-matched: snapping (or `ST_CoverageClean`) is needed before the sub-zone
//! can be maintained as a coverage. The finding is keyed by the sub-zone code (ZDDM characters
//! 1-12), not tied to a row, `value` = the largest offset (m) against `tolerance`, located at the
//! worst place, with the number of unmatched parcel pairs and the worst pair in the message.
//!
//! Sub-codes: W01 sub-zone is not a valid coverage.
//!
//! Options: `tolerance` (m, default 0.05 [I]: the sliver width of TOPO-02).

use crate::rules::topo01_parcel_overlap as topo01;
use crate::shared::{PairKind, SNAP_M};
use crate::{Opt, OptValue, Rule, RuleContext, RuleError, RuleFinding, Scope, SubCode};
use cadastra_model::{RuleId, Severity};
use std::collections::BTreeMap;

pub(crate) struct Coverage;
pub(crate) const ID: RuleId = RuleId("TOPO-09");
pub(crate) const TOLERANCE: Opt = Opt {
    key: "tolerance",
    default: OptValue::F64(0.05),
    inferred: true,
    doc: "boundaries closer than this (m) without coinciding are unmatched edges",
};

struct Verdict {
    pairs: usize,
    worst: f64,
    at: (f64, f64),
    names: (String, String),
}

impl Rule for Coverage {
    fn id(&self) -> RuleId {
        ID
    }
    fn name(&self) -> &'static str {
        "coverage-validity"
    }
    fn severity(&self) -> Severity {
        Severity::W
    }
    fn scope(&self) -> Scope {
        Scope::Layer
    }
    fn describe(&self) -> (&'static str, &'static str) {
        (
            "地籍子区内宗地构成有效覆盖(边界严格接边、无重叠): 列出TOPO-01/02容差以下的错开和微小重叠",
            "the parcels of each cadastral sub-zone form a valid coverage (edge-matched, non-overlapping): lists the near misses and tiny overlaps below TOPO-01/02's thresholds",
        )
    }
    fn codes(&self) -> &'static [SubCode] {
        &[SubCode {
            code: "W01",
            zh: "地籍子区不是有效覆盖(边界未严格接边)",
            en: "sub-zone is not a valid coverage (edges not matched)",
        }]
    }
    fn options(&self) -> &'static [Opt] {
        &[TOLERANCE]
    }
    fn needs(&self) -> &'static str {
        "parcels (ZDJBXX) with geometry and ZDDM"
    }
    fn applies(&self, cx: &RuleContext<'_>) -> bool {
        cx.has("ZDJBXX")
    }
    fn prepare(&self, cx: &RuleContext<'_>) {
        cx.parcel_pairs();
    }
    fn check(
        &self,
        cx: &RuleContext<'_>,
        emit: &mut dyn FnMut(RuleFinding),
    ) -> Result<(), RuleError> {
        let tol = cx.opt_f64(ID, &TOLERANCE);
        let (min_area, min_width) = (
            cx.opt_f64(topo01::ID, &topo01::MIN_AREA),
            cx.opt_f64(topo01::ID, &topo01::MIN_WIDTH),
        );
        let p = cx.parcels();
        let zones = &cx.parcel_attrs().zone;
        let mut verdicts: BTreeMap<(&str, &str), Verdict> = BTreeMap::new();
        for pair in cx.parcel_pairs() {
            let (i, j) = (pair.i as usize, pair.j as usize);
            if p.system[i] != p.system[j] {
                continue;
            }
            let (Some(z), Some(z2)) = (zones[i], zones[j]) else {
                continue;
            };
            if z != z2 {
                continue;
            }
            let (offset, at) = match &pair.kind {
                PairKind::Overlap {
                    area,
                    width,
                    depth,
                    geom,
                    duplicate,
                } => {
                    if *duplicate || (*area > min_area && *width > min_width) {
                        continue; // TOPO-01's
                    }
                    if depth.max(*width) <= SNAP_M {
                        continue; // within the snap (a T-junction vertex a fraction of a mm off)
                    }
                    let at = crate::rules::locate(geom).unwrap_or_default();
                    (depth.max(*width), at)
                }
                PairKind::Near { offset, at } => {
                    if *offset <= SNAP_M || *offset > tol {
                        continue;
                    }
                    (*offset, (at.x, at.y))
                }
            };
            let sys = p.systems[p.system[i] as usize];
            let v = verdicts.entry((sys, z)).or_insert(Verdict {
                pairs: 0,
                worst: -1.0,
                at,
                names: Default::default(),
            });
            v.pairs += 1;
            // the worst pair; on a tie the smaller pair of keys, then the lower-left place, so the
            // verdict does not depend on the input order
            let (ki, kj) = (cx.item_key(p, i), cx.item_key(p, j));
            let names = if ki <= kj { (ki, kj) } else { (kj, ki) };
            let better = offset > v.worst
                || (offset == v.worst && (&names, at.0, at.1) < (&v.names, v.at.0, v.at.1));
            if better {
                v.worst = offset;
                v.at = at;
                v.names = names;
            }
        }
        for ((_, z), v) in verdicts {
            let (a, b) = &v.names;
            let (n, w) = (v.pairs, v.worst);
            emit(
                cx.general(
                    ID,
                    "W01",
                    "ZDJBXX",
                    z,
                    format!("地籍子区{z}不是有效覆盖: {n}对宗地边界未严格接边(容差{tol}米内错开或微小重叠), 最大{w:.3}米(宗地{a}与{b})"),
                    format!("sub-zone {z} is not a valid coverage: {n} parcel pairs with unmatched edges (off by up to {tol} m or overlapping slightly), worst {w:.3} m (parcels {a} and {b})"),
                )
                .xy(v.at.0, v.at.1)
                .value(w, Some(tol)),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::testkit::*;

    #[test]
    fn near_misses_and_noise_overlaps() {
        let z = |n: u32| format!("371202001001GB{n:05}");
        let clean = layer("ZDJBXX", "laiwu")
            .row(&[("ZDDM", z(1).as_str())], Some(rect(0.0, 0.0, 10.0, 10.0)))
            .row(
                &[("ZDDM", z(2).as_str())],
                Some(rect(10.0, 0.0, 20.0, 10.0)),
            )
            // T-junction within the snap: fine
            .row(
                &[("ZDDM", z(3).as_str())],
                Some(poly(&[
                    (0.0, 10.0),
                    (10.0, 10.0),
                    (20.0, 10.0),
                    (20.0, 20.0),
                    (0.0, 20.0),
                ])),
            )
            .row(
                &[("ZDDM", z(4).as_str())],
                Some(poly(&[
                    (0.0, -10.0),
                    (20.0, -10.0),
                    (20.0, 0.0),
                    (10.0, 0.0004),
                    (0.0, 0.0),
                ])),
            );
        check(&[clean], "TOPO-09", &[]);
        let bad = layer("ZDJBXX", "laiwu")
            .row(&[("ZDDM", z(1).as_str())], Some(rect(0.0, 0.0, 10.0, 10.0)))
            // 2 cm gap: a TOPO-02 sliver, and an unmatched edge here
            .row(
                &[("ZDDM", z(2).as_str())],
                Some(rect(10.02, 0.0, 20.0, 10.0)),
            )
            // 5 mm overlap: TOPO-01 noise
            .row(
                &[("ZDDM", z(3).as_str())],
                Some(rect(0.0, 9.995, 10.0, 20.0)),
            )
            // another sub-zone, 2 cm away: not the same coverage
            .row(
                &[("ZDDM", "371202001002GB00001")],
                Some(rect(20.02, 0.0, 30.0, 10.0)),
            );
        let f = check(&[bad], "TOPO-09", &["TOPO-09-W01 371202001001"]);
        // z1|z2 off by 2 cm, z1/z3 overlap by 5 mm (z3 and z2 only have corners 2 cm apart)
        assert!(
            (f[0].finding.value.unwrap() - 0.02).abs() < 1e-9,
            "worst offset 2 cm"
        );
        assert!(f[0].finding.message_en.contains(": 2 parcel pairs"));
        assert_eq!(f[0].at, None);
        assert!(
            (f[0].finding.x.unwrap() - 10.0).abs() < 0.05,
            "{:?}",
            f[0].finding.x
        );
    }
}
