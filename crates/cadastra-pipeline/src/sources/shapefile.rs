//! `type = "shapefile"`: read with cadastra-shp (parallel, encodings decided with evidence).

use super::{EncodingInfo, RecordProblem, SourceData, SourceDriver, SourceError};
use crate::compile::SourcePlan;
use cadastra_model::RawTable;
use cadastra_shp::{EncodingSource, ProblemKind, ReadOptions};

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
    Ok(ReadOptions {
        encoding,
        chinese: src.chinese,
        refuse_missing_shx: !src.restore_shx,
        ..Default::default()
    })
}

fn encoding_info(d: &cadastra_shp::EncodingDecision) -> EncodingInfo {
    EncodingInfo {
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
    }
}

fn is_value_problem(k: ProblemKind) -> bool {
    matches!(
        k,
        ProblemKind::Undecodable
            | ProblemKind::NumberOverflow
            | ProblemKind::BadNumber
            | ProblemKind::BadDate
            | ProblemKind::BadLogical
    )
}

fn problem(p: &cadastra_shp::RecordProblem) -> RecordProblem {
    RecordProblem {
        row: p.row,
        field: p.field.clone().unwrap_or_else(|| "shape".into()),
        reason: p.reason.clone(),
        raw: p.raw.iter().map(|b| format!("{b:02x}")).collect(),
    }
}

/// Read a standalone .dbf (attributes only).
fn read_dbf_only(src: &SourcePlan) -> Result<SourceData, SourceError> {
    let t =
        cadastra_shp::read_dbf(&src.path, &options(src)?).map_err(|e| SourceError::new(src, e))?;
    Ok(SourceData {
        table: RawTable {
            name: src.name.clone(),
            fields: t.fields.iter().map(|f| f.name.clone()).collect(),
            columns: t.columns,
            geoms: None,
            src_rows: t.source_records.iter().map(|&r| r as u64).collect(),
        },
        crs_text: None,
        encoding: Some(encoding_info(&t.encoding)),
        problems: t
            .problems
            .iter()
            .filter(|p| is_value_problem(p.kind))
            .map(problem)
            .collect(),
        warnings: t.warnings.clone(),
        deleted_skipped: t.deleted_records.len(),
    })
}

/// Read a shapefile layer as a raw table (used by `inspect` too).
pub fn read_shapefile_layer(src: &SourcePlan) -> Result<SourceData, SourceError> {
    if src
        .path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("dbf"))
    {
        return read_dbf_only(src);
    }
    let layer = cadastra_shp::read_shapefile(&src.path, &options(src)?).map_err(|e| match e {
        cadastra_shp::ShpError::Missing { path } if path.extension().is_some_and(|x| x.eq_ignore_ascii_case("shx")) => {
            SourceError::new(src, format!("{} is missing; set `restore_shx = true` on the source to rebuild the index by scanning the .shp (as GDAL's SHAPE_RESTORE_SHX does)", path.display()))
        }
        e => SourceError::new(src, e),
    })?;
    if src.strict {
        if layer.fields.is_empty() && layer.warnings.iter().any(|w| w.contains("no .dbf")) {
            return Err(SourceError::new(
                src,
                format!(
                    "{} is missing: the attributes cannot be read",
                    src.path.with_extension("dbf").display()
                ),
            ));
        }
        // structural damage (truncation, .shp/.dbf record counts that disagree) refuses the whole file:
        // loading part of a damaged delivery would hide the damage
        if let Some(p) = layer.problems.iter().find(|p| {
            matches!(
                p.kind,
                ProblemKind::BadShape | ProblemKind::NoShapeRecord | ProblemKind::NoDbfRecord
            )
        }) {
            let n = layer.problems.iter().filter(|q| q.kind == p.kind).count();
            return Err(SourceError::new(
                src,
                format!(
                    "damaged shapefile: record {} ({}): {}; {n} record(s) affected",
                    p.record,
                    p.field.as_deref().unwrap_or("shape"),
                    p.reason
                ),
            ));
        }
    }
    let encoding = layer.encoding.as_ref().map(encoding_info);
    // value-level problems quarantine their record; shape-level ones are left to validation
    let problems = layer
        .problems
        .iter()
        .filter(|p| is_value_problem(p.kind))
        .map(problem)
        .collect();
    let mut warnings = layer.warnings.clone();
    for p in layer.problems.iter().filter(|p| {
        matches!(
            p.kind,
            ProblemKind::DecimalComma
                | ProblemKind::ShapeTypeMismatch
                | ProblemKind::RingsNotOrganised
                | ProblemKind::NoDataCoordinates
        )
    }) {
        warnings.push(format!("record {}: {}", p.record, p.reason));
    }
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
