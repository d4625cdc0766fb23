//! GeoPackage export: cadastra's own spec-valid writer (R-tree, GPKG 1.2 as GDAL 3.6 writes it),
//! then QGIS default styles and a `.qgz` project next to the file.

use crate::{ExportError, LayerOut, LayerSummary};
use cadastra_io::gpkg::GpkgRegistry;
use cadastra_io::registry::{ChangeSet, Registry, TableChange};
use std::path::Path;

pub fn write(out: &Path, layers: &[LayerOut]) -> Result<Vec<LayerSummary>, ExportError> {
    if out.extension().and_then(|e| e.to_str()) != Some("gpkg") {
        return Err(ExportError::Usage(format!(
            "--out {}: a GeoPackage export needs a .gpkg file name",
            out.display()
        )));
    }
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| ExportError::out(dir, e))?;
    }
    let tables: Vec<&str> = layers.iter().map(|l| l.def.name.as_str()).collect();
    let mut g = GpkgRegistry::create_subset(out, crate::EPSG as i32, &tables)?;
    g.apply(&ChangeSet {
        tables: layers
            .iter()
            .map(|l| TableChange::inserts(&l.def.name, l.rows.clone()))
            .collect(),
    })?;
    drop(g);
    cadastra_report::style_registry(out).map_err(|e| ExportError::out(out, e))?;
    let qgz = out.with_extension("qgz");
    let title = format!(
        "cadastra export {}",
        out.file_stem().and_then(|s| s.to_str()).unwrap_or("")
    );
    cadastra_report::write_project(out, &qgz, &title, None)
        .map_err(|e| ExportError::out(&qgz, e))?;
    Ok(layers
        .iter()
        .map(|l| LayerSummary {
            layer: l.def.name.clone(),
            read: l.read,
            rows: l.rows.len() as u64,
            files: vec![out.display().to_string(), qgz.display().to_string()],
        })
        .collect())
}
