//! LINK-07 encumbrance-on-history: mortgages and seizures (DYAQ / CFDJ) pointing at units whose
//! ownership right is historical.
//!
//! Not applicable in this toolchain yet: it needs encumbrance tables (DYAQ, CFDJ), which the
//! registry schema does not hold. The rule is registered so that the report lists it as "not
//! applicable" instead of passing it silently; it becomes a real check when those layers are added
//! to the registry schema.
//!
//! Sub-codes: none. Options: none.

use crate::{Rule, RuleContext, RuleError, RuleFinding, Scope};
use cadastra_model::{RuleId, Severity};

pub(crate) struct Encumbrance;
const ID: RuleId = RuleId("LINK-07");

impl Rule for Encumbrance {
    fn id(&self) -> RuleId {
        ID
    }
    fn name(&self) -> &'static str {
        "encumbrance-on-history"
    }
    fn severity(&self) -> Severity {
        Severity::E
    }
    fn scope(&self) -> Scope {
        Scope::Layer
    }
    fn describe(&self) -> (&'static str, &'static str) {
        ("抵押、查封等指向所有权已为历史状态的单元", "mortgages and seizures (DYAQ / CFDJ) pointing at units whose ownership right is historical")
    }
    fn needs(&self) -> &'static str {
        "encumbrance tables (DYAQ, CFDJ), which the registry schema does not hold"
    }
    fn applies(&self, _cx: &RuleContext<'_>) -> bool {
        false
    }
    fn check(
        &self,
        _cx: &RuleContext<'_>,
        _emit: &mut dyn FnMut(RuleFinding),
    ) -> Result<(), RuleError> {
        Err(RuleError("not applicable: needs encumbrance tables (DYAQ, CFDJ), which the registry schema does not hold".into()))
    }
}

#[cfg(test)]
mod tests {
    use crate::testkit::*;

    #[test]
    fn not_applicable() {
        let l = layer("ZDJBXX", "laiwu").row(&[("ZDDM", "A")], Some(rect(0.0, 0.0, 1.0, 1.0)));
        assert_eq!(
            outcome(&[l], "", "LINK-07"),
            crate::RuleOutcome::NotApplicable
        );
    }
}
