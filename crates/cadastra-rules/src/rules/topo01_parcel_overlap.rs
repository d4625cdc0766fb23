//! TOPO-01 parcel-overlap: parcels of one source system must not overlap — E.
//!
//! Candidate pairs come from cadastra-geom's `TopoIndex` over every ZDJBXX layer of the run; the
//! exact `interiors_intersect` test decides, and only overlapping pairs are intersected
//! (`overlap`). Pairs of different 权利设定方式 layers are skipped: 地上 (QLSDFS 1, or parcel type
//! S) and 地下 (QLSDFS 3, or X) parcels may overlap 地表 ones. Parcels of different source systems
//! are TOPO-08's (edge matching). Invalid geometries are left to GEOM-01.
//!
//! An overlap is real when its area exceeds `min_area` **and** its width (2·area/perimeter)
//! exceeds `min_width`; smaller overlaps are snapping noise: not reported here, they make the
//! sub-zone's coverage invalid and are counted by TOPO-09. Two parcels on the same ground
//! (Hausdorff distance ≤ `duplicate_tolerance`) are a duplicate (E02) rather than an overlap.
//!
//! The finding names first the parcel whose drawn area departs more from its registered ZDMJ (the
//! likelier culprit, and the row that is blocked; the partner row is in `also`, for the run to
//! block as well), the other as `other_key`; it carries the
//! overlap polygon, `value` = overlap area (m²), `tolerance` = `min_area`.
//!
//! Sub-codes: E01 overlap, E02 duplicate geometry.
//!
//! Options: `min_area` (m², default 0.01 [I]), `min_width` (m, default 0.01 [I]),
//! `duplicate_tolerance` (m, default 0.01 [I]).

use crate::shared::PairKind;
use crate::{Opt, OptValue, Rule, RuleContext, RuleError, RuleFinding, Scope, SubCode};
use cadastra_model::{RuleId, Severity};

pub(crate) struct ParcelOverlap;
pub(crate) const ID: RuleId = RuleId("TOPO-01");
pub(crate) const MIN_AREA: Opt = Opt {
    key: "min_area",
    default: OptValue::F64(0.01),
    inferred: true,
    doc: "overlaps up to this area (m²) are snapping noise",
};
pub(crate) const MIN_WIDTH: Opt = Opt {
    key: "min_width",
    default: OptValue::F64(0.01),
    inferred: true,
    doc: "overlaps up to this width (m, 2·area/perimeter) are snapping noise",
};
pub(crate) const DUPLICATE_TOLERANCE: Opt = Opt {
    key: "duplicate_tolerance",
    default: OptValue::F64(0.01),
    inferred: true,
    doc: "parcels whose boundaries are within this Hausdorff distance (m) are duplicates",
};

impl Rule for ParcelOverlap {
    fn id(&self) -> RuleId {
        ID
    }
    fn name(&self) -> &'static str {
        "parcel-overlap"
    }
    fn severity(&self) -> Severity {
        Severity::E
    }
    fn scope(&self) -> Scope {
        Scope::Layer
    }
    fn describe(&self) -> (&'static str, &'static str) {
        (
            "同一来源的宗地相互重叠(面积>0.01平方米且宽度>0.01米; 地上/地下宗地可与地表宗地重叠)",
            "parcels of one source overlap (area > 0.01 m² and width > 0.01 m; above/below-ground parcels may overlap surface ones)",
        )
    }
    fn codes(&self) -> &'static [SubCode] {
        &[
            SubCode {
                code: "E01",
                zh: "宗地重叠",
                en: "parcels overlap",
            },
            SubCode {
                code: "E02",
                zh: "宗地图形重复",
                en: "duplicate parcel geometry",
            },
        ]
    }
    fn options(&self) -> &'static [Opt] {
        &[MIN_AREA, MIN_WIDTH, DUPLICATE_TOLERANCE]
    }
    fn needs(&self) -> &'static str {
        "parcels (ZDJBXX) with geometry"
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
        let (min_area, min_width) = (cx.opt_f64(ID, &MIN_AREA), cx.opt_f64(ID, &MIN_WIDTH));
        let p = cx.parcels();
        for pair in cx.parcel_pairs() {
            let (i, j) = (pair.i as usize, pair.j as usize);
            if p.system[i] != p.system[j] {
                continue;
            }
            let PairKind::Overlap {
                area,
                width,
                depth,
                geom,
                duplicate,
            } = &pair.kind
            else {
                continue;
            };
            if !(*duplicate || (*area > min_area && *width > min_width)) {
                continue;
            }
            let (a, b) = cx.blame(i, j);
            let (la, ra) = p.layer_row(a);
            let other = cx.item_key(p, b);
            let f = if *duplicate {
                cx.at(
                    ID,
                    "E02",
                    la,
                    ra,
                    format!("宗地与宗地{other}图形重复(重叠{area:.2}平方米)"),
                    format!("same ground as parcel {other} (overlap {area:.2} m²)"),
                )
            } else {
                cx.at(
                    ID,
                    "E01",
                    la,
                    ra,
                    format!("宗地与宗地{other}重叠{area:.2}平方米(宽约{width:.3}米, 深入{depth:.3}米)"),
                    format!("overlaps parcel {other} by {area:.2} m² (about {width:.3} m wide, reaching {depth:.3} m in)"),
                )
            };
            let (lb, rb) = p.layer_row(b);
            emit(
                f.other(other)
                    .also(lb, rb)
                    .geom(geom.clone())
                    .value(*area, Some(min_area)),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::testkit::*;

    #[test]
    fn neighbours_pass_overlaps_fail() {
        let l = layer("ZDJBXX", "laiwu")
            .row(&[("ZDDM", "A")], Some(rect(0.0, 0.0, 20.0, 30.0)))
            .row(&[("ZDDM", "B")], Some(rect(20.0, 0.0, 40.0, 30.0)))
            // reaches 0.5 m into B: 15 m² (B's registered area matches, C's does not: C is named first)
            .row(
                &[("ZDDM", "C"), ("ZDMJ", "600")],
                Some(rect(39.5, 0.0, 60.0, 30.0)),
            )
            // 5 mm into A: noise, left to TOPO-09
            .row(&[("ZDDM", "D")], Some(rect(-10.0, 0.0, 0.005, 30.0)));
        let f = check(&[l], "TOPO-01", &["TOPO-01-E01 C B"]);
        assert_eq!(
            (f[0].at, f[0].also),
            (Some((0, 2)), Some((0, 1))),
            "C blocked, B too"
        );
        let f = &f[0].finding;
        assert!((f.value.unwrap() - 15.0).abs() < 1e-6);
        assert!(f.geom.is_some());
        let (x, y) = (f.x.unwrap(), f.y.unwrap());
        assert!(
            (39.5..=40.0).contains(&x) && (0.0..=30.0).contains(&y),
            "located on the overlap"
        );
    }

    #[test]
    fn duplicates_layers_and_systems() {
        let l = layer("ZDJBXX", "laiwu")
            .row(&[("ZDDM", "A")], Some(rect(0.0, 0.0, 20.0, 30.0)))
            .row(&[("ZDDM", "A2")], Some(rect(0.0, 0.0, 20.0, 30.0)))
            // an underground parcel below A: allowed
            .row(
                &[("ZDDM", "U"), ("QLSDFS", "3")],
                Some(rect(5.0, 5.0, 15.0, 25.0)),
            );
        // another system's parcel over A is TOPO-08's business
        let other =
            layer("ZDJBXX", "jinan").row(&[("ZDDM", "J")], Some(rect(10.0, 10.0, 30.0, 40.0)));
        check(&[l, other], "TOPO-01", &["TOPO-01-E02 A A2"]);
        let l = layer("ZDJBXX", "laiwu")
            .row(&[("ZDDM", "A")], Some(rect(0.0, 0.0, 20.0, 30.0)))
            .row(&[("ZDDM", "C")], Some(rect(19.9, 0.0, 40.0, 30.0)));
        check_with(&[l], "[rules.\"TOPO-01\"]\nmin_area = 5.0", "TOPO-01", &[]);
    }
}
