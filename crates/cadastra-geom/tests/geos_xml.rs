//! GEOM-01 against GEOS: every `isValid` case of the JTS/GEOS XML suite in
//! ../shared/peer-tests/geos-xml must get GEOS's answer (928 cases; shapely/GEOS 3.14 agrees
//! with the expected values on all of them).
//!
//! Each case runs through three entry points that must agree with each other and with GEOS:
//! the raw general path (`validate_raw_polygons`, rings as written, unclosed rings kept), the
//! `geo_types` dispatcher (`validate`, fast path for single-ring polygons) where the geometry
//! converts to `geo_types` unchanged, and for single-ring polygons the fast path directly.
//! `geo::Validation` is measured on the same cases for comparison (printed, not asserted).

mod common;

use cadastra_geom::valid::{
    validate, validate_raw_line, validate_raw_polygons, validate_raw_ring, Invalid, RawPolygon,
};
use common::{parse_geom, peer_dir, read_cases, xml_files, G};
use geo_types::{Coord, Geometry, Point};

fn eval(g: &G) -> Result<(), Invalid> {
    match g {
        G::Point(None) => Ok(()),
        G::Point(Some(c)) => validate(&Geometry::Point(Point(*c))),
        G::Line(l) => validate_raw_line(l),
        G::Ring(r) => validate_raw_ring(r),
        G::Poly(rings) => eval_polys(std::slice::from_ref(rings)),
        G::MultiPoint(ps) => {
            for c in ps.iter().flatten() {
                validate(&Geometry::Point(Point(*c)))?;
            }
            Ok(())
        }
        G::MultiLine(ls) => ls.iter().try_for_each(|l| validate_raw_line(l)),
        G::MultiPoly(ps) => eval_polys(ps),
        G::Collection(gs) => gs.iter().try_for_each(eval),
    }
}

fn eval_polys(polys: &[Vec<Vec<Coord>>]) -> Result<(), Invalid> {
    let holes: Vec<Vec<&[Coord]>> = polys
        .iter()
        .map(|p| p.iter().skip(1).map(|r| r.as_slice()).collect())
        .collect();
    let raw: Vec<RawPolygon<'_>> = polys
        .iter()
        .zip(&holes)
        .map(|(p, h)| RawPolygon {
            shell: p.first().map(|r| r.as_slice()).unwrap_or(&[]),
            holes: h,
        })
        .collect();
    validate_raw_polygons(&raw)
}

#[test]
fn is_valid_agrees_with_geos_on_every_case() {
    let dir = peer_dir("geos-xml");
    let mut total = 0;
    let mut failures = Vec::new();
    let (mut geo_cases, mut geo_agree) = (0, 0);
    let mut fast_checked = 0;
    let mut geo_types_checked = 0;
    for f in xml_files(&dir) {
        for c in read_cases(&f, &dir) {
            if !c.op.eq_ignore_ascii_case("isValid") {
                continue;
            }
            total += 1;
            let text = if c.arg1 == "B" {
                c.b.as_deref()
            } else {
                c.a.as_deref()
            };
            let expected = match c.expected.to_ascii_lowercase().as_str() {
                "true" => true,
                "false" => false,
                other => panic!("{}#{}: expected value {other:?}", c.file, c.index),
            };
            let label = format!("{}#{} ({})", c.file, c.index, c.desc);
            let g = match parse_geom(text.unwrap_or(""), c.scale) {
                Ok(g) => g,
                Err(e) => {
                    failures.push(format!("PARSE {label}: {e}"));
                    continue;
                }
            };
            let got = eval(&g);
            if got.is_ok() != expected {
                failures.push(format!(
                    "DIFF {label}: GEOS says {expected}, we say {got:?}"
                ));
            }
            if let G::Poly(rings) = &g {
                if rings.len() == 1 {
                    fast_checked += 1;
                    let fast = validate_raw_ring(&rings[0]);
                    if fast.is_ok() != got.is_ok() {
                        failures.push(format!("FAST {label}: fast {fast:?} general {got:?}"));
                    }
                }
            }
            if let Some(geo) = g.to_geo() {
                geo_types_checked += 1;
                let via_geo = validate(&geo);
                if via_geo.is_ok() != got.is_ok() {
                    failures.push(format!("GEO-TYPES {label}: {via_geo:?} vs raw {got:?}"));
                }
                geo_cases += 1;
                if geo::Validation::is_valid(&geo) == expected {
                    geo_agree += 1;
                }
            }
        }
    }
    println!(
        "isValid cases: {total}; fast path cross-checked on {fast_checked}; \
         geo_types entry on {geo_types_checked}"
    );
    println!("geo 0.33 Validation::is_valid agrees with GEOS on {geo_agree} of {geo_cases} cases");
    for f in &failures {
        println!("{f}");
    }
    assert_eq!(total, 928, "the suite should hold 928 isValid cases");
    assert!(
        failures.is_empty(),
        "{} disagreements with GEOS (listed above)",
        failures.len()
    );
}

/// Where geo 0.33's own `Validation` differs from GEOS (printed for the record).
#[test]
fn list_geo_validation_disagreements() {
    let dir = peer_dir("geos-xml");
    for f in xml_files(&dir) {
        for c in read_cases(&f, &dir) {
            if !c.op.eq_ignore_ascii_case("isValid") {
                continue;
            }
            let Ok(g) = parse_geom(c.a.as_deref().unwrap_or(""), c.scale) else {
                continue;
            };
            let Some(geo) = g.to_geo() else { continue };
            let expected = c.expected.eq_ignore_ascii_case("true");
            if geo::Validation::is_valid(&geo) != expected {
                let why: Vec<String> = geo::Validation::validation_errors(&geo)
                    .iter()
                    .map(|e| e.to_string())
                    .collect();
                println!(
                    "{}#{} {}: GEOS {expected}, geo {:?}",
                    c.file, c.index, c.desc, why
                );
            }
        }
    }
}
