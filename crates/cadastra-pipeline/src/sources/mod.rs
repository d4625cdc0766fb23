//! Source drivers: one trait, one plug-in per format (style guide §3). Every driver hands back a
//! `RawTable` (all values as decoded text, geometry when the format has it) plus what the run
//! summary must say about the file (encoding decision with evidence, CRS text, warnings) and the
//! records that could be read but not decoded (they go to quarantine, never dropped).

mod delimited;
mod ogr;
mod shapefile;
mod workbook;

use crate::compile::SourcePlan;
use cadastra_model::RawTable;

pub use cadastra_model::summary::EncodingInfo;

/// A record that was read but not decoded cleanly: quarantined with the raw value.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RecordProblem {
    /// row index into the raw table
    pub row: usize,
    pub field: String,
    pub reason: String,
    pub raw: String,
}

/// What a driver read.
#[derive(Debug, Clone, Default)]
pub struct SourceData {
    pub table: RawTable,
    /// the CRS as the file declares it (.prj text or GDAL's WKT)
    pub crs_text: Option<String>,
    pub encoding: Option<EncodingInfo>,
    pub problems: Vec<RecordProblem>,
    pub warnings: Vec<String>,
    /// deleted DBF records skipped (not live records; reported, not counted as read)
    pub deleted_skipped: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("source {source_name} ({path}): {message}")]
    Read {
        source_name: String,
        path: String,
        message: String,
    },
}

impl SourceError {
    pub fn new(src: &SourcePlan, message: impl ToString) -> SourceError {
        SourceError::Read {
            source_name: src.name.clone(),
            path: src.path.display().to_string(),
            message: message.to_string(),
        }
    }
}

/// A format plug-in.
pub trait SourceDriver: Send + Sync {
    /// `type = "..."` in a pipeline file
    fn kind(&self) -> &'static str;
    /// file extensions this driver is the default for (used by `inspect`)
    fn extensions(&self) -> &'static [&'static str];
    /// Read everything.
    fn read(&self, src: &SourcePlan) -> Result<SourceData, SourceError>;
    /// The field names only (for `cadastra check`, which moves no data).
    fn fields(&self, src: &SourcePlan) -> Result<Vec<String>, SourceError>;
}

/// The source drivers, in the order `inspect` tries them.
pub static SOURCES: &[&dyn SourceDriver] = &[
    &shapefile::ShapefileDriver,
    &delimited::CsvDriver,
    &workbook::XlsxDriver,
    &ogr::GdalDriver,
];

/// The driver for a `type`.
pub fn driver(kind: &str) -> Option<&'static dyn SourceDriver> {
    SOURCES.iter().copied().find(|d| d.kind() == kind)
}

pub use shapefile::read_shapefile_layer;
