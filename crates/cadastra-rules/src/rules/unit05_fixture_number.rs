//! UNIT-05 fixture-number: fixture code W needs positions 21-28 all zero, F a building number of at
//! least 0001 — E (GB/T 37346-2019, domain-brief §3.2).
//!
//! Checked on the same fields as UNIT-01 (cadastra-model `ids::check_unit_number`, parcel and
//! building codes as the unit number's prefixes); a value that fails UNIT-01 or UNIT-02 is not
//! checked further. One finding per field and row, keyed by the row's business key.
//!
//! Sub-codes: E01 fixture W with non-zero positions 21-28, E02 fixture F with building number 0000.
//!
//! Options: none.

use crate::rules::unit01_form::{emit_problems, has_unit_fields};
use crate::{Rule, RuleContext, RuleError, RuleFinding, Scope, SubCode};
use cadastra_model::{RuleId, Severity};

pub(crate) struct FixtureNumber;
const ID: RuleId = RuleId("UNIT-05");

impl Rule for FixtureNumber {
    fn id(&self) -> RuleId {
        ID
    }
    fn name(&self) -> &'static str {
        "fixture-number"
    }
    fn severity(&self) -> Severity {
        Severity::E
    }
    fn scope(&self) -> Scope {
        Scope::Feature
    }
    fn describe(&self) -> (&'static str, &'static str) {
        (
            "定着物特征码W时21-28位全为0, F时幢号不小于0001",
            "fixture code W needs positions 21-28 all zero, F a building number of at least 0001",
        )
    }
    fn codes(&self) -> &'static [SubCode] {
        &[
            SubCode {
                code: "E01",
                zh: "W时21-28位不全为0",
                en: "fixture W with non-zero positions 21-28",
            },
            SubCode {
                code: "E02",
                zh: "F时幢号为0000",
                en: "fixture F with building number 0000",
            },
        ]
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
        check(&[ok], "UNIT-05", &[]);
        let bad = layer("JSYDSYQ", "laiwu").row(
            &[("YWH", "Y2"), ("BDCDYH", "371202001003JD00071W00010000")],
            None,
        );
        let f = check(&[bad], "UNIT-05", &["UNIT-05-E01 Y2"]);
        assert!(f[0]
            .finding
            .message_en
            .contains("BDCDYH 371202001003JD00071W00010000"));
    }
}
