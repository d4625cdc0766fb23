//! ATTR-07 address: the 坐落 of a building agrees with its parcel's, a house unit's with its
//! building's — W.
//!
//! Addresses are compared normalised (half-width, no blanks or punctuation): they agree when one
//! begins with the other (a building may add "1号楼", a unit "1单元101室"). Parents are found by
//! key (ZRZ.ZDDM → ZDJBXX.ZDDM, H.ZRZH → ZRZ.ZRZH; any of them when a key is duplicated);
//! missing addresses are ATTR-01's.
//!
//! Sub-codes: W01 building address differs from its parcel's, W02 house-unit address differs
//! from its building's.
//!
//! Options: none.

use crate::util::norm_address;
use crate::{Rule, RuleContext, RuleError, RuleFinding, Scope, SubCode};
use cadastra_model::{RuleId, Severity};

pub(crate) struct Address;
const ID: RuleId = RuleId("ATTR-07");

/// Addresses of a table's rows, in the item order of its key index.
fn addresses<'a>(cx: &RuleContext<'a>, table: &str) -> Vec<Option<&'a str>> {
    cx.layers_of(table)
        .flat_map(|(_, l)| {
            let zl = l.field("ZL");
            (0..l.len()).map(move |r| zl.value(r))
        })
        .collect()
}

fn agree(a: &str, b: &str) -> bool {
    if a == b || a.starts_with(b) || b.starts_with(a) {
        return true;
    }
    let (a, b) = (norm_address(a), norm_address(b));
    a.starts_with(&b) || b.starts_with(&a)
}

impl Rule for Address {
    fn id(&self) -> RuleId {
        ID
    }
    fn name(&self) -> &'static str {
        "address"
    }
    fn severity(&self) -> Severity {
        Severity::W
    }
    fn scope(&self) -> Scope {
        Scope::Feature
    }
    fn describe(&self) -> (&'static str, &'static str) {
        ("自然幢、户的坐落与所在宗地、自然幢的坐落一致(规范化后比较)", "the address (坐落) of a building / house unit agrees with its parcel's / building's (compared normalised)")
    }
    fn codes(&self) -> &'static [SubCode] {
        &[
            SubCode {
                code: "W01",
                zh: "自然幢坐落与宗地坐落不一致",
                en: "building address differs from its parcel's",
            },
            SubCode {
                code: "W02",
                zh: "户坐落与自然幢坐落不一致",
                en: "house-unit address differs from its building's",
            },
        ]
    }
    fn needs(&self) -> &'static str {
        "buildings (ZRZ) with parcels (ZDJBXX), or house units (H) with buildings"
    }
    fn applies(&self, cx: &RuleContext<'_>) -> bool {
        cx.has("ZRZ") && (cx.has("ZDJBXX") || cx.has("H"))
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
        for (child, key, parent, sub, zh, en) in [
            ("ZRZ", "ZDDM", "ZDJBXX", "W01", "宗地", "parcel"),
            ("H", "ZRZH", "ZRZ", "W02", "自然幢", "building"),
        ] {
            if !cx.has(child) || !cx.has(parent) {
                continue;
            }
            let index = if parent == "ZDJBXX" {
                cx.parcel_keys()
            } else {
                cx.building_keys()
            };
            let zls = addresses(cx, parent);
            for (li, l) in cx.layers_of(child) {
                let (k, zl) = (l.field(key), l.field("ZL"));
                for r in 0..l.len() {
                    let (Some(k), Some(z)) = (k.value(r), zl.value(r)) else {
                        continue;
                    };
                    let ps: Vec<&str> = index
                        .get(k)
                        .filter_map(|i| zls.get(i).copied().flatten())
                        .collect();
                    let Some(&p) = ps.iter().min() else { continue };
                    if !ps.iter().any(|p| agree(z, p)) {
                        emit(
                            cx.at(
                                ID,
                                sub,
                                li,
                                r,
                                format!("坐落“{z}”与{zh}{k}的坐落“{p}”不一致"),
                                format!("address “{z}” differs from {en} {k}'s “{p}”"),
                            )
                            .other(k),
                        );
                    }
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
    fn addresses_follow_the_parent() {
        let zd =
            layer("ZDJBXX", "laiwu").row(&[("ZDDM", "P1"), ("ZL", "莱城区杨庄镇莲河路18号")], None);
        let zrz = layer("ZRZ", "laiwu")
            .row(
                &[
                    ("ZRZH", "B1"),
                    ("ZDDM", "P1"),
                    ("ZL", "莱城区杨庄镇莲河路18号1号楼"),
                ],
                None,
            )
            .row(
                &[
                    ("ZRZH", "B2"),
                    ("ZDDM", "P1"),
                    ("ZL", "莱城区 杨庄镇莲河路１８号"),
                ],
                None,
            )
            .row(
                &[
                    ("ZRZH", "B3"),
                    ("ZDDM", "P1"),
                    ("ZL", "莱城区杨庄镇莲河路20号"),
                ],
                None,
            );
        let h = layer("H", "laiwu")
            .row(
                &[
                    ("BDCDYH", "U1"),
                    ("ZRZH", "B1"),
                    ("ZL", "莱城区杨庄镇莲河路18号1号楼1单元101室"),
                ],
                None,
            )
            .row(
                &[
                    ("BDCDYH", "U2"),
                    ("ZRZH", "B1"),
                    ("ZL", "钢城区艾山街道兴业路39号"),
                ],
                None,
            );
        let f = check(
            &[zd, zrz, h],
            "ATTR-07",
            &["ATTR-07-W01 B3 P1", "ATTR-07-W02 U2 B1"],
        );
        assert!(f[0].finding.message_en.contains("20号"));
    }
}
