//! ESRI Shapefile and FlatGeobuf through GDAL.
//!
//! Shapefile: UTF-8 with a `.cpg`, a `.qix` spatial index, DBF field names of at most 10
//! characters. Names that had to change are listed in `<layer>.fields.csv` next to the layer
//! (registry name → shapefile name, with the Chinese and English titles), so nothing is renamed
//! silently. Text wider than the DBF limit (254 bytes) is counted and reported. Attribute tables
//! (no geometry) become a `.dbf` alone.
//! FlatGeobuf: one `.fgb` per spatial layer, with its spatial index; attribute tables are skipped.

use crate::{ExportError, ExportFormat, LayerOut, LayerSummary};
use cadastra_model::{Column, FieldType, TableDef};
use gdal::spatial_ref::{AxisMappingStrategy, SpatialRef};
use gdal::vector::{
    Feature, FieldDefn, Geometry, LayerAccess, LayerOptions, OGRFieldType, OGRwkbGeometryType,
};
use gdal::DriverManager;
use std::path::{Path, PathBuf};

/// DBF field names: at most 10 ASCII characters, unique (case-insensitively) within the layer.
pub fn dbf_names(def: &TableDef) -> Vec<String> {
    let mut used: Vec<String> = Vec::new();
    def.fields
        .iter()
        .map(|f| {
            let mut n: String = f.name.chars().take(10).collect();
            let mut k = 1;
            while used.iter().any(|u| u.eq_ignore_ascii_case(&n)) {
                let suffix = format!("_{k}");
                n = format!(
                    "{}{suffix}",
                    f.name.chars().take(10 - suffix.len()).collect::<String>()
                );
                k += 1;
            }
            used.push(n.clone());
            n
        })
        .collect()
}

fn gdal_err(path: &Path) -> impl Fn(gdal::errors::GdalError) -> ExportError + '_ {
    move |e| ExportError::out(path, e)
}

fn write_mapping(path: &Path, def: &TableDef, names: &[String]) -> Result<(), ExportError> {
    let mut w = csv::Writer::from_path(path).map_err(|e| ExportError::out(path, e))?;
    w.write_record(["registry_field", "shapefile_field", "type", "zh", "en"])
        .map_err(|e| ExportError::out(path, e))?;
    for (f, n) in def.fields.iter().zip(names) {
        w.write_record([f.name.as_str(), n, f.ty.as_str(), &f.zh, &f.en])
            .map_err(|e| ExportError::out(path, e))?;
    }
    w.flush().map_err(|e| ExportError::out(path, e))
}

pub fn write(
    out: &Path,
    format: ExportFormat,
    layers: &[LayerOut],
    notes: &mut Vec<String>,
) -> Result<Vec<LayerSummary>, ExportError> {
    let shp = format == ExportFormat::Shapefile;
    let spatial: Vec<&LayerOut> = layers
        .iter()
        .filter(|l| {
            let keep = shp || l.def.geometry.is_some();
            if !keep {
                notes.push(format!(
                    "layer {} skipped: FlatGeobuf holds spatial layers only (use csv or geoparquet)",
                    l.def.name
                ));
            }
            keep
        })
        .collect();
    let single_file =
        !shp && spatial.len() == 1 && out.extension().and_then(|e| e.to_str()) == Some("fgb");
    if !single_file {
        std::fs::create_dir_all(out).map_err(|e| ExportError::out(out, e))?;
    } else if let Some(d) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(d).map_err(|e| ExportError::out(d, e))?;
    }
    let mut srs = SpatialRef::from_epsg(crate::EPSG).map_err(gdal_err(out))?;
    srs.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    let driver_name = if shp { "ESRI Shapefile" } else { "FlatGeobuf" };
    let driver = DriverManager::get_driver_by_name(driver_name).map_err(gdal_err(out))?;
    let mut summaries = Vec::new();
    for layer in spatial {
        let def = layer.def;
        let has_geom = def.geometry.is_some();
        let path: PathBuf = if single_file {
            out.to_path_buf()
        } else if shp {
            out.join(format!(
                "{}.{}",
                def.name,
                if has_geom { "shp" } else { "dbf" }
            ))
        } else {
            out.join(format!("{}.fgb", def.name))
        };
        for ext in ["shp", "shx", "dbf", "prj", "cpg", "qix", "fgb"] {
            let p = path.with_extension(ext);
            if p.exists() && (shp || ext == "fgb") {
                std::fs::remove_file(&p).map_err(|e| ExportError::out(&p, e))?;
            }
        }
        let names: Vec<String> = if shp {
            dbf_names(def)
        } else {
            def.fields.iter().map(|f| f.name.clone()).collect()
        };
        let mut files = vec![path.display().to_string()];
        if shp && names.iter().zip(&def.fields).any(|(n, f)| *n != f.name) {
            let m = out.join(format!("{}.fields.csv", def.name));
            write_mapping(&m, def, &names)?;
            files.push(m.display().to_string());
        }
        let mut ds = driver.create_vector_only(&path).map_err(gdal_err(&path))?;
        let ty = match def.geometry {
            Some(cadastra_model::GeometryType::Point) => OGRwkbGeometryType::wkbPoint,
            Some(cadastra_model::GeometryType::Multipolygon) => OGRwkbGeometryType::wkbMultiPolygon,
            None => OGRwkbGeometryType::wkbNone,
        };
        let opts: &[&str] = if shp {
            &["ENCODING=UTF-8", "SPATIAL_INDEX=YES"]
        } else {
            &["SPATIAL_INDEX=YES"]
        };
        let lyr = ds
            .create_layer(LayerOptions {
                name: &def.name,
                srs: has_geom.then_some(&srs),
                ty,
                options: Some(opts),
            })
            .map_err(gdal_err(&path))?;
        for (f, n) in def.fields.iter().zip(&names) {
            let (t, width) = match f.ty {
                FieldType::Text => (
                    OGRFieldType::OFTString,
                    if shp {
                        // DBF widths are bytes: a Chinese character takes 3 in UTF-8
                        (f.len.unwrap_or(80) as i32 * 3).clamp(1, 254)
                    } else {
                        0
                    },
                ),
                FieldType::Date => (OGRFieldType::OFTDate, 0),
                FieldType::Int => (OGRFieldType::OFTInteger64, 0),
                FieldType::Real => (OGRFieldType::OFTReal, 0),
            };
            let fd = FieldDefn::new(n, t).map_err(gdal_err(&path))?;
            if width > 0 {
                fd.set_width(width);
            }
            fd.add_to_layer(&lyr).map_err(gdal_err(&path))?;
        }
        let mut truncated = 0u64;
        let mut wkb = Vec::with_capacity(1024);
        let rows = &layer.rows;
        for i in 0..rows.len() {
            let mut feat = Feature::new(lyr.defn()).map_err(gdal_err(&path))?;
            if has_geom && crate::row_wkb(layer, i, &mut wkb).is_some() {
                let g = Geometry::from_wkb(&wkb).map_err(gdal_err(&path))?;
                feat.set_geometry(g).map_err(gdal_err(&path))?;
            }
            for (j, (col, f)) in rows.columns.iter().zip(&def.fields).enumerate() {
                match col {
                    Column::Text(c) => {
                        if let Some(v) = c.get(i) {
                            if f.ty == FieldType::Date {
                                if v.len() >= 10 {
                                    feat.set_field_string(j, &v[..10])
                                        .map_err(gdal_err(&path))?;
                                }
                                continue;
                            }
                            if shp && v.len() > 254 {
                                truncated += 1;
                            }
                            feat.set_field_string(j, v).map_err(gdal_err(&path))?;
                        }
                    }
                    Column::Int(c) => {
                        if let Some(v) = c[i] {
                            feat.set_field_integer64(j, v).map_err(gdal_err(&path))?;
                        }
                    }
                    Column::Real(c) => {
                        if let Some(v) = c[i] {
                            feat.set_field_double(j, v).map_err(gdal_err(&path))?;
                        }
                    }
                }
            }
            feat.create(&lyr).map_err(gdal_err(&path))?;
        }
        ds.close().map_err(gdal_err(&path))?;
        if truncated > 0 {
            notes.push(format!(
                "{}: {truncated} text values longer than the DBF limit of 254 bytes were cut (the GeoPackage, GeoParquet and CSV exports keep them whole)",
                path.display()
            ));
        }
        if shp {
            for ext in ["prj", "cpg", "shx", "qix"] {
                let p = path.with_extension(ext);
                if p.exists() {
                    files.push(p.display().to_string());
                }
            }
        }
        summaries.push(LayerSummary {
            layer: def.name.clone(),
            read: layer.read,
            rows: rows.len() as u64,
            files,
        });
    }
    Ok(summaries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dbf_names_are_short_and_unique() {
        for t in &cadastra_model::registry().tables {
            let n = dbf_names(t);
            for (a, f) in n.iter().zip(&t.fields) {
                assert!(a.len() <= 10, "{}.{} -> {a}", t.name, f.name);
            }
            let mut s: Vec<String> = n.iter().map(|x| x.to_ascii_lowercase()).collect();
            s.sort();
            s.dedup();
            assert_eq!(s.len(), n.len(), "{}", t.name);
        }
        let zd = cadastra_model::registry().table("ZDJBXX").unwrap();
        let n = dbf_names(zd);
        let i = zd.field_index("record_hash").unwrap();
        assert_eq!(n[i], "record_has");
    }
}
