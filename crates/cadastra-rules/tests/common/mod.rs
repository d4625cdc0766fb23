//! Test support shared by the integration tests: the synthetic world and layer helpers.
#![allow(dead_code)] // each test binary uses a different part of this module

pub mod world;

use cadastra_model::{registry, Column, FieldType, Geom, Rows};
use std::path::{Path, PathBuf};

/// Rows of a registry table from `(field, value)` records (values parsed by field type).
pub struct RowsBuilder {
    pub rows: Rows,
    idx: Vec<(usize, FieldType)>,
}

impl RowsBuilder {
    pub fn new(table: &str, fields: &[&str]) -> RowsBuilder {
        let def = registry().table(table).expect("registry table");
        let idx = fields
            .iter()
            .map(|f| {
                let i = def
                    .field_index(f)
                    .unwrap_or_else(|| panic!("{table} has no field {f}"));
                (i, def.fields[i].ty)
            })
            .collect();
        RowsBuilder {
            rows: Rows::new(def),
            idx,
        }
    }

    /// Add a row: `values` in the order of `fields` (None = null); other fields null.
    pub fn push(&mut self, values: &[Option<&str>], geom: Option<Geom>) {
        let n = self.rows.columns.len();
        let mut given: Vec<Option<Option<&str>>> = vec![None; n];
        for ((i, _), v) in self.idx.iter().zip(values) {
            given[*i] = Some(*v);
        }
        for (c, v) in self.rows.columns.iter_mut().zip(given) {
            let v = v.flatten();
            match c {
                Column::Text(s) => s.push(v),
                Column::Int(x) => x.push(v.and_then(|v| v.parse().ok())),
                Column::Real(x) => x.push(v.and_then(|v| v.parse().ok())),
            }
        }
        self.rows.geoms.push(geom);
    }
}

/// The one caller of `run_rules` in the integration tests: run every rule on `threads` rayon
/// threads (the global pool when `None`).
pub fn run(
    layers: &[cadastra_rules::Layer<'_>],
    opts: &cadastra_rules::RuleOptions,
    threads: Option<usize>,
) -> cadastra_rules::Validation {
    match threads {
        None => cadastra_rules::run_rules(layers, opts),
        Some(n) => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .expect("thread pool");
            pool.install(|| cadastra_rules::run_rules(layers, opts))
        }
    }
}

/// The peer-test folder, relative to this crate.
pub fn peer_dir(sub: &str) -> PathBuf {
    let p = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/peer-tests"
    ))
    .join(sub);
    assert!(
        p.is_dir(),
        "peer-test folder {} is missing: these tests need /work/shared/peer-tests",
        p.display()
    );
    p
}

/// Peak resident memory of this process (VmHWM), in MiB.
pub fn peak_rss_mib() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// CPU time (user + system) of this process so far, in seconds (clock ticks of 1/100 s).
pub fn cpu_seconds() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // fields 14 and 15 of stat(5), counted from the state field (3)
    let (u, k): (f64, f64) = (f.get(11)?.parse().ok()?, f.get(12)?.parse().ok()?);
    Some((u + k) / 100.0)
}
