//! Every other vector source through GDAL: FileGDB (OpenFileGDB), MapInfo TAB, DXF, GeoJSON,
//! GeoPackage (feature tables only), CSV with WKT, and whatever else the installed GDAL reads.

use cadastra_model::{RawTable, StrColumn};
use gdal::vector::LayerAccess;
use gdal::{Dataset, DatasetOptions, GdalOpenFlags};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum OgrError {
    #[error("{path}: GDAL cannot open it as a vector dataset: {message}")]
    Open { path: String, message: String },
    #[error("{path}: no layer named {layer:?} (layers: {available})")]
    NoLayer {
        path: String,
        layer: String,
        available: String,
    },
    #[error("{path}: layer {layer}: {message}")]
    Layer {
        path: String,
        layer: String,
        message: String,
    },
}

/// What `inspect` shows for a GDAL layer.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OgrLayerInfo {
    pub name: String,
    pub driver: String,
    pub feature_count: u64,
    pub geometry_type: String,
    pub fields: Vec<(String, String)>,
    pub srs_wkt: Option<String>,
    pub extent: Option<[f64; 4]>,
}

fn open(path: &Path, open_options: &[&str]) -> Result<Dataset, OgrError> {
    let opts = DatasetOptions {
        open_flags: GdalOpenFlags::GDAL_OF_VECTOR | GdalOpenFlags::GDAL_OF_READONLY,
        open_options: if open_options.is_empty() {
            None
        } else {
            Some(open_options)
        },
        ..Default::default()
    };
    Dataset::open_ex(path, opts).map_err(|e| OgrError::Open {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// Open options that make GDAL read a CSV's WKT column as geometry.
pub fn csv_wkt_options() -> Vec<&'static str> {
    vec![
        "GEOM_POSSIBLE_NAMES=WKT,wkt,geometry,GEOMETRY",
        "KEEP_GEOM_COLUMNS=NO",
    ]
}

/// The layers of a dataset. GeoPackage attribute tables and cadastra's own bookkeeping tables are
/// listed only when `include_tables` is set.
pub fn list_layers(path: &Path, include_tables: bool) -> Result<Vec<OgrLayerInfo>, OgrError> {
    let is_csv = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let oo = if is_csv { csv_wkt_options() } else { vec![] };
    let ds = open(path, &oo)?;
    let driver = ds.driver().short_name();
    let mut out = Vec::new();
    for layer in ds.layers() {
        let defn = layer.defn();
        let geom_fields: Vec<_> = defn.geom_fields().collect();
        let gtype = geom_fields
            .first()
            .map(|g| gdal::vector::geometry_type_to_name(g.field_type()))
            .unwrap_or_else(|| "None".into());
        if geom_fields.is_empty() && !include_tables && driver == "GPKG" {
            continue;
        }
        let fields = defn
            .fields()
            .map(|f| (f.name(), gdal::vector::field_type_to_name(f.field_type())))
            .collect();
        let srs_wkt = layer.spatial_ref().and_then(|s| s.to_wkt().ok());
        let extent = layer
            .try_get_extent()
            .ok()
            .flatten()
            .map(|e| [e.MinX, e.MinY, e.MaxX, e.MaxY]);
        out.push(OgrLayerInfo {
            name: layer.name(),
            driver: driver.clone(),
            feature_count: layer.feature_count(),
            geometry_type: gtype,
            fields,
            srs_wkt,
            extent,
        });
    }
    Ok(out)
}

/// Read one layer (the first feature layer when `layer` is None) into a raw table: every field as
/// its text form (GDAL's), geometry converted to geo types. Returns the layer's CRS WKT too.
pub fn read_layer(
    path: &Path,
    layer: Option<&str>,
    open_options: &[&str],
) -> Result<(RawTable, Option<String>), OgrError> {
    let ds = open(path, open_options)?;
    let p = path.display().to_string();
    let mut lyr = match layer {
        Some(name) => ds.layer_by_name(name).map_err(|_| OgrError::NoLayer {
            path: p.clone(),
            layer: name.to_string(),
            available: ds.layers().map(|l| l.name()).collect::<Vec<_>>().join(", "),
        })?,
        None => ds.layer(0).map_err(|e| OgrError::Layer {
            path: p.clone(),
            layer: "0".into(),
            message: e.to_string(),
        })?,
    };
    let name = lyr.name();
    let fields: Vec<String> = lyr.defn().fields().map(|f| f.name()).collect();
    let srs = lyr.spatial_ref().and_then(|s| s.to_wkt().ok());
    let has_geom = lyr.defn().geom_fields().next().is_some();
    let n = lyr.feature_count() as usize;
    let mut columns: Vec<StrColumn> = fields
        .iter()
        .map(|_| StrColumn::with_capacity(n, 0))
        .collect();
    let mut geoms = Vec::with_capacity(if has_geom { n } else { 0 });
    let mut src_rows = Vec::with_capacity(n);
    for (i, f) in lyr.features().enumerate() {
        for (j, col) in columns.iter_mut().enumerate() {
            let v = f.field_as_string(j).ok().flatten();
            col.push(v.as_deref());
        }
        if has_geom {
            geoms.push(f.geometry().and_then(|g| g.to_geo().ok()));
        }
        src_rows.push(f.fid().unwrap_or(i as u64));
    }
    let table = RawTable {
        name,
        fields,
        columns,
        geoms: has_geom.then_some(geoms),
        src_rows,
    };
    Ok((table, srs))
}
