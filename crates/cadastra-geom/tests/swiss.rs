//! Real coverage: Swiss municipalities 2024 (2,134 polygons, EPSG:2056), a clean coverage.
//! Reference numbers (shapely/GEOS, ../shared/peer-tests/real-coverages/MANIFEST.md):
//! 0 invalid, 0 overlapping pairs, 6,060 touching pairs; the union has 4 parts and 19 holes
//! (lakes and foreign enclaves).

mod common;

use cadastra_geom::{
    find_gaps_with_stats, find_overlaps, relate_areas, validate_multipolygon, AreaRelation,
    GapMethod, GapOptions, TopoIndex,
};
use common::peer_dir;
use geo_types::MultiPolygon;
use std::path::Path;

fn read_layer(path: &Path) -> Vec<MultiPolygon<f64>> {
    let shapes: Vec<shapefile::Polygon> =
        shapefile::read_shapes_as(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    shapes
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            MultiPolygon::<f64>::try_from(s)
                .unwrap_or_else(|e| panic!("{} record {i}: {e}", path.display()))
        })
        .collect()
}

fn municipalities() -> Vec<MultiPolygon<f64>> {
    read_layer(&peer_dir("real-coverages/swiss-maps-2024").join("municipalities.shp"))
}

#[test]
fn municipalities_are_valid_and_do_not_overlap() {
    let m = municipalities();
    assert_eq!(m.len(), 2134);
    let invalid: Vec<(usize, String)> = m
        .iter()
        .enumerate()
        .filter_map(|(i, g)| validate_multipolygon(g).err().map(|e| (i, e.en())))
        .collect();
    assert!(invalid.is_empty(), "invalid municipalities: {invalid:?}");

    let geoms: Vec<Option<MultiPolygon<f64>>> = m.iter().cloned().map(Some).collect();
    let index = TopoIndex::new(&geoms);
    let pairs = index.candidate_pairs();
    let (mut touch, mut overlap) = (0, 0);
    for &(i, j) in &pairs {
        match relate_areas(&m[i as usize], &m[j as usize]) {
            AreaRelation::Touch => touch += 1,
            AreaRelation::InteriorsIntersect => overlap += 1,
            AreaRelation::Disjoint => {}
        }
    }
    println!(
        "candidate pairs {}, touching {touch}, overlapping {overlap}",
        pairs.len()
    );
    assert_eq!(overlap, 0);
    assert_eq!(touch, 6060, "the manifest counts 6,060 touching pairs");

    let found = find_overlaps(&geoms, 0.01, 0.01);
    assert!(found.is_empty(), "{} overlap findings", found.len());
}

#[test]
fn gaps_are_lakes_and_enclaves() {
    let m = municipalities();
    let refs: Vec<&MultiPolygon<f64>> = m.iter().collect();
    let (gaps, stats) = find_gaps_with_stats(&refs, &GapOptions::default());
    println!("{stats:?}");
    for g in &gaps {
        let c = g.geom.exterior().0[0];
        println!(
            "gap at ({:.0}, {:.0}) area {:.0} m² width {:.1} m islands {}",
            c.x,
            c.y,
            g.area,
            g.width,
            g.geom.interiors().len()
        );
    }
    assert_eq!(
        stats.method,
        GapMethod::EdgeMatching,
        "a clean coverage needs no union"
    );
    assert_eq!(gaps.len(), 19, "the manifest's union has 19 holes");
    assert!(
        gaps.iter().all(|g| !g.sliver),
        "a clean coverage has no slivers"
    );

    // two lake holes hold an island part of a municipality: St. Petersinsel in Lake Biel
    // (Twann-Tüscherz, BFS 756) and Ufenau in Lake Zurich (Freienbach, BFS 1322)
    let islands: usize = gaps.iter().map(|g| g.geom.interiors().len()).sum();
    for g in gaps.iter().filter(|g| !g.geom.interiors().is_empty()) {
        println!("island at {:?}", g.geom.interiors()[0].0[0]);
    }
    assert_eq!(islands, 2);

    // the lakes layer excuses the lake holes; what is left is the German enclave Büsingen
    // (7.6 km², around E 2 693 000 / N 1 285 000) and two slivers where the separately
    // generalised lake outlines do not follow the municipality boundaries exactly
    let lakes = read_layer(&peer_dir("real-coverages/swiss-maps-2024").join("lakes.shp"));
    assert_eq!(lakes.len(), 22);
    let opts = GapOptions {
        allowed: &lakes,
        ..Default::default()
    };
    let (left, stats) = find_gaps_with_stats(&refs, &opts);
    println!("with lakes allowed: {stats:?}");
    for g in &left {
        let c = g.geom.exterior().0[0];
        println!(
            "left after lakes: ({:.0}, {:.0}) area {:.4} m² width {:.4} m sliver {}",
            c.x, c.y, g.area, g.width, g.sliver
        );
    }
    assert_eq!(
        stats.excused, 16,
        "16 lake holes are covered by lakes.shp entirely"
    );
    let (slivers, real): (Vec<_>, Vec<_>) = left.iter().partition(|g| g.sliver);
    assert_eq!(real.len(), 1);
    let b = real[0];
    let c = b.geom.exterior().0[0];
    assert!((2_690_000.0..2_697_000.0).contains(&c.x) && (1_282_000.0..1_290_000.0).contains(&c.y));
    assert!(
        (7.0e6..8.0e6).contains(&b.area),
        "Büsingen is about 7.6 km², got {}",
        b.area
    );
    assert_eq!(slivers.len(), 2);
    assert!(slivers.iter().all(|g| g.area < 0.2 && g.width < 0.001));
}
