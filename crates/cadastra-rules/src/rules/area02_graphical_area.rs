//! AREA-02 graphical-area: graphical (图解) legacy parcels: two area determinations differ by at most
//! 0.0003·M·√P.
//!
//! Not applicable in this toolchain yet: it needs two area determinations and the map scale of
//! graphical parcels, which the registry schema does not hold. The rule is registered so that the
//! report lists it as "not applicable" instead of passing it silently; it becomes a real check when
//! those layers are added to the registry schema.
//!
//! Sub-codes: none. Options: none.

use crate::{Rule, RuleContext, RuleError, RuleFinding, Scope};
use cadastra_model::{RuleId, Severity};

pub(crate) struct GraphicalArea;
const ID: RuleId = RuleId("AREA-02");

impl Rule for GraphicalArea {
    fn id(&self) -> RuleId {
        ID
    }
    fn name(&self) -> &'static str {
        "graphical-area"
    }
    fn severity(&self) -> Severity {
        Severity::E
    }
    fn scope(&self) -> Scope {
        Scope::Layer
    }
    fn describe(&self) -> (&'static str, &'static str) {
        ("图解法宗地两次面积量算之差不大于0.0003·M·√P", "graphical (图解) legacy parcels: two area determinations differ by at most 0.0003·M·√P")
    }
    fn needs(&self) -> &'static str {
        "two area determinations and the map scale of graphical parcels, which the registry schema does not hold"
    }
    fn applies(&self, _cx: &RuleContext<'_>) -> bool {
        false
    }
    fn check(
        &self,
        _cx: &RuleContext<'_>,
        _emit: &mut dyn FnMut(RuleFinding),
    ) -> Result<(), RuleError> {
        Err(RuleError("not applicable: needs two area determinations and the map scale of graphical parcels, which the registry schema does not hold".into()))
    }
}

#[cfg(test)]
mod tests {
    use crate::testkit::*;

    #[test]
    fn not_applicable() {
        let l = layer("ZDJBXX", "laiwu").row(&[("ZDDM", "A")], Some(rect(0.0, 0.0, 1.0, 1.0)));
        assert_eq!(
            outcome(&[l], "", "AREA-02"),
            crate::RuleOutcome::NotApplicable
        );
    }
}
