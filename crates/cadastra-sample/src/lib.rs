//! A deterministic generator of a realistic legacy Laiwu world: what the former 莱城区 and
//! 钢城区 vendors delivered, what Jinan already holds for 章丘区 along the old border, the
//! operator files a bureau would hand over, and the truth (true CGCS2000 vertices, every planted
//! defect, every generated person). The contract is `sample-data/README.md`.
//!
//! Map of the crate:
//! - [`generate`], [`SampleOptions`], [`WorldSummary`], [`SampleError`]: the API (this file).
//! - `plan`: districts → 地籍区 → 地籍子区, rectangles placed in shelves with roads between them,
//!   and which parcel carries which defect (one defect per feature, partners left untouched).
//! - `coverage`: the parcels of a sub-zone as an exact coverage (shared vertices stored once,
//!   bit-identical between neighbours), T-junctions, and the geometric defect edits.
//! - `build`: one sub-zone's parcels, buildings (inset), house units, rights and holders,
//!   vendor-neutral; legacy coordinates through `crs`.
//! - `crs`: the invented Xi'an-80 → CGCS2000 7-parameter set, applied backwards through
//!   cadastra-crs's own `Operation` (so the pipeline's forward gets the truth back), and the
//!   4-parameter local grid of the 房地一体 survey.
//! - `sinks`: the writer: hands out 身份证/USCC, 业务号 and certificate numbers in sub-zone
//!   order, formats sub-zones in parallel, appends them in order to the shapefiles
//!   (cadastra-shp), GBK CSV, XLSX (rust_xlsxwriter, constant memory) and truth files.
//! - `jinan`: the 章丘区 GeoPackage (GDAL) with the MERGE-03 parcels.
//! - `ident`, `names`: identifier generation and word lists.
//!
//! Invariants: the same seed and size give byte-identical files, GeoPackage and XLSX included
//! (sub-zones are built in parallel but written in plan order; every random stream is seeded
//! per sub-zone; no hash-map order leaks; fixed timestamps). Memory: the building streams by
//! batches of sub-zones, but cadastra-shp writes whole layers, so the shapefile records are held
//! until the end (about 1.8 GB peak at 1M parcels). The clean
//! part of the world is clean: no overlaps or gaps inside a sub-zone, areas exact to 0.01 m²,
//! buildings inside their parcel, every parcel registered, every right on a parcel, every
//! identifier valid.
//!
//! ```no_run
//! let out = std::path::Path::new("/tmp/world");
//! let opts = cadastra_sample::SampleOptions::default();
//! let summary = cadastra_sample::generate(out, &opts, &mut |_, _, _| {}).unwrap();
//! assert!(summary.defects["TOPO-01"]["laiwu"] >= 2);
//! ```

mod build;
mod coverage;
mod crs;
mod ident;
mod jinan;
mod names;
mod plan;
mod sinks;

use crate::build::{build, Legacy};
use crate::crs::{Bursa, Similarity, Xian80, XIAN80_TO_CGCS2000};
use crate::ident::IdRegistry;
use crate::plan::{mix, Source, Subzone, DEFECT_RATE};
use crate::sinks::{Numbering, Shared, SourceSink, TextOut, Truth};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use crate::crs::{Bursa as BursaWolf, Similarity as PlaneSimilarity};

/// Generator version written into world.json.
pub const GENERATOR: &str = concat!("cadastra-sample ", env!("CARGO_PKG_VERSION"));

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleOptions {
    /// total legacy parcels of 莱城区 and 钢城区, at least 100 (the Jinan registry comes on
    /// top, about 6 %)
    pub parcels: usize,
    pub seed: u64,
}

impl Default for SampleOptions {
    fn default() -> Self {
        SampleOptions {
            parcels: 3000,
            seed: 2019,
        }
    }
}

/// Why generation failed. Every variant names the file or the option at fault.
#[derive(Debug, thiserror::Error)]
pub enum SampleError {
    #[error("invalid sample options: {0}")]
    Options(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: cannot encode {value:?} in GBK")]
    Encoding { path: PathBuf, value: String },
    #[error("{path}: shapefile: {message}")]
    Shapefile { path: PathBuf, message: String },
    #[error("{path}: xlsx: {message}")]
    Xlsx { path: PathBuf, message: String },
    #[error("{path}: geopackage: {message}")]
    Gpkg { path: PathBuf, message: String },
    #[error("coordinate operation: {0}")]
    Crs(String),
    #[error("{path}: json: {message}")]
    Json { path: PathBuf, message: String },
}

/// The operators of this world (also in operator/).
#[derive(Debug, Clone, Serialize)]
pub struct Operators {
    /// Xi'an 1980 → CGCS2000, position-vector convention, rotations in arc-seconds
    pub xian80_to_cgcs2000: Bursa,
    /// local grid of the 房地一体 survey → EPSG:4548 (the truth `crs fit` should recover)
    pub local_grid: Similarity,
}

/// A deliberate T-junction (not a defect): the vertex shared by `lower_left` and `lower_right`
/// lies on the bottom edge of `parcel` without being one of its vertices.
#[derive(Debug, Clone, Serialize)]
pub struct TJunction {
    pub source: String,
    pub parcel: String,
    pub lower_left: String,
    pub lower_right: String,
}

/// What was generated; also written as world.json.
#[derive(Debug, Clone, Serialize)]
pub struct WorldSummary {
    pub generator: String,
    pub seed: u64,
    pub parcels: usize,
    /// nothing is registered after this day
    pub reference_date: String,
    /// linear scale applied to parcel sizes so that the world fits the district windows
    pub scale: f64,
    /// records per file (`dir/file`) or layer/sheet (`file#layer`)
    pub counts: BTreeMap<String, u64>,
    /// 地籍子区 per source (`gangcheng_zjd` for the 房地一体 survey)
    pub sub_zones: BTreeMap<String, u64>,
    /// planting rate of every defect kind (share of a source's parcels), at least `defect_min`
    pub defect_rates: BTreeMap<String, f64>,
    pub defect_min: usize,
    /// planted defects: rule id → source → count (= rows of truth/ground_truth.csv)
    pub defects: BTreeMap<String, BTreeMap<String, u64>>,
    pub t_junctions: Vec<TJunction>,
    pub operators: Operators,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SampleError + '_ {
    move |e| SampleError::Io {
        path: path.to_path_buf(),
        source: e,
    }
}

/// The local grid of this world: rotation of a degree or two, tens of ppm scale, shifted so
/// that local coordinates are small positive numbers around the surveyed villages.
fn local_grid(plan: &plan::Plan) -> (Similarity, [f64; 4]) {
    let mut rng = ChaCha8Rng::seed_from_u64(mix(plan.seed, 0x10CA1));
    let mut bb = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    for z in plan.gangcheng.iter().filter(|z| z.zjd) {
        bb = [
            bb[0].min(z.rect[0]),
            bb[1].min(z.rect[1]),
            bb[2].max(z.rect[2]),
            bb[3].max(z.rect[3]),
        ];
    }
    let sign = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
    let rotation = sign * (rng.random_range(2800.0..9400.0f64) * 10.0).round() / 10.0; // 0.8°-2.6°
    let scale = 1.0 + (rng.random_range(-25.0..25.0f64) * 10.0).round() / 1e7;
    let base = Similarity {
        dx: 0.0,
        dy: 0.0,
        scale,
        rotation,
    };
    // local (2000, 3000) sits 500 m south-west of the surveyed area
    let anchor = geo_types::Coord {
        x: bb[0] - 500.0,
        y: bb[1] - 500.0,
    };
    let f = base.forward(geo_types::Coord {
        x: 2000.0,
        y: 3000.0,
    });
    let sim = Similarity {
        dx: coverage::snap(anchor.x - f.x),
        dy: coverage::snap(anchor.y - f.y),
        ..base
    };
    (sim, bb)
}

fn write_operators(
    out: &Path,
    seed: u64,
    bursa: &Bursa,
    sim: &Similarity,
    bb: [f64; 4],
) -> Result<(), SampleError> {
    let dir = out.join("operator");
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let toml = bursa.params_toml(&format!(
        "cadastra sample world (seed {seed}): Xi'an 1980 to CGCS2000"
    ));
    let p = dir.join("xian80_to_cgcs2000.toml");
    std::fs::write(&p, toml).map_err(io(&p))?;
    // control points: corners, edge midpoints of the surveyed area (200 m outside it)
    let mut rng = ChaCha8Rng::seed_from_u64(mix(seed, 0xC0A7));
    let (x0, y0, x1, y1) = (bb[0] - 200.0, bb[1] - 200.0, bb[2] + 200.0, bb[3] + 200.0);
    let (xm, ym) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
    let pts = [
        (x0, y0),
        (xm, y0),
        (x1, y0),
        (x1, ym),
        (x1, y1),
        (xm, y1),
        (x0, y1),
        (x0, ym),
    ];
    let mut csv = String::from("name,src_e,src_n,dst_e,dst_n\n");
    for (i, &(e, n)) in pts.iter().enumerate() {
        let dst = geo_types::Coord {
            x: (e + rng.random_range(-40.0..40.0f64)).round(),
            y: (n + rng.random_range(-40.0..40.0f64)).round(),
        };
        let src = sim.inverse(dst);
        // survey noise of a few millimetres on both sides
        let mut noise = || (rng.random_range(-3.0..3.0f64)).round() / 1000.0;
        csv.push_str(&format!(
            "K{:02},{:.3},{:.3},{:.3},{:.3}\n",
            i + 1,
            src.x + noise(),
            src.y + noise(),
            dst.x + noise(),
            dst.y + noise()
        ));
    }
    let p = dir.join("local_grid_control.csv");
    std::fs::write(&p, csv).map_err(io(&p))
}

/// Sub-zones per parallel batch (times the thread count).
const BATCH: usize = 4;

/// What every source's run shares.
struct Ctx<'a> {
    out: &'a Path,
    sim: &'a Similarity,
    op7: &'a cadastra_crs::Operation,
}

fn run_source(
    src: Source,
    zones: &[Subzone],
    cx: &Ctx<'_>,
    num: &mut Numbering,
    shared: &mut Shared,
    progress: &mut dyn FnMut(&str, u64, u64),
) -> Result<SourceSink, SampleError> {
    let (out, sim, op7) = (cx.out, cx.sim, cx.op7);
    let mut sink = SourceSink::new(src, out)?;
    let total = zones.iter().map(Subzone::parcels).sum::<usize>() as u64;
    let mut done = 0u64;
    let batch = BATCH * rayon::current_num_threads().max(1);
    let build_batch = |chunk: &[Subzone]| -> Result<Vec<(build::ZoneOut, bool)>, SampleError> {
        chunk
            .par_iter()
            .map_init(
                || Xian80::new(op7),
                |op, sz| {
                    let op = op.as_ref().map_err(|e| SampleError::Crs(e.to_string()))?;
                    let legacy = if sz.zjd {
                        Legacy::Local(sim)
                    } else {
                        Legacy::Xian80 {
                            op,
                            zone_prefix: src == Source::Gangcheng,
                        }
                    };
                    Ok((build(sz, &legacy)?, sz.zjd))
                },
            )
            .collect()
    };
    // build batch k+1 while batch k is written
    let mut pending: Option<(Vec<(build::ZoneOut, bool)>, u64)> = None;
    let mut chunks = zones.chunks(batch);
    loop {
        let next = chunks.next();
        let (built, written) = rayon::join(
            || {
                next.map(|c| {
                    build_batch(c).map(|b| (b, c.iter().map(|z| z.parcels() as u64).sum::<u64>()))
                })
            },
            || match pending.take() {
                Some((p, n)) => sink.write_batch(p, num, shared).map(|()| n),
                None => Ok(0),
            },
        );
        done += written?;
        progress(src.name(), done, total);
        match built {
            Some(b) => pending = Some(b?),
            None => break,
        }
    }
    Ok(sink)
}

/// Generate the world into `out` (created if missing; files of an earlier world are
/// overwritten). `progress(stage, done, total)` is called from the calling thread.
pub fn generate(
    out: &Path,
    opts: &SampleOptions,
    progress: &mut dyn FnMut(&str, u64, u64),
) -> Result<WorldSummary, SampleError> {
    let plan = plan::plan(opts.parcels, opts.seed)?;
    std::fs::create_dir_all(out).map_err(io(out))?;
    let truth_dir = out.join("truth");
    std::fs::create_dir_all(&truth_dir).map_err(io(&truth_dir))?;
    let (sim, bb) = local_grid(&plan);
    write_operators(out, opts.seed, &XIAN80_TO_CGCS2000, &sim, bb)?;
    let op7 = XIAN80_TO_CGCS2000.operation()?;
    let mut shared = Shared {
        truth: Vec::new(),
        vertices: TextOut::create(
            &truth_dir.join("parcels_cgcs2000.csv"),
            false,
            "source,legacy_key,part,ring,vertex,e,n,layer,row",
        )?,
        people: TextOut::create(&truth_dir.join("people.csv"), false, "name,id_number,phone")?,
        tjunctions: Vec::new(),
    };
    let mut num = Numbering {
        ids: IdRegistry::new(false),
        next_company: 0,
    };
    let cx = Ctx {
        out,
        sim: &sim,
        op7: &op7,
    };
    let (jin, counts) = std::thread::scope(|s| {
        let jh = s.spawn(|| jinan::write(&plan, out));
        let mut run = || -> Result<BTreeMap<String, u64>, SampleError> {
            let laiwu = run_source(
                Source::Laiwu,
                &plan.laiwu,
                &cx,
                &mut num,
                &mut shared,
                progress,
            )?;
            // Laiwu's shapefiles and workbook are written while Gangcheng is generated
            let lh = s.spawn(move || laiwu.finish());
            let gang = run_source(
                Source::Gangcheng,
                &plan.gangcheng,
                &cx,
                &mut num,
                &mut shared,
                progress,
            )?;
            progress("writing shapefiles and workbooks", 0, 0);
            let mut c = gang.finish()?;
            let l = lh.join().map_err(|_| SampleError::Shapefile {
                path: out.join("laiwu"),
                message: "the writer panicked".into(),
            })??;
            c.extend(l);
            Ok(c)
        };
        let counts = run();
        let jin = jh.join().map_err(|_| SampleError::Gpkg {
            path: out.join("jinan"),
            message: "the GeoPackage writer panicked".into(),
        });
        (jin, counts)
    });
    let jin = jin??;
    let mut counts = counts?;
    counts.extend(jin.counts);
    for line in &jin.people {
        shared.people.line(line)?;
    }
    let mut truth: Vec<Truth> = shared.truth;
    truth.extend(jin.truth);
    truth.sort();
    let mut gt = TextOut::create(
        &truth_dir.join("ground_truth.csv"),
        false,
        "rule_id,layer,feature_key,other_key,source,note",
    )?;
    let mut defects: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for t in &truth {
        gt.line(&format!(
            "{},{},{},{},{},{}",
            t.rule,
            t.layer,
            sinks::csv_field(&t.feature_key),
            sinks::csv_field(&t.other_key),
            t.source,
            sinks::csv_field(&t.note)
        ))?;
        *defects
            .entry(t.rule.to_string())
            .or_default()
            .entry(t.source.to_string())
            .or_default() += 1;
    }
    counts.insert("truth/ground_truth.csv".into(), gt.finish()?);
    counts.insert(
        "truth/parcels_cgcs2000.csv".into(),
        shared.vertices.finish()?,
    );
    counts.insert("truth/people.csv".into(), shared.people.finish()?);
    let mut sub_zones = BTreeMap::new();
    sub_zones.insert("laiwu".to_string(), plan.laiwu.len() as u64);
    sub_zones.insert(
        "gangcheng".to_string(),
        plan.gangcheng.iter().filter(|z| !z.zjd).count() as u64,
    );
    sub_zones.insert(
        "gangcheng_zjd".to_string(),
        plan.gangcheng.iter().filter(|z| z.zjd).count() as u64,
    );
    sub_zones.insert("jinan".to_string(), plan.jinan.len() as u64);
    let summary = WorldSummary {
        generator: GENERATOR.to_string(),
        seed: opts.seed,
        parcels: opts.parcels,
        reference_date: build::REFERENCE.iso(),
        scale: (plan.scale * 1e6).round() / 1e6,
        counts,
        sub_zones,
        defect_rates: plan::Defect::ALL
            .iter()
            .map(|d| (d.rule().to_string(), DEFECT_RATE))
            .collect(),
        defect_min: plan::DEFECT_MIN,
        defects,
        t_junctions: shared
            .tjunctions
            .into_iter()
            .map(|(source, parcel, lower_left, lower_right)| TJunction {
                source,
                parcel,
                lower_left,
                lower_right,
            })
            .collect(),
        operators: Operators {
            xian80_to_cgcs2000: XIAN80_TO_CGCS2000,
            local_grid: sim,
        },
    };
    let p = out.join("world.json");
    let json = serde_json::to_string_pretty(&summary).map_err(|e| SampleError::Json {
        path: p.clone(),
        message: e.to_string(),
    })?;
    std::fs::write(&p, json + "\n").map_err(io(&p))?;
    Ok(summary)
}
