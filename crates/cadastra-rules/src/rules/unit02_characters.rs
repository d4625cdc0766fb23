//! UNIT-02 unit-number-characters: every position has the allowed characters (6-digit county,
//! 3-digit zone and sub-zone, feature codes, 5-digit sequence, fixture code, 8-digit fixture
//! number) — E (GB/T 37346-2019, domain-brief §3.2).
//!
//! Checked on the same fields as UNIT-01 (cadastra-model `ids::check_unit_number`, parcel and
//! building codes as the unit number's prefixes); a value that fails UNIT-01 or UNIT-02 is not
//! checked further. One finding per field and row, keyed by the row's business key.
//!
//! Sub-codes: E01 a position breaks the coding rules.
//!
//! Options: none.

use crate::rules::unit01_form::{emit_problems, has_unit_fields};
use crate::{Rule, RuleContext, RuleError, RuleFinding, Scope, SubCode};
use cadastra_model::{RuleId, Severity};

pub(crate) struct Characters;
const ID: RuleId = RuleId("UNIT-02");

impl Rule for Characters {
    fn id(&self) -> RuleId {
        ID
    }
    fn name(&self) -> &'static str {
        "unit-number-characters"
    }
    fn severity(&self) -> Severity {
        Severity::E
    }
    fn scope(&self) -> Scope {
        Scope::Feature
    }
    fn describe(&self) -> (&'static str, &'static str) {
        ("每位字符符合编码规则(行政区6位数字, 地籍区/子区3位数字, 宗地特征码, 5位顺序号, 定着物特征码, 8位定着物编号)", "every position has the allowed characters (6-digit county, 3-digit zone and sub-zone, feature codes, 5-digit sequence, fixture code, 8-digit fixture number)")
    }
    fn codes(&self) -> &'static [SubCode] {
        &[SubCode {
            code: "E01",
            zh: "某位字符不符合编码规则",
            en: "a position breaks the coding rules",
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
        check(&[ok], "UNIT-02", &[]);
        let bad = layer("JSYDSYQ", "laiwu").row(
            &[("YWH", "Y2"), ("BDCDYH", "371202001003JD00071W0O000000")],
            None,
        );
        let f = check(&[bad], "UNIT-02", &["UNIT-02-E01 Y2"]);
        assert!(f[0]
            .finding
            .message_en
            .contains("BDCDYH 371202001003JD00071W0O000000"));
        // 28 characters, one of them Chinese
        let cn = layer("JSYDSYQ", "laiwu").row(
            &[("YWH", "Y3"), ("BDCDYH", "371202001003JD0007宗W00000000")],
            None,
        );
        check(&[cn], "UNIT-02", &["UNIT-02-E01 Y3"]);
    }
}
