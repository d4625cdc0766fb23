//! GEOM-01 validity: OGC validity as GEOS decides it (self-intersection, ring closure, holes inside
//! the shell, no nested shells, connected interior) — E.

use crate::{Rule, RuleContext, RuleError, RuleFinding, Scope};
use cadastra_model::{RuleId, Severity};
use rayon::prelude::*;

pub(crate) struct Validity;
const ID: RuleId = RuleId("GEOM-01");

impl Rule for Validity {
    fn id(&self) -> RuleId {
        ID
    }
    fn name(&self) -> &'static str {
        "invalid-geometry"
    }
    fn severity(&self) -> Severity {
        Severity::E
    }
    fn scope(&self) -> Scope {
        Scope::Feature
    }
    fn describe(&self) -> (&'static str, &'static str) {
        ("图形不符合OGC有效性(自相交、环未闭合、洞在外等)", "geometry is not OGC-valid (self-intersection, unclosed ring, hole outside shell, ...)")
    }
    fn applies(&self, cx: &RuleContext<'_>) -> bool {
        cx.layers.iter().any(|l| l.def().geometry.is_some())
    }
    fn check(&self, cx: &RuleContext<'_>, emit: &mut dyn FnMut(RuleFinding)) -> Result<(), RuleError> {
        let sev = cx.options.severity(ID, Severity::E);
        for (li, l) in cx.layers.iter().enumerate() {
            if l.def().geometry.is_none() {
                continue;
            }
            let bad: Vec<(usize, String)> = (0..l.rows.len())
                .into_par_iter()
                .filter_map(|r| {
                    let g = l.geom(r)?;
                    if g.0.is_empty() {
                        return None; // GEOM-02
                    }
                    use geo::Validation;
                    let errs = g.validation_errors();
                    (!errs.is_empty()).then(|| (r, errs.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; ")))
                })
                .collect();
            for (r, why) in bad {
                emit(cx.finding(ID, "E01", sev, li, r, format!("图形无效: {why}"), format!("invalid geometry: {why}")));
            }
        }
        Ok(())
    }
}
