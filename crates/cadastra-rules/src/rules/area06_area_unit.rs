//! AREA-06 area-unit: the registered area is in another unit than MJDW says — typically ZDMJ in
//! 亩 (≈ drawn area / 666.67) or 公顷 (/ 10 000) while MJDW = 1 (m²) — W with the suggested fix.
//!
//! A parcel is reported when its ZDMJ fails AREA-01's 2σ tolerance in the declared unit but
//! agrees with the drawn area within 2σ plus the stored value's rounding (converted to m²) in
//! another unit; AREA-01 then stays silent for it. Invalid geometries are skipped (GEOM-01).
//! `value` = |implied area − drawn area| (m²) in the fitting unit, `tolerance` = 2σ plus the
//! rounding in that unit; the message gives the implied area and the fix.
//!
//! Sub-codes: W01 ZDMJ is in another unit than MJDW declares.
//!
//! Options: none (σ follows AREA-01's `class`, `point_error` and `scale_factor`).

use crate::rules::area01_registered_area::area_checks;
use crate::util::unit_name;
use crate::{Rule, RuleContext, RuleError, RuleFinding, Scope, SubCode};
use cadastra_model::{RuleId, Severity};

pub(crate) struct AreaUnit;
const ID: RuleId = RuleId("AREA-06");

impl Rule for AreaUnit {
    fn id(&self) -> RuleId {
        ID
    }
    fn name(&self) -> &'static str {
        "area-unit"
    }
    fn severity(&self) -> Severity {
        Severity::W
    }
    fn scope(&self) -> Scope {
        Scope::Feature
    }
    fn describe(&self) -> (&'static str, &'static str) {
        (
            "面积单位混用: MJDW为平方米而ZDMJ像是亩或公顷(≈图形面积/666.67或/10000), 给出建议改正",
            "area unit mix-up: ZDMJ looks like 亩 or hectares (≈ drawn area / 666.67 or / 10 000) while MJDW says m², with the suggested fix",
        )
    }
    fn codes(&self) -> &'static [SubCode] {
        &[SubCode {
            code: "W01",
            zh: "登记面积的单位与MJDW不符",
            en: "ZDMJ is in another unit than MJDW declares",
        }]
    }
    fn needs(&self) -> &'static str {
        "parcels (ZDJBXX) with geometry and ZDMJ"
    }
    fn applies(&self, cx: &RuleContext<'_>) -> bool {
        cx.has("ZDJBXX")
    }
    fn prepare(&self, cx: &RuleContext<'_>) {
        cx.parcels();
    }
    fn check(
        &self,
        cx: &RuleContext<'_>,
        emit: &mut dyn FnMut(RuleFinding),
    ) -> Result<(), RuleError> {
        for c in area_checks(cx) {
            let Some((unit, implied)) = c.other_unit() else {
                continue;
            };
            let (declared, actual) = (unit_name(&c.mjdw), unit_name(unit));
            let (z, drawn) = (c.zdmj, c.drawn);
            let tol = 2.0 * c.sigma
                + crate::util::stored_rounding(c.zdmj)
                    * crate::util::unit_factor(Some(unit)).unwrap_or(1.0);
            emit(
                cx.at(
                    ID,
                    "W01",
                    c.layer,
                    c.row,
                    format!(
                        "ZDMJ {z}按{}与图形面积{drawn:.2}平方米不符, 按{}为{implied:.2}平方米则相符: 建议MJDW改为{unit}或换算为{:.2}",
                        declared.0, actual.0, implied / crate::util::unit_factor(Some(&c.mjdw)).unwrap_or(1.0)
                    ),
                    format!(
                        "ZDMJ {z} read as {} does not match the drawn {drawn:.2} m², read as {} ({implied:.2} m²) it does: set MJDW = {unit} or convert to {:.2}",
                        declared.1, actual.1, implied / crate::util::unit_factor(Some(&c.mjdw)).unwrap_or(1.0)
                    ),
                )
                .value((implied - drawn).abs(), Some(tol)),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::testkit::*;

    #[test]
    fn mu_and_hectares_behind_square_metres() {
        // 30 × 31.49 m ≈ 944.7 m² = 1.417 亩
        let g = rect(0.0, 0.0, 30.0, 31.49);
        let l = layer("ZDJBXX", "laiwu")
            .row(
                &[("ZDDM", "OK"), ("ZDMJ", "944.70"), ("MJDW", "1")],
                Some(g.clone()),
            )
            .row(
                &[("ZDDM", "MU"), ("ZDMJ", "1.42"), ("MJDW", "1")],
                Some(g.clone()),
            )
            .row(
                &[("ZDDM", "HA"), ("ZDMJ", "0.0945"), ("MJDW", "1")],
                Some(g.clone()),
            )
            .row(
                &[("ZDDM", "WRONG"), ("ZDMJ", "5.00"), ("MJDW", "1")],
                Some(g),
            );
        let f = check(&[l], "AREA-06", &["AREA-06-W01 HA", "AREA-06-W01 MU"]);
        assert!(f[1].finding.message_en.contains("set MJDW = 2"));
        // AREA-01 is silent for the mix-ups, not for the plain wrong value
        let g = rect(0.0, 0.0, 30.0, 31.49);
        let l = layer("ZDJBXX", "laiwu")
            .row(
                &[("ZDDM", "MU"), ("ZDMJ", "1.42"), ("MJDW", "1")],
                Some(g.clone()),
            )
            .row(
                &[("ZDDM", "WRONG"), ("ZDMJ", "5.00"), ("MJDW", "1")],
                Some(g),
            );
        check(&[l], "AREA-01", &["AREA-01-E01 WRONG"]);
    }
}
