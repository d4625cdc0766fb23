//! `interiors_intersect` / `relate_areas` against two oracles:
//!
//! 1. the area/area cases of the JTS/GEOS XML suite (relate matrices and the named predicates
//!    `intersects`, `disjoint`, `touches`, `overlaps`, `contains`, `within`, `covers`,
//!    `coveredBy`, `equalsTopo` tell whether the interiors meet and whether the shapes touch);
//! 2. geo's `Relate` (DE-9IM `II`) on random valid polygons drawn on a coarse grid, where
//!    shared edges, shared vertices, T-junctions and holes touching boundaries are frequent.

mod common;

use cadastra_geom::{interiors_intersect, relate_areas, validate_multipolygon, AreaRelation};
use common::{parse_geom, peer_dir, read_cases, xml_files, G};
use geo::coordinate_position::CoordPos;
use geo::dimensions::Dimensions;
use geo::Relate;
use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use proptest::prelude::*;
use std::collections::BTreeMap;

fn as_area(g: &G) -> Option<MultiPolygon<f64>> {
    let geo = g.to_geo()?;
    let mp = match geo {
        geo_types::Geometry::Polygon(p) => MultiPolygon(vec![p]),
        geo_types::Geometry::MultiPolygon(mp) => mp,
        _ => return None,
    };
    if mp.0.iter().all(|p| p.exterior().0.is_empty()) {
        return None;
    }
    Some(mp)
}

/// What the XML says about a pair: interiors meet? boundaries/closures meet?
#[derive(Default, Debug)]
struct Known {
    interiors: Option<bool>,
    intersects: Option<bool>,
    touches: Option<bool>,
}

/// (file, case number, arguments reversed)
type CaseKey = (String, usize, bool);
/// (description, A, B, what the XML says)
type Facts = (String, MultiPolygon<f64>, MultiPolygon<f64>, Known);

#[test]
fn area_area_relate_cases_agree_with_jts() {
    let dir = peer_dir("geos-xml");
    // (file, case, reversed) -> facts
    let mut facts: BTreeMap<CaseKey, Facts> = BTreeMap::new();
    let mut skipped_invalid = 0;
    for f in xml_files(&dir) {
        for c in read_cases(&f, &dir) {
            let op = c.op.to_ascii_lowercase();
            if ![
                "relate",
                "intersects",
                "disjoint",
                "touches",
                "overlaps",
                "contains",
                "within",
                "covers",
                "coveredby",
                "equalstopo",
                "equals",
            ]
            .contains(&op.as_str())
            {
                continue;
            }
            let (Some(ta), Some(tb)) = (c.a.as_deref(), c.b.as_deref()) else {
                continue;
            };
            let (Ok(ga), Ok(gb)) = (parse_geom(ta, c.scale), parse_geom(tb, c.scale)) else {
                continue;
            };
            let (Some(a), Some(b)) = (as_area(&ga), as_area(&gb)) else {
                continue;
            };
            let reversed = c.arg1 == "B";
            let (a, b) = if reversed { (b, a) } else { (a, b) };
            let key = (c.file.clone(), c.index, reversed);
            let entry = facts
                .entry(key)
                .or_insert_with(|| (c.desc.clone(), a.clone(), b.clone(), Known::default()));
            let expected = c.expected.eq_ignore_ascii_case("true");
            let k = &mut entry.3;
            match op.as_str() {
                "relate" => {
                    let m: Vec<char> = c.arg3.clone().unwrap_or_default().chars().collect();
                    if expected && m.len() == 9 && !m.contains(&'*') {
                        k.interiors = Some(m[0] != 'F');
                        k.intersects = Some([m[0], m[1], m[3], m[4]].iter().any(|&d| d != 'F'));
                    }
                }
                "intersects" => k.intersects = Some(expected),
                "disjoint" => k.intersects = Some(!expected),
                "touches" => k.touches = Some(expected),
                _ => {
                    if expected {
                        k.interiors = Some(true);
                    }
                }
            }
        }
    }
    let (mut checked, mut ours_vs_geo_relate) = (0, 0);
    let mut failures = vec![];
    for ((file, idx, rev), (desc, a, b, k)) in &facts {
        if validate_multipolygon(a).is_err() || validate_multipolygon(b).is_err() {
            skipped_invalid += 1;
            continue;
        }
        // derive the relation where the facts allow it
        let interiors = k.interiors.or(match (k.intersects, k.touches) {
            (Some(false), _) => Some(false),
            (Some(true), Some(t)) => Some(!t),
            _ => None,
        });
        let Some(interiors) = interiors else { continue };
        let expected_rel = if interiors {
            Some(AreaRelation::InteriorsIntersect)
        } else {
            match (k.intersects, k.touches) {
                (Some(false), _) => Some(AreaRelation::Disjoint),
                (_, Some(true)) | (Some(true), _) => Some(AreaRelation::Touch),
                _ => None,
            }
        };
        checked += 1;
        let label = format!("{file}#{idx}{} ({desc})", if *rev { " B/A" } else { "" });
        let got = interiors_intersect(a, b);
        if got != interiors {
            failures.push(format!(
                "{label}: JTS interiors meet = {interiors}, we say {got}"
            ));
        }
        if interiors_intersect(b, a) != got {
            failures.push(format!("{label}: not symmetric"));
        }
        if let Some(r) = expected_rel {
            let ours = relate_areas(a, b);
            if ours != r {
                failures.push(format!("{label}: JTS {r:?}, we say {ours:?}"));
            }
        }
        let geo_ii = a.relate(b).get(CoordPos::Inside, CoordPos::Inside) != Dimensions::Empty;
        if geo_ii == interiors {
            ours_vs_geo_relate += 1;
        }
    }
    println!(
        "area/area pairs checked: {checked}; skipped as invalid input: {skipped_invalid}; \
         geo Relate agrees on {ours_vs_geo_relate}"
    );
    for f in &failures {
        println!("{f}");
    }
    assert!(
        checked >= 100,
        "expected at least 100 area/area pairs, found {checked}"
    );
    assert!(failures.is_empty(), "{} disagreements", failures.len());
}

// ------------------------------------------------------------------ property test vs geo

fn c(x: i32, y: i32) -> Coord {
    Coord {
        x: x as f64,
        y: y as f64,
    }
}

fn ring(pts: Vec<Coord>) -> LineString<f64> {
    let mut v = pts;
    v.push(v[0]);
    LineString(v)
}

/// Small polygons on a 0..=6 grid: rectangles (with or without a hole), triangles, and
/// star-shaped polygons; invalid draws are filtered out.
fn polygon() -> impl Strategy<Value = Polygon<f64>> {
    prop_oneof![
        (0..6i32, 0..6i32, 1..5i32, 1..5i32).prop_map(|(x, y, w, h)| Polygon::new(
            ring(vec![c(x, y), c(x + w, y), c(x + w, y + h), c(x, y + h)]),
            vec![]
        )),
        (0..3i32, 0..3i32, 1..3i32, 1..3i32, any::<bool>()).prop_map(|(x, y, hx, hy, touch)| {
            // 6x6 square with a hole, optionally touching the shell at one point
            let (x0, y0) = (x, y);
            let hole_x = if touch { x0 } else { x0 + hx };
            Polygon::new(
                ring(vec![
                    c(x0, y0),
                    c(x0 + 6, y0),
                    c(x0 + 6, y0 + 6),
                    c(x0, y0 + 6),
                ]),
                vec![ring(vec![
                    c(hole_x, y0 + hy),
                    c(hole_x + 2, y0 + hy + 1),
                    c(hole_x + 1, y0 + hy + 3),
                ])],
            )
        }),
        prop::collection::vec((0..7i32, 0..7i32), 3..4).prop_map(|p| Polygon::new(
            ring(p.into_iter().map(|(x, y)| c(x, y)).collect()),
            vec![]
        )),
        (
            prop::collection::vec((0..8u8, 1..4i32), 3..8),
            2..5i32,
            2..5i32
        )
            .prop_map(|(spokes, cx, cy)| {
                // star-shaped around (cx, cy): directions from 8 compass points, sorted
                let dirs = [
                    (1, 0),
                    (1, 1),
                    (0, 1),
                    (-1, 1),
                    (-1, 0),
                    (-1, -1),
                    (0, -1),
                    (1, -1),
                ];
                let mut s = spokes;
                s.sort_by_key(|x| x.0);
                s.dedup_by_key(|x| x.0);
                let pts: Vec<Coord> = s
                    .iter()
                    .map(|&(d, r)| {
                        let (dx, dy) = dirs[d as usize];
                        c(cx + dx * r, cy + dy * r)
                    })
                    .collect();
                if pts.len() < 3 {
                    return Polygon::new(LineString(vec![]), vec![]);
                }
                Polygon::new(ring(pts), vec![])
            }),
    ]
}

fn area_geom() -> impl Strategy<Value = MultiPolygon<f64>> {
    prop_oneof![
        3 => polygon().prop_map(|p| MultiPolygon(vec![p])),
        1 => (polygon(), polygon()).prop_map(|(p, q)| MultiPolygon(vec![p, q])),
    ]
    .prop_filter("valid, non-empty", |g| {
        !g.0.iter().any(|p| p.exterior().0.is_empty()) && validate_multipolygon(g).is_ok()
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(3000),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]
    #[test]
    fn interiors_intersect_equals_geo_relate(a in area_geom(), b in area_geom()) {
        let m = a.relate(&b);
        let ii = m.get(CoordPos::Inside, CoordPos::Inside) != Dimensions::Empty;
        prop_assert_eq!(interiors_intersect(&a, &b), ii, "a {:?} b {:?} matrix {:?}", a, b, m);
        let expect = if ii {
            AreaRelation::InteriorsIntersect
        } else if m.is_intersects() {
            AreaRelation::Touch
        } else {
            AreaRelation::Disjoint
        };
        prop_assert_eq!(relate_areas(&a, &b), expect);
    }
}

/// The random pairs exercise all three relations, touching ones in good number.
#[test]
fn random_pairs_cover_all_relations() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strat = (area_geom(), area_geom());
    let mut counts = [0usize; 3];
    for _ in 0..2000 {
        let (a, b) = strat
            .new_tree(&mut runner)
            .expect("strategy draws")
            .current();
        let k = match relate_areas(&a, &b) {
            AreaRelation::Disjoint => 0,
            AreaRelation::Touch => 1,
            AreaRelation::InteriorsIntersect => 2,
        };
        counts[k] += 1;
    }
    println!(
        "disjoint {}, touch {}, interiors intersect {}",
        counts[0], counts[1], counts[2]
    );
    assert!(counts.iter().all(|&n| n >= 100), "{counts:?}");
}
