//! Issue 5 item 6: `cadastra validate` without touching the registry — with a pipeline, and on plain
//! files (`--as parcel|building`) — writing the findings GeoPackage, CSV and JSON summary.

use crate::common::*;

#[test]
fn validate_writes_findings_and_never_a_registry() {
    let ws = workspace();
    let o = cadastra(
        ws.path(),
        &[
            "--quiet",
            "validate",
            "pipelines/laiwu.toml",
            "--out",
            "out",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        !ws.path().join("out/registry.gpkg").exists(),
        "validate never writes a registry"
    );
    let csv = std::fs::read_to_string(ws.path().join("out/findings.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    for col in [
        "rule_id",
        "severity",
        "layer",
        "feature_key",
        "other_key",
        "x",
        "y",
        "value",
        "message_zh",
        "message_en",
    ] {
        assert!(
            header.split(',').any(|c| c == col),
            "findings.csv lacks {col}: {header}"
        );
    }
    let rows = csv.lines().count() - 1;
    assert!(rows > 0, "the sample world has planted defects");
    let g = ws.path().join("out/findings.gpkg");
    assert_eq!(count(&g, "findings") as usize, rows);
    let by_rule: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(ws.path().join("out/findings-by-rule.json")).unwrap(),
    )
    .unwrap();
    assert!(by_rule.get("GEOM-01").is_some(), "{by_rule}");
    let v = std::process::Command::new("/usr/bin/python3")
        .args(["-m", "osgeo_utils.samples.validate_gpkg", "-k"])
        .arg(&g)
        .output()
        .unwrap();
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
}

#[test]
fn validate_plain_files_as_parcels() {
    let ws = workspace();
    let swiss =
        root().join("../shared/peer-tests/real-coverages/swiss-maps-2024/municipalities.shp");
    let o = cadastra(
        ws.path(),
        &[
            "--json",
            "--quiet",
            "validate",
            swiss.to_str().unwrap(),
            "--as",
            "parcel",
            "--out",
            "out",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(s["reconciliation"][0]["read"], 2134);
    // a clean coverage: no invalid geometry and no overlap
    let by_rule = &s["findings_by_rule"];
    assert!(
        by_rule.get("GEOM-01").is_none() && by_rule.get("TOPO-01").is_none(),
        "{by_rule}"
    );
    // the laiwu parcels with a bow-tie each: found by GEOM-01, keyed by ZDDM
    let zd = ws.path().join("sample-data/laiwu/ZD.shp");
    let o = cadastra(
        ws.path(),
        &[
            "--json",
            "--quiet",
            "validate",
            zd.to_str().unwrap(),
            "--as",
            "parcel",
            "--out",
            "out2",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let csv = std::fs::read_to_string(ws.path().join("out2/findings.csv")).unwrap();
    let truth =
        std::fs::read_to_string(ws.path().join("sample-data/truth/ground_truth.csv")).unwrap();
    for l in truth
        .lines()
        .filter(|l| l.starts_with("GEOM-01,") && l.contains(",laiwu,"))
    {
        let key = l.split(',').nth(2).unwrap();
        assert!(
            csv.lines()
                .any(|f| f.starts_with("GEOM-01,") && f.contains(key)),
            "GEOM-01 {key} not found"
        );
    }
}

#[test]
fn validate_named_sources_of_a_pipeline() {
    let ws = workspace();
    let o = cadastra(
        ws.path(),
        &[
            "--quiet",
            "--json",
            "validate",
            "pipelines/laiwu.toml",
            "--source",
            "laiwu_zd",
            "--source",
            "laiwu_zrz",
            "--out",
            "out",
        ],
    );
    // exit 1: findings at or above --fail-on (the sample world has planted defects)
    assert!(o.status.code().is_some_and(|c| c <= 1), "{}", text(&o));
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let names: Vec<&str> = summary["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["laiwu_zd", "laiwu_zrz"]);
    let by_rule = &summary["findings_by_rule"];
    for rule in ["GEOM-01", "TOPO-01", "TOPO-04"] {
        assert!(by_rule.get(rule).is_some(), "{rule} missing: {by_rule}");
    }
    let csv = std::fs::read_to_string(ws.path().join("out/findings.csv")).unwrap();
    assert!(
        csv.lines()
            .skip(1)
            .all(|l| l.contains("ZDJBXX") || l.contains("ZRZ")),
        "only the parcels and buildings were validated"
    );

    let o = cadastra(
        ws.path(),
        &[
            "--quiet",
            "validate",
            "pipelines/laiwu.toml",
            "--source",
            "nope",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("no source named nope") && t.contains("laiwu_zd"),
        "{t}"
    );
}
