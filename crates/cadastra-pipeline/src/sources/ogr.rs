//! `type = "gdal"`: anything the installed GDAL reads (FileGDB, MapInfo, DXF, GeoJSON, GeoPackage,
//! CSV with WKT). Text in these formats is UTF-8 by definition or decoded by GDAL.

use super::{EncodingInfo, SourceData, SourceDriver, SourceError};
use crate::compile::SourcePlan;

pub struct GdalDriver;

fn open_options(src: &SourcePlan) -> Vec<&'static str> {
    if src
        .path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
    {
        cadastra_io::ogr::csv_wkt_options()
    } else {
        vec![]
    }
}

impl SourceDriver for GdalDriver {
    fn kind(&self) -> &'static str {
        "gdal"
    }
    fn extensions(&self) -> &'static [&'static str] {
        &[
            "gpkg", "gdb", "tab", "mif", "dxf", "geojson", "json", "fgb", "kml", "gml", "sqlite",
        ]
    }
    fn read(&self, src: &SourcePlan) -> Result<SourceData, SourceError> {
        let (table, crs) =
            cadastra_io::ogr::read_layer(&src.path, src.layer.as_deref(), &open_options(src))
                .map_err(|e| SourceError::new(src, e))?;
        Ok(SourceData {
            table,
            crs_text: crs,
            encoding: Some(EncodingInfo {
                encoding: "UTF-8".into(),
                decided_by: "container".into(),
                evidence: vec!["text decoded by GDAL's driver (UTF-8 container)".into()],
                confident: true,
            }),
            ..Default::default()
        })
    }
    fn fields(&self, src: &SourcePlan) -> Result<Vec<String>, SourceError> {
        let layers =
            cadastra_io::ogr::list_layers(&src.path, true).map_err(|e| SourceError::new(src, e))?;
        let l = match &src.layer {
            Some(name) => layers.iter().find(|l| &l.name == name),
            None => layers.first(),
        }
        .ok_or_else(|| SourceError::new(src, format!("no layer {:?}", src.layer)))?;
        Ok(l.fields.iter().map(|(n, _)| n.clone()).collect())
    }
}
