//! GEOM-06 ring-orientation: rings not in the OGC orientation (shell counter-clockwise, holes
//! clockwise; shapefiles store shells clockwise) — I, one count per layer. The writers normalise
//! orientation on output ("fix silently, count"); this rule is the count for the report, never a
//! per-feature finding.
//!
//! Sub-codes: I01 features of the layer whose rings will be re-oriented (`feature_key` = the
//! source name, `value` = count).
//!
//! Options: none.

use crate::{Rule, RuleContext, RuleError, RuleFinding, Scope, SubCode};
use cadastra_geom::predicates::ring_orientation;
use cadastra_model::{RuleId, Severity};
use rayon::prelude::*;

pub(crate) struct Orientation;
const ID: RuleId = RuleId("GEOM-06");

impl Rule for Orientation {
    fn id(&self) -> RuleId {
        ID
    }
    fn name(&self) -> &'static str {
        "ring-orientation"
    }
    fn severity(&self) -> Severity {
        Severity::I
    }
    fn scope(&self) -> Scope {
        Scope::Layer
    }
    fn describe(&self) -> (&'static str, &'static str) {
        ("环方向不符合OGC约定(外环逆时针、内环顺时针), 输出时统一, 按图层计数", "rings not in OGC orientation (shell counter-clockwise, holes clockwise): normalised on output, counted per layer")
    }
    fn codes(&self) -> &'static [SubCode] {
        &[SubCode {
            code: "I01",
            zh: "需调整环方向的要素数",
            en: "features whose rings are re-oriented",
        }]
    }
    fn needs(&self) -> &'static str {
        "a layer with geometry (ZDJBXX, ZRZ)"
    }
    fn applies(&self, cx: &RuleContext<'_>) -> bool {
        cx.layers.iter().any(|l| l.spatial() && !l.is_empty())
    }
    fn check(
        &self,
        cx: &RuleContext<'_>,
        emit: &mut dyn FnMut(RuleFinding),
    ) -> Result<(), RuleError> {
        for l in cx.layers.iter().filter(|l| l.spatial()) {
            let n = (0..l.len())
                .into_par_iter()
                .with_min_len(1024)
                .filter(|&r| {
                    l.geom(r).is_some_and(|g| {
                        g.0.iter().any(|p| {
                            ring_orientation(&p.exterior().0) < 0
                                || p.interiors().iter().any(|h| ring_orientation(&h.0) > 0)
                        })
                    })
                })
                .count();
            if n > 0 {
                emit(
                    cx.general(
                        ID,
                        "I01",
                        l.table,
                        l.source,
                        format!("{}个要素的环方向将在输出时调整为OGC约定", n),
                        format!("{n} features get their rings re-oriented to the OGC convention on output"),
                    )
                    .value(n as f64, None),
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::testkit::*;

    #[test]
    fn clockwise_shells_are_counted() {
        let cw = poly(&[(0.0, 0.0), (0.0, 10.0), (10.0, 10.0), (10.0, 0.0)]);
        let l = layer("ZDJBXX", "laiwu")
            .row(&[("ZDDM", "A")], Some(cw.clone()))
            .row(&[("ZDDM", "B")], Some(rect(20.0, 0.0, 30.0, 10.0)))
            .row(&[("ZDDM", "C")], Some(cw));
        let f = check(&[l], "GEOM-06", &["GEOM-06-I01 laiwu_zdjbxx"]);
        assert_eq!(f[0].finding.value, Some(2.0));
        assert_eq!(f[0].at, None);
        check(
            &[layer("ZDJBXX", "laiwu").row(&[("ZDDM", "B")], Some(rect(20.0, 0.0, 30.0, 10.0)))],
            "GEOM-06",
            &[],
        );
    }
}
