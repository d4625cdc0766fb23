//! `cadastra export`: registry layers out to the formats people and other systems read.
//!
//! - [`filter`]: the `--where` language (parsed, fields checked against the schema, evaluated in
//!   memory; never pasted into SQL).
//! - `source` (private): reading a registry GeoPackage (read-only) or PostGIS.
//! - `gpkg_out`: a spec-valid GeoPackage (cadastra's own writer) with QGIS styles and a `.qgz`.
//! - `gdal_out`: ESRI Shapefile (UTF-8 + `.cpg`, `.qix`, a field-name mapping CSV for names over
//!   10 characters) and FlatGeobuf, through GDAL.
//! - [`geoparquet`]: GeoParquet 1.1 (WKB, PROJJSON CRS, bbox covering, spatially sorted, row groups
//!   of at most 100 000 rows) partitioned `layer=<L>/district=<code>/part-0.parquet`.
//! - `csv_out`: CSV with the geometry as WKT (and a `.prj`), UTF-8.
//!
//! Personal data (the schema's `personal` fields: names, ID numbers, phones, addresses) is masked
//! unless the request says `unmask`.
//!
//! ```no_run
//! use cadastra_export::{export, ExportFormat, ExportRequest};
//! let summary = export(&ExportRequest {
//!     registry: "out/registry.gpkg".into(),
//!     format: ExportFormat::Shapefile,
//!     out: "out/shp".into(),
//!     layers: vec!["ZDJBXX".into()],
//!     filter: Some("QLLX = '6'".into()),
//!     district: Some("370116".into()),
//!     unmask: false,
//! })?;
//! println!("{} features", summary.layers[0].rows);
//! # Ok::<(), cadastra_export::ExportError>(())
//! ```

pub mod filter;
mod gdal_out;
pub mod geoparquet;
mod gpkg_out;
mod source;
mod text_out;

use cadastra_model::ids::{mask_id, mask_name, mask_other};
use cadastra_model::{registry, Column, Rows, TableDef};
use filter::Filter;
use std::path::PathBuf;

/// EPSG code of the registry (CGCS2000 / 3-degree GK CM 117E).
pub const EPSG: u32 = 4548;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Gpkg,
    Shapefile,
    FlatGeobuf,
    GeoParquet,
    Csv,
}

impl ExportFormat {
    pub fn parse(s: &str) -> Option<ExportFormat> {
        Some(match s.to_ascii_lowercase().as_str() {
            "gpkg" | "geopackage" => ExportFormat::Gpkg,
            "shp" | "shapefile" => ExportFormat::Shapefile,
            "fgb" | "flatgeobuf" => ExportFormat::FlatGeobuf,
            "geoparquet" | "parquet" => ExportFormat::GeoParquet,
            "csv" => ExportFormat::Csv,
            _ => return None,
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            ExportFormat::Gpkg => "gpkg",
            ExportFormat::Shapefile => "shp",
            ExportFormat::FlatGeobuf => "fgb",
            ExportFormat::GeoParquet => "geoparquet",
            ExportFormat::Csv => "csv",
        }
    }
}

/// What to export.
#[derive(Debug, Clone)]
pub struct ExportRequest {
    /// registry GeoPackage path or postgresql:// URL
    pub registry: String,
    pub format: ExportFormat,
    /// a file (gpkg; a single-layer csv/fgb) or a folder (shp, fgb, geoparquet, csv)
    pub out: PathBuf,
    /// tables to export; empty = the registry's data tables and the findings layers
    pub layers: Vec<String>,
    /// `--where` expression
    pub filter: Option<String>,
    /// county code (e.g. 370116); pre-2019 codes are accepted and mapped
    pub district: Option<String>,
    /// write personal data unmasked
    pub unmask: bool,
}

/// One exported layer.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LayerSummary {
    pub layer: String,
    /// rows in the registry
    pub read: u64,
    /// rows written (after the filter and the district)
    pub rows: u64,
    pub files: Vec<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ExportSummary {
    pub registry: String,
    pub format: String,
    pub out: String,
    pub layers: Vec<LayerSummary>,
    pub masked_fields: Vec<String>,
    pub notes: Vec<String>,
}

/// Why an export could not be made; every variant names the file or registry.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{path}: {message}")]
    Input { path: String, message: String },
    #[error("{path}: table {table}: {source}")]
    Sqlite {
        path: String,
        table: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error(transparent)]
    Registry(#[from] cadastra_io::RegistryError),
    #[error(transparent)]
    Filter(#[from] filter::FilterError),
    #[error("{path}: {message}")]
    Output { path: String, message: String },
    #[error("{0}")]
    Usage(String),
}

impl ExportError {
    pub(crate) fn sqlite(path: &str, table: &str, source: rusqlite::Error) -> ExportError {
        ExportError::Sqlite {
            path: path.to_string(),
            table: table.to_string(),
            source,
        }
    }
    pub(crate) fn out(path: &std::path::Path, e: impl std::fmt::Display) -> ExportError {
        ExportError::Output {
            path: path.display().to_string(),
            message: e.to_string(),
        }
    }
}

/// The county code a row belongs to, from the first key field the table has (QXDM, ZDDM,
/// BDCDYH, ZRZH, feature_key); pre-2019 codes map to the new ones (371202 → 370116).
pub fn district_field(def: &TableDef) -> Option<usize> {
    ["QXDM", "ZDDM", "BDCDYH", "ZRZH", "feature_key"]
        .iter()
        .find_map(|f| def.field_index(f))
}

/// District of row `i` ("unknown" when the key carries no county code).
pub fn district_of_row(def: &TableDef, rows: &Rows, i: usize) -> String {
    let Some(j) = district_field(def) else {
        return "unknown".into();
    };
    let v = rows.columns[j].cell(i);
    let Some(t) = v.as_text() else {
        return "unknown".into();
    };
    let head = t.get(..6).unwrap_or("");
    if head.len() == 6 && head.bytes().all(|b| b.is_ascii_digit()) {
        let cl = cadastra_model::codelist::codelists();
        let code = cl.new_admin_code(head).unwrap_or(head);
        // Shandong county codes only: business numbers also start with six digits (a date)
        if cl.list("ADMIN").is_some_and(|l| l.contains(code)) || code.starts_with("37") {
            return code.to_string();
        }
    }
    "unknown".into()
}

/// Mask the schema's personal fields of `rows` in place.
fn mask_rows(def: &TableDef, rows: &mut Rows) -> Vec<String> {
    let mut masked = Vec::new();
    for p in &def.personal {
        let Some(j) = def.field_index(p) else {
            continue;
        };
        if let Column::Text(c) = &rows.columns[j] {
            let m: cadastra_model::StrColumn = c
                .iter()
                .map(|v| {
                    v.map(|s| match p.as_str() {
                        "QLRMC" => mask_name(s),
                        "ZJH" => mask_id(s),
                        _ => mask_other(s),
                    })
                })
                .collect::<Vec<Option<String>>>()
                .iter()
                .map(|v| v.as_deref())
                .collect();
            rows.columns[j] = Column::Text(m);
            masked.push(format!("{}.{p}", def.name));
        }
    }
    masked
}

/// A layer ready to write: schema, selected rows (masked as requested) and their districts.
pub(crate) struct LayerOut {
    pub def: &'static TableDef,
    pub rows: Rows,
    pub districts: Vec<String>,
    pub read: u64,
}

impl LayerOut {
    pub fn is_point(&self) -> bool {
        self.def.geometry == Some(cadastra_model::GeometryType::Point)
    }
}

/// Export layers of a registry. Nothing is written when the request is invalid (unknown layer or
/// field, bad filter, unknown format for the output).
pub fn export(req: &ExportRequest) -> Result<ExportSummary, ExportError> {
    let filter = req.filter.as_deref().map(Filter::parse).transpose()?;
    let explicit = !req.layers.is_empty();
    let mut defs: Vec<&'static TableDef> = Vec::new();
    if explicit {
        for l in req.layers.iter().flat_map(|l| l.split(',')) {
            let l = l.trim();
            if l.is_empty() {
                continue;
            }
            let def = registry()
                .tables
                .iter()
                .find(|t| t.name.eq_ignore_ascii_case(l))
                .ok_or_else(|| {
                    ExportError::Usage(format!(
                        "--layer {l}: no such registry table (tables: {})",
                        registry()
                            .tables
                            .iter()
                            .map(|t| t.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })?;
            if !defs.iter().any(|d| d.name == def.name) {
                defs.push(def);
            }
        }
    } else {
        defs = source::default_layers();
    }
    let district = match req.district.as_deref() {
        Some(d) => {
            let d = d.trim();
            if d.len() != 6 || !d.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ExportError::Usage(format!(
                    "--district {d}: expected a 6-digit county code such as 370116"
                )));
            }
            let cl = cadastra_model::codelist::codelists();
            Some(cl.new_admin_code(d).unwrap_or(d).to_string())
        }
        None => None,
    };
    let mut notes = Vec::new();
    if let Some(f) = &filter {
        let mut keep = Vec::new();
        for d in defs {
            match f.missing_field(d) {
                None => keep.push(d),
                Some(m) if explicit => {
                    return Err(ExportError::Usage(format!(
                        "--where: field {m} is not in layer {} (fields: {})",
                        d.name,
                        d.fields
                            .iter()
                            .map(|f| f.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )))
                }
                Some(m) => notes.push(format!(
                    "layer {} skipped: it has no field {m} for --where",
                    d.name
                )),
            }
        }
        defs = keep;
        if defs.is_empty() {
            return Err(ExportError::Usage(
                "--where: no registry layer has all the fields it names".into(),
            ));
        }
    }
    if district.is_some() {
        defs.retain(|d| {
            let ok = district_field(d).is_some();
            if !ok {
                notes.push(format!(
                    "layer {} skipped: it carries no county code",
                    d.name
                ));
            }
            ok
        });
    }
    let mut src = source::Source::open(&req.registry)?;
    let mut layers = Vec::new();
    let mut masked_fields = Vec::new();
    for def in defs {
        if !src.has(&def.name)? {
            if explicit {
                return Err(ExportError::Input {
                    path: src.target().to_string(),
                    message: format!("the registry has no table {}", def.name),
                });
            }
            continue;
        }
        let rows = src.read(def)?;
        let read = rows.len() as u64;
        let mut idx = filter::select(def, &rows, filter.as_ref());
        let mut districts: Vec<String> = idx
            .iter()
            .map(|&i| district_of_row(def, &rows, i))
            .collect();
        if let Some(d) = &district {
            let keep: Vec<usize> = (0..idx.len()).filter(|&k| &districts[k] == d).collect();
            idx = keep.iter().map(|&k| idx[k]).collect();
            districts = keep.iter().map(|&k| districts[k].clone()).collect();
        }
        let mut rows = rows.take(&idx);
        if !req.unmask {
            masked_fields.extend(mask_rows(def, &mut rows));
        }
        layers.push(LayerOut {
            def,
            rows,
            districts,
            read,
        });
    }
    drop(src);
    let summaries = match req.format {
        ExportFormat::Gpkg => gpkg_out::write(&req.out, &layers)?,
        ExportFormat::Shapefile | ExportFormat::FlatGeobuf => {
            gdal_out::write(&req.out, req.format, &layers, &mut notes)?
        }
        ExportFormat::GeoParquet => geoparquet::write(&req.out, &layers)?,
        ExportFormat::Csv => text_out::write_csv(&req.out, &layers)?,
    };
    Ok(ExportSummary {
        registry: req.registry.clone(),
        format: req.format.name().into(),
        out: req.out.display().to_string(),
        layers: summaries,
        masked_fields,
        notes,
    })
}

/// WKB of a row's geometry (points the registry's way become WKB points).
pub(crate) fn row_wkb(layer: &LayerOut, i: usize, buf: &mut Vec<u8>) -> Option<[f64; 4]> {
    buf.clear();
    let g = layer.rows.geoms.get(i)?.as_ref()?;
    if layer.is_point() {
        let (x, y) = source::point_of(g)?;
        cadastra_io::wkb::write_point(buf, geo_types::Point::new(x, y));
        Some([x, y, x, y])
    } else {
        let e = cadastra_io::wkb::envelope(g)?;
        if !e.iter().all(|v| v.is_finite()) {
            return None;
        }
        cadastra_io::wkb::write_multipolygon(buf, g);
        Some([e[0], e[2], e[1], e[3]])
    }
}

/// WKT of a row's geometry (easting first), empty when it has none.
pub(crate) fn row_wkt(layer: &LayerOut, i: usize) -> String {
    use std::fmt::Write;
    let Some(Some(g)) = layer.rows.geoms.get(i) else {
        return String::new();
    };
    if layer.is_point() {
        return match source::point_of(g) {
            Some((x, y)) => format!("POINT ({x} {y})"),
            None => String::new(),
        };
    }
    if g.0.is_empty() {
        return "MULTIPOLYGON EMPTY".into();
    }
    let mut s = String::from("MULTIPOLYGON (");
    for (pi, p) in g.0.iter().enumerate() {
        if pi > 0 {
            s.push_str(", ");
        }
        s.push('(');
        for (ri, r) in std::iter::once(p.exterior())
            .chain(p.interiors())
            .enumerate()
        {
            if ri > 0 {
                s.push_str(", ");
            }
            s.push('(');
            for (ci, c) in r.0.iter().enumerate() {
                if ci > 0 {
                    s.push_str(", ");
                }
                let _ = write!(s, "{} {}", c.x, c.y);
            }
            s.push(')');
        }
        s.push(')');
    }
    s.push(')');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_districts() {
        assert_eq!(
            ExportFormat::parse("GeoParquet"),
            Some(ExportFormat::GeoParquet)
        );
        assert_eq!(ExportFormat::parse("shp"), Some(ExportFormat::Shapefile));
        assert_eq!(ExportFormat::parse("dwg"), None);
        let def = registry().table("QLR").unwrap();
        assert_eq!(district_field(def), def.field_index("BDCDYH"));
        assert_eq!(
            district_field(registry().table("reconciliation").unwrap()),
            None
        );
    }

    #[test]
    fn personal_fields_are_masked() {
        let def = registry().table("QLR").unwrap();
        let mut r = Rows::new(def);
        for (j, c) in r.columns.iter_mut().enumerate() {
            match c {
                Column::Text(t) => t.push(Some(match def.fields[j].name.as_str() {
                    "QLRMC" => "张三",
                    "ZJH" => "370102198001011234",
                    _ => "x",
                })),
                Column::Int(v) => v.push(None),
                Column::Real(v) => v.push(None),
            }
        }
        let m = mask_rows(def, &mut r);
        assert!(m.contains(&"QLR.QLRMC".to_string()));
        let name = r.columns[def.field_index("QLRMC").unwrap()].cell(0);
        assert_eq!(name.as_text().unwrap(), "张*");
        let id = r.columns[def.field_index("ZJH").unwrap()].cell(0);
        assert_eq!(id.as_text().unwrap(), "3701**********1234");
    }
}
