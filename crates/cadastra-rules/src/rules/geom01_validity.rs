//! GEOM-01 invalid-geometry: OGC validity exactly as GEOS `isValid` decides it (cadastra-geom's
//! `validate_multipolygon`: exact predicates, typed errors with the location GEOS reports) — E.
//!
//! One finding per invalid parcel or building, located at the error. Invalid geometries are
//! left out of the other geometric rules (TOPO-*, AREA-01, AREA-06, GEOM-05): their overlaps,
//! gaps and areas are not meaningful until the geometry is repaired (GEOM-03 still lists their
//! vertex defects, which often explain the invalidity).
//!
//! Sub-codes: E01 self-intersection (edges cross or overlap), E02 ring touches itself, E03 too
//! few points, E04 ring not closed, E05 hole outside its shell, E06 nested holes, E07 disconnected
//! interior, E08 nested shells, E09 invalid coordinate (NaN or infinite).
//!
//! Options: none.

use crate::{Rule, RuleContext, RuleError, RuleFinding, Scope, SubCode};
use cadastra_geom::Invalid;
use cadastra_model::{RuleId, Severity};

pub(crate) struct Validity;
pub(crate) const ID: RuleId = RuleId("GEOM-01");

const CODES: &[SubCode] = &[
    SubCode {
        code: "E01",
        zh: "边自相交(线段交叉或重叠)",
        en: "self-intersection: edges cross or overlap",
    },
    SubCode {
        code: "E02",
        zh: "环自接触",
        en: "a ring touches itself",
    },
    SubCode {
        code: "E03",
        zh: "点数不足",
        en: "too few points",
    },
    SubCode {
        code: "E04",
        zh: "环未闭合",
        en: "ring not closed",
    },
    SubCode {
        code: "E05",
        zh: "内环位于外环之外",
        en: "hole outside its shell",
    },
    SubCode {
        code: "E06",
        zh: "内环嵌套",
        en: "nested holes",
    },
    SubCode {
        code: "E07",
        zh: "面内部不连通",
        en: "disconnected interior",
    },
    SubCode {
        code: "E08",
        zh: "多部件面外环嵌套",
        en: "nested shells",
    },
    SubCode {
        code: "E09",
        zh: "坐标无效(NaN或无穷大)",
        en: "invalid coordinate (NaN or infinite)",
    },
];

fn sub(e: &Invalid) -> &'static str {
    match e {
        Invalid::SelfIntersection { .. } => "E01",
        Invalid::RingSelfIntersection { .. } => "E02",
        Invalid::TooFewPoints { .. } => "E03",
        Invalid::RingNotClosed { .. } => "E04",
        Invalid::HoleOutsideShell { .. } => "E05",
        Invalid::NestedHoles { .. } => "E06",
        Invalid::DisconnectedInterior { .. } => "E07",
        Invalid::NestedShells { .. } => "E08",
        Invalid::InvalidCoordinate { .. } => "E09",
    }
}

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
        (
            "图形不符合OGC有效性(与GEOS判定一致: 自相交、环自接触、环未闭合、洞在外环外、内环嵌套、内部不连通)",
            "geometry is not OGC-valid as GEOS decides it (self-intersection, self-touching ring, unclosed ring, hole outside shell, nested rings, disconnected interior)",
        )
    }
    fn codes(&self) -> &'static [SubCode] {
        CODES
    }
    fn needs(&self) -> &'static str {
        "a layer with geometry (ZDJBXX, ZRZ)"
    }
    fn applies(&self, cx: &RuleContext<'_>) -> bool {
        cx.layers.iter().any(|l| l.spatial() && !l.is_empty())
    }
    fn prepare(&self, cx: &RuleContext<'_>) {
        cx.validity();
    }
    fn check(
        &self,
        cx: &RuleContext<'_>,
        emit: &mut dyn FnMut(RuleFinding),
    ) -> Result<(), RuleError> {
        for (li, v) in cx.validity().iter().enumerate() {
            for (r, e) in &v.errors {
                let mut f = cx.at(
                    ID,
                    sub(e),
                    li,
                    *r,
                    format!("图形无效: {}", e.zh()),
                    format!("invalid geometry: {}", e.en()),
                );
                if let Some(c) = e.location() {
                    f = f.xy(c.x, c.y);
                }
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
    fn valid_parcels_pass_and_invalid_ones_are_typed() {
        let ok = layer("ZDJBXX", "laiwu").row(&[("ZDDM", "A")], Some(rect(0.0, 0.0, 10.0, 10.0)));
        check(&[ok], "GEOM-01", &[]);
        let bad = layer("ZDJBXX", "laiwu")
            .row(
                &[("ZDDM", "BOWTIE")],
                Some(poly(&[(0.0, 0.0), (10.0, 10.0), (10.0, 0.0), (0.0, 10.0)])),
            )
            .row(&[("ZDDM", "OK")], Some(rect(20.0, 0.0, 30.0, 10.0)))
            .row(
                &[("ZDDM", "SPIKE")],
                Some(poly(&[
                    (40.0, 0.0),
                    (50.0, 0.0),
                    (50.0, 10.0),
                    (50.0, 0.0),
                    (40.0, 10.0),
                ])),
            );
        let f = check(
            &[bad],
            "GEOM-01",
            &["GEOM-01-E01 BOWTIE", "GEOM-01-E01 SPIKE"],
        );
        assert_eq!(
            (f[0].finding.x, f[0].finding.y),
            (Some(5.0), Some(5.0)),
            "located at the crossing"
        );
        assert_eq!(f[0].at, Some((0, 0)));
        assert!(f[0].finding.message_zh.contains("自相交"));
    }

    #[test]
    fn buildings_too_and_severity_can_be_lowered() {
        let b = layer("ZRZ", "laiwu").row(
            &[("ZRZH", "B1")],
            Some(poly(&[
                (0.0, 0.0),
                (10.0, 0.0),
                (5.0, 5.0),
                (10.0, 10.0),
                (0.0, 10.0),
                (5.0, 5.0),
            ])),
        );
        let f = check_with(
            &[b],
            "[rules.\"GEOM-01\"]\nseverity = \"W\"",
            "GEOM-01",
            &["GEOM-01-E02 B1"],
        );
        assert_eq!(f[0].finding.severity, cadastra_model::Severity::W);
    }
}
