//! AREA-04 registration-crs-area: areas are compared in the CRS they were registered in: a
//! parcel surveyed in a local system (scale ≈ 1) and now held in CGCS2000 zone 39 has a planar
//! area larger by k²−1 (up to ≈ 1.9 × 10⁻⁴ near Laiwu's east edge).
//!
//! Not a separate check: the k²−1 term is applied inside AREA-01 (its option `scale_factor` = k
//! of the registration CRS relative to EPSG:4548), so a parcel is never reported twice for one
//! area difference. The rule is registered so that the report lists it as "not applicable" with
//! that pointer, instead of passing it silently.
//!
//! Sub-codes: none. Options: none (see AREA-01 `scale_factor`).

use crate::{Rule, RuleContext, RuleError, RuleFinding, Scope};
use cadastra_model::{RuleId, Severity};

pub(crate) struct RegistrationCrs;
const ID: RuleId = RuleId("AREA-04");

impl Rule for RegistrationCrs {
    fn id(&self) -> RuleId {
        ID
    }
    fn name(&self) -> &'static str {
        "registration-crs-area"
    }
    fn severity(&self) -> Severity {
        Severity::W
    }
    fn scope(&self) -> Scope {
        Scope::Feature
    }
    fn describe(&self) -> (&'static str, &'static str) {
        (
            "面积在登记时所用坐标系中比较(加k²−1改正): 在AREA-01中以scale_factor选项实现",
            "areas compared in the CRS they were registered in (k²−1 term): applied inside AREA-01 through its scale_factor option",
        )
    }
    fn needs(&self) -> &'static str {
        "nothing of its own: AREA-01 applies the term (option scale_factor)"
    }
    fn applies(&self, _cx: &RuleContext<'_>) -> bool {
        false
    }
    fn check(
        &self,
        _cx: &RuleContext<'_>,
        _emit: &mut dyn FnMut(RuleFinding),
    ) -> Result<(), RuleError> {
        Err(RuleError(
            "not applicable: AREA-01 applies the k²−1 term (option scale_factor)".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use crate::testkit::*;

    #[test]
    fn folded_into_area_01() {
        let g = rect(0.0, 0.0, 100.0, 100.0);
        let l =
            layer("ZDJBXX", "laiwu").row(&[("ZDDM", "A"), ("ZDMJ", "10000.00")], Some(g.clone()));
        assert_eq!(
            outcome(&[l], "", "AREA-04"),
            crate::RuleOutcome::NotApplicable
        );
        // registered in a local system 1e-3 smaller in scale: 20 m² less than drawn, beyond 2σ
        let l =
            layer("ZDJBXX", "laiwu").row(&[("ZDDM", "A"), ("ZDMJ", "9980.00")], Some(g.clone()));
        check(&[l], "AREA-01", &["AREA-01-E01 A"]);
        let l = layer("ZDJBXX", "laiwu").row(&[("ZDDM", "A"), ("ZDMJ", "9980.00")], Some(g));
        check_with(
            &[l],
            "[rules.\"AREA-01\"]\nscale_factor = 0.999",
            "AREA-01",
            &[],
        );
    }
}
