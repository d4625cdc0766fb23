//! TOPO-06 boundary-points: every parcel vertex has a boundary point (界址点) within 1 mm, every
//! boundary point lies on a parcel boundary.
//!
//! Not applicable in this toolchain yet: it needs boundary points (JZD layer), which the registry
//! schema and the run do not hold. The rule is registered so that the report lists it as "not
//! applicable" instead of passing it silently; it becomes a real check when those layers are added
//! to the registry schema.
//!
//! Sub-codes: none. Options: none.

use crate::{Rule, RuleContext, RuleError, RuleFinding, Scope};
use cadastra_model::{RuleId, Severity};

pub(crate) struct BoundaryPoints;
const ID: RuleId = RuleId("TOPO-06");

impl Rule for BoundaryPoints {
    fn id(&self) -> RuleId {
        ID
    }
    fn name(&self) -> &'static str {
        "boundary-points"
    }
    fn severity(&self) -> Severity {
        Severity::E
    }
    fn scope(&self) -> Scope {
        Scope::Layer
    }
    fn describe(&self) -> (&'static str, &'static str) {
        ("每个宗地节点1毫米内有界址点, 每个界址点位于宗地边界上", "every parcel vertex has a boundary point (界址点) within 1 mm, every boundary point lies on a parcel boundary")
    }
    fn needs(&self) -> &'static str {
        "boundary points (JZD layer), which the registry schema and the run do not hold"
    }
    fn applies(&self, _cx: &RuleContext<'_>) -> bool {
        false
    }
    fn check(
        &self,
        _cx: &RuleContext<'_>,
        _emit: &mut dyn FnMut(RuleFinding),
    ) -> Result<(), RuleError> {
        Err(RuleError("not applicable: needs boundary points (JZD layer), which the registry schema and the run do not hold".into()))
    }
}

#[cfg(test)]
mod tests {
    use crate::testkit::*;

    #[test]
    fn not_applicable() {
        let l = layer("ZDJBXX", "laiwu").row(&[("ZDDM", "A")], Some(rect(0.0, 0.0, 1.0, 1.0)));
        assert_eq!(
            outcome(&[l], "", "TOPO-06"),
            crate::RuleOutcome::NotApplicable
        );
    }
}
