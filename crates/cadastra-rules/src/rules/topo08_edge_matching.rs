//! TOPO-08 edge-matching: parcels of different source systems (莱芜区 ↔ 钢城区 ↔ Jinan's
//! registry) must meet along their shared border without overlapping or leaving a gap — W for
//! offsets above `tolerance`.
//!
//! Uses the parcel pair analysis shared with TOPO-01 (cadastra-geom `TopoIndex` candidate pairs
//! over every ZDJBXX layer, envelopes grown so that parcels up to `max_offset` apart are paired;
//! exact `interiors_intersect`). For a pair of different systems:
//!
//! - their interiors intersect: W01 when the overlap reaches more than `tolerance` into the other
//!   parcel (`value` = that depth, m; the overlap polygon as geometry);
//! - they do not: the offset is the largest distance from the other's boundary of a vertex of an
//!   edge that runs along the other parcel (both of its ends within `max_offset` of it); W02 when
//!   it is above `tolerance` (`value` = offset, located at that vertex). Parcels farther apart
//!   than `max_offset`, or whose corners merely come close, do not share a border (a road or
//!   unregistered land lies between).
//!
//! Pairs of different 权利设定方式 layers are skipped as in TOPO-01. The finding names first the
//! parcel whose drawn area departs more from its ZDDM's registered area, the other as `other_key`.
//!
//! Sub-codes: W01 overlap across sources, W02 gap or offset across sources.
//!
//! Options: `tolerance` (m, default 0.10 [I]), `max_offset` (m, default 1.0 [I]).

use crate::shared::PairKind;
use crate::{Opt, OptValue, Rule, RuleContext, RuleError, RuleFinding, Scope, SubCode};
use cadastra_model::{RuleId, Severity};

pub(crate) struct EdgeMatching;
pub(crate) const ID: RuleId = RuleId("TOPO-08");
const TOLERANCE: Opt = Opt {
    key: "tolerance",
    default: OptValue::F64(0.10),
    inferred: true,
    doc: "shared-border offsets above this (m) are reported",
};
pub(crate) const MAX_OFFSET: Opt = Opt {
    key: "max_offset",
    default: OptValue::F64(1.0),
    inferred: true,
    doc: "parcels farther apart than this (m) do not share a border (a road lies between)",
};

impl Rule for EdgeMatching {
    fn id(&self) -> RuleId {
        ID
    }
    fn name(&self) -> &'static str {
        "edge-matching"
    }
    fn severity(&self) -> Severity {
        Severity::W
    }
    fn scope(&self) -> Scope {
        Scope::Layer
    }
    fn describe(&self) -> (&'static str, &'static str) {
        (
            "不同来源数据(莱芜区、钢城区、济南各区)接边处宗地重叠或留缝, 偏差大于0.10米",
            "edge matching across sources (莱芜区 ↔ 钢城区 ↔ Jinan districts): parcels overlap or leave a gap along the shared border by more than 0.10 m",
        )
    }
    fn codes(&self) -> &'static [SubCode] {
        &[
            SubCode {
                code: "W01",
                zh: "不同来源宗地重叠",
                en: "parcels of different sources overlap",
            },
            SubCode {
                code: "W02",
                zh: "不同来源宗地接边留缝或错位",
                en: "parcels of different sources leave a gap or offset",
            },
        ]
    }
    fn options(&self) -> &'static [Opt] {
        &[TOLERANCE, MAX_OFFSET]
    }
    fn needs(&self) -> &'static str {
        "parcels (ZDJBXX) of at least two source systems"
    }
    fn applies(&self, cx: &RuleContext<'_>) -> bool {
        let mut systems: Vec<&str> = cx
            .layers_of("ZDJBXX")
            .filter(|(_, l)| !l.is_empty())
            .map(|(_, l)| l.system)
            .collect();
        systems.sort_unstable();
        systems.dedup();
        systems.len() > 1
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
        let p = cx.parcels();
        for pair in cx.parcel_pairs() {
            let (i, j) = (pair.i as usize, pair.j as usize);
            if p.system[i] == p.system[j] {
                continue;
            }
            let (a, b) = cx.blame(i, j);
            let (la, ra) = p.layer_row(a);
            let other = cx.item_key(p, b);
            let sys = p.systems[p.system[b] as usize];
            match &pair.kind {
                PairKind::Overlap {
                    area, depth, geom, ..
                } if *depth > tol => {
                    emit(
                        cx.at(
                            ID,
                            "W01",
                            la,
                            ra,
                            format!("与{sys}宗地{other}接边重叠{area:.2}平方米, 深入{depth:.3}米"),
                            format!("overlaps parcel {other} of {sys} by {area:.2} m², reaching {depth:.3} m in"),
                        )
                        .other(other)
                        .geom(geom.clone())
                        .value(*depth, Some(tol)),
                    );
                }
                PairKind::Near { offset, at } if *offset > tol => {
                    emit(
                        cx.at(
                            ID,
                            "W02",
                            la,
                            ra,
                            format!("与{sys}宗地{other}接边错开{offset:.3}米"),
                            format!("border with parcel {other} of {sys} is {offset:.3} m off"),
                        )
                        .other(other)
                        .xy(at.x, at.y)
                        .value(*offset, Some(tol)),
                    );
                }
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::testkit::*;

    #[test]
    fn borders_between_sources() {
        let laiwu = layer("ZDJBXX", "laiwu")
            .row(&[("ZDDM", "L1")], Some(rect(0.0, 0.0, 20.0, 20.0)))
            .row(&[("ZDDM", "L2")], Some(rect(20.0, 0.0, 40.0, 20.0)))
            .row(&[("ZDDM", "L3")], Some(rect(40.0, 0.0, 60.0, 20.0)))
            .row(&[("ZDDM", "L4")], Some(rect(60.0, 0.0, 80.0, 20.0)));
        let jinan = layer("ZDJBXX", "jinan")
            // matches L1 exactly along y = 20
            .row(&[("ZDDM", "J1")], Some(rect(0.0, 20.0, 20.0, 40.0)))
            // reaches 4 m south into L2
            .row(&[("ZDDM", "J2")], Some(rect(20.0, 16.0, 40.0, 40.0)))
            // 0.3 m gap above L3
            .row(&[("ZDDM", "J3")], Some(rect(40.0, 20.3, 60.0, 40.0)))
            // 5 cm gap above L4: within tolerance
            .row(&[("ZDDM", "J4")], Some(rect(60.0, 20.05, 80.0, 40.0)))
            // across a 10 m road: not a shared border
            .row(&[("ZDDM", "J5")], Some(rect(0.0, -30.0, 20.0, -10.0)));
        let f = check(
            &[laiwu, jinan],
            "TOPO-08",
            &["TOPO-08-W01 J2 L2", "TOPO-08-W02 J3 L3"],
        );
        assert!((f[0].finding.value.unwrap() - 4.0).abs() < 1e-9);
        assert!((f[1].finding.value.unwrap() - 0.3).abs() < 1e-9);
        // one source only: not applicable
        let laiwu =
            layer("ZDJBXX", "laiwu").row(&[("ZDDM", "L1")], Some(rect(0.0, 0.0, 20.0, 20.0)));
        assert_eq!(
            outcome(&[laiwu], "", "TOPO-08"),
            crate::RuleOutcome::NotApplicable
        );
    }
}
