//! Criterion benches on the synthetic coverage (tests/common/grid.rs): validity, candidate
//! pairs, overlaps and gaps for 40,000 parcels.
//! `cargo bench -p cadastra-geom --bench coverage`
//! (the 1M-parcel run is the ignored test `perf_one_million_parcels` in tests/coverage.rs).

#[path = "../tests/common/grid.rs"]
#[allow(dead_code)] // shared with the tests
mod grid;

use cadastra_geom::{
    find_gaps, find_overlaps, interiors_intersect, validate_multipolygon, GapOptions, TopoIndex,
};
use criterion::{criterion_group, criterion_main, Criterion};
use geo_types::MultiPolygon;
use grid::{grid_coverage, GridOptions};
use rayon::prelude::*;
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let cov = grid_coverage(&GridOptions {
        cols: 200,
        rows: 200,
        seed: 1,
        problems: true,
    });
    let parcels = &cov.parcels;
    let mut g = c.benchmark_group("coverage-40k");
    g.sample_size(10);
    g.bench_function("validate (1 thread)", |b| {
        b.iter(|| {
            parcels
                .iter()
                .flatten()
                .filter(|p| validate_multipolygon(p).is_err())
                .count()
        })
    });
    g.bench_function("validate (rayon)", |b| {
        b.iter(|| {
            parcels
                .par_iter()
                .flatten()
                .filter(|p| validate_multipolygon(p).is_err())
                .count()
        })
    });
    // 10-vertex parcels (irregular decagons around a grid of centres)
    let decagons: Vec<MultiPolygon<f64>> = (0..40_000)
        .map(|k| {
            let (cx, cy) = (
                39_500_000.0 + (k % 200) as f64 * 25.0,
                4_000_000.0 + (k / 200) as f64 * 25.0,
            );
            let mut r: Vec<(f64, f64)> = (0..10)
                .map(|i| {
                    let t = i as f64 / 10.0 * std::f64::consts::TAU;
                    let rad = 10.0 + ((k * 7 + i * 3) % 5) as f64 * 0.4;
                    (cx + rad * t.cos(), cy + rad * t.sin())
                })
                .collect();
            r.push(r[0]);
            MultiPolygon(vec![geo_types::Polygon::new(r.into(), vec![])])
        })
        .collect();
    g.bench_function("validate 10-vertex parcels (1 thread)", |b| {
        b.iter(|| {
            decagons
                .iter()
                .filter(|p| validate_multipolygon(p).is_err())
                .count()
        })
    });
    g.bench_function("index + candidate pairs", |b| {
        b.iter(|| TopoIndex::new(black_box(parcels)).candidate_pairs().len())
    });
    let pairs = TopoIndex::new(parcels).candidate_pairs();
    g.bench_function("interiors_intersect over candidate pairs (1 thread)", |b| {
        b.iter(|| {
            pairs
                .iter()
                .filter(
                    |&&(i, j)| match (&parcels[i as usize], &parcels[j as usize]) {
                        (Some(a), Some(b)) => interiors_intersect(a, b),
                        _ => false,
                    },
                )
                .count()
        })
    });
    g.bench_function("find_overlaps", |b| {
        b.iter(|| find_overlaps(parcels, 0.01, 0.01).len())
    });
    let refs: Vec<&MultiPolygon<f64>> = parcels.iter().flatten().collect();
    g.bench_function("find_gaps", |b| {
        b.iter(|| find_gaps(&refs, &GapOptions::default()).len())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
