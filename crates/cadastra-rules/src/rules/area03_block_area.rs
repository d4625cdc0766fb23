//! AREA-03 block-area: the sum of parcel areas in a block agrees with the block area within 1/200.
//!
//! Not applicable in this toolchain yet: it needs block (街坊) or sub-zone polygons with their areas,
//! which the registry schema and the run do not hold. The rule is registered so that the report
//! lists it as "not applicable" instead of passing it silently; it becomes a real check when those
//! layers are added to the registry schema.
//!
//! Sub-codes: none. Options: none.

use crate::{Rule, RuleContext, RuleError, RuleFinding, Scope};
use cadastra_model::{RuleId, Severity};

pub(crate) struct BlockArea;
const ID: RuleId = RuleId("AREA-03");

impl Rule for BlockArea {
    fn id(&self) -> RuleId {
        ID
    }
    fn name(&self) -> &'static str {
        "block-area"
    }
    fn severity(&self) -> Severity {
        Severity::E
    }
    fn scope(&self) -> Scope {
        Scope::Layer
    }
    fn describe(&self) -> (&'static str, &'static str) {
        (
            "街坊内宗地面积之和与街坊面积之差不大于1/200",
            "the sum of parcel areas in a block agrees with the block area within 1/200",
        )
    }
    fn needs(&self) -> &'static str {
        "block (街坊) or sub-zone polygons with their areas, which the registry schema and the run do not hold"
    }
    fn applies(&self, _cx: &RuleContext<'_>) -> bool {
        false
    }
    fn check(
        &self,
        _cx: &RuleContext<'_>,
        _emit: &mut dyn FnMut(RuleFinding),
    ) -> Result<(), RuleError> {
        Err(RuleError("not applicable: needs block (街坊) or sub-zone polygons with their areas, which the registry schema and the run do not hold".into()))
    }
}

#[cfg(test)]
mod tests {
    use crate::testkit::*;

    #[test]
    fn not_applicable() {
        let l = layer("ZDJBXX", "laiwu").row(&[("ZDDM", "A")], Some(rect(0.0, 0.0, 1.0, 1.0)));
        assert_eq!(
            outcome(&[l], "", "AREA-03"),
            crate::RuleOutcome::NotApplicable
        );
    }
}
