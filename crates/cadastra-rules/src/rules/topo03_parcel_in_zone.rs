//! TOPO-03 parcel-in-zone: a parcel lies within its cadastral sub-zone and zone, and the DJZQDM
//! prefix of its ZDDM matches the containing zone.
//!
//! Not applicable in this toolchain yet: it needs cadastral zone polygons (DJQ / DJZQ layers),
//! which the registry schema and the run do not hold. The rule is registered so that the report
//! lists it as "not applicable" instead of passing it silently; it becomes a real check when those
//! layers are added to the registry schema.
//!
//! Sub-codes: none. Options: none.

use crate::{Rule, RuleContext, RuleError, RuleFinding, Scope};
use cadastra_model::{RuleId, Severity};

pub(crate) struct ParcelInZone;
const ID: RuleId = RuleId("TOPO-03");

impl Rule for ParcelInZone {
    fn id(&self) -> RuleId {
        ID
    }
    fn name(&self) -> &'static str {
        "parcel-in-zone"
    }
    fn severity(&self) -> Severity {
        Severity::E
    }
    fn scope(&self) -> Scope {
        Scope::Layer
    }
    fn describe(&self) -> (&'static str, &'static str) {
        ("宗地应位于其地籍子区和地籍区内, ZDDM前12位与所在子区代码一致", "a parcel lies within its cadastral sub-zone and zone, and the DJZQDM prefix of its ZDDM matches the containing zone")
    }
    fn needs(&self) -> &'static str {
        "cadastral zone polygons (DJQ / DJZQ layers), which the registry schema and the run do not hold"
    }
    fn applies(&self, _cx: &RuleContext<'_>) -> bool {
        false
    }
    fn check(
        &self,
        _cx: &RuleContext<'_>,
        _emit: &mut dyn FnMut(RuleFinding),
    ) -> Result<(), RuleError> {
        Err(RuleError("not applicable: needs cadastral zone polygons (DJQ / DJZQ layers), which the registry schema and the run do not hold".into()))
    }
}

#[cfg(test)]
mod tests {
    use crate::testkit::*;

    #[test]
    fn not_applicable() {
        let l = layer("ZDJBXX", "laiwu").row(&[("ZDDM", "A")], Some(rect(0.0, 0.0, 1.0, 1.0)));
        assert_eq!(
            outcome(&[l], "", "TOPO-03"),
            crate::RuleOutcome::NotApplicable
        );
    }
}
