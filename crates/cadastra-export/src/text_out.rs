//! CSV export: one UTF-8 file per layer (with a byte-order mark so spreadsheet programs read the
//! Chinese text), the geometry as WKT in the first column `WKT` (easting first), and a `.prj`
//! beside it holding the CRS (GDAL's CSV driver reads both).

use crate::{ExportError, LayerOut, LayerSummary};
use std::io::Write;
use std::path::{Path, PathBuf};

pub fn write_csv(out: &Path, layers: &[LayerOut]) -> Result<Vec<LayerSummary>, ExportError> {
    let single = layers.len() == 1 && out.extension().and_then(|e| e.to_str()) == Some("csv");
    if single {
        if let Some(d) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(d).map_err(|e| ExportError::out(d, e))?;
        }
    } else {
        std::fs::create_dir_all(out).map_err(|e| ExportError::out(out, e))?;
    }
    let wkt = cadastra_io::gpkg::srs_wkt(crate::EPSG as i32)
        .map(|(_, w)| w)
        .map_err(|m| ExportError::out(out, m))?;
    let mut summaries = Vec::new();
    for layer in layers {
        let path: PathBuf = if single {
            out.to_path_buf()
        } else {
            out.join(format!("{}.csv", layer.def.name))
        };
        let io = |e: std::io::Error| ExportError::out(&path, e);
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).map_err(io)?);
        f.write_all("\u{feff}".as_bytes()).map_err(io)?;
        let mut w = csv::Writer::from_writer(f);
        let spatial = layer.def.geometry.is_some();
        let mut head: Vec<&str> = Vec::new();
        if spatial {
            head.push("WKT");
        }
        head.extend(layer.def.fields.iter().map(|f| f.name.as_str()));
        let ce = |e: csv::Error| ExportError::out(&path, e);
        w.write_record(&head).map_err(ce)?;
        let rows = &layer.rows;
        let mut rec: Vec<String> = Vec::with_capacity(head.len());
        for i in 0..rows.len() {
            rec.clear();
            if spatial {
                rec.push(crate::row_wkt(layer, i));
            }
            for c in &rows.columns {
                rec.push(
                    c.cell(i)
                        .as_text()
                        .map(|t| t.into_owned())
                        .unwrap_or_default(),
                );
            }
            w.write_record(&rec).map_err(ce)?;
        }
        w.flush().map_err(io)?;
        let mut files = vec![path.display().to_string()];
        if spatial {
            let prj = path.with_extension("prj");
            std::fs::write(&prj, &wkt).map_err(|e| ExportError::out(&prj, e))?;
            files.push(prj.display().to_string());
        }
        summaries.push(LayerSummary {
            layer: layer.def.name.clone(),
            read: layer.read,
            rows: rows.len() as u64,
            files,
        });
    }
    Ok(summaries)
}
