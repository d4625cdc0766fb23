//! GEOM-04 multipart-parcel: a 宗地 should be one closed polygon unless it is registered as a
//! multi-part parcel — W (the registry has no flag for registered multi-part parcels, so every one
//! is listed for review).
//!
//! Sub-codes: W01 the parcel has several parts (`value` = number of parts).
//!
//! Options: none.

use crate::{Rule, RuleContext, RuleError, RuleFinding, Scope, SubCode};
use cadastra_model::{RuleId, Severity};

pub(crate) struct Multipart;
const ID: RuleId = RuleId("GEOM-04");

impl Rule for Multipart {
    fn id(&self) -> RuleId {
        ID
    }
    fn name(&self) -> &'static str {
        "multipart-parcel"
    }
    fn severity(&self) -> Severity {
        Severity::W
    }
    fn scope(&self) -> Scope {
        Scope::Feature
    }
    fn describe(&self) -> (&'static str, &'static str) {
        (
            "宗地由多个部分组成(多部件)",
            "parcel made of several parts (multipart)",
        )
    }
    fn codes(&self) -> &'static [SubCode] {
        &[SubCode {
            code: "W01",
            zh: "多部件宗地",
            en: "multipart parcel",
        }]
    }
    fn needs(&self) -> &'static str {
        "parcels (ZDJBXX)"
    }
    fn applies(&self, cx: &RuleContext<'_>) -> bool {
        cx.has("ZDJBXX")
    }
    fn check(
        &self,
        cx: &RuleContext<'_>,
        emit: &mut dyn FnMut(RuleFinding),
    ) -> Result<(), RuleError> {
        for (li, l) in cx.layers_of("ZDJBXX") {
            for r in 0..l.len() {
                let Some(g) = l.geom(r) else { continue };
                let n = g.0.iter().filter(|p| !p.exterior().0.is_empty()).count();
                if n > 1 {
                    emit(
                        cx.at(
                            ID,
                            "W01",
                            li,
                            r,
                            format!("宗地由{n}个部分组成"),
                            format!("parcel has {n} parts"),
                        )
                        .value(n as f64, Some(1.0)),
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
    fn two_parts() {
        let mut two = rect(0.0, 0.0, 1.0, 1.0);
        two.0.extend(rect(5.0, 5.0, 6.0, 6.0).0);
        let l = layer("ZDJBXX", "laiwu")
            .row(&[("ZDDM", "ONE")], Some(rect(0.0, 0.0, 1.0, 1.0)))
            .row(&[("ZDDM", "TWO")], Some(two));
        let f = check(&[l], "GEOM-04", &["GEOM-04-W01 TWO"]);
        assert_eq!(f[0].finding.value, Some(2.0));
    }
}
