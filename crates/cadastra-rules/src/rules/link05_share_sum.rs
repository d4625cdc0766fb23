//! LINK-05 share-sum: the shares (QLBL) of the holders of a unit held 按份共有 (GYFS 2) add up
//! to 1 — W.
//!
//! Shares are parsed as fractions (`1/2`), percentages (`50%`) or decimals (`0.5`); a number
//! above 1 without a sign is read as a percentage. A unit is checked when any of its holders has
//! GYFS 2; the shares of those holders must sum to 1 within `tolerance`. Sole owners (GYFS 0)
//! and 共同共有 (GYFS 1, no shares) are not checked.
//!
//! Sub-codes: W01 shares do not sum to 1 (keyed by the unit's BDCDYH, `value` = the sum), W02 a
//! share that cannot be read (keyed by QLRKEY), W03 按份共有 with a single holder.
//!
//! Options: `tolerance` (default 0.001).

use crate::util::parse_share;
use crate::{Opt, OptValue, Rule, RuleContext, RuleError, RuleFinding, Scope, SubCode};
use cadastra_model::{RuleId, Severity};
use std::collections::BTreeMap;

pub(crate) struct ShareSum;

/// A co-owner in shares: layer, row, share.
type Holder = (usize, usize, Option<f64>);
const ID: RuleId = RuleId("LINK-05");
const TOL: Opt = Opt {
    key: "tolerance",
    default: OptValue::F64(0.001),
    inferred: false,
    doc: "allowed difference of the sum from 1",
};

impl Rule for ShareSum {
    fn id(&self) -> RuleId {
        ID
    }
    fn name(&self) -> &'static str {
        "share-sum"
    }
    fn severity(&self) -> Severity {
        Severity::W
    }
    fn scope(&self) -> Scope {
        Scope::Layer
    }
    fn describe(&self) -> (&'static str, &'static str) {
        ("按份共有: 同一单元权利人的权利比例之和为100%(可读1/2、50%、0.5)", "co-ownership in shares: the holders' shares of a unit sum to 100 % (reads 1/2, 50 %, 0.5)")
    }
    fn codes(&self) -> &'static [SubCode] {
        &[
            SubCode {
                code: "W01",
                zh: "权利比例之和不为1",
                en: "shares do not sum to 1",
            },
            SubCode {
                code: "W02",
                zh: "权利比例无法识别",
                en: "share cannot be read",
            },
            SubCode {
                code: "W03",
                zh: "按份共有只有一个权利人",
                en: "co-ownership in shares with a single holder",
            },
        ]
    }
    fn options(&self) -> &'static [Opt] {
        &[TOL]
    }
    fn needs(&self) -> &'static str {
        "right holders (QLR) with GYFS and QLBL"
    }
    fn applies(&self, cx: &RuleContext<'_>) -> bool {
        cx.has("QLR")
    }
    fn check(
        &self,
        cx: &RuleContext<'_>,
        emit: &mut dyn FnMut(RuleFinding),
    ) -> Result<(), RuleError> {
        let tol = cx.opt_f64(ID, &TOL);
        // unit -> holders (layer, row, share) of GYFS 2
        let mut units: BTreeMap<&str, Vec<Holder>> = BTreeMap::new();
        for (li, l) in cx.layers_of("QLR") {
            let (b, g, s) = (l.field("BDCDYH"), l.field("GYFS"), l.field("QLBL"));
            for r in 0..l.len() {
                let Some(u) = b.value(r) else { continue };
                if g.value(r) == Some("2") {
                    let share = s.value(r).and_then(parse_share);
                    if share.is_none() {
                        let m = if s.is_blank(r) {
                            "空".to_string()
                        } else {
                            format!("{:?}", s.value(r).unwrap_or_default())
                        };
                        let me = if s.is_blank(r) {
                            "empty".to_string()
                        } else {
                            format!("{:?}", s.value(r).unwrap_or_default())
                        };
                        emit(cx.at(
                            ID,
                            "W02",
                            li,
                            r,
                            format!("按份共有的权利比例无法识别: {m}"),
                            format!("share of a co-owner in shares cannot be read: {me}"),
                        ));
                    }
                    units.entry(u).or_default().push((li, r, share));
                }
            }
        }
        for (u, holders) in units {
            // the unit-level finding sits on the holder with the smallest QLRKEY
            let Some(&(li, r, _)) = holders.iter().min_by_key(|(l, r, _)| cx.layers[*l].key(*r))
            else {
                continue;
            };
            if holders.len() == 1 {
                let mut f = cx.at(
                    ID,
                    "W03",
                    li,
                    r,
                    "按份共有只有一个权利人".into(),
                    "co-ownership in shares with a single holder".into(),
                );
                f.finding.feature_key = u.to_string();
                emit(f);
                continue;
            }
            if holders.iter().any(|h| h.2.is_none()) {
                continue; // W02 says why
            }
            let sum: f64 = holders.iter().filter_map(|h| h.2).sum();
            if (sum - 1.0).abs() > tol {
                let n = holders.len();
                let pct = sum * 100.0;
                let mut f = cx
                    .at(
                        ID,
                        "W01",
                        li,
                        r,
                        format!("{n}个按份共有人的权利比例之和为{pct:.2}%"),
                        format!("the shares of {n} co-owners sum to {pct:.2} %"),
                    )
                    .value(sum, Some(tol));
                f.finding.feature_key = u.to_string();
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
    fn shares() {
        let row = |k: &'static str, u: &'static str, g: &'static str, s: &'static str| {
            [("QLRKEY", k), ("BDCDYH", u), ("GYFS", g), ("QLBL", s)]
        };
        let q = layer("QLR", "gangcheng")
            .row(&row("A-1", "A", "2", "1/2"), None)
            .row(&row("A-2", "A", "2", "50%"), None)
            .row(&row("B-1", "B", "2", "1/3"), None)
            .row(&row("B-2", "B", "2", "0.5"), None)
            .row(&row("C-1", "C", "2", "1/2"), None)
            .row(&row("C-2", "C", "2", "半"), None)
            .row(&row("D-1", "D", "2", "1"), None)
            .row(&row("E-1", "E", "1", ""), None)
            .row(&row("E-2", "E", "1", ""), None)
            .row(&row("F-1", "F", "0", "100%"), None)
            .row(&row("G-1", "G", "2", "1/3"), None)
            .row(&row("G-2", "G", "2", "1/3"), None)
            .row(&row("G-3", "G", "2", "33.3333%"), None);
        let f = check(
            &[q],
            "LINK-05",
            &["LINK-05-W01 B", "LINK-05-W02 C-2", "LINK-05-W03 D"],
        );
        assert!((f[0].finding.value.unwrap() - 5.0 / 6.0).abs() < 1e-12);
    }
}
