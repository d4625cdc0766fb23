//! Deliverables people open after a run. Inputs are plain data (the run summary, the findings,
//! the registry file), so this crate knows nothing of pipelines.
//!
//! - [`html`]: `report.html`, one self-contained page per run (no external scripts, fonts or
//!   tiles), Chinese with English alongside: reconciliation, encoding and CRS decisions, findings by
//!   rule and severity, a paged and filterable findings table, conflicts, an overview map and a small
//!   map per finding (inline SVG drawn from the registry's features around it).
//! - [`xlsx`]: `findings.xlsx` (summary by rule × severity × district, findings, reconciliation,
//!   conflicts) and `conflicts.csv`.
//! - [`qgis`]: default QGIS styles in the GeoPackage's `layer_styles` table ([`style_registry`]),
//!   run metadata, and a `.qgz` project with relative paths and relations ([`write_project`]).
//! - `registry_read` (private): read-only access to a registry GeoPackage (features in a window,
//!   conflicts, right holders) with rusqlite.
//! - `mask` (private): masking of personal data for review copies.
//!
//! ```no_run
//! # fn main() -> Result<(), cadastra_report::ReportError> {
//! # let summary: cadastra_model::summary::RunSummary = todo!();
//! let input = cadastra_report::ReportInput {
//!     summary: &summary,
//!     findings: &[],
//!     registry: Some(std::path::Path::new("out/registry.gpkg")),
//!     unmask: false,
//!     options: Default::default(),
//! };
//! let files = cadastra_report::write_reports(&input, std::path::Path::new("out"))?;
//! println!("{}", files.html.display());
//! # Ok(()) }
//! ```
//!
//! **Invariant:** review outputs (HTML, XLSX, CSV) show personal data masked (`张*`,
//! `3701**********1234`) unless the caller passes `unmask`.
//! **Invariant:** the registry is only ever opened read-only here, except by [`style_registry`]
//! and [`write_run_metadata`], which add QGIS styles and metadata in one transaction.

pub mod html;
mod mask;
pub mod qgis;
mod registry_read;
mod rules;
mod svg;
pub mod xlsx;

use cadastra_model::summary::RunSummary;
use cadastra_model::Finding;
use std::path::{Path, PathBuf};

pub use qgis::{style_registry, write_project, write_run_metadata};

/// What can go wrong writing a deliverable; every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{path}: {message}")]
    Io { path: String, message: String },
    #[error("{path}: {source}")]
    Sqlite {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("{path}: {source}")]
    Xlsx {
        path: String,
        #[source]
        source: rust_xlsxwriter::XlsxError,
    },
}

impl ReportError {
    pub(crate) fn io(path: &Path, e: impl std::fmt::Display) -> ReportError {
        ReportError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        }
    }
    pub(crate) fn sqlite(path: &Path) -> impl FnOnce(rusqlite::Error) -> ReportError + '_ {
        move |source| ReportError::Sqlite {
            path: path.display().to_string(),
            source,
        }
    }
}

/// Limits that keep the report small and fast at the 100k-parcel scale.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// findings per rule that get their own small map
    pub maps_per_rule: usize,
    /// findings listed in the HTML table (the full list is in findings.csv / findings.xlsx)
    pub max_table_rows: usize,
    /// features drawn at most on one small map
    pub max_features_per_map: usize,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            maps_per_rule: 12,
            max_table_rows: 100_000,
            max_features_per_map: 300,
        }
    }
}

/// Everything a report is made of.
pub struct ReportInput<'a> {
    pub summary: &'a RunSummary,
    pub findings: &'a [Finding],
    /// the registry GeoPackage (features for the maps, conflicts, right holders); `None` for a
    /// PostGIS registry or a validate run (maps then show the error geometry alone)
    pub registry: Option<&'a Path>,
    /// show personal data unmasked (the run was started with `--unmask`)
    pub unmask: bool,
    pub options: ReportOptions,
}

/// Files written by [`write_reports`], with what the HTML report holds.
#[derive(Debug, Clone)]
pub struct ReportFiles {
    pub html: PathBuf,
    pub xlsx: PathBuf,
    pub conflicts_csv: Option<PathBuf>,
    pub stats: html::HtmlStats,
}

/// Write `report.html`, `findings.xlsx` and (when the registry holds conflicts) `conflicts.csv`
/// into `out_dir`.
pub fn write_reports(input: &ReportInput<'_>, out_dir: &Path) -> Result<ReportFiles, ReportError> {
    std::fs::create_dir_all(out_dir).map_err(|e| ReportError::io(out_dir, e))?;
    let conflicts = match input.registry {
        Some(r) => registry_read::conflicts(r)?,
        None => Vec::new(),
    };
    let html_path = out_dir.join("report.html");
    let xlsx_path = out_dir.join("findings.xlsx");
    // the page and the workbook are independent: each on its own core (at 1M parcels, 415k
    // findings, each takes seconds)
    let (stats, written) = rayon::join(
        || html::write_html(input, &conflicts, &html_path),
        || xlsx::write_xlsx(input, &conflicts, &xlsx_path),
    );
    let stats = stats?;
    written?;
    let conflicts_csv = if conflicts.is_empty() {
        None
    } else {
        let p = out_dir.join("conflicts.csv");
        xlsx::write_conflicts_csv(&conflicts, input.unmask, &p)?;
        Some(p)
    };
    Ok(ReportFiles {
        html: html_path,
        xlsx: xlsx_path,
        conflicts_csv,
        stats,
    })
}

/// The county (district) a finding belongs to: the first six digits of its feature key, with a
/// pre-2019 code mapped to the new one (371202 → 370116). `None` when the key carries no code.
pub fn district_of(key: &str) -> Option<String> {
    let head = key.get(..6)?;
    if !head.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let cl = cadastra_model::codelist::codelists();
    let code = cl.new_admin_code(head).unwrap_or(head);
    // Shandong county codes only: business numbers (YWH) also start with six digits (a date)
    let known = cl.list("ADMIN").is_some_and(|l| l.contains(code));
    (known || code.starts_with("37")).then(|| code.to_string())
}

/// Chinese name of a county code, when known.
pub fn district_name(code: &str) -> Option<&'static str> {
    cadastra_model::codelist::codelists()
        .list("ADMIN")
        .and_then(|l| l.name(code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn districts_follow_the_2019_crosswalk() {
        assert_eq!(
            district_of("371202001002JC00015").as_deref(),
            Some("370116")
        );
        assert_eq!(
            district_of("370117001002JC00015").as_deref(),
            Some("370117")
        );
        assert_eq!(district_of("ZD-12"), None);
        assert_eq!(district_of("20050201-0001"), None);
        assert_eq!(district_of("37"), None);
        assert_eq!(district_of("3701é"), None);
        assert_eq!(district_name("370116"), Some("莱芜区"));
    }
}
