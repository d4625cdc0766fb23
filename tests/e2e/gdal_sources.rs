//! Issue 3: every other GDAL vector source (FileGDB, MapInfo TAB, DXF, GeoJSON, GeoPackage, CSV with
//! WKT) is read through the gdal driver: `inspect` sees the same features, and a pipeline maps them.
//! The files are produced here from the sample parcels with GDAL's own ogr2ogr.

use crate::common::*;
use std::process::Command;

fn ogr2ogr(args: &[&str]) {
    let o = Command::new("ogr2ogr")
        .args(args)
        .output()
        .expect("ogr2ogr (gdal-bin)");
    assert!(
        o.status.success(),
        "ogr2ogr {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn gdal_formats_inspect_and_load() {
    let ws = workspace();
    let d = ws.path().join("formats");
    std::fs::create_dir_all(&d).unwrap();
    let src = ws.path().join("sample-data/laiwu/ZD.shp");
    let src = src.to_str().unwrap();
    let n = 1860u64; // parcels in the sample's 莱城区 ZD.shp
    let outputs = [
        ("zd.geojson", "GeoJSON", vec![]),
        ("zd.gpkg", "GPKG", vec![]),
        ("zd.gdb", "OpenFileGDB", vec![]),
        ("zd.tab", "MapInfo File", vec![]),
        ("zd.dxf", "DXF", vec![]),
        ("zd.csv", "CSV", vec!["-lco", "GEOMETRY=AS_WKT"]),
    ];
    for (name, driver, extra) in &outputs {
        let out = d.join(name);
        let mut args = vec![
            "-f",
            driver,
            out.to_str().unwrap(),
            src,
            "-oo",
            "ENCODING=CP936",
        ];
        args.extend(extra.iter().copied());
        ogr2ogr(&args);
        let o = cadastra(ws.path(), &["--json", "inspect", out.to_str().unwrap()]);
        assert!(o.status.success(), "{name}: {}", text(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let feats: u64 = v
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["features"].as_u64().unwrap())
            .sum();
        assert_eq!(feats, n, "{name}: {v}");
        if *driver != "DXF" {
            // attributes survive (DXF has none): 坐落 in Chinese
            let l = &v[0];
            let zl = l["fields"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["name"] == "ZL")
                .unwrap();
            let s = zl["samples"][0].as_str().unwrap();
            assert!(s.starts_with("莱城区"), "{name}: ZL sample {s}");
        }
    }
    // a pipeline with a GeoJSON and a FileGDB source maps and loads them like the shapefile
    let p = std::fs::read_to_string(ws.path().join("pipelines/laiwu.toml")).unwrap();
    for (file, layer) in [("zd.geojson", None), ("zd.gdb", Some("ZD"))] {
        let mut t = p.replace(
            "type = \"shapefile\"\npath = \"../sample-data/laiwu/ZD.shp\"",
            &format!("type = \"gdal\"\npath = \"../formats/{file}\""),
        );
        if let Some(l) = layer {
            t = t.replace(
                &format!("path = \"../formats/{file}\""),
                &format!("path = \"../formats/{file}\"\nlayer = \"{l}\""),
            );
        }
        // GeoJSON carries no .prj: the geometry is still Xi'an 80 GK, declared by the pipeline
        let name = format!("pipelines/via-{file}.toml");
        std::fs::write(ws.path().join(&name), t).unwrap();
        let reg = format!("out/{file}.gpkg");
        let o = cadastra(
            ws.path(),
            &[
                "--json",
                "--quiet",
                "run",
                &name,
                "--registry",
                &reg,
                "--out",
                "out",
            ],
        );
        assert!(o.status.success(), "{file}: {}", text(&o));
        let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let r = s["reconciliation"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["source"] == "laiwu_zd")
            .unwrap()
            .clone();
        assert_eq!(r["read"].as_u64().unwrap(), n, "{file}: {r}");
        assert!(r["loaded"].as_u64().unwrap() > 1700, "{file}: {r}");
    }
}
