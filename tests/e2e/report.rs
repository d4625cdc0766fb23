//! Issue 7: the deliverables people open after a run — report.html renders offline in headless
//! Chromium without console errors and shows the run's finding counts; findings.xlsx has the
//! summary, findings and reconciliation sheets; the registry is QGIS-ready (layer_styles as QGIS
//! looks them up, metadata, a .qgz with relative paths, the CGCS2000 CRS and the relations).

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn run_json(ws: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "--json",
        "--quiet",
        "run",
        "pipelines/jinan-laiwu.toml",
        "--registry",
        "out/registry.gpkg",
        "--out",
        "out",
    ];
    args.extend_from_slice(extra);
    let o = cadastra(ws, &args);
    assert!(o.status.success(), "run failed: {}", text(&o));
    serde_json::from_slice(&o.stdout).expect("JSON summary on stdout")
}

fn total_findings(s: &serde_json::Value) -> u64 {
    s["findings_by_rule"]
        .as_object()
        .unwrap()
        .values()
        .map(|c| {
            ["E", "W", "I"]
                .iter()
                .map(|k| c[k].as_u64().unwrap())
                .sum::<u64>()
        })
        .sum()
}

fn grouped(n: u64) -> String {
    let s = n.to_string();
    let mut o = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            o.push(',');
        }
        o.push(c);
    }
    o
}

/// Where test artefacts (screenshots) are kept after the test.
fn artefacts(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn chromium() -> Option<PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

fn chromium_args(profile: &Path) -> Vec<String> {
    [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=8000",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([format!("--user-data-dir={}", profile.display())])
    .collect()
}

#[test]
fn run_report_is_self_contained_and_renders_in_chromium() {
    let ws = workspace();
    let s = run_json(ws.path(), &[]);
    let out = ws.path().join("out");
    let html_path = out.join("report.html");
    let html = std::fs::read_to_string(&html_path).expect("out/report.html");
    let n = total_findings(&s);
    assert!(n > 0, "the sample world has findings");

    // self-contained: nothing to fetch
    for bad in [
        "src=\"http",
        "href=\"http",
        "<link",
        "@import",
        "url(",
        "src=\"//",
    ] {
        assert!(!html.contains(bad), "report.html refers outside: {bad}");
    }
    // the run's numbers, statically (no script needed)
    assert!(
        html.contains(&format!("id=\"total-findings\">{}<", grouped(n))),
        "total findings {n} shown"
    );
    assert!(html.contains(s["run_id"].as_str().unwrap()));
    for r in s["reconciliation"].as_array().unwrap() {
        assert!(html.contains(r["source"].as_str().unwrap()));
    }
    assert!(html.contains("数量核对") && html.contains("Reconciliation"));
    assert!(html.contains("<svg class=\"ov\""), "overview map");
    assert!(html.contains("<svg class=\"fm\""), "maps per finding");
    assert!(html.contains("X 北"), "survey X is the northing");
    assert!(html.contains("class=\"sb\""), "scale bar");
    // review copies are masked: no right holder's ID number appears
    let reg = out.join("registry.gpkg");
    let c = rusqlite::Connection::open(&reg).unwrap();
    let ids: Vec<String> = c
        .prepare("SELECT ZJH FROM QLR WHERE length(ZJH) = 18")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(!ids.is_empty());
    for id in &ids {
        assert!(!html.contains(id.as_str()), "unmasked ID number in report");
    }
    // small enough at this scale, and the workbook is there
    assert!(html.len() < 5_000_000, "report is {} bytes", html.len());
    assert!(out.join("findings.xlsx").exists());

    let Some(chrome) = chromium() else {
        eprintln!("SKIP chromium part: /usr/bin/chromium is missing (bash scripts/setup-system.sh --browser)");
        return;
    };
    let keep = artefacts("report");
    let profile = tempfile::tempdir().unwrap();
    let url = format!("file://{}", html_path.display());
    let o = Command::new(&chrome)
        .args(chromium_args(profile.path()))
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .expect("chromium runs");
    let dom = String::from_utf8_lossy(&o.stdout);
    let log = String::from_utf8_lossy(&o.stderr);
    let console_errors: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("CONSOLE") && (l.contains("Uncaught") || l.contains("Error")))
        .collect();
    assert!(
        console_errors.is_empty(),
        "console errors:\n{}",
        console_errors.join("\n")
    );
    // the script ran: the findings table is paged and counts every finding
    let shown = format!("/ {n}");
    let fcount = dom
        .split("id=\"fcount\">")
        .nth(1)
        .and_then(|t| t.split('<').next())
        .unwrap_or("");
    assert!(
        fcount.contains(&shown),
        "fcount {fcount:?} should end with {shown:?}"
    );
    assert!(
        dom.matches("<tr>").count() > 50,
        "table rows rendered by the script"
    );
    // screenshot, kept as an artefact
    let png = keep.join("report.png");
    let _ = std::fs::remove_file(&png);
    let o = Command::new(&chrome)
        .args(chromium_args(profile.path()))
        .arg("--window-size=1400,2600")
        .arg("--hide-scrollbars")
        .arg(format!("--screenshot={}", png.display()))
        .arg(&url)
        .output()
        .expect("chromium runs");
    assert!(png.exists(), "no screenshot: {}", text(&o));
    std::fs::copy(&html_path, keep.join("report.html")).unwrap();
    eprintln!("report screenshot: {}", png.display());
}

#[test]
fn registry_is_qgis_ready_and_workbook_has_its_sheets() {
    let ws = workspace();
    let _ = run_json(ws.path(), &[]);
    let out = ws.path().join("out");
    let reg = out.join("registry.gpkg");
    let c = rusqlite::Connection::open(&reg).unwrap();
    // layer_styles exactly as QGIS looks them up
    for t in ["ZDJBXX", "ZRZ", "findings", "finding_areas"] {
        let (schema, geom, def, qml): (String, String, i64, String) = c
            .query_row(
                "SELECT f_table_schema, f_geometry_column, useAsDefault, styleQML FROM layer_styles WHERE f_table_name = ?1",
                [t],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap_or_else(|e| panic!("no style for {t}: {e}"));
        assert_eq!(schema, "", "{t}: f_table_schema must be ''");
        assert_eq!(geom, "geom");
        assert_eq!(def, 1);
        assert!(qml.contains("<renderer-v2"));
    }
    let zd_qml: String = c
        .query_row(
            "SELECT styleQML FROM layer_styles WHERE f_table_name = 'ZDJBXX'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(zd_qml.contains("attr=\"QLLX\"") && zd_qml.contains("fieldName=\"BDCDYH\""));
    let dt: String = c
        .query_row(
            "SELECT data_type FROM gpkg_contents WHERE table_name = 'layer_styles'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(dt, "attributes");
    // run metadata
    let md: String = c
        .query_row("SELECT metadata FROM gpkg_metadata", [], |r| r.get(0))
        .unwrap();
    assert!(md.contains("CADASTRA_RUN_ID"));
    let desc: String = c
        .query_row(
            "SELECT description FROM gpkg_contents WHERE table_name = 'ZDJBXX'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        desc.contains("宗地") && desc.contains("EPSG:4548"),
        "{desc}"
    );
    drop(c);
    // GDAL's validator
    let v = Command::new("/usr/bin/python3")
        .args(["-m", "osgeo_utils.samples.validate_gpkg", "-k"])
        .arg(&reg)
        .output();
    match v {
        Ok(o) if o.status.success() => {}
        Ok(o) if String::from_utf8_lossy(&o.stderr).contains("No module named") => {
            eprintln!("SKIP validate_gpkg: python3-gdal missing")
        }
        Ok(o) => panic!("validate_gpkg: {}", text(&o)),
        Err(e) => eprintln!("SKIP validate_gpkg: {e}"),
    }
    // the project: relative paths, CRS, relations
    let qgz = out.join("registry.qgz");
    let o = Command::new("/usr/bin/python3")
        .args([
            "-c",
            "import sys,zipfile; z=zipfile.ZipFile(sys.argv[1]); n=[x for x in z.namelist() if x.endswith('.qgs')][0]; sys.stdout.write(z.read(n).decode())",
        ])
        .arg(&qgz)
        .output()
        .expect("python3");
    let qgs = String::from_utf8_lossy(&o.stdout);
    assert!(
        qgs.contains("./registry.gpkg|layername=ZDJBXX"),
        "relative source"
    );
    assert!(qgs.contains("<Absolute type=\"bool\">false</Absolute>"));
    assert!(qgs.contains("<ProjectionsEnabled type=\"int\">1</ProjectionsEnabled>"));
    assert!(qgs.contains("<authid>EPSG:4548</authid>"));
    assert_eq!(qgs.matches("<relation ").count(), 4, "relations");
    assert!(qgs.contains("referencingField=\"ZDDM\" referencedField=\"ZDDM\""));
    // the workbook's sheets
    let o = Command::new("/usr/bin/python3")
        .args([
            "-c",
            "import sys,zipfile; print(zipfile.ZipFile(sys.argv[1]).read('xl/workbook.xml').decode())",
        ])
        .arg(out.join("findings.xlsx"))
        .output()
        .expect("python3");
    let wb = String::from_utf8_lossy(&o.stdout);
    for sheet in [
        "汇总 summary",
        "检查结果 findings",
        "数量核对 reconciliation",
    ] {
        assert!(wb.contains(sheet), "sheet {sheet} in {wb}");
    }
    // QGIS itself, when installed (CI: scripts/qgis-check.sh)
    if Command::new("/usr/bin/python3")
        .args(["-c", "import qgis.core"])
        .output()
        .is_ok_and(|o| o.status.success())
    {
        let o = Command::new("bash")
            .arg(root().join("scripts/qgis-check.sh"))
            .arg(&reg)
            .arg(&qgz)
            .output()
            .expect("bash");
        assert!(o.status.success(), "qgis-check: {}", text(&o));
    } else {
        eprintln!("SKIP QGIS check: PyQGIS missing (bash scripts/setup-system.sh --qgis)");
    }
}

#[test]
fn unmask_is_recorded_and_shown() {
    let ws = workspace();
    let _ = run_json(ws.path(), &["--unmask"]);
    let html = std::fs::read_to_string(ws.path().join("out/report.html")).unwrap();
    assert!(html.contains("未脱敏 UNMASKED"));
}
