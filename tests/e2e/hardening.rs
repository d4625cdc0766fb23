//! Issue 9 acceptance: a run killed with SIGKILL at random points — 50 times, on GeoPackage and on
//! PostGIS — always leaves the registry exactly as before or exactly as after; two runs against the
//! same registry at once never interleave (the second is refused with a clear message); the
//! outputs of a run hold the owners' names and ID numbers and the operator's parameters only where
//! they are allowed.

use crate::common::*;
use crate::merge::Backend;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const BEFORE: &str = "pipelines/laiwu.toml";
const AFTER: &str = "pipelines/jinan-laiwu.toml";
const KILLS: u64 = 50;

/// A small deterministic generator of kill times (no dependency, reproducible per iteration).
fn pseudo_random(i: u64) -> f64 {
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    x ^= x >> 33;
    x = x.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    x ^= x >> 33;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

fn run_pipeline(ws: &Path, pipeline: &str, reg: &str) {
    let o = cadastra(
        ws,
        &[
            "--quiet",
            "run",
            pipeline,
            "--registry",
            reg,
            "--out",
            "out",
        ],
    );
    assert!(o.status.success(), "{pipeline}: {}", text(&o));
}

/// Start the AFTER run; kill it with SIGKILL `after` into it (unless it ended first). Returns
/// whether it had begun writing the registry when it was killed, and whether it was killed.
/// When to kill: this long after the start, or this long after the run said it began writing.
#[derive(Debug, Clone, Copy)]
enum When {
    AfterStart(Duration),
    IntoWrite(Duration),
}

fn run_and_kill(ws: &Path, reg: &str, when: When) -> (bool, bool) {
    let mut child = Command::new(bin())
        .current_dir(ws)
        .args(["run", AFTER, "--registry", reg, "--out", "out"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let err = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(err).split(b'\n').map_while(Result::ok) {
            if String::from_utf8_lossy(&line).contains("writing the registry") {
                let _ = tx.send(());
            }
        }
    });
    let mut writing = false;
    let after = match when {
        When::AfterStart(d) => d,
        When::IntoWrite(d) => {
            // wait for the write to begin (whatever the machine's load), then the delay
            while child.try_wait().unwrap().is_none() {
                if rx.recv_timeout(Duration::from_millis(5)).is_ok() {
                    writing = true;
                    break;
                }
            }
            d
        }
    };
    let t0 = Instant::now();
    let mut killed = false;
    while t0.elapsed() < after {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    if child.try_wait().unwrap().is_none() {
        let k = Command::new("kill")
            .args(["-9", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(k.success());
        killed = true;
    }
    let st = child.wait().unwrap();
    reader.join().unwrap();
    let writing = writing || rx.try_recv().is_ok();
    if !killed {
        assert!(st.success(), "the run failed on its own: {st:?}");
    }
    (writing, killed)
}

/// PostgreSQL ends a killed client's session — rolling its transaction back and releasing its
/// advisory lock — when the server process notices the closed socket, which can be after the
/// statement it was running. Until then the registry is locked (and says by whom); wait for it.
fn wait_for_server_rollback(url: &str) {
    let t0 = Instant::now();
    loop {
        match cadastra_io::postgis::PgRegistry::connect(url, 4548) {
            Ok(_) => return,
            Err(e) if t0.elapsed() < Duration::from_secs(60) => {
                assert!(format!("{e:?}").contains("Locked"), "{e:?}");
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("still locked after 60 s: {e}"),
        }
    }
}

/// Drop a test schema (`?schema=` of the URL) with psql, to keep the test cluster small.
fn drop_schema(url: &str) {
    let (base, query) = url.split_once('?').expect("a schema in the URL");
    let schema = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("schema="))
        .expect("schema=");
    let o = Command::new("psql")
        .args([
            base,
            "-q",
            "-c",
            &format!("DROP SCHEMA \"{schema}\" CASCADE"),
        ])
        .output()
        .expect("psql (postgresql-client)");
    assert!(o.status.success(), "psql: {}", text(&o));
}

/// 50 kills at pseudo-random points of a run (half of them inside the write); after each, the
/// registry is exactly the state before the run or the state after it, and the next run repairs
/// the stale lock and partial files and reaches the after state.
fn kill_nine_many_times(make: impl Fn(u64) -> Backend) {
    let ws = workspace();
    // reference: the state before (laiwu only) and after (plus gangcheng and 章丘区) a full run
    let b = make(1000);
    run_pipeline(ws.path(), BEFORE, &b.spec());
    let t0 = Instant::now();
    let o = Command::new(bin())
        .current_dir(ws.path())
        .args(["run", AFTER, "--registry", &b.spec(), "--out", "out"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (mut write_at, mut commit_at) = (None, None);
    let mut o = o;
    for line in BufReader::new(o.stderr.take().unwrap())
        .split(b'\n')
        .map_while(Result::ok)
    {
        let l = String::from_utf8_lossy(&line);
        if write_at.is_none() && l.contains("writing the registry") {
            write_at = Some(t0.elapsed());
        }
        if commit_at.is_none() && l.contains("registry written") {
            commit_at = Some(t0.elapsed());
        }
    }
    assert!(o.wait().unwrap().success());
    let total = t0.elapsed();
    let write_at = write_at.expect("the run says when it writes");
    let commit_at = commit_at.expect("the run says when it committed");
    let after_counts = b.counts(ws.path());

    let gpkg = ws.path().join("out/registry.gpkg");
    let before_copy = ws.path().join("before.gpkg");
    let (mut in_write, mut killed_n, mut became_after) = (0, 0, 0);
    let mut previous: Option<Backend> = None;
    for i in 0..KILLS {
        // restore the before state
        let b = match &b {
            Backend::Gpkg => {
                if i == 0 {
                    // the before state of the GeoPackage: laiwu only, kept as a file copy
                    let fresh = workspace();
                    run_pipeline(fresh.path(), BEFORE, "out/registry.gpkg");
                    std::fs::copy(fresh.path().join("out/registry.gpkg"), &before_copy).unwrap();
                }
                for stale in ["registry.gpkg-journal", "registry.gpkg.partial"] {
                    let _ = std::fs::remove_file(ws.path().join("out").join(stale));
                }
                std::fs::copy(&before_copy, &gpkg).unwrap();
                Backend::Gpkg
            }
            Backend::Pg(_) => {
                // the schema of the iteration before is not needed any more
                if let Some(Backend::Pg(url)) = previous.take() {
                    drop_schema(&url);
                }
                let b = make(i);
                run_pipeline(ws.path(), BEFORE, &b.spec());
                b
            }
        };
        let before = b.snapshot(ws.path());
        if let Backend::Pg(url) = &b {
            previous = Some(Backend::Pg(url.clone()));
        }
        // even iterations: anywhere in the run; odd ones: between "writing" and "committed"
        let r = pseudo_random(i);
        let at = if i % 2 == 0 {
            When::AfterStart(total.mul_f64(r * 1.05))
        } else {
            When::IntoWrite(commit_at.saturating_sub(write_at).mul_f64(r))
        };
        let (writing, killed) = run_and_kill(ws.path(), &b.spec(), at);
        if let Backend::Pg(url) = &b {
            wait_for_server_rollback(url);
        }
        in_write += usize::from(writing && killed);
        killed_n += usize::from(killed);
        if let Backend::Gpkg = b {
            // what any reader sees: SQLite rolls a hot journal back when the file is opened
            let c = rusqlite::Connection::open(&gpkg).unwrap();
            let ok: String = c
                .query_row("PRAGMA integrity_check", [], |r| r.get(0))
                .unwrap();
            assert_eq!(ok, "ok", "kill {i} at {at:?}");
        }
        let now = b.snapshot(ws.path());
        let committed = now != before;
        if committed {
            assert_eq!(
                b.counts(ws.path()),
                after_counts,
                "kill {i} at {at:?} (writing: {writing}) left a state that is neither before nor after"
            );
            became_after += 1;
        }
        // the next run cleans up after the killed one and reaches the after state
        if i % 10 == 9 || matches!(b, Backend::Pg(_)) && i == KILLS - 1 {
            let o = cadastra(
                ws.path(),
                &["run", AFTER, "--registry", &b.spec(), "--out", "out"],
            );
            assert!(o.status.success(), "{}", text(&o));
            if killed && writing && !committed {
                // it held the lock when it died (a run killed before it wrote may not have taken
                // it yet; one killed after its commit may have released it)
                assert!(text(&o).contains("stale lock"), "{}", text(&o));
            }
            let mut now = b.counts(ws.path());
            let mut want = after_counts.clone();
            for c in [&mut now, &mut want] {
                // each run adds its audit row and reconciliation rows
                c.remove("cadastra_runs");
                c.remove("reconciliation");
            }
            assert_eq!(now, want);
        }
    }
    if let Some(Backend::Pg(url)) = previous.take() {
        drop_schema(&url);
    }
    eprintln!(
        "{KILLS} runs: {killed_n} killed ({in_write} while writing), {became_after} had committed"
    );
    assert!(
        killed_n >= 25,
        "most runs must be killed: {killed_n} of {KILLS}"
    );
    assert!(
        in_write >= 10,
        "at least 10 kills inside the write: {in_write}"
    );
}

#[test]
fn kill_nine_fifty_times_gpkg() {
    kill_nine_many_times(|_| Backend::Gpkg);
}

#[test]
fn kill_nine_fifty_times_postgis() {
    if Backend::pg("probe").is_none() {
        return;
    }
    kill_nine_many_times(|i| Backend::pg(&format!("kill{i}")).unwrap());
}

// ------------------------------------------------------------------------------ concurrency

/// Two runs against one registry at once: while the first holds the registry, the second is
/// refused with a clear message and writes nothing; the registry is the first run's alone.
fn concurrent_runs(b: Backend) {
    let ws = workspace();
    let reg = b.spec();
    let mut first = Command::new(bin())
        .current_dir(ws.path())
        .args(["run", AFTER, "--registry", &reg, "--out", "out"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // wait until the first run has taken the registry (it says what it reads first)
    let err = first.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(err).split(b'\n').map_while(Result::ok) {
            let l = String::from_utf8_lossy(&line).to_string();
            if l.contains("reading") || l.contains("writing") {
                let _ = tx.send(());
            }
            all.push_str(&l);
            all.push('\n');
        }
        all
    });
    rx.recv_timeout(Duration::from_secs(120))
        .expect("the first run starts");
    let second = cadastra(
        ws.path(),
        &["run", AFTER, "--registry", &reg, "--out", "out2"],
    );
    let still_running = first.try_wait().unwrap().is_none();
    let st = first.wait().unwrap();
    let first_said = reader.join().unwrap();
    assert!(st.success(), "{first_said}");
    assert!(
        still_running,
        "the first run ended before the second started"
    );
    assert_eq!(second.status.code(), Some(2), "{}", text(&second));
    assert!(
        text(&second).contains("another cadastra run is using this registry"),
        "{}",
        text(&second)
    );
    // one run's rows, once: a re-run adds nothing and the audit table has one run
    let counts = b.counts(ws.path());
    assert_eq!(counts["cadastra_runs"], 1);
    run_pipeline(ws.path(), AFTER, &reg);
    let again = b.counts(ws.path());
    for (t, n) in &counts {
        if !matches!(t.as_str(), "cadastra_runs" | "reconciliation") {
            assert_eq!(again[t], *n, "{t}");
        }
    }
}

#[test]
fn concurrent_runs_are_refused_gpkg() {
    concurrent_runs(Backend::Gpkg);
}

#[test]
fn concurrent_runs_are_refused_postgis() {
    if let Some(b) = Backend::pg("concurrent") {
        concurrent_runs(b);
    }
}

// ------------------------------------------------------------------------------ personal data

/// Every file a run writes, except the registry itself (the legal record, where personal data
/// belongs), is searched for the sample world's holders' ID numbers and names and for the values
/// of the operator's parameter files; so are the run's stdout and stderr.
#[test]
fn personal_data_and_parameters_appear_only_where_allowed() {
    let ws = workspace();
    let o = cadastra(
        ws.path(),
        &[
            "--json",
            "run",
            AFTER,
            "--registry",
            "out/registry.gpkg",
            "--out",
            "out",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let log = text(&o);
    // the secrets: holders (name, ID number) as loaded, and the parameter values
    let db = rusqlite::Connection::open(ws.path().join("out/registry.gpkg")).unwrap();
    let mut st = db
        .prepare("SELECT QLRMC, ZJH FROM QLR WHERE ZJH IS NOT NULL AND length(ZJH) >= 15")
        .unwrap();
    let holders: Vec<(String, String)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(holders.len() > 100, "{}", holders.len());
    // the parameter sets: the fitted local grid and the Xi'an 1980 seven parameters
    let mut sets = vec![param_values(
        &std::fs::read_to_string(ws.path().join("out/fdyt_local_grid.toml")).unwrap(),
    )];
    for e in std::fs::read_dir(ws.path().join("sample-data/operator")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "toml") {
            sets.push(param_values(&std::fs::read_to_string(&p).unwrap()));
        }
    }
    assert!(
        sets.len() == 2 && sets.iter().all(|s| s.len() >= 4),
        "{sets:?}"
    );

    // every output except the registry and the parameter file `crs fit` wrote
    let mut files = Vec::new();
    collect(&ws.path().join("out"), &mut files);
    let mut checked = 0;
    let mut texts: Vec<(String, String)> = vec![("stdout+stderr".into(), log)];
    for f in files {
        let name = f.strip_prefix(ws.path()).unwrap().display().to_string();
        if name == "out/registry.gpkg" || name.ends_with(".toml") || name.ends_with(".lock") {
            continue;
        }
        texts.push((name, readable(&f)));
    }
    for (name, t) in &texts {
        checked += 1;
        for (n, id) in &holders {
            assert!(!t.contains(id.as_str()), "{name} holds the ID number {id}");
            // names of two characters or more, as written (a masked name is 张*)
            if n.chars().count() >= 2 {
                assert!(!t.contains(n.as_str()), "{name} holds the name {n}");
            }
        }
        let words: std::collections::HashSet<&str> = t
            .split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
            .collect();
        for set in &sets {
            // a short value (rz = 2.115) can be a measured value by chance; a leak shows the
            // set: two of its values, or one long enough (≥ 8 digits) not to be chance
            let found: Vec<&String> = set.iter().filter(|v| words.contains(v.as_str())).collect();
            let long = found
                .iter()
                .any(|v| v.chars().filter(char::is_ascii_digit).count() >= 8);
            assert!(
                found.len() < 2 && !long,
                "{name} holds parameter values {found:?}"
            );
        }
    }
    assert!(checked >= 8, "outputs checked: {checked}");
    // the masked forms are there: the review copy still says whose record it is
    let report = std::fs::read_to_string(ws.path().join("out/report.html")).unwrap();
    assert!(
        report.contains("**********"),
        "masked ID numbers in the report"
    );
}

/// The numbers of a parameter file as written (at least 4 digits).
fn param_values(toml: &str) -> Vec<String> {
    toml.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(_, v)| {
            let v = v.split('#').next().unwrap_or_default();
            v.trim().trim_matches('"').to_string()
        })
        .filter(|v| v.parse::<f64>().is_ok() && v.chars().filter(char::is_ascii_digit).count() >= 4)
        .collect()
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            collect(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// A file's text as a reader would see it: XLSX/QGZ archives unpacked, GeoPackages dumped.
fn readable(f: &Path) -> String {
    let ext = f.extension().and_then(|x| x.to_str()).unwrap_or("");
    match ext {
        "xlsx" | "qgz" | "zip" => {
            let o = Command::new("unzip").arg("-p").arg(f).output().unwrap();
            assert!(o.status.success(), "unzip {}", f.display());
            String::from_utf8_lossy(&o.stdout).to_string()
        }
        "gpkg" | "sqlite" => {
            let o = Command::new("sqlite3")
                .arg(f)
                .arg(".dump")
                .output()
                .unwrap();
            assert!(o.status.success(), "sqlite3 {}", f.display());
            String::from_utf8_lossy(&o.stdout).to_string()
        }
        _ => String::from_utf8_lossy(&std::fs::read(f).unwrap()).to_string(),
    }
}
