//! `run(Plan)`: the only layer that reads sources and writes the registry.
//!
//! ingest (per source) → map → reproject → validate → merge (re-key, idempotency) → one atomic
//! write. The reconciliation `read = loaded + unchanged + held + quarantined` is checked per source
//! and layer before anything is written; if it does not balance the run fails and writes nothing.

use crate::compile::{Plan, SourcePlan};
use crate::mapping::{map_source, MappedTarget, Quarantined};
use crate::sources::{driver, SourceData, SourceError};
use crate::summary::{RunSummary, SeverityCounts, SourceSummary};
use cadastra_io::gpkg::GpkgRegistry;
use cadastra_io::registry::{Registry, RegistryError, TableChange};
use cadastra_model::codelist::codelists;
use cadastra_model::{registry, Column, Finding, Rows, StrColumn};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Progress reporting (the CLI draws indicatif bars; tests pass `&()`).
pub trait Progress: Sync {
    fn stage(&self, _name: &str, _total: u64) {}
    fn inc(&self, _n: u64) {}
    fn done(&self) {}
    fn note(&self, _msg: &str) {}
}
impl Progress for () {}

#[derive(Debug, Clone)]
pub struct RunOptions {
    /// registry file path, or a `postgresql://` URL
    pub registry: String,
    /// where run outputs (summary JSON, findings CSV, reports) go
    pub out_dir: PathBuf,
    /// false: validate only, never touch the registry
    pub write: bool,
    pub decisions: Option<PathBuf>,
    pub unmask: bool,
    pub command_line: String,
    pub actor: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
    Config(Vec<crate::ConfigError>),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("source {source_name}: {rule}: {message}")]
    Crs {
        source_name: String,
        rule: String,
        message: String,
    },
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("reconciliation does not balance, nothing was written:\n{0}")]
    Unbalanced(String),
    #[error("{path}: {message}")]
    Io { path: String, message: String },
}

/// Everything a run produced.
#[derive(Debug)]
pub struct RunOutcome {
    pub summary: RunSummary,
    pub findings: Vec<Finding>,
    pub quarantine: Vec<Quarantined>,
}

/// One source after ingest, mapping and reprojection.
pub(crate) struct Ingested {
    pub plan: SourcePlan,
    /// the records as read (geometry dropped after mapping), for quarantine entries
    pub raw: cadastra_model::RawTable,
    /// FMT-04 findings of the mapping
    pub findings: Vec<Finding>,
    pub data_summary: SourceSummary,
    pub mapped: Vec<MappedTarget>,
    pub quarantine: Vec<Quarantined>,
    pub read_per_target: BTreeMap<String, u64>,
}

fn now_iso() -> String {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // civil-from-days (Howard Hinnant)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let dd = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{dd:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// Open the registry named by `spec` (a path, or a postgresql:// URL).
pub fn open_registry(spec: &str) -> Result<Box<dyn Registry>, RegistryError> {
    if spec.trim().is_empty() {
        return Err(RegistryError::Path {
            path: "--registry".into(),
            message: "empty: give a GeoPackage path or a postgresql:// URL".into(),
        });
    }
    if spec.starts_with("postgresql://") || spec.starts_with("postgres://") {
        return Ok(Box::new(cadastra_io::postgis::PgRegistry::connect(
            spec,
            crate::compile::REGISTRY_EPSG,
        )?));
    }
    Ok(Box::new(GpkgRegistry::open(
        Path::new(spec),
        crate::compile::REGISTRY_EPSG,
    )?))
}

/// [`open_registry`], with what opening it cleaned up or found (a `.partial` file or a staging
/// schema of a killed run, a PostGIS schema still to be created).
fn open_registry_noted(spec: &str) -> Result<(Box<dyn Registry>, Vec<String>), RegistryError> {
    let mut r = open_registry(spec)?;
    let notes = r.take_notes();
    Ok((r, notes))
}

fn ingest(plan: &Plan, src: &SourcePlan, progress: &dyn Progress) -> Result<Ingested, RunError> {
    let drv = driver(&src.kind).ok_or_else(|| SourceError::new(src, "unknown source type"))?;
    progress.note(&format!("reading {}", src.display_path));
    let mut data: SourceData = drv.read(src)?;
    let n = data.table.len() as u64;
    let mut mapped = map_source(src, &data, &plan.batch);
    let crs_desc = crate::crs_stage::reproject(plan, src, &mut data, &mut mapped)?;
    let cleaning = {
        let c = &mapped.cleaning;
        BTreeMap::from([
            ("values".to_string(), c.values),
            ("changed".to_string(), c.changed),
            ("fullwidth".to_string(), c.fullwidth),
            ("trimmed".to_string(), c.trimmed),
            ("blanks".to_string(), c.blanks),
            ("placeholders".to_string(), c.placeholders),
        ])
    };
    let summary = SourceSummary {
        name: src.name.clone(),
        system: src.system.clone(),
        kind: src.kind.clone(),
        path: src.display_path.clone(),
        records: n,
        deleted_skipped: data.deleted_skipped as u64,
        encoding: data.encoding.clone(),
        crs: crs_desc,
        warnings: data.warnings.clone(),
        cleaning,
    };
    data.table.geoms = None;
    Ok(Ingested {
        raw: std::mem::take(&mut data.table),
        findings: std::mem::take(&mut mapped.findings),
        plan: src.clone(),
        data_summary: summary,
        read_per_target: std::mem::take(&mut mapped.read_per_target),
        quarantine: std::mem::take(&mut mapped.quarantine),
        mapped: std::mem::take(&mut mapped.targets),
    })
}

/// The key fields [`rekey`] re-codes.
pub const REKEYED: [&str; 4] = ["ZDDM", "BDCDYH", "ZRZH", "QXDM"];

/// What [`rekey`] changed: every changed cell (row, key type, index into `pairs`) and each
/// distinct (old, new) value once per key type, so that a county code or a unit number shared by
/// many rows is held once (at city scale: 11.5M changed cells, a third of them QXDM).
/// The pairs are held as two text columns (one buffer each, no allocation per pair).
#[derive(Debug, Default)]
pub struct Rekeyed {
    /// (row, index into [`REKEYED`], pair)
    pub cells: Vec<(u32, u8, u32)>,
    pub old: StrColumn,
    pub new: StrColumn,
}

impl Rekeyed {
    /// Number of distinct (old, new) pairs.
    pub fn pairs(&self) -> usize {
        self.old.len()
    }
    /// Pair `p` as (old, new).
    pub fn pair(&self, p: u32) -> (&str, &str) {
        let p = p as usize;
        (
            self.old.get(p).unwrap_or_default(),
            self.new.get(p).unwrap_or_default(),
        )
    }
    /// The changed cells as (row, key type, old, new).
    pub fn iter(&self) -> impl Iterator<Item = (usize, &'static str, &str, &str)> + '_ {
        self.cells.iter().map(|&(r, k, p)| {
            let (old, new) = self.pair(p);
            (r as usize, REKEYED[k as usize], old, new)
        })
    }
}

/// Re-key positions 1-6 of ZDDM, BDCDYH, ZRZH and the whole QXDM from pre-2019 county codes
/// (371202 → 370116, 371203 → 370117). With `crosswalk`, returns the changed cells with their old
/// and new values (without, an empty [`Rekeyed`]: nothing is written, as when only validating).
pub fn rekey(rows: &mut Rows, table: &str, crosswalk: bool) -> Rekeyed {
    let def = registry().table(table).expect("registry table");
    let cl = codelists();
    let mut out = Rekeyed::default();
    for (ki, key) in REKEYED.into_iter().enumerate() {
        let Some(i) = def.field_index(key) else {
            continue;
        };
        let Column::Text(col) = &rows.columns[i] else {
            continue;
        };
        let mut new = StrColumn::with_capacity(col.len(), col.text_bytes());
        let mut seen: std::collections::HashMap<&str, u32> = Default::default();
        let mut nv = String::new();
        let mut changed = false;
        for (r, v) in col.iter().enumerate() {
            match v {
                Some(v) if v.len() >= 6 && v.is_char_boundary(6) => {
                    match cl.new_admin_code(&v[..6]) {
                        Some(code) => {
                            nv.clear();
                            nv.push_str(code);
                            nv.push_str(&v[6..]);
                            changed = true;
                            if crosswalk {
                                let p = *seen.entry(v).or_insert_with(|| {
                                    out.old.push(Some(v));
                                    out.new.push(Some(&nv));
                                    (out.old.len() - 1) as u32
                                });
                                out.cells.push((r as u32, ki as u8, p));
                            }
                            new.push(Some(&nv));
                        }
                        None => new.push(Some(v)),
                    }
                }
                other => new.push(other),
            }
        }
        if changed {
            rows.columns[i] = Column::Text(new);
        }
    }
    out
}

fn text_rows(table: &str, values: Vec<Vec<Option<String>>>) -> Rows {
    let def = registry().table(table).expect("system table in schema");
    let mut rows = Rows::new(def);
    for v in values {
        for (j, (col, f)) in rows.columns.iter_mut().zip(&def.fields).enumerate() {
            let x = v.get(j).cloned().flatten();
            match col {
                Column::Text(c) => c.push(x.as_deref()),
                Column::Int(c) => c.push(x.and_then(|s| s.parse().ok())),
                Column::Real(c) => c.push(x.and_then(|s| s.parse().ok())),
            }
            let _ = f;
        }
    }
    rows
}

/// Findings as rows of the `findings` (points) and `finding_areas` (error geometries) layers.
fn findings_rows(run_id: &str, batch: &str, findings: &[Finding]) -> (Rows, Rows) {
    let pdef = registry().table("findings").expect("findings table");
    let adef = registry()
        .table("finding_areas")
        .expect("finding_areas table");
    let mut pts = Rows::new(pdef);
    let mut areas = Rows::new(adef);
    for f in findings {
        let common = |name: &str| -> Option<String> {
            match name {
                "run_id" => Some(run_id.to_string()),
                "batch_id" => Some(batch.to_string()),
                "rule_id" => Some(f.rule_id.0.to_string()),
                "sub_code" => Some(f.sub_code.clone()),
                "severity" => Some(f.severity.as_str().to_string()),
                "layer" => Some(f.layer.clone()),
                "feature_key" => Some(f.feature_key.clone()),
                "other_key" => f.other_key.clone(),
                "message_zh" => Some(f.message_zh.clone()),
                "message_en" => Some(f.message_en.clone()),
                _ => None,
            }
        };
        let fill = |rows: &mut Rows, def: &cadastra_model::TableDef| {
            for (col, fd) in rows.columns.iter_mut().zip(&def.fields) {
                match col {
                    Column::Text(c) => c.push(common(&fd.name).as_deref()),
                    Column::Real(c) => c.push(match fd.name.as_str() {
                        "x" => f.x,
                        "y" => f.y,
                        "value" => f.value,
                        "tolerance" => f.tolerance,
                        _ => None,
                    }),
                    Column::Int(c) => c.push(None),
                }
            }
        };
        fill(&mut pts, pdef);
        pts.geoms.push(match (f.x, f.y) {
            (Some(x), Some(y)) => Some(geo_types::MultiPolygon(vec![geo_types::Polygon::new(
                geo_types::LineString(vec![geo_types::coord! {x: x, y: y}]),
                vec![],
            )])),
            _ => None,
        });
        if let Some(g) = &f.geom {
            fill(&mut areas, adef);
            areas.geoms.push(Some(g.clone()));
        }
    }
    (pts, areas)
}

/// Run a compiled pipeline.
pub fn run(
    plan: &Plan,
    opts: &RunOptions,
    progress: &dyn Progress,
) -> Result<RunOutcome, RunError> {
    let started_at = now_iso();
    let run_id = format!("{}-{}", plan.name, started_at.replace([':', '-', '.'], ""));
    let mut timings = Vec::new();
    let t0 = Instant::now();
    std::fs::create_dir_all(&opts.out_dir).map_err(|e| RunError::Io {
        path: opts.out_dir.display().to_string(),
        message: e.to_string(),
    })?;
    if opts.write && opts.registry.trim().is_empty() {
        return Err(RegistryError::Path {
            path: "--registry".into(),
            message: "empty: give a GeoPackage path or a postgresql:// URL".into(),
        }
        .into());
    }
    let _lock = if opts.write {
        Some(crate::lock::RegistryLock::acquire(&opts.registry)?)
    } else {
        None
    };
    let mut notes = Vec::new();
    if let Some(l) = &_lock {
        notes.extend(l.notes.iter().cloned());
    }

    // ---- ingest, map, reproject (per source)
    progress.stage("ingest", plan.sources.len() as u64);
    // sources side by side (each is also parallel inside): a workbook's XML is parsed on one
    // core, and the other core maps another source meanwhile. Results and the first error in
    // source order, as a sequential run gives them.
    let results: Vec<Result<Ingested, RunError>> = {
        use rayon::prelude::*;
        plan.sources
            .par_iter()
            .map(|src| {
                let r = ingest(plan, src, progress);
                progress.inc(1);
                r
            })
            .collect()
    };
    let mut ingested = Vec::with_capacity(results.len());
    let mut findings: Vec<Finding> = Vec::new();
    for r in results {
        let mut i = r?;
        findings.append(&mut i.findings);
        ingested.push(i);
    }
    progress.done();
    timings.push((
        "ingest+map+reproject".to_string(),
        t0.elapsed().as_secs_f64(),
    ));

    let joins = crate::joins::run_joins(&plan.joins, &ingested, &opts.out_dir)?;

    // ---- validate: rules over every mapped layer; severity-E findings block their rows
    let t1 = Instant::now();
    progress.stage("validate", 0);
    let validation = {
        let layers: Vec<cadastra_rules::Layer<'_>> = ingested
            .iter()
            .flat_map(|i| {
                i.mapped.iter().map(move |m| cadastra_rules::Layer {
                    source: &i.plan.name,
                    system: &i.plan.system,
                    table: &m.table,
                    rows: &m.rows,
                })
            })
            .collect();
        cadastra_rules::run_rules(&layers, &crate::validate::options(plan))
    };
    progress.done();
    let block = plan.validation.block_errors.unwrap_or(true);
    let mut blocked: BTreeMap<(usize, usize), String> = BTreeMap::new();
    for (fi, f) in validation.findings.iter().enumerate() {
        if block && f.finding.severity == cadastra_model::Severity::E {
            // a pair finding (two parcels overlapping) blocks both: which one is wrong is the
            // surveyor's call, and neither may enter the registry before it is made
            for (layer, row) in f.at.into_iter().chain(f.also) {
                blocked.entry((layer, row)).or_insert_with(|| {
                    let fnd = &validation.findings[fi].finding;
                    format!("{}: {}", fnd.code(), fnd.message_en)
                });
            }
        }
    }
    block_rows(&mut ingested, &blocked);
    let outcomes = validation.outcomes;
    findings.extend(validation.findings.into_iter().map(|f| f.finding));
    timings.push(("validate".to_string(), t1.elapsed().as_secs_f64()));

    // ---- merge: re-key, idempotency against the registry
    let t2 = Instant::now();
    let mut reg: Option<Box<dyn Registry>> = if opts.write {
        let (r, n) = open_registry_noted(&opts.registry)?;
        notes.extend(n);
        Some(r)
    } else {
        None
    };
    let merge_opts = crate::merge_stage::MergeOptions {
        decisions: opts.decisions.clone(),
        unmask: opts.unmask,
        now: started_at.clone(),
    };
    let merged = crate::merge_stage::merge(
        plan,
        &run_id,
        &mut ingested,
        reg.as_deref_mut(),
        &merge_opts,
    )?;
    notes.extend(merged.notes);
    let sheet = merged.sheet;
    let mut changes = merged.changes;
    let recon = merged.recon;
    let crosswalk = merged.crosswalk;
    let quarantine_all = merged.quarantine;
    findings.extend(merged.findings);
    let decisions_json = merged.decisions_json;
    timings.push(("merge".to_string(), t2.elapsed().as_secs_f64()));

    let unbalanced: Vec<String> = recon
        .iter()
        .filter(|r| !r.balanced())
        .map(|r| {
            format!(
                "  {} {}: read {} != loaded {} + unchanged {} + held {} + quarantined {}",
                r.source, r.layer, r.read, r.loaded, r.unchanged, r.held, r.quarantined
            )
        })
        .collect();
    if !unbalanced.is_empty() {
        return Err(RunError::Unbalanced(unbalanced.join("\n")));
    }

    // ---- summary
    let mut findings_by_rule: BTreeMap<String, SeverityCounts> = BTreeMap::new();
    for f in &findings {
        let c = findings_by_rule.entry(f.rule_id.0.to_string()).or_default();
        match f.severity {
            cadastra_model::Severity::E => c.e += 1,
            cadastra_model::Severity::W => c.w += 1,
            cadastra_model::Severity::I => c.i += 1,
        }
    }
    let mut summary = RunSummary {
        run_id: run_id.clone(),
        pipeline: plan.file.display().to_string(),
        batch: plan.batch.clone(),
        registry: match &reg {
            Some(r) => r.target(),
            None => format!(
                "(validate only: nothing written; findings in {})",
                opts.out_dir.join("findings.gpkg").display()
            ),
        },
        backend: reg
            .as_ref()
            .map_or("gpkg".into(), |r| r.backend().to_string()),
        started_at,
        finished_at: String::new(),
        status: if opts.write {
            "ok".into()
        } else {
            "validated".into()
        },
        sources: ingested.iter().map(|i| i.data_summary.clone()).collect(),
        reconciliation: recon,
        joins,
        findings_by_rule,
        rule_outcomes: validation_outcomes(&outcomes),
        conflicts: merged.conflicts,
        registry_counts: BTreeMap::new(),
        timings,
        notes,
    };

    // ---- write: data, crosswalk, quarantine, findings, reconciliation, audit: one transaction
    if opts.write {
        let t3 = Instant::now();
        let reg = reg.as_mut().expect("opened for writing");
        let systems: Vec<String> = {
            let mut s: Vec<String> = plan.sources.iter().map(|s| s.system.clone()).collect();
            s.sort();
            s.dedup();
            s
        };
        if !crosswalk.is_empty() {
            changes
                .tables
                .push(TableChange::inserts("key_crosswalk", crosswalk));
        }
        let q_rows: Vec<Vec<Option<String>>> = quarantine_all
            .iter()
            .map(|q| {
                let sys = plan
                    .sources
                    .iter()
                    .find(|s| s.name == q.source)
                    .map(|s| s.system.clone());
                vec![
                    Some(run_id.clone()),
                    Some(plan.batch.clone()),
                    sys,
                    Some(q.src_file.clone()),
                    Some(q.src_row.to_string()),
                    q.src_key.clone(),
                    Some(q.target.clone()),
                    Some(q.rule_id.clone()),
                    Some(q.reason.clone()),
                    Some(q.raw_record.clone()),
                    q.raw_geom_wkt.clone(),
                ]
            })
            .collect();
        let mut qch = TableChange::inserts("quarantine", text_rows("quarantine", q_rows));
        for s in &systems {
            qch.delete_where.push(vec![
                ("batch_id".into(), plan.batch.clone()),
                ("src_system".into(), s.clone()),
            ]);
        }
        changes.tables.push(qch);
        let (pts, areas) = findings_rows(&run_id, &plan.batch, &findings);
        let mut fch = TableChange::inserts("findings", pts);
        fch.delete_where
            .push(vec![("batch_id".into(), plan.batch.clone())]);
        changes.tables.push(fch);
        let mut ach = TableChange::inserts("finding_areas", areas);
        ach.delete_where
            .push(vec![("batch_id".into(), plan.batch.clone())]);
        changes.tables.push(ach);
        let recon_rows = summary
            .reconciliation
            .iter()
            .map(|r| {
                vec![
                    Some(run_id.clone()),
                    Some(r.source.clone()),
                    Some(r.layer.clone()),
                    Some(r.read.to_string()),
                    Some(r.loaded.to_string()),
                    Some(r.unchanged.to_string()),
                    Some(r.held.to_string()),
                    Some(r.quarantined.to_string()),
                    Some(if r.balanced() { "1" } else { "0" }.to_string()),
                ]
            })
            .collect();
        changes.tables.push(TableChange::inserts(
            "reconciliation",
            text_rows("reconciliation", recon_rows),
        ));
        summary.finished_at = now_iso();
        // each input's hash (files of hundreds of MB at city scale: side by side)
        use rayon::prelude::*;
        let inputs: Vec<serde_json::Value> = plan
            .sources
            .par_iter()
            .map(|s| serde_json::json!({"source": s.name, "path": s.display_path, "sha256": file_sha256(&s.path)}))
            .collect();
        let summary_json = serde_json::to_string(&summary).unwrap_or_default();
        changes.tables.push(TableChange::inserts(
            "cadastra_runs",
            text_rows(
                "cadastra_runs",
                vec![vec![
                    Some(run_id.clone()),
                    Some(summary.started_at.clone()),
                    Some(summary.finished_at.clone()),
                    Some(summary.status.clone()),
                    Some(opts.actor.clone()),
                    Some(opts.command_line.clone()),
                    Some(env!("CARGO_PKG_VERSION").to_string()),
                    Some(plan.file.display().to_string()),
                    Some(plan.sha256.clone()),
                    Some(serde_json::Value::Array(inputs).to_string()),
                    Some(summary_json),
                    decisions_json.clone(),
                    Some(if opts.unmask { "1" } else { "0" }.into()),
                ]],
            ),
        ));
        progress.note("writing the registry (one transaction)");
        reg.apply(&changes)?;
        summary.notes.extend(reg.take_notes());
        progress.note("registry written (committed)");
        summary.registry_counts = reg.counts()?;
        summary
            .timings
            .push(("write".to_string(), t3.elapsed().as_secs_f64()));
    } else {
        summary.finished_at = now_iso();
    }
    let io_err = |p: &Path, e: String| RunError::Io {
        path: p.display().to_string(),
        message: e,
    };
    crate::merge_stage::write_sheets(&opts.out_dir, &sheet)?;
    let fcsv = opts.out_dir.join("findings.csv");
    crate::outputs::write_findings_csv(&fcsv, &findings)
        .map_err(|e| io_err(&fcsv, e.to_string()))?;
    let qcsv = opts.out_dir.join("quarantine.csv");
    crate::outputs::write_quarantine_csv(&qcsv, &quarantine_all)
        .map_err(|e| io_err(&qcsv, e.to_string()))?;
    if !opts.write {
        let (pts, areas) = findings_rows(&run_id, &plan.batch, &findings);
        let fg = opts.out_dir.join("findings.gpkg");
        crate::outputs::write_findings_gpkg(&fg, pts, areas).map_err(|e| io_err(&fg, e))?;
    }
    let by_rule = opts.out_dir.join("findings-by-rule.json");
    std::fs::write(
        &by_rule,
        serde_json::to_string_pretty(&summary.findings_by_rule).unwrap_or_default(),
    )
    .map_err(|e| io_err(&by_rule, e.to_string()))?;
    summary
        .timings
        .push(("total".to_string(), t0.elapsed().as_secs_f64()));
    Ok(RunOutcome {
        summary,
        findings,
        quarantine: quarantine_all,
    })
}

fn file_sha256(p: &Path) -> Option<String> {
    use sha2::Digest;
    let mut f = std::fs::File::open(p).ok()?;
    let mut h = sha2::Sha256::new();
    std::io::copy(&mut f, &mut h).ok()?;
    Some(hex::encode(h.finalize()))
}

/// Move rows blocked by severity-E findings from the mapped layers into quarantine, with the
/// record as read and the finding as the reason. Layers are numbered in the order the rules saw them.
fn block_rows(ingested: &mut [Ingested], blocked: &BTreeMap<(usize, usize), String>) {
    let mut layer = 0;
    for ing in ingested.iter_mut() {
        for m in ing.mapped.iter_mut() {
            let rows: Vec<(usize, &String)> = blocked
                .range((layer, 0)..(layer + 1, 0))
                .map(|((_, r), why)| (*r, why))
                .collect();
            layer += 1;
            if rows.is_empty() {
                continue;
            }
            let def = registry().table(&m.table).expect("registry table");
            let prov = (
                def.field_index("src_key").expect("provenance"),
                def.field_index("src_row").expect("provenance"),
            );
            // one quarantine entry per row (the record as read and the geometry as text: side by
            // side), then the rows dropped from the layer, geometries moved rather than copied
            use rayon::prelude::*;
            let (plan, raw, mr): (&SourcePlan, &cadastra_model::RawTable, &MappedTarget) =
                (&ing.plan, &ing.raw, m);
            let entries: Vec<Quarantined> = rows
                .par_iter()
                .map(|&(r, why)| quarantined(plan, raw, mr, prov, r, why))
                .collect();
            ing.quarantine.extend(entries);
            let drop: std::collections::HashSet<usize> = rows.iter().map(|(r, _)| *r).collect();
            let keep: Vec<usize> = (0..m.rows.len()).filter(|r| !drop.contains(r)).collect();
            m.rows = std::mem::replace(&mut m.rows, Rows::new(def)).into_take(&keep);
            m.raw_index = keep.iter().map(|&r| m.raw_index[r]).collect();
        }
    }
}

/// The quarantine entry of mapped row `r` of `m` (a layer of source `plan` read as `raw`, its
/// `src_key` and `src_row` columns at `(key_i, row_i)`), blocked for `why`.
fn quarantined(
    plan: &SourcePlan,
    raw: &cadastra_model::RawTable,
    m: &MappedTarget,
    (key_i, row_i): (usize, usize),
    r: usize,
    why: &str,
) -> Quarantined {
    let src_row = match &m.rows.columns[row_i] {
        Column::Int(c) => c[r].unwrap_or(0) as u64,
        _ => 0,
    };
    let src_key = match &m.rows.columns[key_i] {
        Column::Text(c) => c.get(r).map(str::to_string),
        _ => None,
    };
    Quarantined {
        source: plan.name.clone(),
        src_file: plan.display_path.clone(),
        src_row,
        src_key,
        target: m.table.clone(),
        rule_id: why.split_once(':').map_or("", |(a, _)| a).to_string(),
        reason: why.to_string(),
        raw_record: crate::mapping::raw_json(raw, m.raw_index[r]),
        raw_geom_wkt: m.rows.geoms.get(r).and_then(|g| g.as_ref()).map(|g| {
            format!(
                "{} (EPSG:4548)",
                crate::mapping::wkt(&geo_types::Geometry::MultiPolygon(g.clone()))
            )
        }),
    }
}

fn validation_outcomes(
    outcomes: &[(cadastra_model::RuleId, cadastra_rules::RuleOutcome)],
) -> BTreeMap<String, String> {
    use cadastra_rules::RuleOutcome as O;
    outcomes
        .iter()
        .map(|(id, o)| {
            let o = match o {
                O::Passed => "passed".to_string(),
                O::Findings(n) => format!("{n} findings"),
                O::NotApplicable => "not applicable".to_string(),
                O::Disabled => "disabled".to_string(),
                O::CouldNotRun(why) => format!("could not run: {why}"),
            };
            (id.0.to_string(), o)
        })
        .collect()
}
