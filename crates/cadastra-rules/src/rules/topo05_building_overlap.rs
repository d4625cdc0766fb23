//! TOPO-05 building-overlap: 自然幢 must not overlap 自然幢 — E; identical footprints are
//! duplicates (E02).
//!
//! Candidate pairs from cadastra-geom's `TopoIndex` over every ZRZ layer of the run, the exact
//! `interiors_intersect` test, then the overlap polygon. An overlap counts when its area exceeds
//! `min_area` and its width (2·area/perimeter) exceeds `min_width`; smaller ones are digitising
//! noise. Two buildings whose outlines are within `duplicate_tolerance` (Hausdorff distance) are
//! a duplicate. Invalid geometries are left to GEOM-01.
//!
//! The finding concerns the building of the pair with the smaller key (`at`), the other is
//! `other_key` and its row is in `also` (an E finding should block both).
//!
//! Sub-codes: E01 overlap (`value` = area m², the overlap polygon as geometry), E02 duplicate.
//!
//! Options: `min_area` (m², default 0.01 [I]), `min_width` (m, default 0.01 [I]),
//! `duplicate_tolerance` (m, default 0.01 [I]).

use crate::{Opt, OptValue, Rule, RuleContext, RuleError, RuleFinding, Scope, SubCode};
use cadastra_geom::interiors::interiors_intersect_env;
use cadastra_geom::shape::area;
use cadastra_geom::{hausdorff, overlap};
use cadastra_model::{Geom, RuleId, Severity};
use rayon::prelude::*;

pub(crate) struct BuildingOverlap;
const ID: RuleId = RuleId("TOPO-05");
const MIN_AREA: Opt = Opt {
    key: "min_area",
    default: OptValue::F64(0.01),
    inferred: true,
    doc: "overlaps up to this area (m²) are noise",
};
const MIN_WIDTH: Opt = Opt {
    key: "min_width",
    default: OptValue::F64(0.01),
    inferred: true,
    doc: "overlaps up to this width (m, 2·area/perimeter) are noise",
};
const DUP: Opt = Opt {
    key: "duplicate_tolerance",
    default: OptValue::F64(0.01),
    inferred: true,
    doc: "buildings whose outlines are within this Hausdorff distance (m) are duplicates",
};

impl Rule for BuildingOverlap {
    fn id(&self) -> RuleId {
        ID
    }
    fn name(&self) -> &'static str {
        "building-overlap"
    }
    fn severity(&self) -> Severity {
        Severity::E
    }
    fn scope(&self) -> Scope {
        Scope::Layer
    }
    fn describe(&self) -> (&'static str, &'static str) {
        (
            "自然幢相互重叠(>0.01平方米)或图形重复",
            "buildings overlap (> 0.01 m²) or duplicate each other",
        )
    }
    fn codes(&self) -> &'static [SubCode] {
        &[
            SubCode {
                code: "E01",
                zh: "自然幢重叠",
                en: "buildings overlap",
            },
            SubCode {
                code: "E02",
                zh: "自然幢图形重复",
                en: "duplicate building geometry",
            },
        ]
    }
    fn options(&self) -> &'static [Opt] {
        &[MIN_AREA, MIN_WIDTH, DUP]
    }
    fn needs(&self) -> &'static str {
        "buildings (ZRZ) with geometry"
    }
    fn applies(&self, cx: &RuleContext<'_>) -> bool {
        cx.has("ZRZ")
    }
    fn prepare(&self, cx: &RuleContext<'_>) {
        cx.buildings();
    }
    fn check(
        &self,
        cx: &RuleContext<'_>,
        emit: &mut dyn FnMut(RuleFinding),
    ) -> Result<(), RuleError> {
        let (min_area, min_width, dup_tol) = (
            cx.opt_f64(ID, &MIN_AREA),
            cx.opt_f64(ID, &MIN_WIDTH),
            cx.opt_f64(ID, &DUP),
        );
        let b = cx.buildings();
        let pairs = b.index.candidate_pairs();
        let found: Vec<(usize, usize, f64, bool, Geom)> = pairs
            .par_iter()
            .with_min_len(256)
            .filter_map(|&(i, j)| {
                let (i, j) = (i as usize, j as usize);
                let (x, y) = (b.geoms[i]?, b.geoms[j]?);
                let (ex, ey) = (b.envs[i]?, b.envs[j]?);
                if !interiors_intersect_env(x, &ex, y, &ey) {
                    return None;
                }
                let o = overlap(x, y)?;
                let dup = o.area >= 0.9 * area(x).min(area(y)) && hausdorff(x, y) <= dup_tol;
                (dup || (o.area > min_area && o.width > min_width))
                    .then_some((i, j, o.area, dup, o.geom))
            })
            .collect();
        for (i, j, a, dup, g) in found {
            // name the pair in an order independent of the input order
            let (i, j) = if cx.item_order(b, i, j) == std::cmp::Ordering::Greater {
                (j, i)
            } else {
                (i, j)
            };
            let (l, r) = b.layer_row(i);
            let other = cx.item_key(b, j);
            let f = if dup {
                cx.at(
                    ID,
                    "E02",
                    l,
                    r,
                    format!("与自然幢{other}图形重复"),
                    format!("same footprint as building {other}"),
                )
            } else {
                cx.at(
                    ID,
                    "E01",
                    l,
                    r,
                    format!("与自然幢{other}重叠{a:.2}平方米"),
                    format!("overlaps building {other} by {a:.2} m²"),
                )
            };
            let (lj, rj) = b.layer_row(j);
            emit(f.other(other).also(lj, rj).geom(g).value(a, Some(min_area)));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::testkit::*;

    #[test]
    fn overlapping_and_duplicate_buildings() {
        let b = layer("ZRZ", "laiwu")
            .row(&[("ZRZH", "B1")], Some(rect(0.0, 0.0, 10.0, 10.0)))
            .row(&[("ZRZH", "B2")], Some(rect(10.0, 0.0, 20.0, 10.0)))
            .row(&[("ZRZH", "B3")], Some(rect(19.0, 0.0, 30.0, 10.0)))
            .row(&[("ZRZH", "B4")], Some(rect(40.0, 0.0, 50.0, 10.0)))
            .row(&[("ZRZH", "B5")], Some(rect(40.0, 0.0, 50.0, 10.002)));
        let f = check(&[b], "TOPO-05", &["TOPO-05-E01 B2 B3", "TOPO-05-E02 B4 B5"]);
        assert!((f[0].finding.value.unwrap() - 10.0).abs() < 1e-9);
        let ok = layer("ZRZ", "laiwu")
            .row(&[("ZRZH", "B1")], Some(rect(0.0, 0.0, 10.0, 10.0)))
            .row(&[("ZRZH", "B2")], Some(rect(10.0, 0.0, 20.0, 10.0)));
        check(&[ok], "TOPO-05", &[]);
    }
}
