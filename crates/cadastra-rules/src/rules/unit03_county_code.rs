//! UNIT-03 county-code: positions 1-6 of a unit number (ZDDM, ZRZH, BDCDYH) and the rights' QXDM
//! are a county code of Jinan or of the former Laiwu city — E otherwise; the legacy codes 371202
//! (莱城区 → 370116) and 371203 (钢城区 → 370117) are accepted on input and counted for
//! renumbering (I, one summary per layer and code, not one finding per row: every Laiwu row
//! carries one until the merge stage re-keys it).
//!
//! Valid codes: the county codes of codelists.toml's ADMIN list (济南 370102-370126 and 370171,
//! the old 371202/371203); the prefecture codes 370100/371200 are not county codes. Whether the
//! code fits the feature's location is not checked: the run has no district polygons.
//!
//! Sub-codes: E01 not a Jinan/Laiwu county code (one per row, the first offending field),
//! I01 legacy code to be renumbered (`feature_key` = the source, `value` = rows).
//!
//! Options: none.

use crate::shared::unit_fields;
use crate::{Rule, RuleContext, RuleError, RuleFinding, Scope, SubCode};
use cadastra_model::codelist::codelists;
use cadastra_model::{RuleId, Severity};
use std::collections::BTreeMap;

pub(crate) struct CountyCode;
const ID: RuleId = RuleId("UNIT-03");

fn valid(code: &str) -> bool {
    code != "370100"
        && code != "371200"
        && codelists().list("ADMIN").is_some_and(|l| l.contains(code))
}

impl Rule for CountyCode {
    fn id(&self) -> RuleId {
        ID
    }
    fn name(&self) -> &'static str {
        "county-code"
    }
    fn severity(&self) -> Severity {
        Severity::E
    }
    fn scope(&self) -> Scope {
        Scope::Feature
    }
    fn describe(&self) -> (&'static str, &'static str) {
        (
            "单元号第1-6位为济南或原莱芜的县级行政区代码; 原代码371202/371203可接受, 计数待改为370116/370117",
            "positions 1-6 are a county code of Jinan or former Laiwu; legacy 371202/371203 accepted and counted for renumbering to 370116/370117",
        )
    }
    fn codes(&self) -> &'static [SubCode] {
        &[
            SubCode {
                code: "E01",
                zh: "不是济南/原莱芜的县级代码",
                en: "not a Jinan/Laiwu county code",
            },
            SubCode {
                code: "I01",
                zh: "原行政区代码, 待重新编号",
                en: "legacy county code, to be renumbered",
            },
        ]
    }
    fn needs(&self) -> &'static str {
        "a table with unit numbers or QXDM"
    }
    fn applies(&self, cx: &RuleContext<'_>) -> bool {
        crate::rules::unit01_form::has_unit_fields(cx)
    }
    fn check(
        &self,
        cx: &RuleContext<'_>,
        emit: &mut dyn FnMut(RuleFinding),
    ) -> Result<(), RuleError> {
        let cl = codelists();
        for (li, l) in cx.layers.iter().enumerate() {
            let mut fields: Vec<&str> = unit_fields(l.table, l.def().right)
                .iter()
                .map(|f| f.0)
                .collect();
            if l.def().right {
                fields.push("QXDM");
            }
            let cols: Vec<(&str, crate::context::Field<'_>)> = fields
                .iter()
                .map(|f| (*f, l.field(f)))
                .filter(|(_, c)| c.exists())
                .collect();
            if cols.is_empty() {
                continue;
            }
            let mut legacy: BTreeMap<&str, usize> = BTreeMap::new();
            for r in 0..l.len() {
                let mut bad: Option<(&str, &str)> = None;
                let mut old: Option<&str> = None;
                for (name, c) in &cols {
                    let Some(v) = c.value(r) else { continue };
                    let Some(code) = v
                        .get(0..6)
                        .filter(|c| c.bytes().all(|b| b.is_ascii_digit()))
                    else {
                        continue;
                    };
                    if !valid(code) {
                        bad.get_or_insert((name, code));
                    } else if cl.new_admin_code(code).is_some() {
                        old.get_or_insert(code);
                    }
                }
                if let Some((name, code)) = bad {
                    emit(cx.at(
                        ID,
                        "E01",
                        li,
                        r,
                        format!("{name}的行政区代码{code}不是济南或原莱芜的县级代码"),
                        format!(
                            "{name} county code {code} is not a county of Jinan or former Laiwu"
                        ),
                    ));
                } else if let Some(code) = old {
                    *legacy.entry(code).or_default() += 1;
                }
            }
            for (code, n) in legacy {
                let new = cl.new_admin_code(code).unwrap_or("?");
                emit(
                    cx.general(
                        ID,
                        "I01",
                        l.table,
                        l.source,
                        format!("{n}条记录使用原行政区代码{code}, 入库后改为{new}"),
                        format!("{n} rows carry the legacy county code {code}, renumbered to {new} after validation"),
                    )
                    .value(n as f64, None),
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::testkit::*;

    #[test]
    fn jinan_laiwu_and_foreign_codes() {
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
                    ("ZDDM", "371202001002JC00016"),
                    ("BDCDYH", "371202001002JC00016W00000000"),
                ],
                None,
            )
            .row(
                &[
                    ("ZDDM", "370114001002JC00016"),
                    ("BDCDYH", "370114001002JC00016W00000000"),
                ],
                None,
            )
            .row(
                &[
                    ("ZDDM", "110105001002JC00016"),
                    ("BDCDYH", "110105001002JC00016W00000000"),
                ],
                None,
            );
        let f = check(
            &[l],
            "UNIT-03",
            &[
                "UNIT-03-E01 110105001002JC00016",
                "UNIT-03-I01 laiwu_zdjbxx",
            ],
        );
        assert_eq!(f[1].finding.value, Some(2.0));
        assert!(f[1].finding.message_en.contains("370116"));
        let r = layer("JSYDSYQ", "jinan").row(
            &[
                ("YWH", "Y"),
                ("BDCDYH", "370114001002JC00016W00000000"),
                ("QXDM", "370100"),
            ],
            None,
        );
        check(&[r], "UNIT-03", &["UNIT-03-E01 Y"]);
    }
}
