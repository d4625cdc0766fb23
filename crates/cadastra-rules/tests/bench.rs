//! Speed and memory: GEOM + TOPO + ATTR rules on a synthetic world of 1M parcels and 1M
//! buildings, on 1 and 2 threads. Ignored by default; run with
//! `cargo test --release -p cadastra-rules --test bench -- --ignored --nocapture`
//! (`CADASTRA_BENCH_PARCELS=100000` for a smaller world).

mod common;

use cadastra_rules::{run_rules, Layer, RuleOptions, RULES};
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
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool");
        for (what, opts) in [("GEOM+TOPO+ATTR", &only), ("all rules", &all)] {
            let t = Instant::now();
            let v = pool.install(|| run_rules(&layers, opts));
            println!(
                "{threads} thread(s), {what}: {:.2} s, {} findings, peak RSS {:.0} MiB",
                t.elapsed().as_secs_f64(),
                v.findings.len(),
                common::peak_rss_mib().unwrap_or(0.0)
            );
        }
    }
    // per rule, 2 threads (each run alone: shared structures are rebuilt for each)
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("pool");
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
        let t = Instant::now();
        let v = pool.install(|| run_rules(&layers, &o));
        println!(
            "  {} alone: {:.2} s ({} findings)",
            r.id(),
            t.elapsed().as_secs_f64(),
            v.findings.len()
        );
    }
}
