//! `compile`: a parsed pipeline file resolved into a `Plan` against the registry schema, the code
//! lists, the CRS operations and the source drivers. Reports every problem. Opens no files.

use crate::spec::{line_col, ConfigError, FieldMap, MergeSpec, PipelineFile, ValidationSpec};
use cadastra_model::codelist::codelists;
use cadastra_model::{registry, TableKind};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

pub const REGISTRY_EPSG: i32 = 4548;

/// How rows are routed to a target.
#[derive(Debug, Clone)]
pub struct When {
    pub field: String,
    pub values: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct TargetPlan {
    pub table: String,
    pub when: Option<When>,
    /// (index of the registry field in the table definition, mapping)
    pub fields: Vec<(usize, FieldMap)>,
}

/// Where a source's coordinates come from.
#[derive(Debug, Clone, PartialEq)]
pub enum CrsRef {
    /// already in the registry CRS (EPSG:4548)
    Registry,
    /// a named [crs.*] operation
    Op(String),
    /// kept as read, no reprojection (`cadastra validate FILE --as ...` only)
    AsRead,
}

#[derive(Debug, Clone)]
pub struct CrsPlan {
    pub name: String,
    pub source: String,
    /// resolved parameter file (None: `$CADASTRA_CRS_PARAMS` or no parameters)
    pub params: Option<PathBuf>,
    pub allow_ballpark: bool,
    pub confirmed: bool,
}

#[derive(Debug, Clone)]
pub struct SourcePlan {
    pub name: String,
    pub system: String,
    pub kind: String,
    /// resolved path
    pub path: PathBuf,
    /// the path as written in the pipeline (provenance `src_file`)
    pub display_path: String,
    pub layer: Option<String>,
    pub sheet: Option<String>,
    pub encoding: Option<String>,
    pub chinese: bool,
    pub restore_shx: bool,
    /// refuse damaged files (run); `inspect` reads leniently and reports instead
    pub strict: bool,
    pub delimiter: u8,
    pub crs: Option<CrsRef>,
    pub key: Vec<String>,
    pub targets: Vec<TargetPlan>,
    pub has_geometry_target: bool,
}

/// A pipeline ready to run.
#[derive(Debug, Clone)]
pub struct Plan {
    pub file: PathBuf,
    pub name: String,
    pub batch: String,
    pub crs: BTreeMap<String, CrsPlan>,
    pub sources: Vec<SourcePlan>,
    pub validation: ValidationSpec,
    pub merge: MergeSpec,
    pub joins: Vec<crate::spec::JoinSpec>,
    /// sha256 of the pipeline file text
    pub sha256: String,
}

impl Plan {
    /// Keep only the named sources (e.g. `cadastra validate PIPELINE --source laiwu_zd`), with the
    /// joins whose sides all remain. An unknown name is an error listing the plan's sources.
    pub fn only_sources(&mut self, names: &[String]) -> Result<(), String> {
        if names.is_empty() {
            return Ok(());
        }
        let known: Vec<&str> = self.sources.iter().map(|s| s.name.as_str()).collect();
        let unknown: Vec<&str> = names
            .iter()
            .map(String::as_str)
            .filter(|n| !known.contains(n))
            .collect();
        if !unknown.is_empty() {
            return Err(format!(
                "{}: no source named {} (sources: {})",
                self.file.display(),
                unknown.join(", "),
                known.join(", ")
            ));
        }
        self.sources.retain(|s| names.contains(&s.name));
        let kept = |k: &crate::spec::KeySpec| k.fields().iter().all(|f| names.contains(f));
        self.joins.retain(|j| kept(&j.left) && kept(&j.right));
        Ok(())
    }
}

const UNITS: &[&str] = &["m2", "mu", "ha"];

/// Resolve names and check the plan. Pure: opens no files.
pub fn compile(file: &PipelineFile) -> Result<Plan, Vec<ConfigError>> {
    let fname = file.path.display().to_string();
    let base = file.path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let mut errors = Vec::new();
    let err_at = |errors: &mut Vec<ConfigError>, span: &std::ops::Range<usize>, msg: String| {
        let (line, column) = if span.is_empty() && span.start == 0 {
            (0, 0)
        } else {
            line_col(&file.text, span.start)
        };
        errors.push(ConfigError {
            file: fname.clone(),
            line,
            column,
            message: msg,
        });
    };
    let none = 0..0;

    if let Some(c) = &file.pipeline.registry_crs {
        if c != &format!("EPSG:{REGISTRY_EPSG}") {
            err_at(&mut errors, &none, format!("registry_crs {c}: only EPSG:{REGISTRY_EPSG} (CGCS2000 / 3-degree GK CM 117E) is supported"));
        }
    }
    let mut crs = BTreeMap::new();
    for (name, c) in &file.crs {
        crs.insert(
            name.clone(),
            CrsPlan {
                name: name.clone(),
                source: c.source.clone(),
                params: c.params.as_ref().map(|p| base.join(p)),
                allow_ballpark: c.allow_ballpark,
                confirmed: c.confirmed,
            },
        );
    }
    let drivers: Vec<&str> = crate::sources::SOURCES.iter().map(|d| d.kind()).collect();
    let mut names = HashSet::new();
    let mut sources = Vec::new();
    for s in &file.sources {
        let h = &s.head;
        let sp = &s.span;
        let who = format!("source {}", h.name);
        if !names.insert(h.name.clone()) {
            err_at(&mut errors, sp, format!("{who}: the name is used twice"));
        }
        if h.system.trim().is_empty() {
            err_at(&mut errors, sp, format!("{who}: `system` is empty"));
        }
        if !drivers.contains(&h.kind.as_str()) {
            err_at(
                &mut errors,
                sp,
                format!(
                    "{who}: unknown type {:?} (known: {})",
                    h.kind,
                    drivers.join(", ")
                ),
            );
        }
        let key = h.key.fields();
        if key.is_empty() || key.iter().any(|k| k.trim().is_empty()) {
            err_at(&mut errors, sp, format!("{who}: `key` names no field"));
        }
        let crs_ref = match h.crs.as_deref() {
            None => None,
            Some(c) if c == format!("EPSG:{REGISTRY_EPSG}") => Some(CrsRef::Registry),
            Some(c) if crs.contains_key(c) => Some(CrsRef::Op(c.to_string())),
            Some(c) => {
                err_at(&mut errors, sp, format!("{who}: crs {c:?} is neither EPSG:{REGISTRY_EPSG} nor a [crs.*] operation of this pipeline"));
                None
            }
        };
        let delimiter = match h.delimiter.as_deref() {
            None => b',',
            Some(d) if d.len() == 1 => d.as_bytes()[0],
            Some("\\t") | Some("tab") => b'\t',
            Some(d) => {
                err_at(
                    &mut errors,
                    sp,
                    format!("{who}: delimiter {d:?} must be one character"),
                );
                b','
            }
        };
        let mut targets = Vec::new();
        let mut has_geometry_target = false;
        for t in &s.targets {
            let Some(def) = registry().table(&t.table) else {
                err_at(
                    &mut errors,
                    sp,
                    format!("{who}: unknown registry table {:?}", t.table),
                );
                continue;
            };
            if !matches!(def.kind, TableKind::Feature | TableKind::Attributes) {
                err_at(
                    &mut errors,
                    sp,
                    format!(
                        "{who}: table {} is cadastra's own, not a load target",
                        def.name
                    ),
                );
                continue;
            }
            if def.geometry.is_some() {
                has_geometry_target = true;
                if crs_ref.is_none() && h.crs.is_none() {
                    err_at(&mut errors, sp, format!("{who}: table {} has geometry, so the source needs `crs` (cadastra never guesses a CRS silently)", def.name));
                }
                if !matches!(h.kind.as_str(), "shapefile" | "gdal") {
                    err_at(
                        &mut errors,
                        sp,
                        format!(
                            "{who}: table {} needs geometry, which a {} source does not have",
                            def.name, h.kind
                        ),
                    );
                }
            }
            let mut fields = Vec::new();
            for (fname_, spec) in &t.fields {
                let Some(idx) = def.field_index(fname_) else {
                    err_at(
                        &mut errors,
                        sp,
                        format!("{who}: table {} has no field {fname_}", def.name),
                    );
                    continue;
                };
                if registry().provenance.iter().any(|p| &p.name == fname_) {
                    err_at(
                        &mut errors,
                        sp,
                        format!("{who}: field {fname_} is provenance, filled by cadastra"),
                    );
                    continue;
                }
                let m = spec.to_map();
                if let Some(cw) = &m.crosswalk {
                    if codelists().crosswalk(cw).is_none() {
                        err_at(&mut errors, sp, format!("{who}: field {fname_}: unknown crosswalk {cw:?} (schemas/codelists.toml)"));
                    }
                }
                if let Some(u) = &m.unit {
                    if !UNITS.contains(&u.as_str()) {
                        err_at(
                            &mut errors,
                            sp,
                            format!("{who}: field {fname_}: unit {u:?} is not one of m2, mu, ha"),
                        );
                    }
                }
                if (m.unit.is_some() || m.unit_field.is_some())
                    && def.fields[idx].ty != cadastra_model::FieldType::Real
                {
                    err_at(
                        &mut errors,
                        sp,
                        format!("{who}: field {fname_}: area units apply to real fields only"),
                    );
                }
                fields.push((idx, m));
            }
            targets.push(TargetPlan {
                table: def.name.clone(),
                when: t.when.as_ref().map(|w| When {
                    field: w.field.clone(),
                    values: w.values.clone(),
                }),
                fields,
            });
        }
        if targets.len() > 1 && targets.iter().any(|t| t.when.is_none()) {
            err_at(&mut errors, sp, format!("{who}: with several targets every target needs `when`, so each row has one home"));
        }
        sources.push(SourcePlan {
            name: h.name.clone(),
            system: h.system.clone(),
            kind: h.kind.clone(),
            path: base.join(&h.path),
            display_path: h.path.clone(),
            layer: h.layer.clone(),
            sheet: h.sheet.clone(),
            encoding: h
                .encoding
                .clone()
                .filter(|e| !e.eq_ignore_ascii_case("auto")),
            chinese: h.chinese.unwrap_or(true),
            restore_shx: h.restore_shx.unwrap_or(false),
            strict: true,
            delimiter,
            crs: crs_ref,
            key,
            targets,
            has_geometry_target,
        });
    }
    for j in &file.joins {
        for (side, src) in j
            .left
            .fields()
            .into_iter()
            .map(|s| ("left", s))
            .chain(j.right.fields().into_iter().map(|s| ("right", s)))
        {
            if !sources.iter().any(|s| s.name == src) {
                err_at(
                    &mut errors,
                    &none,
                    format!("[[join]] {}: {side} source {src:?} is not declared", j.name),
                );
            }
        }
    }
    if sources.is_empty() {
        err_at(
            &mut errors,
            &none,
            "the pipeline declares no [[source]]".to_string(),
        );
    }
    for r in file
        .validation
        .rules
        .keys()
        .chain(&file.validation.disabled)
    {
        if !r.contains('-') {
            err_at(
                &mut errors,
                &none,
                format!("[validation]: {r:?} is not a rule id (like TOPO-01)"),
            );
        }
    }
    // [merge] policies (priority, hold, geometry_from, legal_from), checked by cadastra-merge
    if let Err(errs) = cadastra_merge::Policy::new(
        &file.merge.priority,
        file.merge.hold.as_deref(),
        file.merge.geometry_from.as_deref(),
        file.merge.legal_from.as_deref(),
    ) {
        for e in errs {
            err_at(&mut errors, &none, e.to_string());
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    use sha2::Digest;
    Ok(Plan {
        file: file.path.clone(),
        name: file.pipeline.name.clone(),
        batch: file.pipeline.batch.clone(),
        crs,
        sources,
        validation: file.validation.clone(),
        merge: file.merge.clone(),
        joins: file.joins.clone(),
        sha256: hex::encode(sha2::Sha256::digest(file.text.as_bytes())),
    })
}
