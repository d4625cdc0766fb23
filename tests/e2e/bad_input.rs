//! Bad input never panics, fails with a message naming the file (and record/field where there is
//! one), exits non-zero, and leaves the registry exactly as it was. Records that can be read but not
//! mapped go to quarantine with a reason.

use crate::common::*;
use std::path::Path;

/// A workspace with a registry already loaded by a good run of the Laiwu pipeline.
fn loaded_workspace() -> (tempfile::TempDir, Vec<u8>) {
    let ws = workspace();
    let o = cadastra(
        ws.path(),
        &[
            "--quiet",
            "run",
            "pipelines/laiwu.toml",
            "--registry",
            "out/registry.gpkg",
            "--out",
            "out",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let h = sha256(&ws.path().join("out/registry.gpkg"));
    (ws, h)
}

fn run_fails(ws: &Path, pipeline: &str, expect: &[&str]) {
    let o = cadastra(
        ws,
        &[
            "--quiet",
            "run",
            pipeline,
            "--registry",
            "out/registry.gpkg",
            "--out",
            "out",
        ],
    );
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "exit code for {pipeline}: {t}");
    assert!(!t.contains("panicked"), "{t}");
    for e in expect {
        assert!(t.contains(e), "message should name {e:?}: {t}");
    }
}

#[test]
fn truncated_shp_is_refused_and_registry_unchanged() {
    let (ws, before) = loaded_workspace();
    let shp = ws.path().join("sample-data/laiwu/ZD.shp");
    let len = std::fs::metadata(&shp).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(&shp).unwrap();
    f.set_len(len / 2 + 3).unwrap();
    run_fails(ws.path(), "pipelines/laiwu.toml", &["ZD.shp", "record"]);
    assert_eq!(sha256(&ws.path().join("out/registry.gpkg")), before);
}

#[test]
fn missing_dbf_or_shx_is_refused() {
    let (ws, before) = loaded_workspace();
    std::fs::remove_file(ws.path().join("sample-data/laiwu/ZRZ.dbf")).unwrap();
    run_fails(ws.path(), "pipelines/laiwu.toml", &["ZRZ.dbf"]);
    assert_eq!(sha256(&ws.path().join("out/registry.gpkg")), before);
    let ws2 = workspace();
    std::fs::remove_file(ws2.path().join("sample-data/laiwu/ZD.shx")).unwrap();
    run_fails(
        ws2.path(),
        "pipelines/laiwu.toml",
        &["ZD.shx", "restore_shx"],
    );
    assert!(!ws2.path().join("out/registry.gpkg").exists());
}

#[test]
fn broken_csv_quoting_names_file_line_and_field() {
    let (ws, before) = loaded_workspace();
    let csv = ws.path().join("sample-data/laiwu/登记_权利.csv");
    let mut b = std::fs::read(&csv).unwrap();
    // a field that opens a quote and never closes it, on the 5th data line
    let mut line = 0;
    let mut pos = 0;
    for (i, c) in b.iter().enumerate() {
        if *c == b'\n' {
            line += 1;
            if line == 5 {
                pos = i + 1;
                break;
            }
        }
    }
    b.insert(pos, b'"');
    b.insert(pos + 1, b'x');
    std::fs::write(&csv, &b).unwrap();
    run_fails(
        ws.path(),
        "pipelines/laiwu.toml",
        &["登记_权利.csv", "line"],
    );
    assert_eq!(sha256(&ws.path().join("out/registry.gpkg")), before);
}

#[test]
fn pipeline_mistakes_are_all_reported_with_lines() {
    let ws = workspace();
    let p = ws.path().join("pipelines/laiwu.toml");
    let t = std::fs::read_to_string(&p).unwrap();
    let t = t
        .replacen(
            "batch = \"laiwu-2019-legacy\"",
            "batch = \"laiwu-2019-legacy\"\nbatchsize = 10",
            1,
        )
        .replacen("chinese = true", "chinese = \"yes\"", 1)
        .replacen("SXH = \"SXH\"", "SXH = \"SXH\"\nNOSUCHFIELD = \"X\"", 1);
    std::fs::write(ws.path().join("pipelines/bad.toml"), &t).unwrap();
    let o = cadastra(ws.path(), &["check", "pipelines/bad.toml"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(out.contains("batchsize"), "{out}");
    assert!(out.contains("chinese"), "{out}");
    let lines: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("pipelines/bad.toml:"))
        .collect();
    assert!(lines.len() >= 2, "{out}");
    // run refuses too, before touching anything
    run_fails(ws.path(), "pipelines/bad.toml", &["bad.toml"]);
    assert!(!ws.path().join("out/registry.gpkg").exists());
}

#[test]
fn unreadable_path_is_a_clear_error() {
    let (ws, before) = loaded_workspace();
    let t = std::fs::read_to_string(ws.path().join("pipelines/laiwu.toml"))
        .unwrap()
        .replace("laiwu/ZRZ.shp", "laiwu/NOPE.shp");
    std::fs::write(ws.path().join("pipelines/nope.toml"), t).unwrap();
    run_fails(ws.path(), "pipelines/nope.toml", &["NOPE"]);
    assert_eq!(sha256(&ws.path().join("out/registry.gpkg")), before);
}

#[test]
fn unmappable_records_are_quarantined_with_reasons() {
    let ws = workspace();
    let csv = ws.path().join("sample-data/laiwu/登记_权利.csv");
    let mut b = std::fs::read(&csv).unwrap();
    let (gbk, _, _) = encoding_rs::GBK.encode(
        ",370116001001GB00001F00010001,4,100,首次登记,,,,,,,,1,,,,,,\n\
         BAD-QLLX-1,370116001001GB00001F00010001,13,100,首次登记,,,,,,,,1,,,,,,\n",
    );
    b.extend_from_slice(&gbk);
    std::fs::write(&csv, &b).unwrap();
    let o = cadastra(
        ws.path(),
        &[
            "--json",
            "--quiet",
            "run",
            "pipelines/laiwu.toml",
            "--registry",
            "out/registry.gpkg",
            "--out",
            "out",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for r in s["reconciliation"].as_array().unwrap() {
        let sum = ["loaded", "unchanged", "held", "quarantined"]
            .iter()
            .map(|k| r[k].as_u64().unwrap())
            .sum::<u64>();
        assert_eq!(r["read"].as_u64().unwrap(), sum, "{r}");
    }
    let db = rusqlite::Connection::open(ws.path().join("out/registry.gpkg")).unwrap();
    let reasons: Vec<String> = db
        .prepare(
            "SELECT reason || ' | ' || raw_record FROM quarantine WHERE src_file LIKE '%权利.csv'",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("legacy key") && r.contains("\"YWH\":null")),
        "{reasons:#?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("QLLX") && r.contains("BAD-QLLX-1")),
        "{reasons:#?}"
    );
}
