//! LINK-04 orphans: "证落户、户落幢、幢落宗" — every house unit hangs on a building, every building
//! on a parcel — W.
//!
//! - W01 a house unit (H) whose ZRZH is no building of the run (when the run holds buildings);
//! - W02 a building (ZRZ) whose ZDDM is no parcel of the run (when the run holds parcels);
//! - W03 楼盘表 disorder: two house units of one building with the same 户号 (HH), or the same
//!   floor (CH) and room (SHBW), under different unit numbers.
//!
//! Keys are compared across every source of the run (a 钢城区 building may stand on a parcel of
//! another delivery). 逻辑幢 and 层 tables are not in the registry schema.
//!
//! Options: none.

use crate::{Rule, RuleContext, RuleError, RuleFinding, Scope, SubCode};
use cadastra_model::{RuleId, Severity};
use std::collections::{BTreeMap, HashSet};

pub(crate) struct Orphans;

/// A house unit: its number, layer and row.
type UnitRow<'a> = (&'a str, usize, usize);
const ID: RuleId = RuleId("LINK-04");

fn values<'a>(cx: &RuleContext<'a>, table: &str, field: &str) -> HashSet<&'a str> {
    let mut s = HashSet::new();
    for (_, l) in cx.layers_of(table) {
        let f = l.field(field);
        s.extend((0..l.len()).filter_map(|r| f.value(r)));
    }
    s
}

impl Rule for Orphans {
    fn id(&self) -> RuleId {
        ID
    }
    fn name(&self) -> &'static str {
        "orphans"
    }
    fn severity(&self) -> Severity {
        Severity::W
    }
    fn scope(&self) -> Scope {
        Scope::Layer
    }
    fn describe(&self) -> (&'static str, &'static str) {
        ("户落幢、幢落宗: 户无自然幢, 自然幢无宗地, 楼盘表户号/室号重复", "units hang on buildings, buildings on parcels: unit without building, building without parcel, duplicate rooms in the 楼盘表")
    }
    fn codes(&self) -> &'static [SubCode] {
        &[
            SubCode {
                code: "W01",
                zh: "户无自然幢",
                en: "house unit without building",
            },
            SubCode {
                code: "W02",
                zh: "自然幢无宗地",
                en: "building without parcel",
            },
            SubCode {
                code: "W03",
                zh: "同一自然幢内户号或室号重复",
                en: "duplicate unit or room number in a building",
            },
        ]
    }
    fn needs(&self) -> &'static str {
        "house units (H) with buildings (ZRZ), or buildings with parcels (ZDJBXX)"
    }
    fn applies(&self, cx: &RuleContext<'_>) -> bool {
        cx.has("H") || (cx.has("ZRZ") && cx.has("ZDJBXX"))
    }
    fn check(
        &self,
        cx: &RuleContext<'_>,
        emit: &mut dyn FnMut(RuleFinding),
    ) -> Result<(), RuleError> {
        if cx.has("ZRZ") {
            let zrzh = values(cx, "ZRZ", "ZRZH");
            for (li, l) in cx.layers_of("H") {
                let f = l.field("ZRZH");
                for r in 0..l.len() {
                    let Some(z) = f.value(r) else { continue };
                    if !zrzh.contains(z) {
                        emit(
                            cx.at(
                                ID,
                                "W01",
                                li,
                                r,
                                format!("户所在自然幢{z}不存在"),
                                format!("building {z} of the house unit does not exist"),
                            )
                            .other(z),
                        );
                    }
                }
            }
        }
        if cx.has("ZDJBXX") {
            let zddm = values(cx, "ZDJBXX", "ZDDM");
            for (li, l) in cx.layers_of("ZRZ") {
                let f = l.field("ZDDM");
                for r in 0..l.len() {
                    let Some(z) = f.value(r) else { continue };
                    if !zddm.contains(z) {
                        emit(
                            cx.at(
                                ID,
                                "W02",
                                li,
                                r,
                                format!("自然幢所在宗地{z}不存在"),
                                format!("parcel {z} of the building does not exist"),
                            )
                            .other(z),
                        );
                    }
                }
            }
        }
        // 楼盘表: (ZRZH, HH) and (ZRZH, CH, SHBW) identify one unit; in a group of units sharing
        // one, every unit but the smallest number is listed, against the smallest (so the
        // findings do not depend on the input order)
        let mut groups: BTreeMap<(&str, String), Vec<UnitRow>> = BTreeMap::new();
        for (li, l) in cx.layers_of("H") {
            let (b, z, hh, ch, sh) = (
                l.field("BDCDYH"),
                l.field("ZRZH"),
                l.field("HH"),
                l.field("CH"),
                l.field("SHBW"),
            );
            for r in 0..l.len() {
                let (Some(u), Some(zr)) = (b.value(r), z.value(r)) else {
                    continue;
                };
                if let Some(h) = hh.cell(r).as_text() {
                    groups
                        .entry((zr, format!("户号{h}")))
                        .or_default()
                        .push((u, li, r));
                }
                if let (Some(c), Some(s)) = (ch.value(r), sh.value(r)) {
                    groups
                        .entry((zr, format!("{c}层{s}室")))
                        .or_default()
                        .push((u, li, r));
                }
            }
        }
        let mut dup: Vec<(usize, usize, String, String)> = Vec::new();
        for ((_, id), units) in groups {
            let Some(&(first, _, _)) = units.iter().min_by_key(|x| x.0) else {
                continue;
            };
            for &(u, li, r) in &units {
                if u != first {
                    dup.push((li, r, id.clone(), first.to_string()));
                }
            }
        }
        for (li, r, id, other) in dup {
            emit(
                cx.at(
                    ID,
                    "W03",
                    li,
                    r,
                    format!("同一自然幢内{id}与单元{other}重复"),
                    format!("{id} repeats unit {other} in the same building"),
                )
                .other(other),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::testkit::*;

    #[test]
    fn chain_of_units_buildings_parcels() {
        let zd = layer("ZDJBXX", "laiwu").row(&[("ZDDM", "371202001001GB00001")], None);
        let zrz = layer("ZRZ", "laiwu")
            .row(
                &[
                    ("ZRZH", "371202001001GB00001F0001"),
                    ("ZDDM", "371202001001GB00001"),
                ],
                None,
            )
            .row(
                &[
                    ("ZRZH", "371202001001GB00002F0001"),
                    ("ZDDM", "371202001001GB00002"),
                ],
                None,
            );
        let h = layer("H", "laiwu")
            .row(
                &[
                    ("BDCDYH", "371202001001GB00001F00010001"),
                    ("ZRZH", "371202001001GB00001F0001"),
                    ("HH", "1"),
                    ("CH", "1"),
                    ("SHBW", "101"),
                ],
                None,
            )
            .row(
                &[
                    ("BDCDYH", "371202001001GB00001F00010002"),
                    ("ZRZH", "371202001001GB00001F0001"),
                    ("HH", "2"),
                    ("CH", "1"),
                    ("SHBW", "101"),
                ],
                None,
            )
            .row(
                &[
                    ("BDCDYH", "371202001001GB00009F00010001"),
                    ("ZRZH", "371202001001GB00009F0001"),
                    ("HH", "1"),
                ],
                None,
            );
        check(
            &[zd, zrz, h],
            "LINK-04",
            &[
                "LINK-04-W01 371202001001GB00009F00010001 371202001001GB00009F0001",
                "LINK-04-W02 371202001001GB00002F0001 371202001001GB00002",
                "LINK-04-W03 371202001001GB00001F00010002 371202001001GB00001F00010001",
            ],
        );
    }
}
