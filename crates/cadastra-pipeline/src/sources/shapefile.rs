//! `type = "shapefile"`: read with cadastra-shp (parallel, encodings decided with evidence).

use super::{EncodingInfo, RecordProblem, SourceData, SourceDriver, SourceError};
use crate::compile::SourcePlan;
use cadastra_model::RawTable;
use cadastra_shp::{EncodingSource, ReadOptions};

pub struct ShapefileDriver;

fn options(src: &SourcePlan) -> Result<ReadOptions, SourceError> {
    let encoding = match &src.encoding {
        None => None,
        Some(l) => Some(
            cadastra_tables::encoding::encoding_for_label(l)
                .ok_or_else(|| SourceError::new(src, format!("unknown encoding {l:?}")))?
                .into(),
        ),
    };
    Ok(ReadOptions { encoding, chinese: src.chinese, ..Default::default() })
}

/// Read a shapefile layer as a raw table (used by `inspect` too).
pub fn read_shapefile_layer(src: &SourcePlan) -> Result<SourceData, SourceError> {
    let layer = cadastra_shp::read_shapefile(&src.path, &options(src)?).map_err(|e| SourceError::new(src, e))?;
    let encoding = layer.encoding.as_ref().map(|d| EncodingInfo {
        encoding: d.encoding.name().to_string(),
        decided_by: match d.source {
            EncodingSource::Override => "override",
            EncodingSource::Cpg => "cpg",
            EncodingSource::Cst => "cst",
            EncodingSource::Ldid => "ldid",
            EncodingSource::Detected => "detected",
            EncodingSource::Default => "default",
        }
        .into(),
        evidence: d.evidence.clone(),
        confident: d.confident,
    });
    let problems = layer
        .problems
        .iter()
        .map(|p| RecordProblem {
            row: p.row,
            field: p.field.clone().unwrap_or_else(|| "shape".into()),
            reason: p.reason.clone(),
            raw: p.raw.iter().map(|b| format!("{b:02x}")).collect(),
        })
        .collect();
    let mut warnings = layer.warnings.clone();
    for r in &layer.renamed_fields {
        warnings.push(format!("duplicate field name renamed: {r:?}"));
    }
    let deleted = layer.deleted_skipped();
    Ok(SourceData {
        table: RawTable {
            name: src.name.clone(),
            fields: layer.fields.iter().map(|f| f.name.clone()).collect(),
            columns: layer.columns,
            geoms: Some(layer.geoms),
            src_rows: layer.source_records.iter().map(|&r| r as u64).collect(),
        },
        crs_text: layer.prj,
        encoding,
        problems,
        warnings,
        deleted_skipped: deleted,
    })
}

impl SourceDriver for ShapefileDriver {
    fn kind(&self) -> &'static str {
        "shapefile"
    }
    fn extensions(&self) -> &'static [&'static str] {
        &["shp", "dbf"]
    }
    fn read(&self, src: &SourcePlan) -> Result<SourceData, SourceError> {
        read_shapefile_layer(src)
    }
    fn fields(&self, src: &SourcePlan) -> Result<Vec<String>, SourceError> {
        let t = cadastra_shp::read_dbf(&src.path.with_extension("dbf"), &options(src)?)
            .map_err(|e| SourceError::new(src, e))?;
        Ok(t.fields.iter().map(|f| f.name.clone()).collect())
    }
}
