//! Files a run leaves in its output folder: the findings CSV (an interface other tools read), the
//! findings GeoPackage (points and error geometries, for `validate`), the summary by rule (JSON) and
//! the quarantine list (CSV). Nothing here holds unmasked personal data.

use crate::mapping::Quarantined;
use cadastra_io::gpkg::GpkgRegistry;
use cadastra_io::registry::{ChangeSet, Registry, TableChange};
use cadastra_model::Finding;
use std::path::Path;

fn opt(v: Option<f64>) -> String {
    v.map(|x| format!("{x}")).unwrap_or_default()
}

/// `findings.csv`: UTF-8, one row per finding, columns rule_id, sub_code, severity, layer,
/// feature_key, other_key, x, y, value, tolerance, message_zh, message_en (x = easting = survey Y,
/// y = northing = survey X, EPSG:4548).
pub fn write_findings_csv(path: &Path, findings: &[Finding]) -> std::io::Result<()> {
    let mut w = csv::Writer::from_path(path)?;
    w.write_record([
        "rule_id",
        "sub_code",
        "severity",
        "layer",
        "feature_key",
        "other_key",
        "x",
        "y",
        "value",
        "tolerance",
        "message_zh",
        "message_en",
    ])?;
    for f in findings {
        w.write_record([
            f.rule_id.0,
            &f.sub_code,
            f.severity.as_str(),
            &f.layer,
            &f.feature_key,
            f.other_key.as_deref().unwrap_or(""),
            &opt(f.x),
            &opt(f.y),
            &opt(f.value),
            &opt(f.tolerance),
            &f.message_zh,
            &f.message_en,
        ])?;
    }
    w.flush()
}

/// `quarantine.csv`: every quarantined record with its reason and the raw record (JSON).
pub fn write_quarantine_csv(path: &Path, q: &[Quarantined]) -> std::io::Result<()> {
    let mut w = csv::Writer::from_path(path)?;
    w.write_record([
        "source", "src_file", "src_row", "src_key", "target", "rule_id", "reason",
    ])?;
    for r in q {
        w.write_record([
            &r.source,
            &r.src_file,
            &r.src_row.to_string(),
            r.src_key.as_deref().unwrap_or(""),
            &r.target,
            &r.rule_id,
            &r.reason,
        ])?;
    }
    w.flush()
}

/// `findings.gpkg`: the `findings` (points) and `finding_areas` (error geometries) layers alone.
pub fn write_findings_gpkg(
    path: &Path,
    findings_pts: cadastra_model::Rows,
    areas: cadastra_model::Rows,
) -> Result<(), String> {
    let mut g = GpkgRegistry::create_subset(
        path,
        crate::compile::REGISTRY_EPSG,
        &["findings", "finding_areas"],
    )
    .map_err(|e| e.to_string())?;
    g.apply(&ChangeSet {
        tables: vec![
            TableChange::inserts("findings", findings_pts),
            TableChange::inserts("finding_areas", areas),
        ],
    })
    .map_err(|e| e.to_string())
}
