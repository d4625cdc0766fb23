//! Issue 4: explicit, safe coordinate operations end to end. A Beijing-54 run without a parameter
//! file fails saying why (CRS-05) and succeeds with one; crafted files with swapped axes, mixed zone
//! prefixes and coordinates outside the declared CRS's window are detected by `inspect` and refused
//! by `run`; bad parameter files and control points give clear errors.

use crate::common::*;
use cadastra_shp::{write_shapefile, DbfField, WriteSpec};
use geo_types::{polygon, Geometry};
use std::path::Path;

/// A small parcel layer with keys; `place(i)` gives each parcel's lower-left corner.
fn crafted(path: &Path, n: usize, place: impl Fn(usize) -> (f64, f64)) {
    let fields = vec![
        DbfField::text("ZDDM", 19),
        DbfField::text("BDCDYH", 28),
        DbfField::text("ZL", 60),
    ];
    let mut recs = Vec::new();
    let mut geoms = Vec::new();
    for i in 0..n {
        let (x, y) = place(i);
        let zddm = format!("371202001001GB{:05}", i + 1);
        recs.push(vec![
            Some(zddm.clone()),
            Some(format!("{zddm}W00000000")),
            Some("莱城区测试路1号".to_string()),
        ]);
        geoms.push(Some(Geometry::Polygon(polygon![
            (x: x, y: y), (x: x + 20.0, y: y), (x: x + 20.0, y: y + 30.0), (x: x, y: y + 30.0), (x: x, y: y)
        ])));
    }
    write_shapefile(path, &WriteSpec::gbk_undeclared(), &fields, &recs, &geoms).unwrap();
}

fn pipeline(ws: &Path, name: &str, shp: &str, crs_section: &str) -> String {
    let p = format!(
        "[pipeline]\nname = \"{name}\"\nbatch = \"{name}\"\n\n{crs_section}\n\n[[source]]\nname = \"zd\"\nsystem = \"t\"\ntype = \"shapefile\"\npath = \"../{shp}\"\ncrs = \"legacy\"\nkey = \"ZDDM\"\n[[source.target]]\ntable = \"ZDJBXX\"\n[source.target.fields]\nZDDM = \"ZDDM\"\nBDCDYH = \"BDCDYH\"\nZL = \"ZL\"\n"
    );
    let f = format!("pipelines/{name}.toml");
    std::fs::write(ws.join(&f), p).unwrap();
    f
}

fn run(ws: &Path, pipeline: &str) -> std::process::Output {
    cadastra(
        ws,
        &[
            "--quiet",
            "run",
            pipeline,
            "--registry",
            "out/r.gpkg",
            "--out",
            "out",
        ],
    )
}

#[test]
fn beijing54_needs_a_parameter_file() {
    let ws = workspace();
    let d = ws.path().join("crafted");
    std::fs::create_dir_all(&d).unwrap();
    crafted(&d.join("bj54.shp"), 20, |i| {
        (550_000.0 + 25.0 * i as f64, 4_010_000.0)
    });
    let p = pipeline(
        ws.path(),
        "bj54-noparams",
        "crafted/bj54.shp",
        "[crs.legacy]\nsource = \"EPSG:2436\"",
    );
    let o = run(ws.path(), &p);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(
        t.contains("CRS-05") && t.to_lowercase().contains("ballpark"),
        "{t}"
    );
    assert!(!ws.path().join("out/r.gpkg").exists());
    // with the bureau's parameters it runs, and the coordinates move by the datum shift
    let params = "model = \"7p\"\nconvention = \"coordinate_frame\"\nsource = \"EPSG:2436\"\ntarget = \"EPSG:4548\"\ntx = 15.8\nty = -154.4\ntz = -82.3\nrx = 0.0\nry = 0.0\nrz = 0.0\nds = 0.0\n";
    std::fs::write(ws.path().join("crafted/bj54.toml"), params).unwrap();
    let p = pipeline(
        ws.path(),
        "bj54",
        "crafted/bj54.shp",
        "[crs.legacy]\nsource = \"EPSG:2436\"\nparams = \"../crafted/bj54.toml\"",
    );
    let o = run(ws.path(), &p);
    assert!(o.status.success(), "{}", text(&o));
    let t = text(&o);
    assert!(
        !t.contains("15.8") && !t.contains("154.4"),
        "parameter values must never be printed: {t}"
    );
    let db = rusqlite::Connection::open(ws.path().join("out/r.gpkg")).unwrap();
    let minx: f64 = db
        .query_row(
            "SELECT min_x FROM gpkg_contents WHERE table_name = 'ZDJBXX'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        (minx - 550_000.0).abs() > 1.0,
        "the datum shift was applied: {minx}"
    );
}

#[test]
fn crafted_crs_problems_are_detected_and_refused() {
    let ws = workspace();
    let d = ws.path().join("crafted");
    std::fs::create_dir_all(&d).unwrap();
    // X/Y swapped: northing in the easting slot (CRS-03)
    crafted(&d.join("swapped.shp"), 30, |i| {
        (4_010_000.0 + 40.0 * i as f64, 550_000.0)
    });
    // zone prefix on some eastings only (CRS-04)
    crafted(&d.join("mixed.shp"), 30, |i| {
        let e = 550_000.0 + 40.0 * i as f64;
        (if i % 2 == 0 { e + 39_000_000.0 } else { e }, 4_010_000.0)
    });
    // far outside Jinan (CRS-02)
    crafted(&d.join("far.shp"), 30, |i| {
        (250_000.0 + 40.0 * i as f64, 2_500_000.0)
    });
    for (file, rule) in [
        ("swapped", "CRS-03"),
        ("mixed", "CRS-04"),
        ("far", "CRS-02"),
    ] {
        let path = d.join(format!("{file}.shp"));
        let o = cadastra(ws.path(), &["--json", "inspect", path.to_str().unwrap()]);
        assert!(o.status.success(), "{}", text(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let ev = v[0]["crs"]["evidence"].to_string();
        assert!(
            ev.contains(rule),
            "{file}: inspect should show {rule}: {ev}"
        );
        let p = pipeline(
            ws.path(),
            file,
            &format!("crafted/{file}.shp"),
            "[crs.legacy]\nsource = \"EPSG:2384\"\nparams = \"../sample-data/operator/xian80_to_cgcs2000.toml\"",
        );
        let o = run(ws.path(), &p);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(2), "{file}: {t}");
        assert!(
            t.contains("CRS-0") && t.contains("source zd"),
            "{file}: {t}"
        );
    }
    assert!(!ws.path().join("out/r.gpkg").exists(), "nothing written");
}

#[test]
fn bad_crs_inputs_give_clear_errors() {
    let ws = workspace();
    let d = ws.path().join("crafted");
    std::fs::create_dir_all(&d).unwrap();
    crafted(&d.join("zd.shp"), 5, |i| {
        (550_000.0 + 25.0 * i as f64, 4_010_000.0)
    });
    // unknown EPSG code
    let p = pipeline(
        ws.path(),
        "unknown",
        "crafted/zd.shp",
        "[crs.legacy]\nsource = \"EPSG:999999\"",
    );
    let t = text(&run(ws.path(), &p));
    assert!(t.contains("999999"), "{t}");
    // a parameter file with a missing value: names the file and the key, not the values
    std::fs::write(
        d.join("missing.toml"),
        "model = \"7p\"\nconvention = \"position_vector\"\nsource = \"EPSG:2384\"\ntarget = \"EPSG:4548\"\ntx = -24.8\nty = 67.3\ntz = 32.7\nrx = 0.8\nry = -1.3\nds = 3.1\n",
    )
    .unwrap();
    let p = pipeline(
        ws.path(),
        "missing",
        "crafted/zd.shp",
        "[crs.legacy]\nsource = \"EPSG:2384\"\nparams = \"../crafted/missing.toml\"",
    );
    let o = run(ws.path(), &p);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(t.contains("missing.toml") && t.contains("rz"), "{t}");
    assert!(!t.contains("67.3"), "no parameter value in messages: {t}");
    // control points: too few, collinear
    std::fs::write(
        d.join("one.csv"),
        "name,src_e,src_n,dst_e,dst_n\nA,1,2,500001,4000002\n",
    )
    .unwrap();
    let t = text(&cadastra(
        ws.path(),
        &[
            "crs",
            "fit",
            "--control",
            "crafted/one.csv",
            "--model",
            "4p",
            "--out",
            "out/p.toml",
        ],
    ));
    assert!(t.to_lowercase().contains("point"), "{t}");
    std::fs::write(
        d.join("line.csv"),
        "name,src_e,src_n,dst_e,dst_n\nA,0,0,500000,4000000\nB,10,10,500010,4000010\nC,20,20,500020,4000020\nD,30,30,500030,4000030\n",
    )
    .unwrap();
    let o = cadastra(
        ws.path(),
        &[
            "crs",
            "fit",
            "--control",
            "crafted/line.csv",
            "--model",
            "7p",
            "--source",
            "EPSG:2384",
            "--out",
            "out/p.toml",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).to_lowercase().contains("collinear"),
        "{}",
        text(&o)
    );
}
