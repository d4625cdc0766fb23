//! UNIT-04 feature-code-pair: feature-code pairs allowed (A and C only after J, H and G only after
//! G) and parcel type + fixture pairs among the vendor-accepted ones (DW but not DF) — E (GB/T
//! 37346-2019, domain-brief §3.2).
//!
//! Checked on the same fields as UNIT-01 (cadastra-model `ids::check_unit_number`, parcel and
//! building codes as the unit number's prefixes); a value that fails UNIT-01 or UNIT-02 is not
//! checked further. One finding per field and row, keyed by the row's business key.
//!
//! Sub-codes: E01 feature-code combination not allowed.
//!
//! Options: none.

use crate::rules::unit01_form::{emit_problems, has_unit_fields};
use crate::{Rule, RuleContext, RuleError, RuleFinding, Scope, SubCode};
use cadastra_model::{RuleId, Severity};

pub(crate) struct CodePair;
const ID: RuleId = RuleId("UNIT-04");

impl Rule for CodePair {
    fn id(&self) -> RuleId {
        ID
    }
    fn name(&self) -> &'static str {
        "feature-code-pair"
    }
    fn severity(&self) -> Severity {
        Severity::E
    }
    fn scope(&self) -> Scope {
        Scope::Feature
    }
    fn describe(&self) -> (&'static str, &'static str) {
        ("宗地特征码组合允许(A、C仅与J, H、G仅与G)且宗地类型与定着物组合为厂商接受的组合(如DW可、DF不可)", "feature-code pairs allowed (A and C only after J, H and G only after G) and parcel type + fixture pairs among the vendor-accepted ones (DW but not DF)")
    }
    fn codes(&self) -> &'static [SubCode] {
        &[SubCode {
            code: "E01",
            zh: "特征码组合不允许",
            en: "feature-code combination not allowed",
        }]
    }
    fn needs(&self) -> &'static str {
        "a table with unit numbers (ZDJBXX, ZRZ, H, QLR, rights)"
    }
    fn applies(&self, cx: &RuleContext<'_>) -> bool {
        has_unit_fields(cx)
    }
    fn prepare(&self, cx: &RuleContext<'_>) {
        cx.unit_checks();
    }
    fn check(
        &self,
        cx: &RuleContext<'_>,
        emit: &mut dyn FnMut(RuleFinding),
    ) -> Result<(), RuleError> {
        emit_problems(cx, ID, emit);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::testkit::*;

    #[test]
    fn pass_and_fail() {
        let ok = layer("JSYDSYQ", "laiwu").row(
            &[("YWH", "Y1"), ("BDCDYH", "371202001003JD00071W00000000")],
            None,
        );
        check(&[ok], "UNIT-04", &[]);
        let bad = layer("JSYDSYQ", "laiwu").row(
            &[("YWH", "Y2"), ("BDCDYH", "371202001003GC00071W00000000")],
            None,
        );
        let f = check(&[bad], "UNIT-04", &["UNIT-04-E01 Y2"]);
        assert!(f[0]
            .finding
            .message_en
            .contains("BDCDYH 371202001003GC00071W00000000"));
    }
}
