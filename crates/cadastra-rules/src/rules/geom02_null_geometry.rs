//! GEOM-02 null-geometry: a parcel or building without geometry, or with an empty one — E.
//!
//! Sub-codes: E01 null or empty geometry.
//!
//! Options: none.

use crate::{Rule, RuleContext, RuleError, RuleFinding, Scope, SubCode};
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
    fn codes(&self) -> &'static [SubCode] {
        &[SubCode {
            code: "E01",
            zh: "图形为空",
            en: "geometry is null or empty",
        }]
    }
    fn needs(&self) -> &'static str {
        "a layer with geometry (ZDJBXX, ZRZ)"
    }
    fn applies(&self, cx: &RuleContext<'_>) -> bool {
        cx.layers.iter().any(|l| l.spatial() && !l.is_empty())
    }
    fn check(
        &self,
        cx: &RuleContext<'_>,
        emit: &mut dyn FnMut(RuleFinding),
    ) -> Result<(), RuleError> {
        for (li, l) in cx.layers.iter().enumerate() {
            if !l.spatial() {
                continue;
            }
            for r in 0..l.len() {
                let empty = match l.geom(r) {
                    None => true,
                    Some(g) => g.0.iter().all(|p| p.exterior().0.is_empty()),
                };
                if empty {
                    emit(cx.at(
                        ID,
                        "E01",
                        li,
                        r,
                        "图形为空".into(),
                        "geometry is null or empty".into(),
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
    fn null_and_empty_geometries() {
        let l = layer("ZDJBXX", "laiwu")
            .row(&[("ZDDM", "A")], Some(rect(0.0, 0.0, 1.0, 1.0)))
            .row(&[("ZDDM", "B")], None)
            .row(&[("ZDDM", "C")], Some(geo_types::MultiPolygon(vec![])));
        check(&[l], "GEOM-02", &["GEOM-02-E01 B", "GEOM-02-E01 C"]);
        let ok = layer("ZRZ", "laiwu").row(&[("ZRZH", "A")], Some(rect(0.0, 0.0, 1.0, 1.0)));
        check(&[ok], "GEOM-02", &[]);
    }
}
