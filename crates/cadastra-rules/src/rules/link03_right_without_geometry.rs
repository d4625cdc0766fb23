//! LINK-03 right-without-geometry: a current right whose unit has no geometry in the run —
//! 有证无图 — W (the registration stands; the review list says which units need a survey).
//!
//! - W01 no parcel with a geometry carries the ZDDM of the right's BDCDYH (positions 1-19);
//! - W02 the BDCDYH is a virtual number (positions 7-12 `000000`, UNIT-08): registered without a
//!   real parcel;
//! - W03 a house unit (fixture F, 幢号 ≥ 0001) whose building (positions 1-24 = ZRZH) has no
//!   geometry, when the run holds buildings.
//!
//! Only current rights (QSZT 1, or missing) are listed: historical units disappear with splits
//! and merges. A geometry that is present but invalid still counts as present (GEOM-01). The
//! finding is keyed by the right's YWH, with its BDCDYH as `other_key`. Applies when the run holds
//! rights and parcels.
//!
//! Options: none.

use crate::util::is_current;
use crate::{Rule, RuleContext, RuleError, RuleFinding, Scope, SubCode};
use cadastra_model::{RuleId, Severity};
use std::collections::HashSet;

pub(crate) struct RightWithoutGeometry;
const ID: RuleId = RuleId("LINK-03");

/// Values of `field` of every row of `table` that has a (non-empty) geometry.
fn with_geometry<'a>(cx: &RuleContext<'a>, table: &str, field: &str) -> HashSet<&'a str> {
    let mut s = HashSet::new();
    for (_, l) in cx.layers_of(table) {
        let f = l.field(field);
        for r in 0..l.len() {
            if l.geom(r)
                .is_some_and(|g| g.0.iter().any(|p| !p.exterior().0.is_empty()))
            {
                if let Some(v) = f.value(r) {
                    s.insert(v);
                }
            }
        }
    }
    s
}

impl Rule for RightWithoutGeometry {
    fn id(&self) -> RuleId {
        ID
    }
    fn name(&self) -> &'static str {
        "right-without-geometry"
    }
    fn severity(&self) -> Severity {
        Severity::W
    }
    fn scope(&self) -> Scope {
        Scope::Layer
    }
    fn describe(&self) -> (&'static str, &'static str) {
        ("有证无图: 现势权利的不动产单元没有图形(含虚拟单元号000000)", "registration without geometry: a current right whose unit has no geometry (incl. virtual 000000 numbers)")
    }
    fn codes(&self) -> &'static [SubCode] {
        &[
            SubCode {
                code: "W01",
                zh: "有证无图: 无对应宗地图形",
                en: "no parcel geometry for the unit",
            },
            SubCode {
                code: "W02",
                zh: "虚拟单元号, 无实际宗地",
                en: "virtual unit number without a real parcel",
            },
            SubCode {
                code: "W03",
                zh: "房屋单元的自然幢无图形",
                en: "house unit whose building has no geometry",
            },
        ]
    }
    fn needs(&self) -> &'static str {
        "rights tables and parcels (ZDJBXX)"
    }
    fn applies(&self, cx: &RuleContext<'_>) -> bool {
        cx.has_rights() && cx.has("ZDJBXX")
    }
    fn check(
        &self,
        cx: &RuleContext<'_>,
        emit: &mut dyn FnMut(RuleFinding),
    ) -> Result<(), RuleError> {
        let parcels = with_geometry(cx, "ZDJBXX", "ZDDM");
        let buildings = cx.has("ZRZ").then(|| with_geometry(cx, "ZRZ", "ZRZH"));
        for (li, l) in cx.right_layers() {
            let (b, q) = (l.field("BDCDYH"), l.field("QSZT"));
            for r in 0..l.len() {
                if !is_current(q.text(r)) {
                    continue;
                }
                let Some(u) = b.value(r) else { continue };
                let Some(zddm) = u.get(0..19) else { continue };
                let (sub, zh, en) = if u.get(6..12) == Some("000000") {
                    (
                        "W02",
                        "有证无图: 虚拟不动产单元号, 无实际宗地".to_string(),
                        "registration without geometry: virtual unit number, no real parcel"
                            .to_string(),
                    )
                } else if !parcels.contains(zddm) {
                    (
                        "W01",
                        format!("有证无图: 宗地{zddm}没有图形"),
                        format!("registration without geometry: parcel {zddm} has no geometry"),
                    )
                } else if let (Some(bs), Some(zrzh)) = (&buildings, u.get(0..24)) {
                    let house = u.as_bytes().get(19) == Some(&b'F')
                        && u.get(20..24).is_some_and(|z| z != "0000");
                    if !house || bs.contains(zrzh) {
                        continue;
                    }
                    (
                        "W03",
                        format!("有证无图: 自然幢{zrzh}没有图形"),
                        format!("registration without geometry: building {zrzh} has no geometry"),
                    )
                } else {
                    continue;
                };
                emit(cx.at(ID, sub, li, r, zh, en).other(u));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::testkit::*;

    #[test]
    fn rights_with_and_without_geometry() {
        let zd = layer("ZDJBXX", "laiwu")
            .row(
                &[("ZDDM", "371202001001GB00001")],
                Some(rect(0.0, 0.0, 10.0, 10.0)),
            )
            .row(&[("ZDDM", "371202001001GB00002")], None);
        let zrz = layer("ZRZ", "laiwu").row(
            &[("ZRZH", "371202001001GB00001F0001")],
            Some(rect(1.0, 1.0, 5.0, 5.0)),
        );
        let r = layer("JSYDSYQ", "laiwu")
            .row(
                &[
                    ("YWH", "Y1"),
                    ("BDCDYH", "371202001001GB00001W00000000"),
                    ("QSZT", "1"),
                ],
                None,
            )
            .row(
                &[
                    ("YWH", "Y2"),
                    ("BDCDYH", "371202001001GB00002W00000000"),
                    ("QSZT", "1"),
                ],
                None,
            )
            .row(
                &[
                    ("YWH", "Y3"),
                    ("BDCDYH", "371202001001GB00999W00000000"),
                    ("QSZT", "2"),
                ],
                None,
            )
            .row(
                &[
                    ("YWH", "Y4"),
                    ("BDCDYH", "371202000000GB00001W00000000"),
                    ("QSZT", "1"),
                ],
                None,
            );
        let h = layer("FDCQ2", "laiwu")
            .row(
                &[
                    ("YWH", "F1"),
                    ("BDCDYH", "371202001001GB00001F00010001"),
                    ("QSZT", "1"),
                ],
                None,
            )
            .row(
                &[
                    ("YWH", "F2"),
                    ("BDCDYH", "371202001001GB00001F00020001"),
                    ("QSZT", "1"),
                ],
                None,
            );
        check(
            &[zd, zrz, r, h],
            "LINK-03",
            &[
                "LINK-03-W01 Y2 371202001001GB00002W00000000",
                "LINK-03-W02 Y4 371202000000GB00001W00000000",
                "LINK-03-W03 F2 371202001001GB00001F00020001",
            ],
        );
    }
}
