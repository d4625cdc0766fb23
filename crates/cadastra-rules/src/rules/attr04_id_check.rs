//! ATTR-04 id-check: identity numbers of right holders carry a valid check character — W (the
//! holder record is what was registered; it loads and is listed for correction against the paper
//! file, so that a right never loses its holder over a typo).
//!
//! The check is chosen by ZJZL: 1 身份证 and 4 户口簿 (which carries the 身份证 number) — GB 11643
//! check character and birth date (W01, W02), 15-digit pre-1999 numbers flagged (I01, valid
//! shape, no check character); 8 统一社会信用代码, and 7 营业执照 when 18 characters — GB 32100
//! (W03); 6 组织机构代码 — GB 11714 (W04). Numbers whose shape does not fit the type are ATTR-05's.
//! Full-width digits and a lower-case x are normalised before checking (ATTR-05 lists them).
//! Messages show the number masked (first and last 4 characters); findings are keyed by QLRKEY,
//! with the holder's unit (BDCDYH) as `other_key`.
//!
//! Sub-codes: W01 wrong 身份证 check character, W02 impossible birth date, W03 wrong USCC check
//! character, W04 wrong organisation-code check character, I01 15-digit legacy 身份证.
//!
//! Options: none.

use crate::util::half_width;
use crate::{Rule, RuleContext, RuleError, RuleFinding, Scope, SubCode};
use cadastra_model::ids::{id_card_check, mask_id, org_code_check, uscc_check, IdProblem};
use cadastra_model::{RuleId, Severity};
use rayon::prelude::*;

pub(crate) struct IdCheck;
const ID: RuleId = RuleId("ATTR-04");

/// The number as checked: half-width, no blanks, upper case.
pub(crate) fn normalise(zjh: &str) -> String {
    half_width(zjh)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase()
}

fn problem(zjzl: &str, n: &str) -> Option<(&'static str, &'static str, &'static str)> {
    match zjzl {
        "1" | "4" => match id_card_check(n) {
            Err(IdProblem::CheckDigit) => Some((
                "W01",
                "身份证号校验位错误",
                "身份证 number has a wrong check character",
            )),
            Err(IdProblem::BirthDate) => Some((
                "W02",
                "身份证号中的出生日期不存在",
                "身份证 number holds an impossible birth date",
            )),
            Err(IdProblem::Legacy15) => Some((
                "I01",
                "15位旧身份证号(无校验位)",
                "15-digit legacy 身份证 number (no check character)",
            )),
            _ => None,
        },
        "8" => (uscc_check(n) == Err(IdProblem::CheckDigit)).then_some((
            "W03",
            "统一社会信用代码校验位错误",
            "unified social credit code has a wrong check character",
        )),
        "7" if n.len() == 18 => (uscc_check(n) == Err(IdProblem::CheckDigit)).then_some((
            "W03",
            "统一社会信用代码校验位错误",
            "unified social credit code has a wrong check character",
        )),
        "6" => (org_code_check(n) == Err(IdProblem::CheckDigit)).then_some((
            "W04",
            "组织机构代码校验位错误",
            "organisation code has a wrong check character",
        )),
        _ => None,
    }
}

impl Rule for IdCheck {
    fn id(&self) -> RuleId {
        ID
    }
    fn name(&self) -> &'static str {
        "id-check"
    }
    fn severity(&self) -> Severity {
        Severity::W
    }
    fn scope(&self) -> Scope {
        Scope::Feature
    }
    fn describe(&self) -> (&'static str, &'static str) {
        (
            "证件号校验: 身份证(GB 11643)校验位和出生日期, 15位旧号标记, 统一社会信用代码(GB 32100)和组织机构代码(GB 11714)校验位",
            "identity numbers: 身份证 (GB 11643) check character and birth date, 15-digit legacy numbers flagged, USCC (GB 32100) and organisation code (GB 11714) check characters",
        )
    }
    fn codes(&self) -> &'static [SubCode] {
        &[
            SubCode {
                code: "W01",
                zh: "身份证号校验位错误",
                en: "wrong 身份证 check character",
            },
            SubCode {
                code: "W02",
                zh: "身份证号出生日期不存在",
                en: "impossible birth date",
            },
            SubCode {
                code: "W03",
                zh: "统一社会信用代码校验位错误",
                en: "wrong USCC check character",
            },
            SubCode {
                code: "W04",
                zh: "组织机构代码校验位错误",
                en: "wrong organisation-code check character",
            },
            SubCode {
                code: "I01",
                zh: "15位旧身份证号",
                en: "15-digit legacy 身份证 number",
            },
        ]
    }
    fn needs(&self) -> &'static str {
        "right holders (QLR) with ZJZL and ZJH"
    }
    fn applies(&self, cx: &RuleContext<'_>) -> bool {
        cx.has("QLR")
    }
    fn check(
        &self,
        cx: &RuleContext<'_>,
        emit: &mut dyn FnMut(RuleFinding),
    ) -> Result<(), RuleError> {
        for (li, l) in cx.layers_of("QLR") {
            let (zjzl, zjh, unit) = (l.field("ZJZL"), l.field("ZJH"), l.field("BDCDYH"));
            let found: Vec<(usize, (&str, &str, &str), String)> = (0..l.len())
                .into_par_iter()
                .with_min_len(1024)
                .filter_map(|r| {
                    let (t, v) = (zjzl.value(r)?, zjh.value(r)?);
                    let n = normalise(v);
                    problem(t, &n).map(|p| (r, p, mask_id(&n)))
                })
                .collect();
            for (r, (sub, zh, en), masked) in found {
                let mut f = cx.at(
                    ID,
                    sub,
                    li,
                    r,
                    format!("{zh}: {masked}"),
                    format!("{en}: {masked}"),
                );
                if let Some(u) = unit.value(r) {
                    f = f.other(u);
                }
                emit(f);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::testkit::*;

    #[test]
    fn check_characters_by_type() {
        let q = layer("QLR", "laiwu")
            .row(
                &[
                    ("QLRKEY", "U1-1"),
                    ("ZJZL", "1"),
                    ("ZJH", "11010519491231002X"),
                    ("QLRMC", "张三"),
                ],
                None,
            )
            .row(
                &[
                    ("QLRKEY", "U2-1"),
                    ("ZJZL", "1"),
                    ("ZJH", "110105194912310021"),
                ],
                None,
            )
            .row(
                &[
                    ("QLRKEY", "U3-1"),
                    ("ZJZL", "1"),
                    ("ZJH", "110105194913310021"),
                ],
                None,
            )
            .row(
                &[
                    ("QLRKEY", "U4-1"),
                    ("ZJZL", "1"),
                    ("ZJH", "110105491231002"),
                ],
                None,
            )
            .row(
                &[
                    ("QLRKEY", "U5-1"),
                    ("ZJZL", "8"),
                    ("ZJH", "91350100M000100Y43"),
                ],
                None,
            )
            .row(
                &[
                    ("QLRKEY", "U6-1"),
                    ("ZJZL", "8"),
                    ("ZJH", "91350100M000100Y44"),
                ],
                None,
            )
            .row(
                &[("QLRKEY", "U7-1"), ("ZJZL", "6"), ("ZJH", "D2143569-8")],
                None,
            )
            // lower-case x is normalised (ATTR-05 lists it), not a check failure
            .row(
                &[
                    ("QLRKEY", "U8-1"),
                    ("ZJZL", "1"),
                    ("ZJH", "11010519491231002x"),
                ],
                None,
            );
        let f = check(
            &[q],
            "ATTR-04",
            &[
                "ATTR-04-I01 U4-1",
                "ATTR-04-W01 U2-1",
                "ATTR-04-W02 U3-1",
                "ATTR-04-W03 U6-1",
                "ATTR-04-W04 U7-1",
            ],
        );
        assert_eq!(
            f[1].finding.message_en,
            "身份证 number has a wrong check character: 1101**********0021"
        );
    }
}
