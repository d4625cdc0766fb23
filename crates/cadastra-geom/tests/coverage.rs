//! Synthetic coverages (tests/common/grid.rs): planted gaps, slivers, overlaps and noise are
//! found exactly as planted, and every parallel result is identical with 1 and 2 threads.
//! The ignored `perf_one_million_parcels` measures validity + overlaps + gaps on 1M parcels:
//! `cargo test --release -p cadastra-geom --test coverage -- --ignored --nocapture`.

mod common;

use cadastra_geom::{
    find_gaps_with_stats, find_overlaps, validate_multipolygon, GapMethod, GapOptions, Invalid,
    OVERLAP_MIN_AREA_M2, OVERLAP_MIN_WIDTH_M,
};
use common::grid::{grid_coverage, GridCoverage, GridOptions};
use geo_types::MultiPolygon;
use rayon::prelude::*;
use std::time::Instant;

/// CPU seconds used by this process so far (user + system, from /proc/self/stat), to report
/// timings that do not depend on how busy the shared machine is.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let tick = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (tick(11) + tick(12)) / 100.0
}

fn pool(n: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build()
        .expect("thread pool")
}

struct Results {
    invalid: Vec<(usize, Invalid)>,
    overlaps: Vec<cadastra_geom::OverlapFinding>,
    gaps: Vec<cadastra_geom::Gap>,
    gap_method: GapMethod,
    /// wall seconds of validity, overlaps, gaps
    secs: [f64; 3],
    /// CPU seconds (all threads) of the same
    cpu: [f64; 3],
}

fn run(cov: &GridCoverage) -> Results {
    let (t, c) = (Instant::now(), cpu_secs());
    let invalid: Vec<(usize, Invalid)> = cov
        .parcels
        .par_iter()
        .enumerate()
        .with_min_len(4096)
        .filter_map(|(i, g)| validate_multipolygon(g.as_ref()?).err().map(|e| (i, e)))
        .collect();
    let (t_valid, c_valid) = (t.elapsed().as_secs_f64(), cpu_secs() - c);
    let (t, c) = (Instant::now(), cpu_secs());
    let overlaps = find_overlaps(&cov.parcels, OVERLAP_MIN_AREA_M2, OVERLAP_MIN_WIDTH_M);
    let (t_over, c_over) = (t.elapsed().as_secs_f64(), cpu_secs() - c);
    let refs: Vec<&MultiPolygon<f64>> = cov.parcels.iter().flatten().collect();
    let (t, c) = (Instant::now(), cpu_secs());
    let (gaps, stats) = find_gaps_with_stats(&refs, &GapOptions::default());
    let (t_gaps, c_gaps) = (t.elapsed().as_secs_f64(), cpu_secs() - c);
    Results {
        invalid,
        overlaps,
        gaps,
        gap_method: stats.method,
        secs: [t_valid, t_over, t_gaps],
        cpu: [c_valid, c_over, c_gaps],
    }
}

fn check_planted(cov: &GridCoverage, r: &Results) {
    assert!(
        r.invalid.is_empty(),
        "invalid parcels: {:?}",
        &r.invalid[..r.invalid.len().min(5)]
    );
    let real = r.overlaps.iter().filter(|o| !o.noise).count();
    let noise = r.overlaps.iter().filter(|o| o.noise).count();
    assert_eq!(
        (real, noise),
        (cov.overlaps + cov.twists, cov.noise_overlaps)
    );
    let big = r
        .overlaps
        .iter()
        .filter(|o| (o.area - 15.0).abs() < 1.0)
        .count();
    let twisted = r
        .overlaps
        .iter()
        .filter(|o| (2.0..7.0).contains(&o.area))
        .count();
    assert_eq!((big, twisted), (cov.overlaps, cov.twists));
    let slivers = r.gaps.iter().filter(|g| g.sliver).count();
    let real_gaps = r.gaps.iter().filter(|g| !g.sliver).count();
    assert_eq!((real_gaps, slivers), (cov.holes + cov.twists, cov.slivers));
    let missing = r
        .gaps
        .iter()
        .filter(|g| (g.area - 600.0).abs() < 30.0)
        .count();
    let twisted = r
        .gaps
        .iter()
        .filter(|g| (2.0..7.0).contains(&g.area))
        .count();
    assert_eq!((missing, twisted), (cov.holes, cov.twists));
}

#[test]
fn planted_problems_found_and_thread_count_does_not_matter() {
    let cov = grid_coverage(&GridOptions {
        cols: 160,
        rows: 140,
        seed: 42,
        problems: true,
    });
    assert!(cov.holes > 5 && cov.slivers > 5 && cov.overlaps > 5 && cov.noise_overlaps > 5);
    assert!(cov.twists > 5);
    assert!(cov.t_junction_parcels > 100);
    let one = pool(1).install(|| run(&cov));
    let two = pool(2).install(|| run(&cov));
    check_planted(&cov, &one);
    // twisted parcels make the coverage unnoded: gaps come from the winding of the chain
    assert_eq!(one.gap_method, GapMethod::Noded);
    assert_eq!(one.invalid, two.invalid);
    assert_eq!(one.overlaps, two.overlaps);
    assert_eq!(one.gaps, two.gaps);

    // without the overlapping parcels the coverage is exactly noded (with T-junctions)
    let mut clean = cov;
    let over: Vec<(usize, usize)> = one.overlaps.iter().map(|o| (o.i, o.j)).collect();
    for (i, _) in over {
        clean.parcels[i] = None;
    }
    let refs: Vec<&MultiPolygon<f64>> = clean.parcels.iter().flatten().collect();
    let (gaps, stats) = find_gaps_with_stats(&refs, &GapOptions::default());
    assert_eq!(stats.method, GapMethod::EdgeMatching, "{stats:?}");
    assert!(stats.splits > 0);
    // each removed overlapping parcel is now a hole too
    let expect = clean.holes + clean.overlaps + clean.noise_overlaps + clean.twists;
    assert_eq!(gaps.iter().filter(|g| !g.sliver).count(), expect);
    assert_eq!(gaps.iter().filter(|g| g.sliver).count(), clean.slivers);
}

#[test]
#[ignore = "1M parcels: run in release with --ignored --nocapture"]
fn perf_one_million_parcels() {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "load average {} on {} cores (timings are wall; CPU seconds in parentheses)",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    let t = Instant::now();
    let cov = grid_coverage(&GridOptions {
        cols: 1000,
        rows: 1000,
        seed: 7,
        problems: true,
    });
    let n = cov.parcels.len();
    let verts: usize = cov
        .parcels
        .iter()
        .flatten()
        .map(|g| g.0[0].exterior().0.len())
        .sum();
    println!(
        "generated {n} parcels ({:.1} coordinates each, {} split for T-junctions) in {:.2} s",
        verts as f64 / n as f64,
        cov.t_junction_parcels,
        t.elapsed().as_secs_f64()
    );
    let mut all = Vec::new();
    for threads in [1, 2] {
        let r = pool(threads).install(|| run(&cov));
        println!(
            "{threads} thread(s), wall (CPU) seconds: validity {:.3} ({:.2}), overlaps {:.3} ({:.2}) \
             [{} found], gaps {:.3} ({:.2}) [{} found, {:?}], total {:.3} ({:.2})",
            r.secs[0],
            r.cpu[0],
            r.secs[1],
            r.cpu[1],
            r.overlaps.len(),
            r.secs[2],
            r.cpu[2],
            r.gaps.len(),
            r.gap_method,
            r.secs.iter().sum::<f64>(),
            r.cpu.iter().sum::<f64>()
        );
        check_planted(&cov, &r);
        all.push(r);
    }
    assert_eq!(all[0].overlaps, all[1].overlaps);
    assert_eq!(all[0].gaps, all[1].gaps);
}

#[test]
#[ignore = "timing breakdown, release only"]
fn perf_breakdown() {
    let n: usize = std::env::var("GRID")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let cov = grid_coverage(&GridOptions {
        cols: n,
        rows: n,
        seed: 7,
        problems: true,
    });
    let p = pool(1);
    p.install(|| {
        let (t, c) = (Instant::now(), cpu_secs());
        let idx = cadastra_geom::TopoIndex::new(&cov.parcels);
        println!(
            "index {:.3} cpu {:.2}",
            t.elapsed().as_secs_f64(),
            cpu_secs() - c
        );
        let (t, c) = (Instant::now(), cpu_secs());
        let pairs = idx.candidate_pairs();
        println!(
            "pairs {:.3} cpu {:.2} ({})",
            t.elapsed().as_secs_f64(),
            cpu_secs() - c,
            pairs.len()
        );
        let (t, c) = (Instant::now(), cpu_secs());
        let k = pairs
            .iter()
            .filter(|&&(i, j)| {
                cadastra_geom::interiors_intersect(
                    cov.parcels[i as usize].as_ref().unwrap(),
                    cov.parcels[j as usize].as_ref().unwrap(),
                )
            })
            .count();
        println!(
            "interiors {:.3} cpu {:.2} ({k})",
            t.elapsed().as_secs_f64(),
            cpu_secs() - c
        );
        if std::env::var("ONLY").is_ok() {
            return;
        }
        let refs: Vec<&MultiPolygon<f64>> = cov.parcels.iter().flatten().collect();
        let (t, c) = (Instant::now(), cpu_secs());
        let (g, st) = find_gaps_with_stats(&refs, &GapOptions::default());
        println!(
            "gaps {:.3} cpu {:.2} ({} {:?})",
            t.elapsed().as_secs_f64(),
            cpu_secs() - c,
            g.len(),
            st
        );
    });
}
