//! UNIT-01 unit-number-form: a 不动产单元号 has 28 characters, ASCII upper-case, no blanks (a 宗地代码
//! 19, a 自然幢号 24) — E (GB/T 37346-2019 §8, domain-brief §3.2).
//!
//! Checked fields: ZDJBXX.ZDDM and .BDCDYH, ZRZ.ZRZH and .BDCDYH, H.BDCDYH, QLR.BDCDYH and the
//! BDCDYH of every rights table (cadastra-model `ids::check_unit_number`; parcel and building
//! codes are checked as the unit number's prefixes). One finding per field and row, keyed by the
//! row's business key; the message names the field and shows the value (unit numbers are not
//! personal data).
//!
//! Sub-codes: E01 wrong length, E02 blanks or full-width characters, E03 lower-case letters.
//!
//! Options: none.

use crate::{Rule, RuleContext, RuleError, RuleFinding, Scope, SubCode};
use cadastra_model::{RuleId, Severity};

pub(crate) struct Form;
const ID: RuleId = RuleId("UNIT-01");

/// Emit the shared unit-number problems of one rule.
pub(crate) fn emit_problems(cx: &RuleContext<'_>, id: RuleId, emit: &mut dyn FnMut(RuleFinding)) {
    for c in cx.unit_checks().iter().filter(|c| c.problem.rule == id.0) {
        let (l, r) = (c.layer as usize, c.row as usize);
        let v = cx.layers[l].field(c.field).text(r).unwrap_or_default();
        emit(cx.at(
            id,
            c.problem.sub,
            l,
            r,
            format!("{} {}: {}", c.field, v, c.problem.zh),
            format!("{} {}: {}", c.field, v, c.problem.en),
        ));
    }
}

/// Does the run hold any unit-number field?
pub(crate) fn has_unit_fields(cx: &RuleContext<'_>) -> bool {
    cx.layers
        .iter()
        .any(|l| !l.is_empty() && !crate::shared::unit_fields(l.table, l.def().right).is_empty())
}

impl Rule for Form {
    fn id(&self) -> RuleId {
        ID
    }
    fn name(&self) -> &'static str {
        "unit-number-form"
    }
    fn severity(&self) -> Severity {
        Severity::E
    }
    fn scope(&self) -> Scope {
        Scope::Feature
    }
    fn describe(&self) -> (&'static str, &'static str) {
        ("不动产单元号为28位半角大写字符、无空格(宗地代码19位, 自然幢号24位)", "unit number: 28 ASCII upper-case characters, no blanks (parcel code 19, building number 24)")
    }
    fn codes(&self) -> &'static [SubCode] {
        &[
            SubCode {
                code: "E01",
                zh: "长度错误",
                en: "wrong length",
            },
            SubCode {
                code: "E02",
                zh: "含空格或全角字符",
                en: "blanks or full-width characters",
            },
            SubCode {
                code: "E03",
                zh: "含小写字母",
                en: "lower-case letters",
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
    fn lengths_blanks_case() {
        let l = layer("ZDJBXX", "laiwu")
            .row(
                &[
                    ("ZDDM", "371202001002JC00015"),
                    ("BDCDYH", "371202001002JC00015W00000000"),
                ],
                None,
            )
            .row(
                &[
                    ("ZDDM", "371202001002JB00022"),
                    ("BDCDYH", "371202001002JB00022W0000000"),
                ],
                None,
            )
            .row(
                &[
                    ("ZDDM", "371202001002JB0002 "),
                    ("BDCDYH", "371202001002JB00023W00000000"),
                ],
                None,
            )
            .row(
                &[
                    ("ZDDM", "371202001002JB00024"),
                    ("BDCDYH", "371202001002jB00024W00000000"),
                ],
                None,
            );
        let f = check(
            &[l],
            "UNIT-01",
            &[
                "UNIT-01-E01 371202001002JB00022",
                "UNIT-01-E02 371202001002JB0002",
                "UNIT-01-E03 371202001002JB00024",
            ],
        );
        assert!(f[0]
            .finding
            .message_en
            .contains("BDCDYH 371202001002JB00022W0000000: unit number has 27 characters"));
        assert!(f[1].finding.message_en.contains("ZDDM"));
        let h = layer("H", "laiwu").row(&[("BDCDYH", "371202001002GB00015F0001001")], None);
        check(
            &[h],
            "UNIT-01",
            &["UNIT-01-E01 371202001002GB00015F0001001"],
        );
        let zrz = layer("ZRZ", "laiwu").row(
            &[
                ("ZRZH", "371202001002GB00015F001"),
                ("ZDDM", "371202001002GB00015"),
            ],
            None,
        );
        let f = check(&[zrz], "UNIT-01", &["UNIT-01-E01 371202001002GB00015F001"]);
        assert!(f[0]
            .finding
            .message_en
            .contains("building number has 23 characters"));
    }
}
