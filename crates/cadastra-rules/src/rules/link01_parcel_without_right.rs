//! LINK-01 parcel-without-right: a parcel with no current right — 宗地无登记 — W (a review list
//! for the registration office, not a load blocker: the parcel is surveyed land whether or not
//! it was registered).
//!
//! A parcel is registered when some current (QSZT 1; a missing QSZT counts as current) row of
//! any rights table in the run (JSYDSYQ, FDCQ2, NYDSYQ, LQ) has a BDCDYH starting with its ZDDM
//! (house rights on its buildings count). Applies only when the run holds rights.
//!
//! Sub-codes: W01 parcel without a current right.
//!
//! Options: none.

use crate::util::is_current;
use crate::{Rule, RuleContext, RuleError, RuleFinding, Scope, SubCode};
use cadastra_model::{RuleId, Severity};
use std::collections::HashSet;

pub(crate) struct ParcelWithoutRight;
const ID: RuleId = RuleId("LINK-01");

/// ZDDM prefixes (BDCDYH positions 1-19) of every current right of the run.
pub(crate) fn registered_parcels<'a>(cx: &RuleContext<'a>) -> HashSet<&'a str> {
    let mut set = HashSet::new();
    for (_, l) in cx.right_layers() {
        let (b, q) = (l.field("BDCDYH"), l.field("QSZT"));
        for r in 0..l.len() {
            if is_current(q.text(r)) {
                if let Some(p) = b.value(r).and_then(|b| b.get(0..19)) {
                    set.insert(p);
                }
            }
        }
    }
    set
}

impl Rule for ParcelWithoutRight {
    fn id(&self) -> RuleId {
        ID
    }
    fn name(&self) -> &'static str {
        "parcel-without-right"
    }
    fn severity(&self) -> Severity {
        Severity::W
    }
    fn scope(&self) -> Scope {
        Scope::Layer
    }
    fn describe(&self) -> (&'static str, &'static str) {
        (
            "宗地无登记: 没有单元号以其宗地代码开头的现势权利",
            "parcel without registration: no current right whose BDCDYH starts with its ZDDM",
        )
    }
    fn codes(&self) -> &'static [SubCode] {
        &[SubCode {
            code: "W01",
            zh: "宗地无登记",
            en: "parcel without a current right",
        }]
    }
    fn needs(&self) -> &'static str {
        "parcels (ZDJBXX) and rights tables"
    }
    fn applies(&self, cx: &RuleContext<'_>) -> bool {
        cx.has("ZDJBXX") && cx.has_rights()
    }
    fn check(
        &self,
        cx: &RuleContext<'_>,
        emit: &mut dyn FnMut(RuleFinding),
    ) -> Result<(), RuleError> {
        let reg = registered_parcels(cx);
        for (li, l) in cx.layers_of("ZDJBXX") {
            let (zddm, bdcdyh) = (l.field("ZDDM"), l.field("BDCDYH"));
            for r in 0..l.len() {
                let Some(z) = zddm
                    .value(r)
                    .or_else(|| bdcdyh.value(r).and_then(|b| b.get(0..19)))
                else {
                    continue;
                };
                if !reg.contains(z) {
                    emit(cx.at(
                        ID,
                        "W01",
                        li,
                        r,
                        "宗地无登记: 没有现势权利".into(),
                        "parcel without registration: no current right".into(),
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
    fn registered_and_unregistered() {
        let zd = layer("ZDJBXX", "laiwu")
            .row(&[("ZDDM", "371202001001GB00001")], None)
            .row(&[("ZDDM", "371202001001GB00002")], None)
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
                    ("BDCDYH", "371202001001GB00003W00000000"),
                    ("QSZT", "2"),
                ],
                None,
            );
        let h = layer("FDCQ2", "laiwu").row(
            &[
                ("YWH", "F1"),
                ("BDCDYH", "371202001001GB00002F00010001"),
                ("QSZT", "1"),
            ],
            None,
        );
        check(&[zd, r, h], "LINK-01", &["LINK-01-W01 371202001001GB00003"]);
        let zd = layer("ZDJBXX", "laiwu").row(&[("ZDDM", "371202001001GB00001")], None);
        assert_eq!(
            outcome(&[zd], "", "LINK-01"),
            crate::RuleOutcome::NotApplicable
        );
    }
}
