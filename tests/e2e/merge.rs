//! Issue 6 acceptance: the merge end to end, on the GeoPackage registry and — when
//! `CADASTRA_TEST_PG` holds a `postgresql://` URL (`source scripts/pg-test-cluster.sh`) — on
//! PostgreSQL + PostGIS, each test in its own schema.
//!
//! - the sample world's planted MERGE-03 conflicts are reported once each, with the right class and
//!   keys, held for review; the clean records load with their new keys; the reconciliation
//!   balances; a second run adds nothing;
//! - a filled decisions sheet moves the records from review into the registry (or quarantine),
//!   records who decided, and a later run keeps to it;
//! - a sheet naming an unknown conflict or an impossible choice fails with a clear message and
//!   leaves the registry exactly as it was;
//! - a run killed (SIGKILL) in the middle of its write leaves the registry as it was, and the next
//!   run says it cleaned up after it.

use crate::common::*;
use cadastra_io::gpkg::GpkgRegistry;
use cadastra_io::postgis::PgRegistry;
use cadastra_io::Registry;
use cadastra_model::{registry, Column};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const PIPELINE: &str = "pipelines/jinan-laiwu.toml";

/// Where a test's registry lives.
pub(crate) enum Backend {
    Gpkg,
    Pg(String),
}

impl Backend {
    /// The PostGIS backend in a schema of its own, or None (and a note) without a server.
    pub(crate) fn pg(test: &str) -> Option<Backend> {
        match std::env::var("CADASTRA_TEST_PG") {
            Ok(u) if !u.trim().is_empty() => {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .subsec_nanos();
                let schema = format!("m_{test}_{}_{nanos}", std::process::id());
                let sep = if u.contains('?') { '&' } else { '?' };
                Some(Backend::Pg(format!("{u}{sep}schema={schema}")))
            }
            _ => {
                eprintln!("skipped: CADASTRA_TEST_PG not set");
                None
            }
        }
    }

    pub(crate) fn spec(&self) -> String {
        match self {
            Backend::Gpkg => "out/registry.gpkg".into(),
            Backend::Pg(u) => u.clone(),
        }
    }

    pub(crate) fn open(&self, ws: &Path) -> Box<dyn Registry> {
        match self {
            Backend::Gpkg => {
                Box::new(GpkgRegistry::open(&ws.join("out/registry.gpkg"), 4548).unwrap())
            }
            Backend::Pg(u) => Box::new(PgRegistry::connect(u, 4548).unwrap()),
        }
    }

    /// Every table of the registry, rows with fids, as text: equal text = equal contents.
    pub(crate) fn snapshot(&self, ws: &Path) -> String {
        let mut reg = self.open(ws);
        let mut s = String::new();
        for t in &registry().tables {
            let (fids, rows) = reg.read_table(&t.name).unwrap();
            s.push_str(&format!("{}: {fids:?} {rows:?}\n", t.name));
        }
        s
    }

    pub(crate) fn counts(&self, ws: &Path) -> BTreeMap<String, i64> {
        self.open(ws).counts().unwrap()
    }

    /// Rows of a table as field → text maps.
    pub(crate) fn rows(&self, ws: &Path, table: &str) -> Vec<BTreeMap<String, String>> {
        let def = registry().table(table).unwrap();
        let (_, rows) = self.open(ws).read_table(table).unwrap();
        (0..rows.len())
            .map(|r| {
                def.fields
                    .iter()
                    .zip(&rows.columns)
                    .filter_map(|(f, c)| {
                        let v = match c {
                            Column::Text(c) => c.get(r).map(str::to_string),
                            Column::Int(c) => c[r].map(|x| x.to_string()),
                            Column::Real(c) => c[r].map(|x| x.to_string()),
                        };
                        v.map(|v| (f.name.clone(), v))
                    })
                    .collect()
            })
            .collect()
    }
}

fn run(ws: &Path, b: &Backend, extra: &[&str]) -> Output {
    let spec = b.spec();
    let mut args = vec![
        "--json",
        "--quiet",
        "run",
        PIPELINE,
        "--registry",
        &spec,
        "--out",
        "out",
    ];
    args.extend_from_slice(extra);
    // a new PostGIS registry's first load goes over several connections into a staging schema
    // from 100,000 rows on; the sample world is smaller, so these runs ask for it from 1 row:
    // every PostGIS test here loads its registry that way (cadastra-io's tests cover both ways)
    Command::new(bin())
        .current_dir(ws)
        .args(&args)
        .env("CADASTRA_PG_PARALLEL_MIN_ROWS", "1")
        .output()
        .expect("cadastra runs")
}

fn run_ok(ws: &Path, b: &Backend, extra: &[&str]) -> serde_json::Value {
    let o = run(ws, b, extra);
    assert!(o.status.success(), "run failed: {}", text(&o));
    serde_json::from_slice(&o.stdout).expect("JSON summary on stdout")
}

fn balanced(s: &serde_json::Value) {
    for r in s["reconciliation"].as_array().unwrap() {
        let sum: u64 = ["loaded", "unchanged", "held", "quarantined"]
            .iter()
            .map(|k| r[k].as_u64().unwrap())
            .sum();
        assert_eq!(r["read"].as_u64().unwrap(), sum, "unbalanced: {r}");
    }
}

fn recon(s: &serde_json::Value, source: &str, layer: &str, what: &str) -> u64 {
    s["reconciliation"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["source"] == source && r["layer"] == layer)
        .map(|r| r[what].as_u64().unwrap())
        .sum()
}

fn total(s: &serde_json::Value, what: &str) -> u64 {
    s["reconciliation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[what].as_u64().unwrap())
        .sum()
}

/// The decisions sheet a run wrote, as field → value maps.
fn sheet(ws: &Path) -> Vec<BTreeMap<String, String>> {
    let t = std::fs::read_to_string(ws.join("out/decisions.csv")).unwrap();
    let mut r = csv::Reader::from_reader(t.trim_start_matches('\u{feff}').as_bytes());
    let h = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            h.iter()
                .zip(rec.iter())
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn rekeyed(k: &str) -> String {
    for (old, new) in [("371202", "370116"), ("371203", "370117")] {
        if let Some(rest) = k.strip_prefix(old) {
            return format!("{new}{rest}");
        }
    }
    k.to_string()
}

/// The planted merge conflicts of the sample world: (rule, feature key, other key), re-keyed.
fn planted(ws: &Path) -> Vec<(String, String, String)> {
    let mut r = csv::Reader::from_path(ws.join("sample-data/truth/ground_truth.csv")).unwrap();
    r.records()
        .map(|x| x.unwrap())
        .filter(|x| x[0].starts_with("MERGE-"))
        .map(|x| (x[0].to_string(), rekeyed(&x[2]), rekeyed(&x[3])))
        .collect()
}

// ------------------------------------------------------------------ the sample world's conflicts

fn sample_world_conflicts(b: Backend) {
    let ws = workspace();
    let s = run_ok(ws.path(), &b, &[]);
    balanced(&s);
    if let Backend::Pg(_) = b {
        // the first load went over several connections (see `run`), not back to one
        let notes = s["notes"].to_string();
        assert!(!notes.contains("over one connection"), "{notes}");
        assert!(notes.contains("will be created"), "{notes}");
    }
    let conflicts = sheet(ws.path());
    assert_eq!(s["conflicts"].as_u64().unwrap() as usize, conflicts.len());

    // every planted conflict exactly once, with its class and keys (the crossing parcel first)
    let planted = planted(ws.path());
    assert_eq!(planted.len(), 2, "the sample world plants two MERGE-03");
    for (rule, fk, ok) in &planted {
        let hits: Vec<_> = conflicts
            .iter()
            .filter(|c| {
                let keys: BTreeSet<&str> =
                    [c["feature_key"].as_str(), c["other_key"].as_str()].into();
                keys == [fk.as_str(), ok.as_str()].into()
            })
            .collect();
        assert_eq!(
            hits.len(),
            1,
            "{rule} {fk} / {ok} reported {} times: {conflicts:#?}",
            hits.len()
        );
        let c = hits[0];
        assert_eq!(&c["rule"], rule, "{c:?}");
        assert_eq!(
            &c["feature_key"], fk,
            "the 章丘区 parcel is the one crossing: {c:?}"
        );
        assert_eq!(c["status"], "held", "{c:?}");
        assert!(
            c["choices"].contains("accept") && c["choices"].contains("renumber:370116"),
            "{c:?}"
        );
        assert!(c["decision"].is_empty() && c["decided_by"].is_empty());
    }
    // nothing else of those classes: the world has no other duplicates or border crossings
    for c in &conflicts {
        if matches!(c["rule"].as_str(), "MERGE-01" | "MERGE-02" | "MERGE-03") {
            assert!(
                planted.iter().any(|(_, fk, _)| fk == &c["feature_key"]),
                "unexpected {c:?}"
            );
        }
    }
    // counted in the summary and the findings, in the registry's conflicts table
    assert_eq!(s["findings_by_rule"]["MERGE-03"]["W"].as_u64(), Some(2));
    let stored: BTreeSet<String> = b
        .rows(ws.path(), "conflicts")
        .into_iter()
        .map(|r| r["conflict_id"].clone())
        .collect();
    let listed: BTreeSet<String> = conflicts.iter().map(|c| c["conflict_id"].clone()).collect();
    assert_eq!(stored, listed);
    assert!(ws.path().join("out/decisions.xlsx").exists());

    // the crossing parcels wait in review, not in the data table; their partners load re-keyed
    let parcels = b.rows(ws.path(), "ZDJBXX");
    let review = b.rows(ws.path(), "review");
    for (_, fk, ok) in &planted {
        assert!(
            !parcels.iter().any(|p| &p["ZDDM"] == fk),
            "{fk} must be held"
        );
        assert!(
            review.iter().any(|r| r["target_table"] == "ZDJBXX"
                && &r["src_key"] == fk
                && r["status"] == "held"),
            "{fk} in review"
        );
        assert!(
            parcels
                .iter()
                .any(|p| &p["ZDDM"] == ok && p["src_system"] == "laiwu"),
            "{ok} loaded"
        );
    }
    assert_eq!(recon(&s, "zhangqiu_zd", "ZDJBXX", "held"), 2);
    // the review table has a row per (conflict, record); a record held by two conflicts (the
    // crossing parcel's survey area also disagrees with its registration, MERGE-05) counts once
    let held_records: BTreeSet<(String, String, String)> = review
        .iter()
        .filter(|r| r["status"] == "held")
        .map(|r| {
            (
                r["target_table"].clone(),
                r["src_system"].clone(),
                r["src_key"].clone(),
            )
        })
        .collect();
    assert_eq!(total(&s, "held") as usize, held_records.len());
    for c in conflicts.iter().filter(|c| c["rule"] == "MERGE-05") {
        assert!(
            planted.iter().any(|(_, fk, _)| fk == &c["feature_key"]),
            "MERGE-05 only where the crossing parcel was re-drawn: {c:?}"
        );
    }
    // clean records carry their new keys only; old keys live in the crosswalk
    assert!(parcels.len() > 2000);
    for p in &parcels {
        let z = &p["ZDDM"];
        assert!(!z.starts_with("371202") && !z.starts_with("371203"), "{z}");
    }
    let xw = b.rows(ws.path(), "key_crosswalk");
    assert!(xw
        .iter()
        .any(|x| x["key_type"] == "ZDDM" && x["old_key"].starts_with("371203")));
    // one row per legacy key, listing the tables that hold it; every re-keyed parcel is there
    let per_key: BTreeSet<(&str, &str, &str)> = xw
        .iter()
        .map(|x| {
            (
                x["key_type"].as_str(),
                x["old_key"].as_str(),
                x["src_system"].as_str(),
            )
        })
        .collect();
    assert_eq!(per_key.len(), xw.len(), "a legacy key recorded twice");
    assert!(xw
        .iter()
        .any(|x| x["key_type"] == "BDCDYH" && x["tables"].contains("ZDJBXX,")));
    let xw_zddm: BTreeMap<(&str, &str), &str> = xw
        .iter()
        .filter(|x| x["key_type"] == "ZDDM" && x["tables"].split(',').any(|t| t == "ZDJBXX"))
        .map(|x| {
            (
                (x["src_system"].as_str(), x["old_key"].as_str()),
                x["new_key"].as_str(),
            )
        })
        .collect();
    let mut checked = 0;
    for p in parcels.iter().filter(|p| p["src_key"].starts_with("37120")) {
        let got = xw_zddm.get(&(p["src_system"].as_str(), p["src_key"].as_str()));
        assert_eq!(
            got,
            Some(&p["ZDDM"].as_str()),
            "re-keyed parcel {}",
            p["src_key"]
        );
        checked += 1;
    }
    assert!(checked > 1000, "{checked} re-keyed parcels checked");
    // 身份证 numbers are never re-keyed: Laiwu holders keep their 3712… numbers
    let holders = b.rows(ws.path(), "QLR");
    assert!(
        holders
            .iter()
            .any(|h| h["src_system"] == "laiwu"
                && h.get("ZJH").is_some_and(|z| z.starts_with("3712")))
    );

    // a second run adds nothing: no data rows, no conflicts, no review rows
    let before = b.counts(ws.path());
    let s2 = run_ok(ws.path(), &b, &[]);
    balanced(&s2);
    assert_eq!(total(&s2, "loaded"), 0, "second run loaded rows");
    assert_eq!(total(&s2, "held"), total(&s, "held"));
    let after = b.counts(ws.path());
    for (t, n) in &before {
        if !matches!(t.as_str(), "cadastra_runs" | "reconciliation") {
            assert_eq!(after[t], *n, "table {t} changed on a re-run");
        }
    }
    assert_eq!(after["cadastra_runs"], 2);
    assert_eq!(sheet(ws.path()).len(), conflicts.len());
}

#[test]
fn sample_world_conflicts_gpkg() {
    sample_world_conflicts(Backend::Gpkg);
}

#[test]
fn sample_world_conflicts_postgis() {
    if let Some(b) = Backend::pg("conflicts") {
        sample_world_conflicts(b);
    }
}

// ------------------------------------------------------------------------------ decisions

fn decisions_round_trip(b: Backend) {
    let ws = workspace();
    let s1 = run_ok(ws.path(), &b, &[]);
    let all = sheet(ws.path());
    let m03: Vec<_> = all
        .iter()
        .filter(|c| c["rule"] == "MERGE-03")
        .cloned()
        .collect();
    assert_eq!(m03.len(), 2);
    let (acc, rej) = (&m03[0], &m03[1]);
    // an unfilled XLSX sheet is read and changes nothing
    let s = run_ok(ws.path(), &b, &["--decisions", "out/decisions.xlsx"]);
    assert_eq!(total(&s, "loaded"), 0);
    // fill the CSV the way a reviewer would (any column order, extra columns kept): accept the
    // first crossing parcel (and its area conflict, MERGE-05, which holds it too), reject the other
    let mut lines = vec!["\u{feff}decided_by,conflict_id,decision,notes".to_string()];
    lines.push(format!(
        "测试员 Tester,{},accept,border re-surveyed",
        acc["conflict_id"]
    ));
    lines.push(format!("测试员 Tester,{},Reject,", rej["conflict_id"]));
    for c in all.iter().filter(|c| c["rule"] != "MERGE-03") {
        let d = if c["feature_key"] == acc["feature_key"] {
            "accept"
        } else {
            ""
        };
        let by = if d.is_empty() { "" } else { "测试员 Tester" };
        lines.push(format!("{by},{},{d},", c["conflict_id"]));
    }
    let filled = ws.path().join("filled.csv");
    std::fs::write(&filled, lines.join("\n") + "\n").unwrap();
    let s = run_ok(ws.path(), &b, &["--decisions", "filled.csv"]);
    balanced(&s);
    assert_eq!(recon(&s, "zhangqiu_zd", "ZDJBXX", "held"), 0);
    assert_eq!(recon(&s, "zhangqiu_zd", "ZDJBXX", "loaded"), 1);
    assert_eq!(
        recon(&s, "zhangqiu_zd", "ZDJBXX", "quarantined"),
        recon(&s1, "zhangqiu_zd", "ZDJBXX", "quarantined") + 1
    );
    // accepted: from review into the registry; rejected: into quarantine with the decision
    let parcels = b.rows(ws.path(), "ZDJBXX");
    assert!(parcels
        .iter()
        .any(|p| p["ZDDM"] == acc["feature_key"] && p["src_system"] == "jinan"));
    assert!(!parcels.iter().any(|p| p["ZDDM"] == rej["feature_key"]));
    let q = b.rows(ws.path(), "quarantine");
    let qr: Vec<_> = q
        .iter()
        .filter(|r| r["rule_id"] == "MERGE-03" && r.get("src_key") == Some(&rej["feature_key"]))
        .collect();
    assert_eq!(qr.len(), 1, "{q:?}");
    assert!(qr[0]["reason"].contains("测试员 Tester"), "{:?}", qr[0]);
    let review = b.rows(ws.path(), "review");
    let status = |k: &str| -> BTreeSet<String> {
        review
            .iter()
            .filter(|r| r["src_key"] == k)
            .map(|r| r["status"].clone())
            .collect()
    };
    assert_eq!(status(&acc["feature_key"]), ["applied".to_string()].into());
    assert_eq!(status(&rej["feature_key"]), ["rejected".to_string()].into());
    // who decided what: in the conflicts table and in the audit row of the run
    let conflicts = b.rows(ws.path(), "conflicts");
    let c = conflicts
        .iter()
        .find(|c| c["conflict_id"] == acc["conflict_id"])
        .unwrap();
    assert_eq!(c["decision"], "accept");
    assert_eq!(c["decided_by"], "测试员 Tester");
    assert!(c.contains_key("decided_at"));
    let runs = b.rows(ws.path(), "cadastra_runs");
    let audit = runs
        .iter()
        .filter_map(|r| r.get("decisions_json"))
        .find(|j| j.contains(&acc["conflict_id"]))
        .expect("decisions in the audit table");
    let j: serde_json::Value = serde_json::from_str(audit).unwrap();
    let items = j.as_array().unwrap();
    assert!(items
        .iter()
        .any(|d| d["conflict_id"] == acc["conflict_id"].as_str()
            && d["decision"] == "accept"
            && d["decided_by"] == "测试员 Tester"));
    assert!(items
        .iter()
        .any(|d| d["conflict_id"] == rej["conflict_id"].as_str() && d["decision"] == "reject"));
    // the next run keeps to the decisions and adds nothing
    let before = b.counts(ws.path());
    let s = run_ok(ws.path(), &b, &[]);
    balanced(&s);
    assert_eq!(total(&s, "loaded"), 0);
    assert_eq!(recon(&s, "zhangqiu_zd", "ZDJBXX", "held"), 0);
    let after = b.counts(ws.path());
    for t in [
        "ZDJBXX",
        "review",
        "conflicts",
        "quarantine",
        "key_crosswalk",
    ] {
        assert_eq!(after[t], before[t], "{t}");
    }
    let st = sheet(ws.path());
    let again = st
        .iter()
        .find(|c| c["conflict_id"] == acc["conflict_id"])
        .unwrap();
    assert_eq!(again["status"], "decided");
    assert_eq!(again["decision"], "accept");
    // the same decision given again is accepted; a different one is refused (decisions are final)
    let o = run(ws.path(), &b, &["--decisions", "filled.csv"]);
    assert!(o.status.success(), "{}", text(&o));
    std::fs::write(
        &filled,
        format!(
            "conflict_id,decision,decided_by\n{},reject,someone else\n",
            acc["conflict_id"]
        ),
    )
    .unwrap();
    let o = run(ws.path(), &b, &["--decisions", "filled.csv"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("already decided"), "{}", text(&o));
}

#[test]
fn decisions_move_records_from_review_into_the_registry_gpkg() {
    decisions_round_trip(Backend::Gpkg);
}

#[test]
fn decisions_move_records_from_review_into_the_registry_postgis() {
    if let Some(b) = Backend::pg("decisions") {
        decisions_round_trip(b);
    }
}

fn bad_decisions(b: Backend) {
    let ws = workspace();
    run_ok(ws.path(), &b, &[]);
    let m03: Vec<_> = sheet(ws.path())
        .into_iter()
        .filter(|c| c["rule"] == "MERGE-03")
        .collect();
    let snap = b.snapshot(ws.path());
    let bytes = matches!(b, Backend::Gpkg).then(|| sha256(&ws.path().join("out/registry.gpkg")));
    let bad = ws.path().join("bad.csv");
    std::fs::write(
        &bad,
        format!(
            "conflict_id,decision,decided_by\nMERGE-03-000000000000,accept,王工\n{},normalise,王工\n",
            m03[0]["conflict_id"]
        ),
    )
    .unwrap();
    let o = run(ws.path(), &b, &["--decisions", "bad.csv"]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(!t.contains("panicked"), "{t}");
    for e in [
        "bad.csv row 2, field conflict_id",
        "MERGE-03-000000000000",
        "bad.csv row 3, field decision",
        "\"normalise\" is not possible",
        "accept | renumber:370116 | reject",
        "the registry was not touched",
    ] {
        assert!(t.contains(e), "message should say {e:?}: {t}");
    }
    if let Some(h) = bytes {
        assert_eq!(
            sha256(&ws.path().join("out/registry.gpkg")),
            h,
            "registry bytes changed"
        );
    }
    assert_eq!(b.snapshot(ws.path()), snap, "registry contents changed");
    // a sheet that is not one
    std::fs::write(&bad, "id;choice\nx;y\n").unwrap();
    let o = run(ws.path(), &b, &["--decisions", "bad.csv"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("no column conflict_id"), "{}", text(&o));
    assert_eq!(b.snapshot(ws.path()), snap, "registry contents changed");
}

#[test]
fn bad_decisions_leave_the_registry_untouched_gpkg() {
    bad_decisions(Backend::Gpkg);
}

#[test]
fn bad_decisions_leave_the_registry_untouched_postgis() {
    if let Some(b) = Backend::pg("bad") {
        bad_decisions(b);
    }
}

// ------------------------------------------------------------------------------ SIGKILL

/// A 30 000-parcel world (generated once per test process), with the pipelines beside it.
fn big_world() -> &'static Path {
    static W: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    W.get_or_init(|| {
        let d = tempfile::tempdir().unwrap().keep();
        let o = cadastra(
            &d,
            &[
                "--quiet",
                "sample",
                "--out",
                "sample-data",
                "--parcels",
                "30000",
            ],
        );
        assert!(o.status.success(), "sample: {}", text(&o));
        copy_dir(&root().join("pipelines"), &d.join("pipelines"));
        fit_local_grid(&d);
        d
    })
}

/// Start a big run, wait until it says it writes the registry and `ready()` holds (a journal or
/// partial file appeared), then kill it with SIGKILL. Returns how long after the write began.
fn kill_during_write(reg: &str, ready: impl Fn() -> bool) -> Duration {
    let mut child = Command::new(bin())
        .current_dir(big_world())
        .args(["run", PIPELINE, "--registry", reg, "--out", "out-big"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let err = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(err).split(b'\n').map_while(Result::ok) {
            if String::from_utf8_lossy(&line).contains("writing the registry") {
                let _ = tx.send(());
            }
        }
    });
    let t0 = Instant::now();
    loop {
        if rx.try_recv().is_ok() {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it wrote"
        );
        assert!(
            t0.elapsed() < Duration::from_secs(900),
            "no write within 15 minutes"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let w0 = Instant::now();
    while !ready() && w0.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(5));
    }
    // well inside the transaction: rows are being written
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the write finished before the kill (machine too fast for this test?)"
    );
    let k = Command::new("kill")
        .args(["-9", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(k.success());
    let st = child.wait().unwrap();
    assert!(!st.success(), "killed: {st:?}");
    w0.elapsed()
}

fn normal_run(dir: &Path, reg: &str) -> String {
    let o = Command::new(bin())
        .current_dir(dir)
        .args(["run", PIPELINE, "--registry", reg, "--out", "out"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    text(&o)
}

#[test]
fn sigkill_during_write_leaves_the_gpkg_as_it_was() {
    let ws = workspace();
    // 1. a new registry: built aside as .partial, so after the kill there is no registry at all
    let fresh = ws.path().join("out/new.gpkg");
    let partial = ws.path().join("out/new.gpkg.partial");
    std::fs::create_dir_all(ws.path().join("out")).unwrap();
    let fresh_s = fresh.display().to_string();
    kill_during_write(&fresh_s, || partial.exists());
    assert!(!fresh.exists(), "a killed first run must leave no registry");
    assert!(
        partial.exists(),
        "the killed run was writing {}",
        partial.display()
    );
    let said = normal_run(ws.path(), &fresh_s);
    assert!(said.contains("stale lock"), "{said}");
    assert!(
        said.contains(".partial left by an interrupted run"),
        "{said}"
    );
    assert!(fresh.exists() && !partial.exists());

    // 2. an existing registry: changed in one transaction, rolled back from the journal
    let reg = ws.path().join("out/registry.gpkg");
    run_ok(ws.path(), &Backend::Gpkg, &[]);
    let before = sha256(&reg);
    let counts = Backend::Gpkg.counts(ws.path());
    let journal = ws.path().join("out/registry.gpkg-journal");
    let reg_s = reg.display().to_string();
    kill_during_write(&reg_s, || journal.exists());
    // SQLite rolls a hot journal back when the file is next opened
    {
        let c = rusqlite::Connection::open(&reg).unwrap();
        let n: i64 = c
            .query_row("SELECT count(*) FROM ZDJBXX", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, counts["ZDJBXX"]);
    }
    assert!(!journal.exists());
    assert_eq!(
        sha256(&reg),
        before,
        "the registry is byte-identical to before the killed run"
    );
    let said = normal_run(ws.path(), "out/registry.gpkg");
    assert!(said.contains("stale lock"), "{said}");
}

#[test]
fn sigkill_during_write_leaves_postgis_as_it_was() {
    let Some(b) = Backend::pg("sigkill") else {
        return;
    };
    let ws = workspace();
    run_ok(ws.path(), &b, &[]);
    let snap = b.snapshot(ws.path());
    let counts = b.counts(ws.path());
    kill_during_write(&b.spec(), || true);
    assert_eq!(b.counts(ws.path()), counts);
    assert_eq!(b.snapshot(ws.path()), snap, "contents changed");
    let said = normal_run(ws.path(), &b.spec());
    assert!(said.contains("stale lock"), "{said}");
}

// ------------------------------------------------------------------------------ policies

/// `[merge]` policies: rules not held are decided by the policy (and say so); bad values are
/// refused by `cadastra check` with their key.
#[test]
fn policy_decides_what_it_does_not_hold() {
    let ws = workspace();
    let base = std::fs::read_to_string(ws.path().join(PIPELINE)).unwrap();
    std::fs::write(
        ws.path().join("pipelines/policy.toml"),
        format!(
            "{base}\n[merge]\npriority = [\"jinan\", \"laiwu\", \"gangcheng\"]\nhold = [\"MERGE-01\", \"MERGE-02\"]\ngeometry_from = \"survey\"\nlegal_from = \"registration\"\n"
        ),
    )
    .unwrap();
    let o = cadastra(
        ws.path(),
        &[
            "--json",
            "--quiet",
            "run",
            "pipelines/policy.toml",
            "--registry",
            "out/registry.gpkg",
            "--out",
            "out",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    balanced(&s);
    assert_eq!(total(&s, "held"), 0);
    assert_eq!(recon(&s, "zhangqiu_zd", "ZDJBXX", "loaded"), 180);
    let b = Backend::Gpkg;
    let conflicts = b.rows(ws.path(), "conflicts");
    assert!(conflicts.len() >= 2);
    for c in &conflicts {
        assert_eq!(c["decision"], "accept", "{c:?}");
        assert!(c["decided_by"].starts_with("policy"), "{c:?}");
    }
    assert!(sheet(ws.path()).iter().all(|c| c["status"] == "decided"));

    std::fs::write(
        ws.path().join("pipelines/bad-policy.toml"),
        format!("{base}\n[merge]\nhold = [\"TOPO-01\"]\npriority = [\"laiwu\", \"laiwu\"]\n"),
    )
    .unwrap();
    let o = cadastra(ws.path(), &["check", "pipelines/bad-policy.toml"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("[merge] hold") && t.contains("TOPO-01"), "{t}");
    assert!(t.contains("[merge] priority") && t.contains("twice"), "{t}");
}
