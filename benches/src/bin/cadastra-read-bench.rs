//! `cadastra-read-bench [--threads N] [--repeat R] FILE.shp...`: time cadastra's shapefile
//! reader (`cadastra_shp::read_shapefile`, encoding detected as the pipeline does with
//! `chinese = true`) on the given files together, against the floor of reading their bytes
//! (.shp, .shx, .dbf into memory). Best wall time of R runs each (default 3); prints JSON.
//! Used by `just bench-ingest` (scripts/bench/ingest.sh).

use cadastra_benches::clock::{best_of, Timing};
use cadastra_shp::{read_shapefile, ReadOptions};
use std::path::PathBuf;
use std::process::ExitCode;

fn timing_json(t: &Timing) -> serde_json::Value {
    serde_json::json!({"wall_s": t.wall.as_secs_f64(), "cpu_s": t.cpu.as_secs_f64()})
}

fn main() -> ExitCode {
    cadastra_alloc::tune();
    let mut args = std::env::args().skip(1);
    let mut threads = 2usize;
    let mut repeat = 3usize;
    let mut files: Vec<PathBuf> = Vec::new();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--threads" => threads = args.next().and_then(|v| v.parse().ok()).unwrap_or(2),
            "--repeat" => repeat = args.next().and_then(|v| v.parse().ok()).unwrap_or(3),
            "-h" | "--help" => {
                eprintln!("usage: cadastra-read-bench [--threads N] [--repeat R] FILE.shp...");
                return ExitCode::SUCCESS;
            }
            _ => files.push(PathBuf::from(a)),
        }
    }
    if files.is_empty() {
        eprintln!("usage: cadastra-read-bench [--threads N] [--repeat R] FILE.shp...");
        return ExitCode::from(2);
    }
    let parts: Vec<PathBuf> = files
        .iter()
        .flat_map(|f| ["shp", "shx", "dbf"].map(|e| f.with_extension(e)))
        .filter(|p| p.exists())
        .collect();
    let bytes: u64 = parts
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    // the floor: every byte of the files in memory, nothing decoded
    let (floor, floor_all, _) = best_of(repeat, || {
        parts
            .iter()
            .map(|p| std::fs::read(p).map(|b| b.len()).unwrap_or(0))
            .sum::<usize>()
    });
    let opts = ReadOptions {
        threads: Some(threads),
        chinese: true,
        ..ReadOptions::default()
    };
    let mut failed = None;
    let (read, read_all, layers) = best_of(repeat, || {
        files
            .iter()
            .map(|f| read_shapefile(f, &opts))
            .collect::<Result<Vec<_>, _>>()
    });
    let mut per_file = Vec::new();
    match layers {
        Some(Ok(layers)) => {
            for l in &layers {
                per_file.push(serde_json::json!({
                    "path": l.path.display().to_string(),
                    "rows": l.len(),
                    "encoding": l.encoding.as_ref().map(|d| d.encoding.name()),
                    "problems": l.problems.len(),
                }));
            }
        }
        Some(Err(e)) => failed = Some(e.to_string()),
        None => failed = Some("not run".into()),
    }
    if let Some(e) = failed {
        eprintln!("cadastra-read-bench: {e}");
        return ExitCode::from(2);
    }
    let rows: usize = per_file
        .iter()
        .filter_map(|f| f["rows"].as_u64())
        .sum::<u64>() as usize;
    let out = serde_json::json!({
        "threads": threads,
        "repeat": repeat,
        "bytes": bytes,
        "rows": rows,
        "files": per_file,
        "floor": timing_json(&floor),
        "floor_runs": floor_all.iter().map(timing_json).collect::<Vec<_>>(),
        "read": timing_json(&read),
        "read_runs": read_all.iter().map(timing_json).collect::<Vec<_>>(),
    });
    println!("{out}");
    ExitCode::SUCCESS
}
