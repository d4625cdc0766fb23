//! ATTR-05 id-type: a holder's document type ZJZL fits the shape of the number ZJH — W.
//!
//! Shapes: ZJZL 1 身份证 / 4 户口簿 — 18 characters (17 digits + digit or X) or 15 digits; 6
//! 组织机构代码 — 9 characters (8 + check, an optional hyphen); 7 营业执照 — 15 digits or an
//! 18-character credit code; 8 统一社会信用代码 — 18 characters of the GB 32100 alphabet; 2 港澳台
//! and 3 护照 — 5 to 20 letters, digits, brackets or hyphens. When the shape does not fit but the
//! number is a valid 身份证 or credit code, the message suggests the type. W02 lists numbers that
//! need normalising (full-width characters, inner blanks, lower-case letters such as `x`), W03
//! holder names that hold an identity number (ID stored in the name field; the name is never
//! shown). Numbers appear masked; findings are keyed by QLRKEY, with the holder's unit (BDCDYH)
//! as `other_key`.
//!
//! Sub-codes: W01 ZJH shape does not fit ZJZL, W02 ZJH needs normalising, W03 name field holds an
//! identity number.
//!
//! Options: none.

use crate::rules::attr04_id_check::normalise;
use crate::{Rule, RuleContext, RuleError, RuleFinding, Scope, SubCode};
use cadastra_model::ids::{id_card_check, mask_id, uscc_check, IdProblem};
use cadastra_model::{RuleId, Severity};
use rayon::prelude::*;

pub(crate) struct IdType;
const ID: RuleId = RuleId("ATTR-05");

fn id18(n: &str) -> bool {
    let b = n.as_bytes();
    b.len() == 18
        && b[..17].iter().all(u8::is_ascii_digit)
        && (b[17].is_ascii_digit() || b[17] == b'X')
}
fn id15(n: &str) -> bool {
    n.len() == 15 && n.bytes().all(|b| b.is_ascii_digit())
}
fn uscc_shape(n: &str) -> bool {
    n.len() == 18
        && n.chars()
            .all(|c| "0123456789ABCDEFGHJKLMNPQRTUWXY".contains(c))
}
fn org_shape(n: &str) -> bool {
    let s: String = n.chars().filter(|&c| c != '-').collect();
    s.len() == 9
        && s.bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
}
fn doc_shape(n: &str) -> bool {
    (5..=20).contains(&n.len())
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"()-".contains(&b))
}

/// Does the number fit the document type? `None` when the type has no known shape.
fn fits(zjzl: &str, n: &str) -> Option<bool> {
    Some(match zjzl {
        "1" | "4" => id18(n) || id15(n),
        "6" => org_shape(n),
        "7" => id15(n) || uscc_shape(n),
        "8" => uscc_shape(n),
        "2" | "3" => doc_shape(n),
        _ => return None,
    })
}

fn looks_like_id(n: &str) -> bool {
    id18(n) && matches!(id_card_check(n), Ok(()) | Err(IdProblem::CheckDigit))
}

impl Rule for IdType {
    fn id(&self) -> RuleId {
        ID
    }
    fn name(&self) -> &'static str {
        "id-type"
    }
    fn severity(&self) -> Severity {
        Severity::W
    }
    fn scope(&self) -> Scope {
        Scope::Feature
    }
    fn describe(&self) -> (&'static str, &'static str) {
        ("证件种类与证件号形式一致(如ZJZL 1 ⇒ 18/15位身份证号), 证件号需规范化, 姓名字段中存有证件号", "document type fits the number's shape (ZJZL 1 ⇒ 18/15-digit ID), numbers needing normalisation, ID numbers in the name field")
    }
    fn codes(&self) -> &'static [SubCode] {
        &[
            SubCode {
                code: "W01",
                zh: "证件号形式与证件种类不符",
                en: "number shape does not fit the document type",
            },
            SubCode {
                code: "W02",
                zh: "证件号需规范化(全角、空格、小写)",
                en: "number needs normalising (full-width, blanks, lower case)",
            },
            SubCode {
                code: "W03",
                zh: "权利人名称字段中存有证件号",
                en: "name field holds an identity number",
            },
        ]
    }
    fn needs(&self) -> &'static str {
        "right holders (QLR)"
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
            let (zjzl, zjh, qlrmc, unit) = (
                l.field("ZJZL"),
                l.field("ZJH"),
                l.field("QLRMC"),
                l.field("BDCDYH"),
            );
            let found: Vec<(usize, &str, String, String)> = (0..l.len())
                .into_par_iter()
                .with_min_len(1024)
                .flat_map_iter(|r| {
                    let mut out = Vec::new();
                    if let Some(v) = zjh.value(r) {
                        let n = normalise(v);
                        let m = mask_id(&n);
                        if let Some(t) = zjzl.value(r) {
                            if fits(t, &n) == Some(false) {
                                let hint = if looks_like_id(&n) {
                                    ("(形如身份证号, 应为ZJZL 1)", " (looks like a 身份证 number: ZJZL 1)")
                                } else if uscc_check(&n).is_ok() {
                                    ("(形如统一社会信用代码, 应为ZJZL 8)", " (looks like a credit code: ZJZL 8)")
                                } else {
                                    ("", "")
                                };
                                out.push((
                                    r,
                                    "W01",
                                    format!("证件种类ZJZL={t}与证件号{m}的形式不符{}", hint.0),
                                    format!("document type ZJZL={t} does not fit number {m}{}", hint.1),
                                ));
                            }
                        }
                        if n != v {
                            out.push((r, "W02", format!("证件号{m}含全角字符、空格或小写字母, 需规范化"), format!("number {m} holds full-width characters, blanks or lower case: normalise")));
                        }
                    }
                    if let Some(name) = qlrmc.value(r) {
                        let digits: String = crate::util::half_width(name).chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_uppercase();
                        let has_id = digits.len() >= 15
                            && (0..=digits.len().saturating_sub(15)).any(|i| {
                                digits.get(i..i + 18).is_some_and(looks_like_id) || digits.get(i..i + 15).is_some_and(|s| id_card_check(s) == Err(IdProblem::Legacy15))
                            });
                        if has_id {
                            out.push((r, "W03", "权利人名称字段中含有证件号".to_string(), "the holder name field holds an identity number".to_string()));
                        }
                    }
                    out
                })
                .collect();
            for (r, sub, zh, en) in found {
                let mut f = cx.at(ID, sub, li, r, zh, en);
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
    fn shapes_normalising_and_names() {
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
                    ("ZJZL", "8"),
                    ("ZJH", "91350100M000100Y43"),
                ],
                None,
            )
            .row(
                &[
                    ("QLRKEY", "U3-1"),
                    ("ZJZL", "8"),
                    ("ZJH", "11010519491231002X"),
                ],
                None,
            )
            .row(
                &[
                    ("QLRKEY", "U4-1"),
                    ("ZJZL", "1"),
                    ("ZJH", "１１０１０５１９４９１２３１００２x"),
                ],
                None,
            )
            .row(&[("QLRKEY", "U5-1"), ("ZJZL", "1"), ("ZJH", "12345")], None)
            .row(
                &[
                    ("QLRKEY", "U6-1"),
                    ("ZJZL", "1"),
                    ("ZJH", "11010519491231002X"),
                    ("QLRMC", "张三11010519491231002X"),
                ],
                None,
            );
        let f = check(
            &[q],
            "ATTR-05",
            &["ATTR-05-W01 U5-1", "ATTR-05-W02 U4-1", "ATTR-05-W03 U6-1"],
        );
        assert!(!f[2].finding.message_zh.contains("张三"));
        // an 18-digit ID is also a credit-code shape: only the check tells (ATTR-04)
        let q = layer("QLR", "laiwu").row(
            &[
                ("QLRKEY", "U7-1"),
                ("ZJZL", "6"),
                ("ZJH", "11010519491231002X"),
            ],
            None,
        );
        let f = check(&[q], "ATTR-05", &["ATTR-05-W01 U7-1"]);
        assert!(
            f[0].finding.message_en.contains("ZJZL 1")
                && f[0].finding.message_en.contains("1101**********002X")
        );
    }
}
