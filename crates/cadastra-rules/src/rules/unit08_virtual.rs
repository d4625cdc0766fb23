//! UNIT-08 virtual-number: positions 7-12 `000000` mark a virtual unit number, a registration
//! without a real cadastral parcel (common for migrated house records) — W. Never a valid final
//! number: the rights on such units are also listed by LINK-03 (W02, 有证无图).
//!
//! Checked on the same fields as UNIT-01 (cadastra-model `ids::check_unit_number`). One finding
//! per field and row, keyed by the row's business key.
//!
//! Sub-codes: W01 virtual unit number.
//!
//! Options: none.

use crate::rules::unit01_form::{emit_problems, has_unit_fields};
use crate::{Rule, RuleContext, RuleError, RuleFinding, Scope, SubCode};
use cadastra_model::{RuleId, Severity};

pub(crate) struct Virtual;
const ID: RuleId = RuleId("UNIT-08");

impl Rule for Virtual {
    fn id(&self) -> RuleId {
        ID
    }
    fn name(&self) -> &'static str {
        "virtual-number"
    }
    fn severity(&self) -> Severity {
        Severity::W
    }
    fn scope(&self) -> Scope {
        Scope::Feature
    }
    fn describe(&self) -> (&'static str, &'static str) {
        (
            "虚拟不动产单元号(第7-12位为000000): 无实际宗地的登记, 不是有效的最终编号(权利另由LINK-03列为有证无图)",
            "virtual unit number (positions 7-12 are 000000): a registration without a real parcel, never a valid final number (rights are also listed by LINK-03)",
        )
    }
    fn codes(&self) -> &'static [SubCode] {
        &[SubCode {
            code: "W01",
            zh: "虚拟不动产单元号",
            en: "virtual unit number",
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
        check(&[ok], "UNIT-08", &[]);
        let bad = layer("JSYDSYQ", "laiwu").row(
            &[("YWH", "Y2"), ("BDCDYH", "371202000000GB00015F00010001")],
            None,
        );
        let f = check(&[bad], "UNIT-08", &["UNIT-08-W01 Y2"]);
        assert!(f[0]
            .finding
            .message_en
            .contains("BDCDYH 371202000000GB00015F00010001"));
    }
}
