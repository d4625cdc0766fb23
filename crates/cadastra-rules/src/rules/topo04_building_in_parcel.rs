//! TOPO-04 building-in-parcel: a 自然幢 lies within its own 宗地, the one whose ZDDM equals
//! ZRZ.ZDDM (matched by key, not by location) — E when it sticks out, W for eaves-width noise.
//!
//! The part of the building outside its parcel is `building − parcel` (cadastra-geom
//! `outside_part`), computed only when a cheap exact test (every building vertex strictly inside
//! the parcel, no edge contact, no parcel hole inside the building) cannot prove containment.
//! How far it sticks out is the largest distance of an outside vertex from the parcel boundary:
//! up to `max_noise_width` it is W01 (eaves, digitising), beyond it E01. Outside parts narrower
//! than the 1 mm snap are not reported. When several parcels carry the ZDDM (UNIT-07), the one
//! that holds most of the building counts. A building whose parcel does not exist is LINK-04's;
//! invalid or missing geometries are GEOM-01/-02's.
//!
//! The finding is keyed by ZRZH with the parcel's ZDDM as `other_key`, carries the outside part,
//! `value` = how far it sticks out (m), `tolerance` = `max_noise_width`.
//!
//! Sub-codes: E01 building sticks out of its parcel, W01 sticks out by at most `max_noise_width`.
//!
//! Options: `max_noise_width` (m, default 0.05 [I]).

use crate::shared::SNAP_M;
use crate::{Opt, OptValue, Rule, RuleContext, RuleError, RuleFinding, Scope, SubCode};
use cadastra_geom::predicates::{locate_in_ring, segment_intersection, Location, SegIntersection};
use cadastra_geom::shape::{perimeter, width_estimate};
use cadastra_geom::{outside_part, OutsidePart};
use cadastra_model::{Geom, RuleId, Severity};
use rayon::prelude::*;

pub(crate) struct BuildingInParcel;
const ID: RuleId = RuleId("TOPO-04");
const NOISE: Opt = Opt {
    key: "max_noise_width",
    default: OptValue::F64(0.05),
    inferred: true,
    doc: "a building sticking out by at most this much (m) is W (eaves, digitising), more is E",
};

impl Rule for BuildingInParcel {
    fn id(&self) -> RuleId {
        ID
    }
    fn name(&self) -> &'static str {
        "building-in-parcel"
    }
    fn severity(&self) -> Severity {
        Severity::E
    }
    fn scope(&self) -> Scope {
        Scope::Layer
    }
    fn describe(&self) -> (&'static str, &'static str) {
        (
            "自然幢应位于其宗地(ZRZ.ZDDM对应的宗地)之内: 超出不大于0.05米为警告, 更多为错误",
            "a building lies within its own parcel (the ZDJBXX whose ZDDM = ZRZ.ZDDM): sticking out by at most 0.05 m is W, more is E",
        )
    }
    fn codes(&self) -> &'static [SubCode] {
        &[
            SubCode {
                code: "E01",
                zh: "自然幢超出宗地",
                en: "building sticks out of its parcel",
            },
            SubCode {
                code: "W01",
                zh: "自然幢略超出宗地(不大于容差)",
                en: "building sticks out by at most the noise width",
            },
        ]
    }
    fn options(&self) -> &'static [Opt] {
        &[NOISE]
    }
    fn needs(&self) -> &'static str {
        "buildings (ZRZ) and parcels (ZDJBXX) with geometry"
    }
    fn applies(&self, cx: &RuleContext<'_>) -> bool {
        cx.has("ZRZ") && cx.has("ZDJBXX")
    }
    fn prepare(&self, cx: &RuleContext<'_>) {
        cx.parcels();
        cx.buildings();
        cx.parcel_keys();
    }
    fn check(
        &self,
        cx: &RuleContext<'_>,
        emit: &mut dyn FnMut(RuleFinding),
    ) -> Result<(), RuleError> {
        let tol = cx.opt_f64(ID, &NOISE);
        let (p, b, keys) = (cx.parcels(), cx.buildings(), cx.parcel_keys());
        let zddm: Vec<Option<&str>> = cx
            .layers_of("ZRZ")
            .flat_map(|(_, l)| {
                let f = l.field("ZDDM");
                (0..l.len()).map(move |r| f.value(r))
            })
            .collect();
        let found: Vec<(usize, usize, OutsidePart)> = (0..b.len())
            .into_par_iter()
            .with_min_len(256)
            .filter_map(|bi| {
                let bg = b.geoms[bi]?;
                let zddm = zddm[bi]?;
                let mut best: Option<(usize, OutsidePart)> = None;
                for pi in keys.get(zddm) {
                    let Some(pg) = p.geoms[pi] else { continue };
                    if covered(bg, pg) {
                        return None;
                    }
                    let mut o = outside_part(bg, pg)?;
                    if o.max_width <= SNAP_M {
                        // the farthest outside point is not a vertex (a parcel hole under the
                        // building): fall back to the width estimate
                        o.max_width = width_estimate(o.area, perimeter(&o.geom));
                    }
                    if o.max_width <= SNAP_M {
                        return None;
                    }
                    if best.as_ref().is_none_or(|(_, b)| o.area < b.area) {
                        best = Some((pi, o));
                    }
                }
                let (pi, o) = best?;
                Some((bi, pi, o))
            })
            .collect();
        for (bi, pi, o) in found {
            let (l, r) = b.layer_row(bi);
            let parcel = cx.item_key(p, pi);
            let (w, a) = (o.max_width, o.area);
            let f = if w > tol {
                cx.at(
                    ID,
                    "E01",
                    l,
                    r,
                    format!("自然幢超出宗地{parcel}达{w:.3}米(超出部分{a:.2}平方米)"),
                    format!(
                        "building sticks out of parcel {parcel} by {w:.3} m ({a:.2} m² outside)"
                    ),
                )
            } else {
                cx.at(
                    ID,
                    "W01",
                    l,
                    r,
                    format!("自然幢略超出宗地{parcel}: {w:.3}米(超出部分{a:.3}平方米, 不大于{tol}米)"),
                    format!("building sticks out of parcel {parcel} by {w:.3} m ({a:.3} m² outside, at most {tol} m)"),
                )
            };
            emit(f.other(parcel).geom(o.geom).value(w, Some(tol)));
        }
        Ok(())
    }
}

fn rings(g: &Geom) -> impl Iterator<Item = &[geo_types::Coord]> {
    g.0.iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .map(|r| r.0.as_slice())
}

/// Exact and cheap proof that `b` lies in the interior of `p` (false means: not proven).
fn covered(b: &Geom, p: &Geom) -> bool {
    // every vertex of b strictly inside one polygon of p (inside its shell, outside its holes)
    let inside = |c: geo_types::Coord| {
        p.0.iter().any(|poly| {
            locate_in_ring(c, &poly.exterior().0) == Location::Interior
                && poly
                    .interiors()
                    .iter()
                    .all(|h| locate_in_ring(c, &h.0) == Location::Exterior)
        })
    };
    if !rings(b).all(|r| r.iter().all(|&c| inside(c))) {
        return false;
    }
    // no edge of b meets an edge of p (only p's edges that reach b's envelope can)
    let Some(eb) = cadastra_geom::Envelope::of_multipolygon(b) else {
        return false;
    };
    let near: Vec<(geo_types::Coord, geo_types::Coord)> = rings(p)
        .flat_map(|r| r.windows(2))
        .filter(|s| {
            s[0].x.min(s[1].x) <= eb.max.x
                && s[0].x.max(s[1].x) >= eb.min.x
                && s[0].y.min(s[1].y) <= eb.max.y
                && s[0].y.max(s[1].y) >= eb.min.y
        })
        .map(|s| (s[0], s[1]))
        .collect();
    if !near.is_empty() {
        for rb in rings(b) {
            for sb in rb.windows(2) {
                for &(u, v) in &near {
                    if segment_intersection(sb[0], sb[1], u, v) != SegIntersection::None {
                        return false;
                    }
                }
            }
        }
    }
    // no hole of p lies inside b (its vertices are then all inside b's shell)
    p.0.iter().all(|poly| {
        poly.interiors().iter().all(|h| {
            h.0.first().is_none_or(|&c| {
                b.0.iter()
                    .all(|bp| locate_in_ring(c, &bp.exterior().0) == Location::Exterior)
            })
        })
    })
}

#[cfg(test)]
mod tests {
    use crate::testkit::*;

    fn parcels() -> T {
        layer("ZDJBXX", "laiwu")
            .row(&[("ZDDM", "P1")], Some(rect(0.0, 0.0, 20.0, 30.0)))
            .row(&[("ZDDM", "P2")], Some(rect(20.0, 0.0, 40.0, 30.0)))
    }

    #[test]
    fn inside_edge_and_outside() {
        let b = layer("ZRZ", "laiwu")
            .row(
                &[("ZRZH", "B-IN"), ("ZDDM", "P1")],
                Some(rect(5.0, 5.0, 15.0, 15.0)),
            )
            // built up to the boundary: covered, not proven by the cheap test but by the overlay
            .row(
                &[("ZRZH", "B-EDGE"), ("ZDDM", "P1")],
                Some(rect(5.0, 0.0, 20.0, 15.0)),
            )
            .row(
                &[("ZRZH", "B-EAVES"), ("ZDDM", "P1")],
                Some(rect(5.0, 5.0, 20.03, 15.0)),
            )
            .row(
                &[("ZRZH", "B-OUT"), ("ZDDM", "P1")],
                Some(rect(15.0, 5.0, 22.0, 15.0)),
            )
            // lies inside P2 but belongs to P1 by key: all of it is outside its parcel
            .row(
                &[("ZRZH", "B-WRONG"), ("ZDDM", "P1")],
                Some(rect(25.0, 5.0, 30.0, 15.0)),
            )
            // parcel unknown: LINK-04's
            .row(
                &[("ZRZH", "B-ORPHAN"), ("ZDDM", "P9")],
                Some(rect(25.0, 5.0, 30.0, 15.0)),
            );
        let f = check(
            &[parcels(), b],
            "TOPO-04",
            &[
                "TOPO-04-E01 B-OUT P1",
                "TOPO-04-E01 B-WRONG P1",
                "TOPO-04-W01 B-EAVES P1",
            ],
        );
        assert!((f[0].finding.value.unwrap() - 2.0).abs() < 1e-9);
        assert!(
            (f[0]
                .finding
                .geom
                .as_ref()
                .map(cadastra_geom::shape::area)
                .unwrap()
                - 20.0)
                .abs()
                < 1e-6
        );
        assert_eq!(f[0].at, Some((1, 3)));
        assert!((f[2].finding.value.unwrap() - 0.03).abs() < 1e-6);
    }

    #[test]
    fn holes_and_tolerance() {
        let mut courtyard = rect(0.0, 0.0, 30.0, 30.0);
        courtyard.0[0].interiors_push(vec![
            (10.0, 10.0),
            (20.0, 10.0),
            (20.0, 20.0),
            (10.0, 20.0),
            (10.0, 10.0),
        ]);
        let p = layer("ZDJBXX", "laiwu").row(&[("ZDDM", "P1")], Some(courtyard));
        let b = layer("ZRZ", "laiwu")
            .row(
                &[("ZRZH", "B-OK"), ("ZDDM", "P1")],
                Some(rect(1.0, 1.0, 5.0, 5.0)),
            )
            .row(
                &[("ZRZH", "B-OVER-HOLE"), ("ZDDM", "P1")],
                Some(rect(5.0, 5.0, 25.0, 25.0)),
            );
        check(&[p, b], "TOPO-04", &["TOPO-04-E01 B-OVER-HOLE P1"]);
        let b = layer("ZRZ", "laiwu").row(
            &[("ZRZH", "B"), ("ZDDM", "P1")],
            Some(rect(15.0, 5.0, 22.0, 15.0)),
        );
        check_with(
            &[parcels(), b],
            "[rules.\"TOPO-04\"]\nmax_noise_width = 3.0",
            "TOPO-04",
            &["TOPO-04-W01 B P1"],
        );
    }
}
