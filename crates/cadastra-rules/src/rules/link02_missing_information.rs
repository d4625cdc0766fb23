//! LINK-02 missing-information: registered parcels and units whose registration data is
//! incomplete — 信息缺失 — W (the plan's review list; ATTR-01 reports the same empty fields on
//! every record, this rule lists them for registered units only, next to the missing holder).
//!
//! - W01 a current right whose BDCDYH has no right holder (QLR) in the run;
//! - W02 a right holder of a currently registered unit without ZJH or QLRMC (named by QLRKEY);
//! - W03 a parcel with a current right (its ZDDM starts a current right's BDCDYH) without ZL, YT
//!   or a positive ZDMJ.
//!
//! W01/W02 apply when the run holds right holders, W03 when it holds parcels; all need rights.
//! No 界址点 check: the run has no boundary points (TOPO-06).
//!
//! Options: none.

use crate::rules::link01_parcel_without_right::registered_parcels;
use crate::util::is_current;
use crate::{Rule, RuleContext, RuleError, RuleFinding, Scope, SubCode};
use cadastra_model::{RuleId, Severity};
use std::collections::HashSet;

pub(crate) struct MissingInformation;
const ID: RuleId = RuleId("LINK-02");

impl Rule for MissingInformation {
    fn id(&self) -> RuleId {
        ID
    }
    fn name(&self) -> &'static str {
        "missing-information"
    }
    fn severity(&self) -> Severity {
        Severity::W
    }
    fn scope(&self) -> Scope {
        Scope::Layer
    }
    fn describe(&self) -> (&'static str, &'static str) {
        (
            "信息缺失: 有现势权利的宗地/单元缺少权利人、证件号、坐落、用途或面积",
            "missing information: registered parcels/units without holder, ID number, address, land use or area",
        )
    }
    fn codes(&self) -> &'static [SubCode] {
        &[
            SubCode {
                code: "W01",
                zh: "现势权利无权利人",
                en: "current right without a holder",
            },
            SubCode {
                code: "W02",
                zh: "权利人缺少证件号或名称",
                en: "holder without ID number or name",
            },
            SubCode {
                code: "W03",
                zh: "已登记宗地缺少坐落、用途或面积",
                en: "registered parcel without address, land use or area",
            },
        ]
    }
    fn needs(&self) -> &'static str {
        "rights tables, and right holders (QLR) or parcels (ZDJBXX)"
    }
    fn applies(&self, cx: &RuleContext<'_>) -> bool {
        cx.has_rights() && (cx.has("QLR") || cx.has("ZDJBXX"))
    }
    fn check(
        &self,
        cx: &RuleContext<'_>,
        emit: &mut dyn FnMut(RuleFinding),
    ) -> Result<(), RuleError> {
        if cx.has("QLR") {
            let mut holders: HashSet<&str> = HashSet::new();
            for (_, l) in cx.layers_of("QLR") {
                let b = l.field("BDCDYH");
                holders.extend((0..l.len()).filter_map(|r| b.value(r)));
            }
            let mut current: HashSet<&str> = HashSet::new();
            for (li, l) in cx.right_layers() {
                let (b, q) = (l.field("BDCDYH"), l.field("QSZT"));
                for r in 0..l.len() {
                    let Some(u) = b.value(r) else { continue };
                    if !is_current(q.text(r)) {
                        continue;
                    }
                    current.insert(u);
                    if !holders.contains(u) {
                        emit(
                            cx.at(
                                ID,
                                "W01",
                                li,
                                r,
                                format!("现势权利(单元{u})没有权利人"),
                                format!("current right on unit {u} has no right holder"),
                            )
                            .other(u),
                        );
                    }
                }
            }
            for (li, l) in cx.layers_of("QLR") {
                let (b, zjh, mc) = (l.field("BDCDYH"), l.field("ZJH"), l.field("QLRMC"));
                for r in 0..l.len() {
                    if !b.value(r).is_some_and(|u| current.contains(u)) {
                        continue;
                    }
                    let missing: Vec<&str> = [("ZJH", zjh.is_blank(r)), ("QLRMC", mc.is_blank(r))]
                        .into_iter()
                        .filter(|x| x.1)
                        .map(|x| x.0)
                        .collect();
                    if !missing.is_empty() {
                        let m = missing.join("、");
                        let me = missing.join(", ");
                        emit(cx.at(
                            ID,
                            "W02",
                            li,
                            r,
                            format!("已登记单元的权利人缺少{m}"),
                            format!("holder of a registered unit without {me}"),
                        ));
                    }
                }
            }
        }
        if cx.has("ZDJBXX") {
            let reg = registered_parcels(cx);
            for (li, l) in cx.layers_of("ZDJBXX") {
                let (zddm, zl, yt, zdmj) = (
                    l.field("ZDDM"),
                    l.field("ZL"),
                    l.field("YT"),
                    l.field("ZDMJ"),
                );
                for r in 0..l.len() {
                    if !zddm.value(r).is_some_and(|z| reg.contains(z)) {
                        continue;
                    }
                    let missing: Vec<&str> = [
                        ("ZL", zl.is_blank(r)),
                        ("YT", yt.is_blank(r)),
                        ("ZDMJ", zdmj.f64(r).is_none_or(|v| v <= 0.0)),
                    ]
                    .into_iter()
                    .filter(|x| x.1)
                    .map(|x| x.0)
                    .collect();
                    if !missing.is_empty() {
                        emit(cx.at(
                            ID,
                            "W03",
                            li,
                            r,
                            format!("已登记宗地缺少{}", missing.join("、")),
                            format!("registered parcel without {}", missing.join(", ")),
                        ));
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
    fn holders_and_parcel_data() {
        let zd = layer("ZDJBXX", "laiwu")
            .row(
                &[
                    ("ZDDM", "371202001001GB00001"),
                    ("ZL", "x"),
                    ("YT", "0701"),
                    ("ZDMJ", "10"),
                ],
                None,
            )
            .row(
                &[
                    ("ZDDM", "371202001001GB00002"),
                    ("YT", "0701"),
                    ("ZDMJ", "0"),
                ],
                None,
            )
            .row(&[("ZDDM", "371202001001GB00003")], None);
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
                    ("BDCDYH", "371202001001GB00003W00000000"),
                    ("QSZT", "2"),
                ],
                None,
            );
        let q = layer("QLR", "laiwu")
            .row(
                &[
                    ("QLRKEY", "371202001001GB00001W00000000-1"),
                    ("BDCDYH", "371202001001GB00001W00000000"),
                    ("QLRMC", "张三"),
                    ("ZJH", "1"),
                ],
                None,
            )
            .row(
                &[
                    ("QLRKEY", "371202001001GB00001W00000000-2"),
                    ("BDCDYH", "371202001001GB00001W00000000"),
                    ("QLRMC", "张三"),
                ],
                None,
            );
        let f = check(
            &[zd, r, q],
            "LINK-02",
            &[
                "LINK-02-W01 Y2 371202001001GB00002W00000000",
                "LINK-02-W02 371202001001GB00001W00000000-2",
                "LINK-02-W03 371202001001GB00002",
            ],
        );
        assert!(f[2].finding.message_en.ends_with("ZL, ZDMJ"));
    }
}
