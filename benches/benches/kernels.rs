//! Criterion micro-benchmarks of cadastra's hot kernels, on a small generated world
//! (cadastra-sample, `CADASTRA_BENCH_PARCELS` legacy parcels, default 20 000; 莱城区 holds 62 %):
//!
//! - DBF decode (cadastra-shp `read_dbf`, GBK detected) and the whole shapefile read;
//! - reprojection Xi'an 1980 → CGCS2000 through the 7-parameter pipeline
//!   (cadastra-crs `Operation::transform_multipolygons`);
//! - the spatial index (cadastra-geom `TopoIndex`: envelopes + candidate pairs, packed R-tree
//!   build) and the overlap pair test (`find_overlaps_indexed`, `find_overlaps`);
//! - GeoPackage insert (cadastra-io `GpkgRegistry::apply` of the parcels into a new registry).
//!
//! Parallel kernels run on a rayon pool of 1 and of 2 threads.
//! `cargo bench -p cadastra-benches` (a few minutes); one group: `cargo bench -p cadastra-benches -- reproject`.

use cadastra_crs::{CrsRef, Operation, OperationOptions, OperatorParams};
use cadastra_geom::overlay::find_overlaps_indexed;
use cadastra_geom::{find_overlaps, Envelope, TopoIndex, OVERLAP_MIN_AREA_M2, OVERLAP_MIN_WIDTH_M};
use cadastra_io::gpkg::GpkgRegistry;
use cadastra_io::registry::{ChangeSet, Registry, TableChange};
use cadastra_model::{registry, Column, Rows};
use cadastra_shp::{read_dbf, read_shapefile, ReadOptions, ShpLayer};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use geo_types::MultiPolygon;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

type Geoms = Vec<Option<MultiPolygon<f64>>>;

struct Inputs {
    world: PathBuf,
    zd: ShpLayer,
    legacy: Geoms,
    op: Operation,
    parcels: Geoms,
}

fn inputs() -> Inputs {
    let n = std::env::var("CADASTRA_BENCH_PARCELS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let world = cadastra_benches::world::world(n, 2019).unwrap_or_else(|e| panic!("{e}"));
    let opts = ReadOptions {
        chinese: true,
        ..ReadOptions::default()
    };
    let zd = read_shapefile(&world.join("laiwu/ZD.shp"), &opts).expect("laiwu/ZD.shp reads");
    let legacy: Geoms = (0..zd.len()).map(|r| zd.multipolygon(r)).collect();
    let params = OperatorParams::load(&world.join("operator/xian80_to_cgcs2000.toml"))
        .expect("operator file loads");
    let op = Operation::new(
        &CrsRef::Epsg(2384),
        &CrsRef::Epsg(4548),
        Some(&params),
        OperationOptions::default(),
    )
    .expect("7-parameter operation");
    let mut parcels = legacy.clone();
    op.transform_multipolygons(&mut parcels)
        .expect("reprojection");
    Inputs {
        world,
        zd,
        legacy,
        op,
        parcels,
    }
}

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("rayon pool")
}

fn vertices(g: &Geoms) -> u64 {
    g.iter()
        .flatten()
        .flat_map(|m| &m.0)
        .map(|p| p.exterior().0.len() + p.interiors().iter().map(|r| r.0.len()).sum::<usize>())
        .sum::<usize>() as u64
}

/// The parcels as registry rows (ZDJBXX), attributes from ZD.dbf, provenance filled.
fn parcel_rows(zd: &ShpLayer, geoms: &Geoms) -> Rows {
    let def = registry().table("ZDJBXX").expect("ZDJBXX in the schema");
    let mut rows = Rows::new(def);
    for (r, geom) in geoms.iter().enumerate().take(zd.len()) {
        for (col, f) in rows.columns.iter_mut().zip(&def.fields) {
            let text = match f.name.as_str() {
                "src_system" => Some("laiwu".to_string()),
                "src_file" => Some("laiwu/ZD.shp".to_string()),
                "batch_id" => Some("bench".to_string()),
                "src_key" => zd.column("ZDDM").and_then(|c| c.get(r)).map(str::to_string),
                "MJDW" => Some("1".to_string()),
                name => zd.column(name).and_then(|c| c.get(r)).map(str::to_string),
            };
            match col {
                Column::Text(c) => c.push(text.as_deref()),
                Column::Real(c) => c.push(text.and_then(|t| t.trim().parse().ok())),
                Column::Int(c) => c.push(if f.name == "src_row" {
                    Some(r as i64)
                } else {
                    None
                }),
            }
        }
        rows.geoms.push(geom.clone());
    }
    rows
}

fn bench(c: &mut Criterion) {
    let inp = inputs();
    let n = inp.zd.len() as u64;
    let dbf = inp.world.join("laiwu/ZD.dbf");
    let shp = inp.world.join("laiwu/ZD.shp");
    let one = pool(1);
    let two = pool(2);

    let mut g = c.benchmark_group("shp");
    g.sample_size(20).throughput(Throughput::Elements(n));
    for t in [1, 2] {
        let opts = ReadOptions {
            chinese: true,
            threads: Some(t),
            ..ReadOptions::default()
        };
        g.bench_function(format!("dbf decode, GBK detected ({t} thread)"), |b| {
            b.iter(|| read_dbf(black_box(&dbf), &opts).expect("read").len())
        });
        g.bench_function(format!("read_shapefile ({t} thread)"), |b| {
            b.iter(|| read_shapefile(black_box(&shp), &opts).expect("read").len())
        });
    }
    g.finish();

    let mut g = c.benchmark_group("reproject");
    g.sample_size(20)
        .throughput(Throughput::Elements(vertices(&inp.legacy)));
    for (t, p) in [(1, &one), (2, &two)] {
        g.bench_function(
            format!("7p Xi'an 80 -> CGCS2000 transform_multipolygons ({t} thread), per vertex"),
            |b| {
                b.iter_batched(
                    || inp.legacy.clone(),
                    |mut geoms| {
                        p.install(|| inp.op.transform_multipolygons(&mut geoms))
                            .expect("transform");
                        geoms
                    },
                    BatchSize::LargeInput,
                )
            },
        );
    }
    g.finish();

    let mut g = c.benchmark_group("index");
    g.sample_size(20).throughput(Throughput::Elements(n));
    let probe = Envelope::of_multipolygon(inp.parcels.iter().flatten().next().expect("a parcel"))
        .expect("an envelope");
    for (t, p) in [(1, &one), (2, &two)] {
        g.bench_function(
            format!("TopoIndex envelopes + candidate pairs ({t} thread)"),
            |b| {
                b.iter(|| {
                    p.install(|| {
                        TopoIndex::new(black_box(&inp.parcels))
                            .candidate_pairs()
                            .len()
                    })
                })
            },
        );
        g.bench_function(format!("TopoIndex packed R-tree build ({t} thread)"), |b| {
            b.iter(|| {
                p.install(|| {
                    let ix = TopoIndex::new(black_box(&inp.parcels));
                    ix.query(&probe).len()
                })
            })
        });
    }
    let index = TopoIndex::new(&inp.parcels);
    let pairs = index.candidate_pairs().len() as u64;
    g.throughput(Throughput::Elements(pairs));
    for (t, p) in [(1, &one), (2, &two)] {
        g.bench_function(
            format!("overlap pair test over candidate pairs, find_overlaps_indexed ({t} thread), per pair"),
            |b| {
                b.iter(|| {
                    p.install(|| {
                        find_overlaps_indexed(
                            &inp.parcels,
                            &index,
                            OVERLAP_MIN_AREA_M2,
                            OVERLAP_MIN_WIDTH_M,
                        )
                        .len()
                    })
                })
            },
        );
    }
    g.throughput(Throughput::Elements(n));
    for (t, p) in [(1, &one), (2, &two)] {
        g.bench_function(format!("find_overlaps, index included ({t} thread)"), |b| {
            b.iter(|| {
                p.install(|| {
                    find_overlaps(&inp.parcels, OVERLAP_MIN_AREA_M2, OVERLAP_MIN_WIDTH_M).len()
                })
            })
        });
    }
    g.finish();

    let rows = parcel_rows(&inp.zd, &inp.parcels);
    let tmp = tempfile::tempdir().expect("temp dir");
    let path = tmp.path().join("registry.gpkg");
    let mut g = c.benchmark_group("gpkg");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(15))
        .throughput(Throughput::Elements(n));
    g.bench_function("GpkgRegistry::apply, parcels into a new registry", |b| {
        b.iter_batched(
            || {
                remove(&path);
                ChangeSet {
                    tables: vec![TableChange::inserts("ZDJBXX", rows.clone())],
                }
            },
            |changes| {
                let mut reg = GpkgRegistry::open(&path, 4548).expect("open");
                reg.apply(&changes).expect("apply");
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn remove(p: &Path) {
    let _ = std::fs::remove_file(p);
}

criterion_group!(benches, bench);
criterion_main!(benches);
