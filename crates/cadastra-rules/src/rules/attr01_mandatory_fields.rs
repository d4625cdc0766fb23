//! ATTR-01 mandatory-fields: the standard's 必选项 are filled (the registry schema's `required`
//! flags: ZDDM, BDCDYH, ZL, ZDMJ, YT, QLLX, QLXZ for 宗地; ZRZH, ZDDM for 自然幢; BDCDYH, ZRZH for
//! 户; BDCDYH, QLRMC, ZJZL, ZJH for 权利人; YWH, BDCDYH, QLLX, QXDM, QSZT for rights).
//!
//! A missing key or link field (the table's business key, ZDDM, BDCDYH, ZRZH) is E01: the row
//! cannot be keyed or linked, so it is blocked. Other missing fields are W01 (the row loads and
//! is listed for completion). Blank text counts as missing, and so does a required area of 0.
//! One finding per row and severity, naming the fields (never their values).
//!
//! Sub-codes: E01 key or link field missing, W01 other mandatory field missing.
//!
//! Options: none.

use crate::{Rule, RuleContext, RuleError, RuleFinding, Scope, SubCode};
use cadastra_model::{FieldType, RuleId, Severity};
use rayon::prelude::*;

pub(crate) struct MandatoryFields;
const ID: RuleId = RuleId("ATTR-01");

impl Rule for MandatoryFields {
    fn id(&self) -> RuleId {
        ID
    }
    fn name(&self) -> &'static str {
        "mandatory-fields"
    }
    fn severity(&self) -> Severity {
        Severity::E
    }
    fn scope(&self) -> Scope {
        Scope::Feature
    }
    fn describe(&self) -> (&'static str, &'static str) {
        ("必选字段已填写(宗地: ZDDM、BDCDYH、ZL、ZDMJ、YT、QLLX、QLXZ; 权利人: QLRMC、ZJZL、ZJH 等)", "mandatory fields are filled (parcel: ZDDM, BDCDYH, ZL, ZDMJ, YT, QLLX, QLXZ; holder: QLRMC, ZJZL, ZJH; ...)")
    }
    fn codes(&self) -> &'static [SubCode] {
        &[
            SubCode {
                code: "E01",
                zh: "缺少主键或关联字段",
                en: "key or link field missing",
            },
            SubCode {
                code: "W01",
                zh: "缺少必填字段",
                en: "mandatory field missing",
            },
        ]
    }
    fn needs(&self) -> &'static str {
        "any registry layer"
    }
    fn applies(&self, cx: &RuleContext<'_>) -> bool {
        cx.layers.iter().any(|l| !l.is_empty())
    }
    fn check(
        &self,
        cx: &RuleContext<'_>,
        emit: &mut dyn FnMut(RuleFinding),
    ) -> Result<(), RuleError> {
        for (li, l) in cx.layers.iter().enumerate() {
            let def = l.def();
            let req: Vec<(&str, bool, bool, crate::context::Field<'_>)> = def
                .fields
                .iter()
                .filter(|f| f.required)
                .map(|f| {
                    let key = def.key.as_deref() == Some(f.name.as_str())
                        || matches!(f.name.as_str(), "ZDDM" | "BDCDYH" | "ZRZH");
                    (
                        f.name.as_str(),
                        key,
                        f.ty == FieldType::Real,
                        l.field(&f.name),
                    )
                })
                .collect();
            if req.is_empty() {
                continue;
            }
            let found: Vec<(usize, Vec<&str>, Vec<&str>)> = (0..l.len())
                .into_par_iter()
                .with_min_len(1024)
                .filter_map(|r| {
                    let (mut keys, mut other) = (Vec::new(), Vec::new());
                    for (name, key, real, f) in &req {
                        let missing =
                            f.is_blank(r) || (*real && f.f64(r).is_some_and(|v| v <= 0.0));
                        if missing {
                            if *key {
                                keys.push(*name);
                            } else {
                                other.push(*name);
                            }
                        }
                    }
                    (!keys.is_empty() || !other.is_empty()).then_some((r, keys, other))
                })
                .collect();
            for (r, keys, other) in found {
                if !keys.is_empty() {
                    emit(cx.at(
                        ID,
                        "E01",
                        li,
                        r,
                        format!("缺少主键或关联字段: {}", keys.join("、")),
                        format!("key or link fields missing: {}", keys.join(", ")),
                    ));
                }
                if !other.is_empty() {
                    emit(cx.at(
                        ID,
                        "W01",
                        li,
                        r,
                        format!("缺少必填字段: {}", other.join("、")),
                        format!("mandatory fields missing: {}", other.join(", ")),
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::testkit::*;

    #[test]
    fn parcel_and_holder_fields() {
        let full = [
            ("ZDDM", "371202001002JC00015"),
            ("BDCDYH", "371202001002JC00015W00000000"),
            ("ZL", "莱城区杨庄镇"),
            ("ZDMJ", "200.5"),
            ("YT", "0702"),
            ("QLLX", "6"),
            ("QLXZ", "203"),
        ];
        let l = layer("ZDJBXX", "laiwu")
            .row(&full, None)
            .row(
                &[
                    ("ZDDM", "371202001002JC00016"),
                    ("BDCDYH", "371202001002JC00016W00000000"),
                    ("ZL", " "),
                    ("ZDMJ", "0"),
                    ("YT", "0702"),
                    ("QLLX", "6"),
                    ("QLXZ", "203"),
                ],
                None,
            )
            .row(
                &[
                    ("BDCDYH", "371202001002JC00017W00000000"),
                    ("ZL", "x"),
                    ("ZDMJ", "1"),
                    ("YT", "0702"),
                    ("QLLX", "6"),
                    ("QLXZ", "203"),
                    ("src_key", "OLD17"),
                ],
                None,
            );
        let f = check(
            &[l],
            "ATTR-01",
            &["ATTR-01-E01 OLD17", "ATTR-01-W01 371202001002JC00016"],
        );
        assert!(f[1].finding.message_en.ends_with("ZL, ZDMJ"));
        let q = layer("QLR", "laiwu").row(
            &[
                ("QLRKEY", "K-1"),
                ("BDCDYH", "371202001002JC00015W00000000"),
                ("QLRMC", "张三"),
                ("ZJZL", "1"),
            ],
            None,
        );
        let f = check(&[q], "ATTR-01", &["ATTR-01-W01 K-1"]);
        assert!(f[0].finding.message_en.contains("ZJH"));
    }
}
