//! `cadastra-load-bench --pipeline RUN/pipelines/jinan-laiwu.toml --gpkg NEW.gpkg [--pg URL]
//! [--source NAME]...`: registry load throughput (issue 6). For the named sources (default: the
//! parcels of both districts, `laiwu_zd` and `gangcheng_zd`), times what cadastra does to load
//! them: read the files (GBK DBF), map the records onto the registry schema (the pipeline's own
//! mapping: cleaning, codes, provenance, record hash), and write them in one transaction into a
//! new GeoPackage registry (R-tree and indexes built after the load) and, with `--pg`, into a
//! PostGIS registry (binary COPY, GiST and indexes after the load). Geometry is written as read
//! (no reprojection), as `ogr2ogr` without `-t_srs` does. Prints JSON: rows, wall and CPU seconds
//! per phase. Used by `just bench-load` (scripts/bench/load.sh), next to `ogr2ogr` loading the same
//! files into the same backends.

use cadastra_benches::clock::cpu_time;
use cadastra_io::gpkg::GpkgRegistry;
use cadastra_io::postgis::PgRegistry;
use cadastra_io::registry::{ChangeSet, Registry, TableChange};
use cadastra_pipeline::mapping::map_source;
use cadastra_pipeline::sources::driver;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

const USAGE: &str =
    "usage: cadastra-load-bench --pipeline FILE.toml --gpkg NEW.gpkg [--pg URL] [--source NAME]...";
const SRID: i32 = 4548;

fn phase(name: &str, wall: f64, cpu: f64) -> serde_json::Value {
    serde_json::json!({"phase": name, "wall_s": wall, "cpu_s": cpu})
}

fn run() -> Result<serde_json::Value, String> {
    let mut args = std::env::args().skip(1);
    let (mut pipeline, mut gpkg, mut pg) = (None, None, None);
    let mut sources: Vec<String> = Vec::new();
    while let Some(a) = args.next() {
        let mut value = |n: &str| args.next().ok_or(format!("{n} needs a value\n{USAGE}"));
        match a.as_str() {
            "--pipeline" => pipeline = Some(PathBuf::from(value("--pipeline")?)),
            "--gpkg" => gpkg = Some(PathBuf::from(value("--gpkg")?)),
            "--pg" => pg = Some(value("--pg")?),
            "--source" => sources.push(value("--source")?),
            _ => return Err(USAGE.into()),
        }
    }
    let (Some(pipeline), Some(gpkg)) = (pipeline, gpkg) else {
        return Err(USAGE.into());
    };
    if sources.is_empty() {
        sources = vec!["laiwu_zd".into(), "gangcheng_zd".into()];
    }
    let file = cadastra_pipeline::load(&pipeline).map_err(|e| format!("{e:?}"))?;
    let mut plan = cadastra_pipeline::compile(&file).map_err(|e| format!("{e:?}"))?;
    plan.only_sources(&sources)?;

    // read + map, as `cadastra run` does: the sources side by side, each parallel inside; each
    // source's rows are one change of the registry table (appended in source order)
    let (c0, t0) = (cpu_time(), Instant::now());
    let mapped: Vec<Result<_, String>> = {
        use rayon::prelude::*;
        plan.sources
            .par_iter()
            .map(|src| {
                let drv = driver(&src.kind).ok_or(format!("{}: unknown source type", src.name))?;
                let data = drv.read(src).map_err(|e| e.to_string())?;
                let mapped = map_source(src, &data, &plan.batch);
                Ok((src.name.clone(), data.table.len(), mapped))
            })
            .collect()
    };
    let mut changes = ChangeSet::default();
    let mut per_source = Vec::new();
    for m in mapped {
        let (name, records, mapped) = m?;
        let mut rows = 0;
        for t in mapped.targets {
            rows += t.rows.len();
            changes.tables.push(TableChange::inserts(&t.table, t.rows));
        }
        per_source.push(serde_json::json!({"source": name, "records": records, "rows": rows}));
    }
    let rows = changes.insert_rows();
    let mut phases = vec![phase(
        "read + map",
        t0.elapsed().as_secs_f64(),
        cpu_time().saturating_sub(c0).as_secs_f64(),
    )];

    let _ = std::fs::remove_file(&gpkg);
    let (c0, t0) = (cpu_time(), Instant::now());
    GpkgRegistry::open(&gpkg, SRID)
        .and_then(|mut r| r.apply(&changes))
        .map_err(|e| format!("{}: {e}", gpkg.display()))?;
    phases.push(phase(
        "write GeoPackage (new registry)",
        t0.elapsed().as_secs_f64(),
        cpu_time().saturating_sub(c0).as_secs_f64(),
    ));
    if let Some(url) = pg {
        let (c0, t0) = (cpu_time(), Instant::now());
        PgRegistry::connect(&url, SRID)
            .and_then(|mut r| r.apply(&changes))
            .map_err(|e| format!("PostGIS: {e}"))?;
        phases.push(phase(
            "write PostGIS (new registry; client CPU only)",
            t0.elapsed().as_secs_f64(),
            cpu_time().saturating_sub(c0).as_secs_f64(),
        ));
    }
    Ok(serde_json::json!({"rows": rows, "sources": per_source, "phases": phases}))
}

fn main() -> ExitCode {
    cadastra_alloc::tune();
    cadastra_io::gpkg::configure_sqlite();
    match run() {
        Ok(v) => {
            println!("{v}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cadastra-load-bench: {e}");
            ExitCode::from(2)
        }
    }
}
