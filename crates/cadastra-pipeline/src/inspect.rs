//! `cadastra inspect`: what a delivery holds, per layer: format, feature count, geometry types,
//! extent, CRS (declared or guessed, with evidence), encoding decision with its evidence, and
//! fields with fill rate and sample values. What a data engineer runs first on a new delivery.

use crate::compile::SourcePlan;
use crate::sources::{driver, SourceData, SOURCES};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;

fn plan_for(
    path: &Path,
    kind: &str,
    sheet: Option<String>,
    layer: Option<String>,
    encoding: Option<&str>,
    chinese: bool,
) -> SourcePlan {
    SourcePlan {
        name: path
            .file_name()
            .map(|f| f.to_string_lossy().to_string())
            .unwrap_or_default(),
        system: "inspect".into(),
        kind: kind.into(),
        path: path.to_path_buf(),
        display_path: path.display().to_string(),
        layer,
        sheet,
        encoding: encoding.map(str::to_string),
        chinese,
        restore_shx: true,
        strict: false,
        delimiter: b',',
        crs: None,
        key: vec![],
        targets: vec![],
        has_geometry_target: false,
    }
}

/// Geometry types with counts, extent, and a coordinate sample for CRS sniffing.
type GeometrySummary = (BTreeMap<String, u64>, Option<[f64; 4]>, Vec<[f64; 2]>);

fn geometry_summary(data: &SourceData) -> GeometrySummary {
    use geo::BoundingRect;
    let mut types = BTreeMap::new();
    let mut ext: Option<[f64; 4]> = None;
    let mut sample = Vec::new();
    if let Some(geoms) = &data.table.geoms {
        for g in geoms {
            let t = match g {
                None => "null",
                Some(geo_types::Geometry::Point(_)) => "Point",
                Some(geo_types::Geometry::LineString(_)) => "LineString",
                Some(geo_types::Geometry::Polygon(_)) => "Polygon",
                Some(geo_types::Geometry::MultiPoint(_)) => "MultiPoint",
                Some(geo_types::Geometry::MultiLineString(_)) => "MultiLineString",
                Some(geo_types::Geometry::MultiPolygon(_)) => "MultiPolygon",
                Some(_) => "Other",
            };
            *types.entry(t.to_string()).or_default() += 1;
            if let Some(r) = g.as_ref().and_then(|g| g.bounding_rect()) {
                if r.min().x.is_finite() && r.max().y.is_finite() {
                    let e = ext.get_or_insert([r.min().x, r.min().y, r.max().x, r.max().y]);
                    e[0] = e[0].min(r.min().x);
                    e[1] = e[1].min(r.min().y);
                    e[2] = e[2].max(r.max().x);
                    e[3] = e[3].max(r.max().y);
                    if sample.len() < 2000 {
                        sample.push([r.min().x, r.min().y]);
                    }
                }
            }
        }
    }
    (types, ext, sample)
}

fn describe(path: &Path, kind: &str, data: &SourceData, layer_name: &str) -> Value {
    let t = &data.table;
    let n = t.len();
    let fields: Vec<Value> = t
        .fields
        .iter()
        .zip(&t.columns)
        .map(|(f, c)| {
            let filled = c
                .iter()
                .filter(|v| v.is_some_and(|v| !v.trim().is_empty()))
                .count();
            let mut samples: Vec<&str> = Vec::new();
            for v in c.iter().flatten() {
                if samples.len() >= 3 {
                    break;
                }
                if !v.trim().is_empty() && !samples.contains(&v) {
                    samples.push(v);
                }
            }
            json!({
                "name": f,
                "fill_rate": if n == 0 { 0.0 } else { filled as f64 / n as f64 },
                "samples": samples,
            })
        })
        .collect();
    let (types, extent, sample) = geometry_summary(data);
    let crs = crate::crs_stage::describe_crs(data.crs_text.as_deref(), &sample);
    json!({
        "path": path.display().to_string(),
        "layer": layer_name,
        "format": kind,
        "features": n,
        "deleted_skipped": data.deleted_skipped,
        "geometry_types": types,
        "extent": extent,
        "crs": crs,
        "encoding": data.encoding,
        "problems": data.problems.len(),
        "warnings": data.warnings,
        "fields": fields,
    })
}

/// Inspect one path (a file of any supported format). `chinese`: restrict encoding detection of
/// undeclared text to Chinese encodings (GBK/GB18030/Big5).
pub fn inspect_path(
    path: &Path,
    encoding: Option<&str>,
    chinese: bool,
) -> Result<Vec<Value>, String> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let kind = SOURCES
        .iter()
        .find(|d| d.extensions().contains(&ext.as_str()))
        .map(|d| d.kind())
        .unwrap_or("gdal");
    let mut out = Vec::new();
    match kind {
        "xlsx" => {
            let sheets = cadastra_tables::sheet_names(path).map_err(|e| e.to_string())?;
            for s in sheets {
                let p = plan_for(path, kind, Some(s.clone()), None, encoding, chinese);
                let d = driver(kind)
                    .ok_or("no driver")?
                    .read(&p)
                    .map_err(|e| e.to_string())?;
                out.push(describe(path, kind, &d, &s));
            }
        }
        "gdal" => {
            let layers = cadastra_io::ogr::list_layers(path, false).map_err(|e| e.to_string())?;
            for l in layers {
                let p = plan_for(path, kind, None, Some(l.name.clone()), encoding, chinese);
                let d = driver(kind)
                    .ok_or("no driver")?
                    .read(&p)
                    .map_err(|e| e.to_string())?;
                let mut v = describe(path, &format!("gdal/{}", l.driver), &d, &l.name);
                v["geometry_type_declared"] = json!(l.geometry_type);
                out.push(v);
            }
        }
        _ => {
            let p = plan_for(path, kind, None, None, encoding, chinese);
            let d = driver(kind)
                .ok_or("no driver")?
                .read(&p)
                .map_err(|e| e.to_string())?;
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default();
            out.push(describe(path, kind, &d, &name));
        }
    }
    Ok(out)
}

/// The human form of one inspected layer.
pub fn to_text(v: &Value) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    if let Some(e) = v.get("error") {
        let _ = writeln!(s, "{}: ERROR {}", v["path"].as_str().unwrap_or(""), e);
        return s;
    }
    let _ = writeln!(
        s,
        "{}  layer {}  ({})",
        v["path"].as_str().unwrap_or(""),
        v["layer"].as_str().unwrap_or(""),
        v["format"].as_str().unwrap_or("")
    );
    let _ = writeln!(
        s,
        "  features: {}  deleted records skipped: {}  undecodable records: {}",
        v["features"], v["deleted_skipped"], v["problems"]
    );
    let _ = writeln!(s, "  geometry: {}", v["geometry_types"]);
    let _ = writeln!(s, "  extent:   {}", v["extent"]);
    if let Some(c) = v.get("crs").filter(|_| {
        v["geometry_types"]
            .as_object()
            .is_some_and(|o| !o.is_empty())
    }) {
        let _ = writeln!(s, "  crs:      {}", c["summary"].as_str().unwrap_or("-"));
        for e in c["evidence"].as_array().into_iter().flatten() {
            let _ = writeln!(s, "            - {}", e.as_str().unwrap_or(""));
        }
    }
    if let Some(e) = v.get("encoding").filter(|e| !e.is_null()) {
        let _ = writeln!(
            s,
            "  encoding: {} (decided by {}{})",
            e["encoding"].as_str().unwrap_or("?"),
            e["decided_by"].as_str().unwrap_or("?"),
            if e["confident"].as_bool() == Some(false) {
                ", not confident: confirm in the pipeline"
            } else {
                ""
            }
        );
        for ev in e["evidence"].as_array().into_iter().flatten() {
            let _ = writeln!(s, "            - {}", ev.as_str().unwrap_or(""));
        }
    }
    for w in v["warnings"].as_array().into_iter().flatten() {
        let _ = writeln!(s, "  warning:  {}", w.as_str().unwrap_or(""));
    }
    let _ = writeln!(s, "  fields:");
    for f in v["fields"].as_array().into_iter().flatten() {
        let samples: Vec<String> = f["samples"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|x| x.as_str().unwrap_or("").to_string())
            .collect();
        let _ = writeln!(
            s,
            "    {:<12} {:>5.1}%  {}",
            f["name"].as_str().unwrap_or(""),
            f["fill_rate"].as_f64().unwrap_or(0.0) * 100.0,
            samples.join(" | ")
        );
    }
    s
}
