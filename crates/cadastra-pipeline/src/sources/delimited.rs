//! `type = "csv"`: registration records in any encoding (cadastra-tables decides it).

use super::{EncodingInfo, SourceData, SourceDriver, SourceError};
use crate::compile::SourcePlan;
use cadastra_model::RawTable;
use cadastra_tables::{CsvOptions, RecordTable};

pub struct CsvDriver;

fn options(src: &SourcePlan) -> CsvOptions {
    CsvOptions {
        encoding: src.encoding.clone(),
        delimiter: src.delimiter,
        chinese: src.chinese,
        ..Default::default()
    }
}

/// A record table as a raw table plus its encoding decision.
pub(crate) fn from_records(t: RecordTable, decided_override: bool) -> SourceData {
    let decided_by = if decided_override {
        "override"
    } else if t.evidence.iter().any(|e| e.to_lowercase().contains("bom")) {
        "bom"
    } else {
        "detected"
    };
    let encoding = EncodingInfo {
        encoding: t.encoding.clone(),
        decided_by: decided_by.into(),
        evidence: t.evidence.clone(),
        confident: !t.evidence.iter().any(|e| e.contains("malformed")),
    };
    SourceData {
        table: RawTable {
            name: t.name,
            fields: t.fields,
            columns: t.columns,
            geoms: None,
            src_rows: t.src_rows,
        },
        encoding: Some(encoding),
        ..Default::default()
    }
}

impl SourceDriver for CsvDriver {
    fn kind(&self) -> &'static str {
        "csv"
    }
    fn extensions(&self) -> &'static [&'static str] {
        &["csv", "txt", "tsv"]
    }
    fn read(&self, src: &SourcePlan) -> Result<SourceData, SourceError> {
        let t = cadastra_tables::read_csv(&src.path, &options(src))
            .map_err(|e| SourceError::new(src, e))?;
        Ok(from_records(t, src.encoding.is_some()))
    }
    fn fields(&self, src: &SourcePlan) -> Result<Vec<String>, SourceError> {
        // the whole file is parsed: broken quoting is exactly what `check` must find
        let t = cadastra_tables::read_csv(&src.path, &options(src))
            .map_err(|e| SourceError::new(src, e))?;
        Ok(t.fields)
    }
}
