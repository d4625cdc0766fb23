//! Issue 3: every dataset of ../shared/peer-tests/shapefiles through `cadastra inspect`: the same
//! feature count as GDAL 3.6.2 (or our documented count / a clean refusal naming the file), the
//! encoding decided as expected, the strings the MANIFEST quotes decoded right, and never a panic.
//! Expectations are the reader's table (crates/cadastra-shp/tests/data/peer_shapefiles.toml).

use crate::common::*;

#[test]
fn all_peer_shapefiles_through_inspect() {
    let peer = root().join("../shared/peer-tests/shapefiles");
    assert!(
        peer.is_dir(),
        "peer tests missing at {} (CI has ../shared beside the clone)",
        peer.display()
    );
    let table: toml::Table = toml::from_str(
        &std::fs::read_to_string(
            root().join("crates/cadastra-shp/tests/data/peer_shapefiles.toml"),
        )
        .unwrap(),
    )
    .unwrap();
    let cases = table["case"].as_array().unwrap();
    let mut datasets = std::collections::BTreeSet::new();
    let mut failures = Vec::new();
    for c in cases {
        let path = c["path"].as_str().unwrap();
        if path.ends_with(".zip") {
            continue; // zipped sets are refused by design ("unpack it first"), checked in cadastra-shp
        }
        datasets.insert(path.to_string());
        let mut full = peer.join(path);
        if c.get("reader").and_then(|v| v.as_str()) == Some("shp") {
            full.set_extension("shp"); // the case opens the set as a shapefile, not the .dbf alone
        }
        let mut args = vec!["--json".to_string(), "inspect".to_string()];
        if let Some(e) = c.get("override").and_then(|v| v.as_str()) {
            args.push("--encoding".into());
            args.push(e.into());
        }
        if c.get("chinese").and_then(|v| v.as_bool()) == Some(true) {
            args.push("--chinese".into());
        }
        args.push(full.display().to_string());
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = cadastra(&root(), &a);
        let t = text(&o);
        if t.contains("panicked") {
            failures.push(format!("{path}: PANIC {t}"));
            continue;
        }
        if let Some(r) = c.get("refuse").and_then(|v| v.as_str()) {
            if o.status.code() != Some(2) || !t.contains(r) {
                failures.push(format!(
                    "{path}: expected refusal containing {r:?}, got {t}"
                ));
            }
            continue;
        }
        if !o.status.success() {
            failures.push(format!("{path}: inspect failed: {t}"));
            continue;
        }
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let l = &v[0];
        let want = c
            .get("rows")
            .or_else(|| c.get("gdal"))
            .and_then(|x| x.as_integer())
            .unwrap();
        if l["features"].as_i64() != Some(want) {
            failures.push(format!(
                "{path}: {} features, expected {want}",
                l["features"]
            ));
        }
        if let Some(e) = c.get("encoding").and_then(|x| x.as_str()) {
            let got = l["encoding"]["encoding"].as_str().unwrap_or("");
            if !got.eq_ignore_ascii_case(e) {
                failures.push(format!("{path}: encoding {got}, expected {e}"));
            }
        }
        for val in c
            .get("values")
            .and_then(|x| x.as_array())
            .into_iter()
            .flatten()
        {
            let (Some(0), Some(f), Some(want)) = (
                val.get("row").and_then(|x| x.as_integer()),
                val.get("field").and_then(|x| x.as_str()),
                val.get("value").and_then(|x| x.as_str()),
            ) else {
                continue;
            };
            let samples = l["fields"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["name"] == f)
                .map(|x| x["samples"].clone());
            let ok = samples
                .as_ref()
                .and_then(|s| s.as_array())
                .is_some_and(|s| s.iter().any(|x| x.as_str() == Some(want)));
            if !want.trim().is_empty() && !ok {
                failures.push(format!(
                    "{path}: field {f} should show {want:?}, samples {samples:?}"
                ));
            }
        }
    }
    assert!(datasets.len() >= 100, "{} datasets covered", datasets.len());
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
