//! Reprojection stage: each source's mapped geometry to the registry CRS (EPSG:4548) through the
//! explicit operation its pipeline names (cadastra-crs). Before transforming, the coordinates are
//! checked against the declared CRS (window, zone prefix, X/Y swap: CRS-02/03/04) and the .prj, if
//! any, against the declaration (CRS-01). Describes what was done without any parameter value.

use crate::compile::{CrsRef, Plan, SourcePlan, REGISTRY_EPSG};
use crate::mapping::MapResult;
use crate::run::RunError;
use crate::sources::SourceData;
use cadastra_crs::{
    identify_prj, sample_multipolygons, sniff, CrsRef as Crs, Operation, OperationOptions,
    TRUST_CONFIDENCE,
};
use cadastra_model::Severity;

fn crs_err(src: &SourcePlan, rule: &str, message: String) -> RunError {
    RunError::Crs {
        source_name: src.name.clone(),
        rule: rule.into(),
        message,
    }
}

/// Reproject the mapped rows of a source in place; returns a description for the run summary.
pub fn reproject(
    plan: &Plan,
    src: &SourcePlan,
    data: &mut SourceData,
    mapped: &mut MapResult,
) -> Result<String, RunError> {
    let has_geom = mapped.targets.iter().any(|t| !t.rows.geoms.is_empty());
    if !has_geom {
        return Ok("-".into());
    }
    let registry = Crs::Epsg(REGISTRY_EPSG as u32);
    let (declared, params, allow_ballpark, confirmed) = match &src.crs {
        None => {
            return Err(crs_err(src, "CRS-01", "no CRS declared for a source with geometry; cadastra never guesses (see `cadastra inspect`)".into()))
        }
        Some(CrsRef::AsRead) => return Ok("as read (no reprojection: plain-file validation)".into()),
        Some(CrsRef::Registry) => (registry.clone(), None, false, true),
        Some(CrsRef::Op(name)) => {
            let c = &plan.crs[name];
            let declared: Crs = c
                .source
                .parse()
                .map_err(|e: cadastra_crs::CrsError| crs_err(src, "CRS-01", format!("[crs.{name}] source: {e}")))?;
            (declared, c.params.clone(), c.allow_ballpark, c.confirmed)
        }
    };
    let layer = mapped
        .targets
        .first()
        .map_or("-", |t| t.table.as_str())
        .to_string();
    // CRS-01: a .prj that says something else than the pipeline
    let mut how = Vec::new();
    match data.crs_text.as_deref() {
        Some(prj) if src.kind == "shapefile" => {
            let id = identify_prj(prj);
            match id.epsg {
                Some(e)
                    if id.confidence >= TRUST_CONFIDENCE
                        && Crs::Epsg(e) != declared
                        && !confirmed =>
                {
                    return Err(crs_err(
                        src,
                        "CRS-01",
                        format!("the .prj identifies as EPSG:{e} ({}%) but the pipeline declares {declared}; fix the pipeline or set `confirmed = true` in its [crs] section", id.confidence),
                    ));
                }
                Some(e) if id.confidence >= TRUST_CONFIDENCE => {
                    how.push(format!(".prj = EPSG:{e} ({}%)", id.confidence))
                }
                _ => how.push(format!(
                    ".prj not identified (best {}%), declared {declared}",
                    id.confidence
                )),
            }
        }
        None if src.kind == "shapefile" => how.push("no .prj: CRS declared by the pipeline".into()),
        _ => {}
    }
    // CRS-02/03/04 on the coordinates
    let mut sample = Vec::new();
    for t in &mapped.targets {
        sample.extend(sample_multipolygons(&t.rows.geoms, 20_000));
    }
    let sn = sniff(&sample, Some(&declared)).map_err(|e| crs_err(src, "CRS-02", e.to_string()))?;
    let errors: Vec<String> = sn
        .issues
        .iter()
        .filter(|i| i.severity == Severity::E)
        .map(|i| format!("{}-{}: {}", i.rule.0, i.sub_code, i.evidence_en))
        .collect();
    if !errors.is_empty() {
        return Err(crs_err(
            src,
            "CRS-02",
            format!(
                "coordinates do not fit the declared {declared}: {}",
                errors.join("; ")
            ),
        ));
    }
    mapped.findings.extend(sn.findings(&layer));
    let op = Operation::resolve(
        &declared,
        &registry,
        params.as_deref(),
        OperationOptions { allow_ballpark },
    )
    .map_err(|e| crs_err(src, e.rule_id().map_or("CRS-05", |r| r.0), e.to_string()))?;
    mapped.findings.extend(op.report().findings(&layer));
    for t in &mut mapped.targets {
        if t.rows.geoms.is_empty() {
            continue;
        }
        op.transform_multipolygons(&mut t.rows.geoms)
            .map_err(|e| crs_err(src, "CRS-05", format!("table {}: {e}", t.table)))?;
    }
    let r = op.report();
    how.insert(0, format!("{} → {} ({:?})", r.source, r.target, r.kind));
    if let Some(o) = &r.params_origin {
        how.push(format!("parameters from {o}"));
    }
    Ok(how.join("; "))
}

/// What `inspect` says about a layer's CRS: declared (.prj identified) or guessed from coordinates.
pub fn describe_crs(declared: Option<&str>, sample_coords: &[[f64; 2]]) -> serde_json::Value {
    let coords: Vec<geo_types::Coord<f64>> = sample_coords
        .iter()
        .map(|c| geo_types::coord! {x: c[0], y: c[1]})
        .collect();
    let mut evidence = Vec::new();
    let id = declared.map(identify_prj);
    let declared_crs = id.as_ref().and_then(|i| {
        (i.confidence >= TRUST_CONFIDENCE)
            .then_some(i.epsg)
            .flatten()
    });
    if let Some(i) = &id {
        evidence.push(format!(
            ".prj: {} → {} ({}% confidence)",
            i.name,
            i.epsg
                .map_or("no EPSG match".into(), |e| format!("EPSG:{e}")),
            i.confidence
        ));
    }
    let sn = sniff(&coords, declared_crs.map(Crs::Epsg).as_ref()).ok();
    let mut guess = Vec::new();
    if let Some(s) = &sn {
        evidence.push(format!("coordinates: {} sampled, zone prefix {:?}, {} swapped-looking, {} outside every Jinan window", s.total, s.prefix, s.swapped.count, s.outside.count));
        for i in &s.issues {
            evidence.push(format!(
                "{}-{} {}: {}",
                i.rule.0, i.sub_code, i.severity, i.evidence_en
            ));
        }
        guess = s.candidates();
    }
    let summary = match (declared_crs, guess.is_empty()) {
        (Some(e), _) => format!("EPSG:{e} (declared by .prj)"),
        (None, false) => format!(
            "unknown: no usable .prj; coordinates fit {} (the datum cannot be told from coordinates: declare and confirm it in the pipeline)",
            guess.iter().map(|e| format!("EPSG:{e}")).collect::<Vec<_>>().join(" / ")
        ),
        (None, true) => "unknown: no usable .prj and coordinates fit no Jinan window".into(),
    };
    serde_json::json!({"summary": summary, "declared_epsg": declared_crs, "candidates": guess, "evidence": evidence})
}
