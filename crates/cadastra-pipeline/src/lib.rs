//! Pipeline files and their execution.
//!
//! Three layers, each with its own type (style guide §2):
//! 1. [`spec`]: `PipelineFile`, the TOML as written, parsed so that every mistake is reported with
//!    its line ([`load`] also follows `include`s).
//! 2. [`compile`]: `Plan`, names resolved against the registry schema, code lists, CRS operations and
//!    source drivers. Pure: opens no files.
//! 3. [`run`]: the only layer that reads sources and writes the registry: ingest → map →
//!    reproject → validate → merge → one atomic write, with the reconciliation checked.
//!
//! [`sources`] holds the source drivers (shapefile, gdal, csv, xlsx) behind one trait; [`mapping`]
//! turns raw records into registry rows or quarantine entries; [`summary`] is the run summary.

pub mod compile;
pub mod inspect;
pub mod mapping;
pub mod run;
pub mod sources;
pub mod spec;
pub mod summary;

mod crs_stage;
mod joins;
mod lock;
mod merge_stage;
pub mod outputs;
pub mod quick;
mod validate;

pub use compile::{compile, Plan};
pub use spec::{ConfigError, PipelineFile};

use std::path::Path;

/// Read a pipeline file and the files it includes, reporting every problem with its line.
pub fn load(path: &Path) -> Result<PipelineFile, Vec<ConfigError>> {
    load_inner(path, 0)
}

fn load_inner(path: &Path, depth: usize) -> Result<PipelineFile, Vec<ConfigError>> {
    let one = |message: String| {
        vec![ConfigError {
            file: path.display().to_string(),
            line: 0,
            column: 0,
            message,
        }]
    };
    if depth > 8 {
        return Err(one("includes nest deeper than 8 files (a cycle?)".into()));
    }
    let text = std::fs::read_to_string(path).map_err(|e| one(format!("cannot read: {e}")))?;
    let (file, mut parse_errors) = spec::parse_partial(path, text);
    let Some(mut file) = file else {
        return Err(parse_errors);
    };
    let base = path.parent().unwrap_or(Path::new("."));
    let mut errors = Vec::new();
    for inc in file.pipeline.include.clone() {
        match load_inner(&base.join(&inc), depth + 1) {
            Ok(sub) => {
                let sub_base = sub.path.parent().unwrap_or(Path::new(".")).to_path_buf();
                for (name, mut c) in sub.crs {
                    if let Some(p) = &c.params {
                        c.params = Some(rebase(&sub_base, base, p));
                    }
                    if let Some(existing) = file.crs.get(&name) {
                        if existing.source != c.source || existing.params != c.params {
                            errors.push(ConfigError {
                                file: path.display().to_string(),
                                line: 0,
                                column: 0,
                                message: format!(
                                    "[crs.{name}] differs between this file and {inc}"
                                ),
                            });
                        }
                        continue;
                    }
                    file.crs.insert(name, c);
                }
                file.joins.extend(sub.joins);
                for mut s in sub.sources {
                    s.head.path = rebase(&sub_base, base, &s.head.path);
                    s.span = 0..0;
                    file.sources.push(s);
                }
            }
            Err(e) => errors.extend(e),
        }
    }
    parse_errors.extend(errors);
    if parse_errors.is_empty() {
        Ok(file)
    } else {
        // report the semantic problems of the well-formed rest too
        if depth == 0 {
            if let Err(more) = compile::compile(&file) {
                parse_errors.extend(
                    more.into_iter()
                        .filter(|e| !e.message.contains("declares no [[source]]")),
                );
            }
        }
        parse_errors.sort_by_key(|e| (e.file.clone(), e.line, e.column));
        Err(parse_errors)
    }
}

/// A path written relative to `from` (an included file's folder), re-expressed relative to `to`.
fn rebase(from: &Path, to: &Path, p: &str) -> String {
    let abs = from.join(p);
    match abs.strip_prefix(to) {
        Ok(rel) => rel.display().to_string(),
        Err(_) => abs.display().to_string(),
    }
}
