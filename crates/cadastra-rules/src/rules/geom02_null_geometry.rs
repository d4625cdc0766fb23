//! GEOM-02 null-geometry: a parcel or building without geometry, or with an empty one (E).

use crate::{Rule, RuleContext, RuleError, RuleFinding, Scope};
use cadastra_model::{RuleId, Severity};

pub(crate) struct NullGeometry;
const ID: RuleId = RuleId("GEOM-02");

impl Rule for NullGeometry {
    fn id(&self) -> RuleId {
        ID
    }
    fn name(&self) -> &'static str {
        "null-geometry"
    }
    fn severity(&self) -> Severity {
        Severity::E
    }
    fn scope(&self) -> Scope {
        Scope::Feature
    }
    fn describe(&self) -> (&'static str, &'static str) {
        ("宗地/自然幢图形为空", "parcel or building without geometry")
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
            for r in 0..l.rows.len() {
                let empty = match l.geom(r) {
                    None => true,
                    Some(g) => g.0.is_empty() || g.0.iter().all(|p| p.exterior().0.is_empty()),
                };
                if empty {
                    emit(cx.finding(ID, "E01", sev, li, r, "图形为空".into(), "geometry is null or empty".into()));
                }
            }
        }
        Ok(())
    }
}
