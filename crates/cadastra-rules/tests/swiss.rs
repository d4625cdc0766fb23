//! A real coverage: the Swiss municipalities 2024 (2,134 polygons, EPSG:2056) as one 地籍子区 of
//! made-up parcels. ../shared/peer-tests/real-coverages/MANIFEST.md: 0 invalid, 0 overlapping
//! pairs, 6,060 touching pairs; the union has 4 parts and 19 holes (lakes and foreign enclaves are
//! not municipalities).
//!
//! How the holes are reported: there is no layer of water or foreign land in a run, so each of
//! the 19 holes is a TOPO-02 gap (W01) with its area and width, named by the two municipalities
//! with the longest shore (one lake lies inside a single municipality: no partner), carrying the
//! hole as its geometry (the two lake islands, St. Petersinsel and Ufenau, as holes of the gap).
//! No hole is a sliver, nothing overlaps, and the coverage is edge-matched (no TOPO-09 verdict).

mod common;

use cadastra_rules::{Layer, RuleOptions};
use common::{peer_dir, RowsBuilder};
use geo_types::MultiPolygon;

#[test]
fn swiss_municipalities_as_one_sub_zone() {
    let path = peer_dir("real-coverages/swiss-maps-2024").join("municipalities.shp");
    let shapes: Vec<shapefile::Polygon> =
        shapefile::read_shapes_as(&path).expect("read municipalities.shp");
    assert_eq!(shapes.len(), 2134);
    let mut b = RowsBuilder::new("ZDJBXX", &["ZDDM", "BDCDYH", "src_key"]);
    for (i, s) in shapes.into_iter().enumerate() {
        let g = MultiPolygon::<f64>::try_from(s).expect("polygon record");
        let zddm = format!("370116001001GB{:05}", i + 1);
        let bdcdyh = format!("{zddm}W00000000");
        let src = i.to_string();
        b.push(&[Some(&zddm), Some(&bdcdyh), Some(&src)], Some(g));
    }
    let layers = [Layer {
        source: "swiss",
        system: "swiss",
        table: "ZDJBXX",
        rows: &b.rows,
    }];
    let v = common::run(&layers, &RuleOptions::default(), None);
    let codes = |prefix: &str| {
        v.findings
            .iter()
            .filter(|f| f.finding.code().starts_with(prefix))
            .collect::<Vec<_>>()
    };

    assert!(
        codes("GEOM-01").is_empty(),
        "the manifest finds no invalid municipality"
    );
    assert!(codes("TOPO-01").is_empty(), "no overlapping pair");
    assert!(codes("TOPO-09").is_empty(), "a valid coverage");
    let gaps = codes("TOPO-02");
    for g in &gaps {
        let f = &g.finding;
        println!(
            "{} {} / {:?} area {:.0} m², width {:.0} m at ({:.0}, {:.0})",
            f.code(),
            f.feature_key,
            f.other_key,
            f.geom.as_ref().map_or(0.0, cadastra_geom::shape::area),
            f.value.unwrap_or(0.0),
            f.x.unwrap_or(0.0),
            f.y.unwrap_or(0.0)
        );
    }
    assert_eq!(gaps.len(), 19, "19 holes: lakes and foreign enclaves");
    assert!(
        gaps.iter().all(|g| g.finding.code() == "TOPO-02-W01"),
        "none is a sliver or an invalid parcel's hole"
    );
    assert!(gaps
        .iter()
        .all(|g| g.finding.geom.is_some() && g.at.is_some()));
    // a lake inside one municipality has no second neighbour; every other hole names two
    assert_eq!(
        gaps.iter()
            .filter(|g| g.finding.other_key.is_none())
            .count(),
        1
    );
    let islands: usize = gaps
        .iter()
        .map(|g| {
            g.finding
                .geom
                .as_ref()
                .map_or(0, |m| m.0.iter().map(|p| p.interiors().len()).sum())
        })
        .sum();
    assert_eq!(islands, 2, "St. Petersinsel and Ufenau lie in lake holes");
    // Büsingen (DE), about 7.6 km², around E 2 693 000 / N 1 285 000
    let busingen = gaps.iter().find(|g| {
        let f = &g.finding;
        (2_688_000.0..2_698_000.0).contains(&f.x.unwrap_or(0.0))
            && (1_280_000.0..1_290_000.0).contains(&f.y.unwrap_or(0.0))
    });
    let a = busingen
        .and_then(|g| g.finding.geom.as_ref())
        .map(cadastra_geom::shape::area)
        .expect("the Büsingen enclave is a gap");
    assert!((7.0e6..8.0e6).contains(&a), "Büsingen area {a}");
}
