//! TOPO-07 boundary-lines: boundary lines (界址线) cover the parcel boundary exactly, split at
//! boundary points, no dangles or overlaps.
//!
//! Not applicable in this toolchain yet: it needs boundary lines (JZX layer), which the registry
//! schema and the run do not hold. The rule is registered so that the report lists it as "not
//! applicable" instead of passing it silently; it becomes a real check when those layers are added
//! to the registry schema.
//!
//! Sub-codes: none. Options: none.

use crate::{Rule, RuleContext, RuleError, RuleFinding, Scope};
use cadastra_model::{RuleId, Severity};

pub(crate) struct BoundaryLines;
const ID: RuleId = RuleId("TOPO-07");

impl Rule for BoundaryLines {
    fn id(&self) -> RuleId {
        ID
    }
    fn name(&self) -> &'static str {
        "boundary-lines"
    }
    fn severity(&self) -> Severity {
        Severity::E
    }
    fn scope(&self) -> Scope {
        Scope::Layer
    }
    fn describe(&self) -> (&'static str, &'static str) {
        ("界址线完全覆盖宗地边界, 在界址点处打断, 无悬挂、无重叠", "boundary lines (界址线) cover the parcel boundary exactly, split at boundary points, no dangles or overlaps")
    }
    fn needs(&self) -> &'static str {
        "boundary lines (JZX layer), which the registry schema and the run do not hold"
    }
    fn applies(&self, _cx: &RuleContext<'_>) -> bool {
        false
    }
    fn check(
        &self,
        _cx: &RuleContext<'_>,
        _emit: &mut dyn FnMut(RuleFinding),
    ) -> Result<(), RuleError> {
        Err(RuleError("not applicable: needs boundary lines (JZX layer), which the registry schema and the run do not hold".into()))
    }
}

#[cfg(test)]
mod tests {
    use crate::testkit::*;

    #[test]
    fn not_applicable() {
        let l = layer("ZDJBXX", "laiwu").row(&[("ZDDM", "A")], Some(rect(0.0, 0.0, 1.0, 1.0)));
        assert_eq!(
            outcome(&[l], "", "TOPO-07"),
            crate::RuleOutcome::NotApplicable
        );
    }
}
