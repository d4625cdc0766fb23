//! GEOM-05 small-or-thin: minimum area and sliver shape of parcels and buildings — W.
//!
//! A feature is flagged when its area is below `min_area` or its thinness 4πA/P² (1 for a
//! circle, ≈0.785 for a square, → 0 for a strip) is below `min_thinness`. Both defaults are the
//! brief's [I] practice values: long farm strips of contracted land can be legitimately thin, so
//! lower `min_thinness` for rural deliveries if they flood the list. Invalid geometries are left
//! to GEOM-01.
//!
//! Sub-codes: W01 area below the minimum (`value` = area m²), W02 thinness below the minimum
//! (`value` = thinness).
//!
//! Options: `min_area` (m², default 1.0 [I]), `min_thinness` (default 0.05 [I]).

use crate::{Opt, OptValue, Rule, RuleContext, RuleError, RuleFinding, Scope, SubCode};
use cadastra_geom::shape::sliver_check;
use cadastra_model::{RuleId, Severity};
use rayon::prelude::*;

pub(crate) struct SmallThin;
const ID: RuleId = RuleId("GEOM-05");
const MIN_AREA: Opt = Opt {
    key: "min_area",
    default: OptValue::F64(1.0),
    inferred: true,
    doc: "smaller features (m²) are flagged",
};
const MIN_THINNESS: Opt = Opt {
    key: "min_thinness",
    default: OptValue::F64(0.05),
    inferred: true,
    doc: "features with a smaller 4πA/P² are flagged as slivers",
};

impl Rule for SmallThin {
    fn id(&self) -> RuleId {
        ID
    }
    fn name(&self) -> &'static str {
        "small-or-thin"
    }
    fn severity(&self) -> Severity {
        Severity::W
    }
    fn scope(&self) -> Scope {
        Scope::Feature
    }
    fn describe(&self) -> (&'static str, &'static str) {
        (
            "面积过小(<1平方米)或形状狭长(4πA/P²<0.05)",
            "area below 1 m² or sliver shape (4πA/P² below 0.05)",
        )
    }
    fn codes(&self) -> &'static [SubCode] {
        &[
            SubCode {
                code: "W01",
                zh: "面积过小",
                en: "area below the minimum",
            },
            SubCode {
                code: "W02",
                zh: "形状狭长(碎片)",
                en: "sliver shape",
            },
        ]
    }
    fn options(&self) -> &'static [Opt] {
        &[MIN_AREA, MIN_THINNESS]
    }
    fn needs(&self) -> &'static str {
        "a layer with geometry (ZDJBXX, ZRZ)"
    }
    fn applies(&self, cx: &RuleContext<'_>) -> bool {
        cx.layers.iter().any(|l| l.spatial() && !l.is_empty())
    }
    fn prepare(&self, cx: &RuleContext<'_>) {
        cx.validity();
    }
    fn check(
        &self,
        cx: &RuleContext<'_>,
        emit: &mut dyn FnMut(RuleFinding),
    ) -> Result<(), RuleError> {
        let (min_area, min_thin) = (cx.opt_f64(ID, &MIN_AREA), cx.opt_f64(ID, &MIN_THINNESS));
        let validity = cx.validity();
        for (li, l) in cx.layers.iter().enumerate() {
            if !l.spatial() {
                continue;
            }
            let ok = &validity[li].ok;
            let found: Vec<(usize, f64, f64, bool, bool)> = (0..l.len())
                .into_par_iter()
                .with_min_len(512)
                .filter_map(|r| {
                    if !ok.get(r).copied().unwrap_or(false) {
                        return None;
                    }
                    let s = sliver_check(l.geom(r)?, min_area, min_thin);
                    s.flagged()
                        .then_some((r, s.area, s.thinness, s.too_small, s.too_thin))
                })
                .collect();
            for (r, a, t, small, thin) in found {
                if small {
                    emit(
                        cx.at(
                            ID,
                            "W01",
                            li,
                            r,
                            format!("面积{a:.3}平方米, 小于{min_area}平方米"),
                            format!("area {a:.3} m² below {min_area} m²"),
                        )
                        .value(a, Some(min_area)),
                    );
                }
                if thin {
                    emit(
                        cx.at(
                            ID,
                            "W02",
                            li,
                            r,
                            format!("形状狭长: 4πA/P²={t:.4}, 小于{min_thin}"),
                            format!("sliver shape: 4πA/P² = {t:.4} below {min_thin}"),
                        )
                        .value(t, Some(min_thin)),
                    );
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::testkit::*;

    #[test]
    fn small_and_thin() {
        let l = layer("ZDJBXX", "laiwu")
            .row(&[("ZDDM", "OK")], Some(rect(0.0, 0.0, 20.0, 30.0)))
            .row(&[("ZDDM", "TINY")], Some(rect(50.0, 0.0, 50.5, 0.5)))
            .row(&[("ZDDM", "STRIP")], Some(rect(100.0, 0.0, 300.0, 0.8)));
        check(&[l], "GEOM-05", &["GEOM-05-W01 TINY", "GEOM-05-W02 STRIP"]);
        let l =
            layer("ZDJBXX", "laiwu").row(&[("ZDDM", "STRIP")], Some(rect(100.0, 0.0, 300.0, 0.8)));
        check_with(
            &[l],
            "[rules.\"GEOM-05\"]\nmin_thinness = 0.01",
            "GEOM-05",
            &[],
        );
    }
}
