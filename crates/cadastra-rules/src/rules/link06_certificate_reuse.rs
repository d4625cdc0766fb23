//! LINK-06 certificate-reuse: one certificate number (BDCQZH) belongs to one unit, and a unit has
//! at most one current ownership/use right — W.
//!
//! - W01 the same BDCQZH on current rights (QSZT 1) or right holders of different units
//!   (BDCDYH); one finding per right row holding it (per holder row when no right holds it),
//!   with another unit as `other_key`. Co-owners of one unit sharing a certificate are fine.
//! - W02 a unit with two or more current rights across the rights tables of the run (JSYDSYQ,
//!   FDCQ2, NYDSYQ, LQ: all ownership or use rights); one finding per right row, with another
//!   right's YWH as `other_key`.
//!
//! Options: none.

use crate::util::is_current;
use crate::{Rule, RuleContext, RuleError, RuleFinding, Scope, SubCode};
use cadastra_model::{RuleId, Severity};
use std::collections::{BTreeMap, BTreeSet};

pub(crate) struct CertificateReuse;
const ID: RuleId = RuleId("LINK-06");

impl Rule for CertificateReuse {
    fn id(&self) -> RuleId {
        ID
    }
    fn name(&self) -> &'static str {
        "certificate-reuse"
    }
    fn severity(&self) -> Severity {
        Severity::W
    }
    fn scope(&self) -> Scope {
        Scope::Layer
    }
    fn describe(&self) -> (&'static str, &'static str) {
        (
            "同一证号用于不同单元; 同一单元有两个现势权利",
            "the same certificate number on different units; one unit with two current rights",
        )
    }
    fn codes(&self) -> &'static [SubCode] {
        &[
            SubCode {
                code: "W01",
                zh: "同一证号用于不同单元",
                en: "certificate number on different units",
            },
            SubCode {
                code: "W02",
                zh: "同一单元有多个现势权利",
                en: "unit with several current rights",
            },
        ]
    }
    fn needs(&self) -> &'static str {
        "rights tables or right holders (QLR)"
    }
    fn applies(&self, cx: &RuleContext<'_>) -> bool {
        cx.has_rights() || cx.has("QLR")
    }
    fn check(
        &self,
        cx: &RuleContext<'_>,
        emit: &mut dyn FnMut(RuleFinding),
    ) -> Result<(), RuleError> {
        // certificate -> units; rows holding it (is_right, layer, row, unit)
        let mut units: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        let mut rows: BTreeMap<&str, Vec<(bool, usize, usize, &str)>> = BTreeMap::new();
        let mut current: BTreeMap<&str, Vec<(usize, usize)>> = BTreeMap::new();
        for (li, l) in cx.layers.iter().enumerate() {
            let right = l.def().right;
            if !right && l.table != "QLR" {
                continue;
            }
            let (z, b, q) = (l.field("BDCQZH"), l.field("BDCDYH"), l.field("QSZT"));
            for r in 0..l.len() {
                if right && !is_current(q.text(r)) {
                    continue;
                }
                let Some(u) = b.value(r) else { continue };
                if right {
                    current.entry(u).or_default().push((li, r));
                }
                if let Some(c) = z.value(r) {
                    units.entry(c).or_default().insert(u);
                    rows.entry(c).or_default().push((right, li, r, u));
                }
            }
        }
        for (c, us) in &units {
            if us.len() < 2 {
                continue;
            }
            let rs = &rows[c];
            let any_right = rs.iter().any(|x| x.0);
            for &(is_right, li, r, u) in rs {
                if any_right && !is_right {
                    continue;
                }
                let other = us.iter().find(|o| **o != u).copied().unwrap_or_default();
                let n = us.len();
                emit(
                    cx.at(
                        ID,
                        "W01",
                        li,
                        r,
                        format!("证号{c}用于{n}个不动产单元(另见{other})"),
                        format!("certificate {c} is used on {n} units (also {other})"),
                    )
                    .other(other),
                );
            }
        }
        for (u, rs) in current {
            if rs.len() < 2 {
                continue;
            }
            let ywh: Vec<String> = rs.iter().map(|&(l, r)| cx.layers[l].key(r)).collect();
            for (k, &(li, r)) in rs.iter().enumerate() {
                // the smallest other business number (independent of the input order)
                let other = ywh
                    .iter()
                    .enumerate()
                    .filter(|(j, y)| *j != k && **y != ywh[k])
                    .map(|(_, y)| y)
                    .min()
                    .unwrap_or(&ywh[k])
                    .clone();
                let n = rs.len();
                emit(
                    cx.at(
                        ID,
                        "W02",
                        li,
                        r,
                        format!("不动产单元{u}有{n}个现势权利(另见业务号{other})"),
                        format!("unit {u} has {n} current rights (also business number {other})"),
                    )
                    .other(other),
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
    fn certificates_and_current_rights() {
        let r = layer("JSYDSYQ", "laiwu")
            .row(
                &[
                    ("YWH", "Y1"),
                    ("BDCDYH", "U1"),
                    ("BDCQZH", "C1"),
                    ("QSZT", "1"),
                ],
                None,
            )
            .row(
                &[
                    ("YWH", "Y2"),
                    ("BDCDYH", "U2"),
                    ("BDCQZH", "C1"),
                    ("QSZT", "1"),
                ],
                None,
            )
            .row(
                &[
                    ("YWH", "Y3"),
                    ("BDCDYH", "U3"),
                    ("BDCQZH", "C3"),
                    ("QSZT", "1"),
                ],
                None,
            )
            // a historical right of U3 with its old certificate: fine
            .row(
                &[
                    ("YWH", "Y0"),
                    ("BDCDYH", "U3"),
                    ("BDCQZH", "C0"),
                    ("QSZT", "2"),
                ],
                None,
            );
        let f2 = layer("FDCQ2", "laiwu").row(
            &[
                ("YWH", "F1"),
                ("BDCDYH", "U3"),
                ("BDCQZH", "C4"),
                ("QSZT", "1"),
            ],
            None,
        );
        // two co-owners of U3 share C3: fine
        let q = layer("QLR", "laiwu")
            .row(
                &[("QLRKEY", "U3-1"), ("BDCDYH", "U3"), ("BDCQZH", "C3")],
                None,
            )
            .row(
                &[("QLRKEY", "U3-2"), ("BDCDYH", "U3"), ("BDCQZH", "C3")],
                None,
            )
            .row(
                &[("QLRKEY", "U5-1"), ("BDCDYH", "U5"), ("BDCQZH", "C5")],
                None,
            )
            .row(
                &[("QLRKEY", "U6-1"), ("BDCDYH", "U6"), ("BDCQZH", "C5")],
                None,
            );
        check(
            &[r, f2, q],
            "LINK-06",
            &[
                "LINK-06-W01 Y1 U2",
                "LINK-06-W01 Y2 U1",
                "LINK-06-W01 U5-1 U6",
                "LINK-06-W01 U6-1 U5",
                "LINK-06-W02 F1 Y3",
                "LINK-06-W02 Y3 F1",
            ],
        );
    }
}
