//! UNIT-07 unique-number: a unit number identifies one record across every layer of its table
//! (莱城区, 钢城区 and Jinan rows together) — E for every row sharing it (none of them can be
//! loaded under that key until the duplicate is resolved).
//!
//! Checked: ZDJBXX.BDCDYH (E01) and ZDJBXX.ZDDM (E02, rows whose BDCDYH is not already
//! duplicated), ZRZ.ZRZH (E02), H.BDCDYH (E01). Rights are keyed by YWH; two current rights on one
//! unit are LINK-06's. Parcel and building rows carry no 权属状态, so all of them count as current.
//! The finding is keyed by the row's business key (the shared number for parcels), the message
//! lists the other rows holding the number (source and legacy row).
//!
//! Sub-codes: E01 duplicate unit number, E02 duplicate parcel code / building number.
//!
//! Options: none.

use crate::{Rule, RuleContext, RuleError, RuleFinding, Scope, SubCode};
use cadastra_model::{RuleId, Severity};
use std::collections::BTreeSet;

pub(crate) struct Unique;
const ID: RuleId = RuleId("UNIT-07");

impl Rule for Unique {
    fn id(&self) -> RuleId {
        ID
    }
    fn name(&self) -> &'static str {
        "unique-number"
    }
    fn severity(&self) -> Severity {
        Severity::E
    }
    fn scope(&self) -> Scope {
        Scope::Layer
    }
    fn describe(&self) -> (&'static str, &'static str) {
        ("不动产单元号(宗地代码、自然幢号)在同一表的所有来源中唯一", "unit numbers (parcel codes, building numbers) are unique across every source of a table")
    }
    fn codes(&self) -> &'static [SubCode] {
        &[
            SubCode {
                code: "E01",
                zh: "不动产单元号重复",
                en: "duplicate unit number",
            },
            SubCode {
                code: "E02",
                zh: "宗地代码或自然幢号重复",
                en: "duplicate parcel code or building number",
            },
        ]
    }
    fn needs(&self) -> &'static str {
        "ZDJBXX, ZRZ or H rows"
    }
    fn applies(&self, cx: &RuleContext<'_>) -> bool {
        ["ZDJBXX", "ZRZ", "H"].iter().any(|t| cx.has(t))
    }
    fn prepare(&self, cx: &RuleContext<'_>) {
        cx.parcel_keys();
        cx.building_keys();
    }
    fn check(
        &self,
        cx: &RuleContext<'_>,
        emit: &mut dyn FnMut(RuleFinding),
    ) -> Result<(), RuleError> {
        let mut done: BTreeSet<(usize, usize)> = BTreeSet::new();
        for (table, field, sub) in [
            ("ZDJBXX", "BDCDYH", "E01"),
            ("ZDJBXX", "ZDDM", "E02"),
            ("ZRZ", "ZRZH", "E02"),
            ("H", "BDCDYH", "E01"),
        ] {
            if !cx.has(table) {
                continue;
            }
            let owned;
            let index = match (table, field) {
                ("ZDJBXX", "ZDDM") => cx.parcel_keys(),
                ("ZRZ", "ZRZH") => cx.building_keys(),
                _ => {
                    owned = cx.key_index_of(table, field);
                    &owned
                }
            };
            for (value, items) in index.duplicates() {
                let rows: Vec<(usize, usize)> = items
                    .iter()
                    .filter_map(|&i| cx.table_item(table, i))
                    .collect();
                for &(l, r) in &rows {
                    if !done.insert((l, r)) {
                        continue;
                    }
                    // the other rows by source and legacy row (else legacy key), sorted
                    let mut others: Vec<String> = rows
                        .iter()
                        .filter(|x| **x != (l, r))
                        .map(|&(ol, or)| {
                            let layer = &cx.layers[ol];
                            let legacy = match (
                                layer.field("src_row").f64(or),
                                layer.field("src_key").value(or),
                            ) {
                                (Some(v), _) => format!("#{v}"),
                                (None, Some(k)) => k.to_string(),
                                (None, None) => format!("#{or}"),
                            };
                            format!("{} {legacy}", layer.source)
                        })
                        .collect();
                    others.sort();
                    let n = rows.len();
                    let list = others.join(", ");
                    emit(
                        cx.at(
                            ID,
                            sub,
                            l,
                            r,
                            format!("{field} {value}在{n}条记录中重复(另见{list})"),
                            format!("{field} {value} is held by {n} rows (also {list})"),
                        )
                        .value(n as f64, Some(1.0)),
                    );
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
    fn duplicates_across_sources() {
        let a = layer("ZDJBXX", "laiwu")
            .row(
                &[
                    ("ZDDM", "371202001002JC00154"),
                    ("BDCDYH", "371202001002JC00154W00000000"),
                ],
                None,
            )
            .row(
                &[
                    ("ZDDM", "371202001002JC00155"),
                    ("BDCDYH", "371202001002JC00155W00000000"),
                ],
                None,
            )
            .row(
                &[
                    ("ZDDM", "371202001002JC00154"),
                    ("BDCDYH", "371202001002JC00154W00000000"),
                ],
                None,
            );
        let b = layer("ZDJBXX", "other").row(
            &[
                ("ZDDM", "371202001002JC00155"),
                ("BDCDYH", "371202001002JC00155L00000001"),
            ],
            None,
        );
        let f = check(
            &[a, b],
            "UNIT-07",
            &[
                "UNIT-07-E01 371202001002JC00154",
                "UNIT-07-E01 371202001002JC00154",
                "UNIT-07-E02 371202001002JC00155",
                "UNIT-07-E02 371202001002JC00155",
            ],
        );
        assert_eq!(f[0].at, Some((0, 0)));
        assert_eq!(f[1].at, Some((0, 2)));
        assert!(f[2].finding.message_en.contains("other_zdjbxx"));
        let ok = layer("H", "laiwu")
            .row(&[("BDCDYH", "371202001002GB00015F00010001")], None)
            .row(&[("BDCDYH", "371202001002GB00015F00010002")], None);
        check(&[ok], "UNIT-07", &[]);
    }
}
