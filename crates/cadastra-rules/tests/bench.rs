//! Speed and memory: GEOM + TOPO + ATTR rules on a synthetic world of 1M parcels and 1M
//! buildings, on 1 and 2 threads. Ignored by default; run with
//! `cargo test --release -p cadastra-rules --test bench -- --ignored --nocapture`
//! (`CADASTRA_BENCH_PARCELS=100000` for a smaller world, `CADASTRA_BENCH_PER_RULE=1` for the time
//! of each rule alone, `CADASTRA_BENCH_THREADS=2` for one pool size, `CADASTRA_BENCH_CORE_ONLY=1`
//! to skip the all-rules runs).

mod common;

use cadastra_rules::{Layer, RuleOptions, RULES};
use common::world::world;
use std::time::Instant;

#[test]
#[ignore]
fn one_million_parcels() {
    let n: usize = std::env::var("CADASTRA_BENCH_PARCELS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let t = Instant::now();
    let w = world(n, 2019, true);
    println!(
        "world: {} parcels, {} buildings, generated in {:.1} s, peak RSS {:.0} MiB",
        w.parcels.len(),
        w.buildings.len(),
        t.elapsed().as_secs_f64(),
        common::peak_rss_mib().unwrap_or(0.0)
    );
    let layers = [
        Layer {
            source: "laiwu_zd",
            system: "laiwu",
            table: "ZDJBXX",
            rows: &w.parcels,
        },
        Layer {
            source: "laiwu_zrz",
            system: "laiwu",
            table: "ZRZ",
            rows: &w.buildings,
        },
    ];
    let only = RuleOptions {
        disabled: RULES
            .iter()
            .map(|r| r.id().0)
            .filter(|id| {
                !(id.starts_with("GEOM") || id.starts_with("TOPO") || id.starts_with("ATTR"))
            })
            .map(String::from)
            .collect(),
        ..Default::default()
    };
    let all = RuleOptions::default();
    let thread_counts: Vec<usize> = match std::env::var("CADASTRA_BENCH_THREADS") {
        Ok(t) => t.split(',').filter_map(|x| x.trim().parse().ok()).collect(),
        Err(_) => vec![1, 2],
    };
    let core_only = std::env::var_os("CADASTRA_BENCH_CORE_ONLY").is_some();
    for threads in thread_counts {
        for (what, opts) in [("GEOM+TOPO+ATTR", &only), ("all rules", &all)] {
            if core_only && what == "all rules" {
                continue;
            }
            let (t, c) = (Instant::now(), common::cpu_seconds().unwrap_or(0.0));
            let v = common::run(&layers, opts, Some(threads));
            println!(
                "{threads} thread(s), {what}: {:.2} s wall, {:.2} s CPU, {} findings, peak RSS {:.0} MiB",
                t.elapsed().as_secs_f64(),
                common::cpu_seconds().unwrap_or(0.0) - c,
                v.findings.len(),
                common::peak_rss_mib().unwrap_or(0.0)
            );
        }
    }
    // per rule, 2 threads (each run alone: shared structures are rebuilt for each)
    if std::env::var_os("CADASTRA_BENCH_PER_RULE").is_none() {
        return;
    }
    for r in RULES.iter().filter(|r| {
        ["GEOM", "TOPO", "ATTR"]
            .iter()
            .any(|p| r.id().0.starts_with(p))
    }) {
        let o = RuleOptions {
            disabled: RULES
                .iter()
                .map(|x| x.id().0)
                .filter(|id| *id != r.id().0)
                .map(String::from)
                .collect(),
            ..Default::default()
        };
        let (t, c) = (Instant::now(), common::cpu_seconds().unwrap_or(0.0));
        let v = common::run(&layers, &o, Some(2));
        println!(
            "  {} alone: {:.2} s wall, {:.2} s CPU ({} findings)",
            r.id(),
            t.elapsed().as_secs_f64(),
            common::cpu_seconds().unwrap_or(0.0) - c,
            v.findings.len()
        );
    }
}
