//! GeoParquet 1.1 with the `parquet` crate's low-level writer (no Arrow):
//! `OUT/layer=<L>/district=<code>/part-0.parquet`, geometry as WKB in column `geometry`, the
//! CGCS2000 CRS embedded as PROJJSON (from GDAL/PROJ), a `bbox` covering struct, rows sorted along
//! a Hilbert curve, row groups of at most [`ROW_GROUP`] rows, Snappy compression. Attribute tables
//! are written as plain Parquet in the same layout.

use crate::{ExportError, LayerOut, LayerSummary};
use cadastra_model::{Column, FieldType};
use parquet::basic::Compression;
use parquet::column::writer::ColumnWriter;
use parquet::data_type::ByteArray;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// Rows per row group (GeoParquet's distribution guide: 50k–150k).
pub const ROW_GROUP: usize = 100_000;

use cadastra_geom::hilbert::hilbert;

/// PROJJSON of the registry CRS, from PROJ through GDAL.
pub fn projjson() -> Result<serde_json::Value, String> {
    let sr = gdal::spatial_ref::SpatialRef::from_epsg(crate::EPSG).map_err(|e| e.to_string())?;
    let s = sr.to_projjson().map_err(|e| e.to_string())?;
    serde_json::from_str(&s).map_err(|e| e.to_string())
}

fn schema(layer: &LayerOut) -> String {
    let mut s = String::from("message schema {\n");
    if layer.def.geometry.is_some() {
        s.push_str("  OPTIONAL BYTE_ARRAY geometry;\n  OPTIONAL group bbox {\n    REQUIRED DOUBLE xmin;\n    REQUIRED DOUBLE ymin;\n    REQUIRED DOUBLE xmax;\n    REQUIRED DOUBLE ymax;\n  }\n");
    }
    for f in &layer.def.fields {
        let t = match f.ty {
            FieldType::Text | FieldType::Date => "BYTE_ARRAY",
            FieldType::Int => "INT64",
            FieldType::Real => "DOUBLE",
        };
        let ann = if t == "BYTE_ARRAY" { " (UTF8)" } else { "" };
        s.push_str(&format!("  OPTIONAL {t} {}{ann};\n", f.name));
    }
    s.push('}');
    s
}

fn perr(path: &Path) -> impl Fn(parquet::errors::ParquetError) -> ExportError + '_ {
    move |e| ExportError::out(path, e)
}

/// Write one partition (rows `idx` of `layer`, already in order) to `path`.
fn write_file(
    path: &Path,
    layer: &LayerOut,
    idx: &[usize],
    crs: &serde_json::Value,
) -> Result<(), ExportError> {
    let spatial = layer.def.geometry.is_some();
    let mut wkbs: Vec<Option<Vec<u8>>> = Vec::with_capacity(idx.len());
    let mut boxes: Vec<Option<[f64; 4]>> = Vec::with_capacity(idx.len());
    let mut total: Option<[f64; 4]> = None;
    if spatial {
        let mut buf = Vec::new();
        for &i in idx {
            match crate::row_wkb(layer, i, &mut buf) {
                Some(b) => {
                    total = Some(match total {
                        None => b,
                        Some(t) => [
                            t[0].min(b[0]),
                            t[1].min(b[1]),
                            t[2].max(b[2]),
                            t[3].max(b[3]),
                        ],
                    });
                    wkbs.push(Some(buf.clone()));
                    boxes.push(Some(b));
                }
                None => {
                    wkbs.push(None);
                    boxes.push(None);
                }
            }
        }
    }
    let mut kv = vec![KeyValue::new(
        "cadastra".to_string(),
        format!(
            "{{\"layer\":\"{}\",\"epsg\":{}}}",
            layer.def.name,
            crate::EPSG
        ),
    )];
    if spatial {
        let gt = if layer.is_point() {
            "Point"
        } else {
            "MultiPolygon"
        };
        let geo = serde_json::json!({
            "version": "1.1.0",
            "primary_column": "geometry",
            "columns": {
                "geometry": {
                    "encoding": "WKB",
                    "geometry_types": [gt],
                    "crs": crs,
                    "edges": "planar",
                    "bbox": total.map(|t| vec![t[0], t[1], t[2], t[3]]).unwrap_or_default(),
                    "covering": {"bbox": {
                        "xmin": ["bbox", "xmin"], "ymin": ["bbox", "ymin"],
                        "xmax": ["bbox", "xmax"], "ymax": ["bbox", "ymax"]
                    }}
                }
            }
        });
        kv.push(KeyValue::new("geo".to_string(), geo.to_string()));
    }
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(ROW_GROUP))
        .set_created_by(format!("cadastra {}", env!("CARGO_PKG_VERSION")))
        .set_key_value_metadata(Some(kv))
        .build();
    let schema = parse_message_type(&schema(layer)).map_err(perr(path))?;
    let file = std::fs::File::create(path).map_err(|e| ExportError::out(path, e))?;
    let mut w =
        SerializedFileWriter::new(file, Arc::new(schema), Arc::new(props)).map_err(perr(path))?;
    let wrong = || ExportError::out(path, "column type does not match the schema (internal)");
    for start in (0..idx.len().max(1)).step_by(ROW_GROUP) {
        let end = (start + ROW_GROUP).min(idx.len());
        let part = &idx[start.min(idx.len())..end];
        let mut rg = w.next_row_group().map_err(perr(path))?;
        let mut col_no = 0usize;
        while let Some(mut col) = rg.next_column().map_err(perr(path))? {
            let n_extra = if spatial { 5 } else { 0 };
            match (
                col.untyped(),
                spatial && col_no == 0,
                spatial && (1..5).contains(&col_no),
            ) {
                (ColumnWriter::ByteArrayColumnWriter(cw), true, _) => {
                    let mut vals = Vec::new();
                    let mut defs = Vec::with_capacity(part.len());
                    for w in &wkbs[start..end] {
                        match w {
                            Some(b) => {
                                vals.push(ByteArray::from(b.clone()));
                                defs.push(1);
                            }
                            None => defs.push(0),
                        }
                    }
                    cw.write_batch(&vals, Some(&defs), None)
                        .map_err(perr(path))?;
                }
                (ColumnWriter::DoubleColumnWriter(cw), false, true) => {
                    let which = col_no - 1; // xmin, ymin, xmax, ymax
                    let mut vals = Vec::new();
                    let mut defs = Vec::with_capacity(part.len());
                    for b in &boxes[start..end] {
                        match b {
                            Some(b) => {
                                vals.push(b[which]);
                                defs.push(1);
                            }
                            None => defs.push(0),
                        }
                    }
                    cw.write_batch(&vals, Some(&defs), None)
                        .map_err(perr(path))?;
                }
                (w2, false, false) => {
                    let fi = col_no - n_extra;
                    let column = layer.rows.columns.get(fi).ok_or_else(wrong)?;
                    let mut defs = Vec::with_capacity(part.len());
                    match (w2, column) {
                        (ColumnWriter::ByteArrayColumnWriter(cw), Column::Text(c)) => {
                            let mut vals = Vec::new();
                            for &i in part {
                                match c.get(i) {
                                    Some(v) => {
                                        vals.push(ByteArray::from(v));
                                        defs.push(1);
                                    }
                                    None => defs.push(0),
                                }
                            }
                            cw.write_batch(&vals, Some(&defs), None)
                                .map_err(perr(path))?;
                        }
                        (ColumnWriter::Int64ColumnWriter(cw), Column::Int(c)) => {
                            let mut vals = Vec::new();
                            for &i in part {
                                match c[i] {
                                    Some(v) => {
                                        vals.push(v);
                                        defs.push(1);
                                    }
                                    None => defs.push(0),
                                }
                            }
                            cw.write_batch(&vals, Some(&defs), None)
                                .map_err(perr(path))?;
                        }
                        (ColumnWriter::DoubleColumnWriter(cw), Column::Real(c)) => {
                            let mut vals = Vec::new();
                            for &i in part {
                                match c[i] {
                                    Some(v) => {
                                        vals.push(v);
                                        defs.push(1);
                                    }
                                    None => defs.push(0),
                                }
                            }
                            cw.write_batch(&vals, Some(&defs), None)
                                .map_err(perr(path))?;
                        }
                        _ => return Err(wrong()),
                    }
                }
                _ => return Err(wrong()),
            }
            col.close().map_err(perr(path))?;
            col_no += 1;
        }
        rg.close().map_err(perr(path))?;
        if idx.is_empty() {
            break;
        }
    }
    w.close().map_err(perr(path))?;
    Ok(())
}

pub(crate) fn write(out: &Path, layers: &[LayerOut]) -> Result<Vec<LayerSummary>, ExportError> {
    std::fs::create_dir_all(out).map_err(|e| ExportError::out(out, e))?;
    let crs = projjson().map_err(|m| ExportError::out(out, format!("CRS as PROJJSON: {m}")))?;
    let mut summaries = Vec::new();
    for layer in layers {
        let dir = out.join(format!("layer={}", layer.def.name));
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| ExportError::out(&dir, e))?;
        }
        // partition by district
        let mut parts: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, d) in layer.districts.iter().enumerate() {
            parts.entry(d.as_str()).or_default().push(i);
        }
        // spatial order: Hilbert position of each bbox centre within the layer's extent
        let mut key: Vec<u64> = vec![0; layer.rows.len()];
        if layer.def.geometry.is_some() {
            let mut buf = Vec::new();
            let boxes: Vec<Option<[f64; 4]>> = (0..layer.rows.len())
                .map(|i| crate::row_wkb(layer, i, &mut buf))
                .collect();
            let mut e = [
                f64::INFINITY,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::NEG_INFINITY,
            ];
            for b in boxes.iter().flatten() {
                e = [
                    e[0].min(b[0]),
                    e[1].min(b[1]),
                    e[2].max(b[2]),
                    e[3].max(b[3]),
                ];
            }
            let (w, h) = ((e[2] - e[0]).max(1e-9), (e[3] - e[1]).max(1e-9));
            for (i, b) in boxes.iter().enumerate() {
                key[i] = match b {
                    Some(b) => u64::from(hilbert(
                        ((b[0] + b[2]) / 2.0 - e[0]) / w,
                        ((b[1] + b[3]) / 2.0 - e[1]) / h,
                    )),
                    None => u64::MAX,
                };
            }
        }
        let mut files = Vec::new();
        for (d, mut idx) in parts {
            idx.sort_by_key(|&i| (key[i], i));
            let pdir = dir.join(format!("district={d}"));
            std::fs::create_dir_all(&pdir).map_err(|e| ExportError::out(&pdir, e))?;
            let path = pdir.join("part-0.parquet");
            write_file(&path, layer, &idx, &crs)?;
            files.push(path.display().to_string());
        }
        summaries.push(LayerSummary {
            layer: layer.def.name.clone(),
            read: layer.read,
            rows: layer.rows.len() as u64,
            files,
        });
    }
    Ok(summaries)
}

/// What a GeoParquet file holds, read back with the parquet crate: rows, row groups, the `geo`
/// metadata (if any) and the column names.
#[derive(Debug, Clone)]
pub struct ParquetInfo {
    pub rows: i64,
    pub row_groups: usize,
    pub geo: Option<serde_json::Value>,
    pub columns: Vec<String>,
}

pub fn read_info(path: &Path) -> Result<ParquetInfo, ExportError> {
    let f = std::fs::File::open(path).map_err(|e| ExportError::out(path, e))?;
    let r = SerializedFileReader::new(f).map_err(perr(path))?;
    let md = r.metadata();
    let fm = md.file_metadata();
    let geo = fm
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|k| k.key == "geo"))
        .and_then(|k| k.value.as_deref())
        .and_then(|v| serde_json::from_str(v).ok());
    Ok(ParquetInfo {
        rows: fm.num_rows(),
        row_groups: md.num_row_groups(),
        geo,
        columns: fm
            .schema_descr()
            .columns()
            .iter()
            .map(|c| c.path().string())
            .collect(),
    })
}

/// All values of a text column of a Parquet file (for checks that Chinese text survived).
pub fn read_text_column(path: &Path, column: &str) -> Result<Vec<Option<String>>, ExportError> {
    let f = std::fs::File::open(path).map_err(|e| ExportError::out(path, e))?;
    let r = SerializedFileReader::new(f).map_err(perr(path))?;
    let mut out = Vec::new();
    for row in r.get_row_iter(None).map_err(perr(path))? {
        let row = row.map_err(perr(path))?;
        let mut v = None;
        for (name, field) in row.get_column_iter() {
            if name == column {
                if let parquet::record::Field::Str(s) = field {
                    v = Some(s.clone());
                }
            }
        }
        out.push(v);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projjson_is_cgcs2000_gk_117() {
        let p = projjson().unwrap();
        assert_eq!(p["id"]["code"], 4548);
        assert!(p["name"].as_str().unwrap().contains("CGCS2000"));
    }
}
