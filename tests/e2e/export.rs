//! Issue 7: `cadastra export` — every format reads back (GDAL's validator and QGIS for GeoPackage,
//! ogrinfo for Shapefile, FlatGeobuf and CSV, the parquet crate for GeoParquet) with the registry's
//! counts and CRS, Chinese text intact, personal data masked, and `--where` refusing anything
//! that is not a filter.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// One demo registry shared by the export tests (built once per test binary).
fn registry() -> &'static Path {
    static REG: OnceLock<PathBuf> = OnceLock::new();
    REG.get_or_init(|| {
        // a workspace kept for the whole test binary (the tests only read its registry)
        let ws = workspace();
        let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("export-e2e");
        let _ = std::fs::remove_dir_all(&d);
        copy_dir(ws.path(), &d);
        let o = cadastra(
            &d,
            &[
                "--quiet",
                "run",
                "pipelines/jinan-laiwu.toml",
                "--registry",
                "out/registry.gpkg",
                "--out",
                "out",
            ],
        );
        assert!(o.status.success(), "run failed: {}", text(&o));
        d.join("out/registry.gpkg")
    })
}

fn scalar<T: rusqlite::types::FromSql>(db: &Path, sql: &str) -> T {
    let c = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap();
    c.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn export(args: &[&str]) -> std::process::Output {
    let reg = registry();
    let mut a = vec!["--quiet", "export", "--registry", reg.to_str().unwrap()];
    a.extend_from_slice(args);
    cadastra(reg.parent().unwrap(), &a)
}

fn out_dir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("export-out")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `ogrinfo -ro -so` of a layer: (feature count, CRS text).
fn ogrinfo(path: &Path, layer: &str) -> (i64, String) {
    let o = Command::new("ogrinfo")
        .args(["-ro", "-so"])
        .arg(path)
        .arg(layer)
        .output()
        .expect("ogrinfo (gdal-bin)");
    assert!(
        o.status.success(),
        "ogrinfo {}: {}",
        path.display(),
        text(&o)
    );
    let s = String::from_utf8_lossy(&o.stdout).to_string();
    let n = s
        .lines()
        .find_map(|l| l.strip_prefix("Feature Count: "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(-1);
    (n, s)
}

/// Every value of one field, as ogrinfo prints it.
fn ogr_values(path: &Path, layer: &str, field: &str) -> String {
    let o = Command::new("ogrinfo")
        .args(["-ro", "-q", "-geom=NO", "-sql"])
        .arg(format!("SELECT \"{field}\" FROM \"{layer}\""))
        .arg(path)
        .output()
        .expect("ogrinfo");
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn is_cgcs2000_gk117(info: &str) -> bool {
    (info.contains("CGCS2000") || info.contains("China_2000") || info.contains("China 2000"))
        && (info.contains("117") || info.contains("4548"))
}

fn a_chinese_address(reg: &Path) -> String {
    scalar(
        reg,
        "SELECT ZL FROM ZDJBXX WHERE substr(ZDDM,1,6) = '370116' AND ZL GLOB '*[^ -~]*' ORDER BY fid LIMIT 1",
    )
}

#[test]
fn gpkg_export_is_valid_styled_and_filtered_by_district() {
    let reg = registry();
    let dir = out_dir("gpkg");
    let gpkg = dir.join("laiwu.gpkg");
    let o = export(&[
        "--format",
        "gpkg",
        "--out",
        gpkg.to_str().unwrap(),
        "--layer",
        "ZDJBXX,ZRZ,QLR,findings",
        "--district",
        "370116",
    ]);
    assert!(o.status.success(), "export: {}", text(&o));
    let want: i64 = scalar(
        reg,
        "SELECT count(*) FROM ZDJBXX WHERE substr(ZDDM,1,6) = '370116'",
    );
    assert!(want > 0);
    assert_eq!(count(&gpkg, "ZDJBXX"), want);
    let (n, info) = ogrinfo(&gpkg, "ZDJBXX");
    assert_eq!(n, want);
    assert!(info.contains("4548"), "{info}");
    // Chinese text survives, personal data is masked
    let zl = a_chinese_address(reg);
    let got: i64 = scalar(
        &gpkg,
        &format!(
            "SELECT count(*) FROM ZDJBXX WHERE ZL = '{}'",
            zl.replace('\'', "''")
        ),
    );
    assert!(got >= 1, "address {zl} lost");
    let unmasked: i64 = scalar(
        &gpkg,
        "SELECT count(*) FROM QLR WHERE ZJH NOT LIKE '%*%' AND ZJH <> ''",
    );
    assert_eq!(unmasked, 0, "ID numbers must be masked without --unmask");
    // styled for QGIS, with a project next to it
    let styles: i64 = scalar(
        &gpkg,
        "SELECT count(*) FROM layer_styles WHERE f_table_schema = '' AND useAsDefault = 1",
    );
    assert_eq!(styles, 3, "ZDJBXX, ZRZ, findings");
    assert!(dir.join("laiwu.qgz").exists());
    match Command::new("/usr/bin/python3")
        .args(["-m", "osgeo_utils.samples.validate_gpkg", "-k"])
        .arg(&gpkg)
        .output()
    {
        Ok(v) if v.status.success() => {}
        Ok(v) if String::from_utf8_lossy(&v.stderr).contains("No module named") => {
            eprintln!("SKIP validate_gpkg: python3-gdal missing")
        }
        Ok(v) => panic!("validate_gpkg: {}", text(&v)),
        Err(e) => eprintln!("SKIP validate_gpkg: {e}"),
    }
    if Command::new("/usr/bin/python3")
        .args(["-c", "import qgis.core"])
        .output()
        .is_ok_and(|o| o.status.success())
    {
        let o = Command::new("bash")
            .arg(root().join("scripts/qgis-check.sh"))
            .arg(&gpkg)
            .arg(dir.join("laiwu.qgz"))
            .output()
            .expect("bash");
        assert!(o.status.success(), "qgis-check: {}", text(&o));
    } else {
        eprintln!("SKIP QGIS check: PyQGIS missing (bash scripts/setup-system.sh --qgis)");
    }
}

#[test]
fn shapefile_export_is_utf8_with_a_field_mapping() {
    let reg = registry();
    let dir = out_dir("shp");
    let o = export(&[
        "--format",
        "shp",
        "--out",
        dir.to_str().unwrap(),
        "--layer",
        "ZDJBXX,QLR",
    ]);
    assert!(o.status.success(), "export: {}", text(&o));
    let shp = dir.join("ZDJBXX.shp");
    let (n, info) = ogrinfo(&shp, "ZDJBXX");
    assert_eq!(n, count(reg, "ZDJBXX"));
    assert!(is_cgcs2000_gk117(&info), "{info}");
    assert_eq!(
        std::fs::read_to_string(dir.join("ZDJBXX.cpg"))
            .unwrap()
            .trim(),
        "UTF-8"
    );
    let mapping = std::fs::read_to_string(dir.join("ZDJBXX.fields.csv")).unwrap();
    assert!(mapping.contains("record_hash,record_has"), "{mapping}");
    let zl = a_chinese_address(reg);
    assert!(
        ogr_values(&shp, "ZDJBXX", "ZL").contains(&zl),
        "Chinese address {zl} lost in the shapefile"
    );
    // attribute table as a DBF, masked
    let dbf = dir.join("QLR.dbf");
    let (n, _) = ogrinfo(&dbf, "QLR");
    assert_eq!(n, count(reg, "QLR"));
    let names = ogr_values(&dbf, "QLR", "QLRMC");
    assert!(names.contains('*'), "names masked");
}

#[test]
fn flatgeobuf_and_csv_read_back_with_counts_crs_and_chinese() {
    let reg = registry();
    let dir = out_dir("fgb");
    let o = export(&[
        "--format",
        "fgb",
        "--out",
        dir.to_str().unwrap(),
        "--layer",
        "ZDJBXX,ZRZ",
    ]);
    assert!(o.status.success(), "export: {}", text(&o));
    for t in ["ZDJBXX", "ZRZ"] {
        let (n, info) = ogrinfo(&dir.join(format!("{t}.fgb")), t);
        assert_eq!(n, count(reg, t), "{t}");
        assert!(is_cgcs2000_gk117(&info), "{info}");
    }
    let zl = a_chinese_address(reg);
    assert!(ogr_values(&dir.join("ZDJBXX.fgb"), "ZDJBXX", "ZL").contains(&zl));

    let cdir = out_dir("csv");
    let o = export(&[
        "--format",
        "csv",
        "--out",
        cdir.to_str().unwrap(),
        "--layer",
        "ZDJBXX",
    ]);
    assert!(o.status.success(), "export: {}", text(&o));
    let csv = cdir.join("ZDJBXX.csv");
    let (n, info) = ogrinfo(&csv, "ZDJBXX");
    assert_eq!(n, count(reg, "ZDJBXX"));
    assert!(info.contains("Extent: ("), "WKT geometries read: {info}");
    assert!(is_cgcs2000_gk117(&info), "CRS from the .prj: {info}");
    assert!(std::fs::read_to_string(&csv).unwrap().contains(&zl));
}

#[test]
fn geoparquet_is_partitioned_by_district_with_projjson_and_bbox() {
    let reg = registry();
    let dir = out_dir("geoparquet");
    let o = export(&[
        "--format",
        "geoparquet",
        "--out",
        dir.to_str().unwrap(),
        "--layer",
        "ZDJBXX,QLR",
    ]);
    assert!(o.status.success(), "export: {}", text(&o));
    let mut total = 0i64;
    let mut found_zl = false;
    let zl = a_chinese_address(reg);
    let ldir = dir.join("layer=ZDJBXX");
    let mut districts = Vec::new();
    for e in std::fs::read_dir(&ldir).unwrap() {
        let p = e.unwrap().path();
        let d = p.file_name().unwrap().to_str().unwrap().to_string();
        assert!(d.starts_with("district="), "{d}");
        let code = d.trim_start_matches("district=").to_string();
        let file = p.join("part-0.parquet");
        let info = cadastra_export::geoparquet::read_info(&file).unwrap();
        let want: i64 = scalar(
            reg,
            &format!("SELECT count(*) FROM ZDJBXX WHERE substr(ZDDM,1,6) = '{code}'"),
        );
        assert_eq!(info.rows, want, "{code}");
        total += info.rows;
        let geo = info.geo.expect("geo metadata");
        assert_eq!(geo["version"], "1.1.0");
        let g = &geo["columns"]["geometry"];
        assert_eq!(g["encoding"], "WKB");
        assert_eq!(g["crs"]["id"]["code"], 4548);
        assert_eq!(g["covering"]["bbox"]["xmin"][0], "bbox");
        assert!(info.columns.contains(&"bbox.xmin".to_string()));
        assert!(info.row_groups >= 1);
        if code == "370116" {
            let vals = cadastra_export::geoparquet::read_text_column(&file, "ZL").unwrap();
            found_zl = vals.iter().any(|v| v.as_deref() == Some(zl.as_str()));
        }
        districts.push(code);
    }
    assert_eq!(total, count(reg, "ZDJBXX"));
    assert!(districts.contains(&"370116".to_string()) && districts.contains(&"370117".to_string()));
    assert!(found_zl, "Chinese address {zl} lost in GeoParquet");
    // attribute tables: plain Parquet in the same layout
    let q = dir.join("layer=QLR/district=370116/part-0.parquet");
    let info = cadastra_export::geoparquet::read_info(&q).unwrap();
    assert!(info.geo.is_none() && info.rows > 0);
}

#[test]
fn where_filters_safely() {
    let reg = registry();
    let dir = out_dir("where");
    let gpkg = dir.join("w.gpkg");
    let o = export(&[
        "--format",
        "gpkg",
        "--out",
        gpkg.to_str().unwrap(),
        "--layer",
        "ZDJBXX",
        "--where",
        "QLLX IN ('6', '5') AND ZDMJ > 100",
    ]);
    assert!(o.status.success(), "export: {}", text(&o));
    let want: i64 = scalar(
        reg,
        "SELECT count(*) FROM ZDJBXX WHERE QLLX IN ('6','5') AND ZDMJ > 100",
    );
    assert_eq!(count(&gpkg, "ZDJBXX"), want);
    let before = sha256(reg);
    for (bad, why) in [
        ("ZDDM = 'x'; DROP TABLE ZDJBXX", "unexpected"),
        ("NOPE = 1", "NOPE"),
        ("ZDDM = ", "value"),
    ] {
        let o = export(&[
            "--format",
            "csv",
            "--out",
            dir.join("bad").to_str().unwrap(),
            "--layer",
            "ZDJBXX",
            "--where",
            bad,
        ]);
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", text(&o));
        assert!(text(&o).contains(why), "{bad}: {}", text(&o));
    }
    assert_eq!(sha256(reg), before, "the registry is only read");
    assert!(
        !dir.join("bad").exists(),
        "nothing written for a bad filter"
    );
}
