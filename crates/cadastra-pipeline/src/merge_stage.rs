//! Merge stage: incoming mapped layers against the registry and each other.
//!
//! 1. Re-key (371202 → 370116, 371203 → 370117; ZDDM, BDCDYH, ZRZH, QXDM), recorded in the
//!    crosswalk. 身份证 numbers are never touched.
//! 2. Detect conflicts (cadastra-merge): MERGE-01 same key, MERGE-02 same ground, MERGE-03 county
//!    border, MERGE-04 person IDs, MERGE-05 cadastre vs registration; against the registry's rows
//!    and across this run's sources.
//! 3. Decide: decisions stored in the registry (`conflicts`), the `--decisions` sheet (checked
//!    first: a bad sheet stops the run before anything is written), the `[merge]` policy for rules
//!    it does not hold; everything else involved is held.
//! 4. Partition every mapped target: held → `review` (not the data tables), rejected →
//!    quarantine, written over a registry row (a decided MERGE-01) → update by fid (the old row
//!    kept in `review` as superseded), the rest → idempotency: unchanged when the same
//!    provenance key and record hash are there, updated when changed, inserted when new.
//!
//! `conflicts` and `review` rows are keyed by conflict id (and record), so a re-run adds none.
//! The reconciliation rows (read = loaded + unchanged + held + quarantined) are produced here.

use crate::mapping::{raw_json, wkt, Quarantined};
use crate::run::{rekey, Ingested, RunError};
use crate::summary::ReconRow;
use cadastra_io::registry::{ChangeSet, Registry, TableChange};
use cadastra_merge::conflict::EditValue;
use cadastra_merge::sheet::{SheetLine, Stored};
use cadastra_merge::{
    Choice, Conflict, Decision, DecisionOrigin, DetectOptions, Layer, Origin, Policy, Records,
    Status,
};
use cadastra_model::{registry, Column, Finding, Rows, Severity, StrColumn, TableDef};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

/// What the run passes to the merge besides the plan.
#[derive(Debug, Clone, Default)]
pub(crate) struct MergeOptions {
    /// a filled-in decisions sheet (CSV or XLSX)
    pub decisions: Option<PathBuf>,
    /// personal data unmasked in conflict details and the sheets
    pub unmask: bool,
    /// the run's start time (ISO 8601), for `decided_at`
    pub now: String,
}

/// What the merge stage hands to the write stage.
pub(crate) struct MergeOutput {
    pub changes: ChangeSet,
    pub recon: Vec<ReconRow>,
    /// key_crosswalk rows (key_type, old_key, new_key, tables, src_system, batch_id, run_id),
    /// columnar: one row per re-keyed legacy key (millions at city scale), ordered by old key
    pub crosswalk: Rows,
    pub quarantine: Vec<Quarantined>,
    /// MERGE-* findings, one per conflict
    pub findings: Vec<Finding>,
    pub conflicts: u64,
    /// decisions applied by this run (who decided what), for the audit table
    pub decisions_json: Option<String>,
    /// the decisions sheet (one line per conflict of this run)
    pub sheet: Vec<SheetLine>,
    /// what the merge wants the user to know (counts, decisions, stale sheet rows)
    pub notes: Vec<String>,
}

const LAND_RIGHTS: [&str; 3] = ["JSYDSYQ", "NYDSYQ", "LQ"];

/// Registry tables the matching reads, for the incoming tables.
fn tables_to_read(incoming: &BTreeSet<String>) -> BTreeSet<String> {
    let mut t = incoming.clone();
    if incoming.contains("ZDJBXX") {
        t.extend(LAND_RIGHTS.iter().map(|s| s.to_string()));
    }
    if LAND_RIGHTS.iter().any(|r| incoming.contains(*r)) {
        t.insert("ZDJBXX".into());
    }
    if incoming.contains("H") {
        t.insert("FDCQ2".into());
    }
    if incoming.contains("FDCQ2") {
        t.insert("H".into());
    }
    t
}

fn text_at(rows: &Rows, def: &TableDef, field: &str, r: usize) -> Option<String> {
    let i = def.field_index(field)?;
    rows.columns[i]
        .cell(r)
        .as_text()
        .map(|s| s.to_string())
        .filter(|s| !s.is_empty())
}

/// A row as JSON (field → value, nulls kept), for `review`.
fn row_json(rows: &Rows, def: &TableDef, r: usize) -> String {
    let mut m = serde_json::Map::new();
    for (i, f) in def.fields.iter().enumerate() {
        let v = match rows.columns[i].cell(r) {
            cadastra_model::Cell::Null => serde_json::Value::Null,
            cadastra_model::Cell::Text(t) => t.into(),
            cadastra_model::Cell::Int(x) => x.into(),
            cadastra_model::Cell::Real(x) => serde_json::Number::from_f64(x)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
        };
        m.insert(f.name.clone(), v);
    }
    serde_json::Value::Object(m).to_string()
}

fn geom_wkt(rows: &Rows, r: usize) -> Option<String> {
    rows.geoms
        .get(r)
        .and_then(|g| g.as_ref())
        .map(|g| wkt(&geo_types::Geometry::MultiPolygon(g.clone())))
}

/// Rows of a system table from text values in field order.
fn system_rows(table: &str, values: &[Vec<Option<String>>]) -> Rows {
    let def = registry().table(table).expect("system table in the schema");
    let mut rows = Rows::new(def);
    for v in values {
        for (j, col) in rows.columns.iter_mut().enumerate() {
            let x = v.get(j).cloned().flatten();
            match col {
                Column::Text(c) => c.push(x.as_deref()),
                Column::Int(c) => c.push(x.and_then(|s| s.parse().ok())),
                Column::Real(c) => c.push(x.and_then(|s| s.parse().ok())),
            }
        }
    }
    rows
}

/// A review row to write.
struct ReviewRow {
    conflict_id: String,
    table: String,
    system: String,
    src_key: String,
    record_json: String,
    geom_wkt: Option<String>,
    status: &'static str,
}

fn policy_of(plan: &crate::Plan) -> Result<Policy, RunError> {
    let m = &plan.merge;
    Policy::new(
        &m.priority,
        m.hold.as_deref(),
        m.geometry_from.as_deref(),
        m.legal_from.as_deref(),
    )
    .map_err(|errs| {
        RunError::Config(
            errs.into_iter()
                .map(|e| crate::ConfigError {
                    file: plan.file.display().to_string(),
                    line: 0,
                    column: 0,
                    message: e.to_string(),
                })
                .collect(),
        )
    })
}

fn finding_of(c: &Conflict, status: Option<&Status>) -> Finding {
    let state_zh = match status {
        Some(Status::Held) => "待审",
        Some(Status::Decided(_)) => "已裁决",
        _ => "仅报告",
    };
    Finding {
        rule_id: c.rule.id(),
        sub_code: "W01".into(),
        severity: Severity::W,
        layer: c.layer.clone(),
        feature_key: c.feature_key.clone(),
        other_key: c.other_key.clone(),
        x: c.at.map(|p| p.0),
        y: c.at.map(|p| p.1),
        geom: c.geom.clone(),
        value: c.value,
        tolerance: None,
        message_zh: format!(
            "合库冲突 {} {}: {} ({state_zh}, {})",
            c.rule,
            c.rule.title_zh(),
            c.detail,
            c.id
        ),
        message_en: format!(
            "merge conflict {} {}: {} ({}, {})",
            c.rule,
            c.rule.title_en(),
            c.detail,
            status.map_or("reported", Status::as_str),
            c.id
        ),
    }
}

pub(crate) fn merge(
    plan: &crate::Plan,
    run_id: &str,
    ingested: &mut [Ingested],
    mut reg: Option<&mut (dyn Registry + 'static)>,
    opts: &MergeOptions,
) -> Result<MergeOutput, RunError> {
    let run_id = run_id.to_string();
    let policy = policy_of(plan)?;
    let sheet_io = |p: &std::path::Path, message: String| RunError::Io {
        path: p.display().to_string(),
        message,
    };
    // the sheet is read before anything else, so that a broken one fails fast
    let sheet_rows = match (&opts.decisions, reg.is_some()) {
        (Some(p), true) => Some(cadastra_merge::sheet::read(p).map_err(|e| {
            sheet_io(
                p,
                format!("decisions not applied, the registry was not touched: {e}"),
            )
        })?),
        _ => None,
    };
    let mut notes: Vec<String> = Vec::new();
    if opts.decisions.is_some() && reg.is_none() {
        notes.push("--decisions is ignored when the registry is not written".into());
    }

    // ---- 1. re-key
    let mut crosswalk = Rows::new(registry().table("key_crosswalk").expect("system table"));
    // per source, per target: (row, key type, old, new) of the re-keying
    use crate::run::Rekeyed;
    let mut xws: Vec<Vec<Rekeyed>> = Vec::new();
    for ing in ingested.iter_mut() {
        let mut per = Vec::new();
        for mt in &mut ing.mapped {
            per.push(rekey(&mut mt.rows, &mt.table, reg.is_some()));
        }
        xws.push(per);
    }

    // ---- 2. what the registry holds
    let incoming_tables: BTreeSet<String> = ingested
        .iter()
        .flat_map(|i| i.mapped.iter().map(|m| m.table.clone()))
        .collect();
    let mut reg_tables: Vec<(&'static TableDef, Vec<i64>, Rows)> = Vec::new();
    let mut stored_rows: Option<(Vec<i64>, Rows)> = None;
    let mut review_rows: Option<(Vec<i64>, Rows)> = None;
    if let Some(r) = reg.as_mut() {
        for t in tables_to_read(&incoming_tables) {
            let def = registry().table(&t).expect("registry table");
            let (fids, rows) = r.read_table(&t)?;
            if !rows.is_empty() {
                reg_tables.push((def, fids, rows));
            }
        }
        stored_rows = Some(r.read_table("conflicts")?);
        review_rows = Some(r.read_table("review")?);
    }
    let cdef = registry().table("conflicts").expect("conflicts table");
    let rdef = registry().table("review").expect("review table");
    let mut stored: HashMap<String, (usize, Stored)> = HashMap::new();
    if let Some((_, rows)) = &stored_rows {
        for r in 0..rows.len() {
            let get = |f: &str| text_at(rows, cdef, f, r);
            let Some(id) = get("conflict_id") else {
                continue;
            };
            let policy_made = get("decided_by").is_some_and(|b| b.starts_with("policy"));
            stored.insert(
                id,
                (
                    r,
                    Stored {
                        rule: get("rule_id").unwrap_or_default(),
                        choices: get("choices").unwrap_or_default(),
                        decision: get("decision").filter(|_| !policy_made),
                        decided_by: get("decided_by"),
                        decided_at: get("decided_at"),
                    },
                ),
            );
        }
    }

    // ---- 3. detect and decide (records borrowed)
    let mut inc_map: Vec<(usize, usize)> = Vec::new();
    let mut layers: Vec<Layer<'_>> = Vec::new();
    for (i, ing) in ingested.iter().enumerate() {
        for (j, mt) in ing.mapped.iter().enumerate() {
            inc_map.push((i, j));
            layers.push(Layer {
                origin: Origin::Incoming,
                source: &ing.plan.name,
                def: registry().table(&mt.table).expect("registry table"),
                rows: &mt.rows,
                fids: &[],
            });
        }
    }
    for (def, fids, rows) in &reg_tables {
        layers.push(Layer {
            origin: Origin::Registry,
            source: "registry",
            def,
            rows,
            fids,
        });
    }
    let recs = Records::new(&layers);
    let conflicts = cadastra_merge::detect(
        &recs,
        &policy,
        &DetectOptions {
            unmask: opts.unmask,
        },
    );
    let mut decisions: HashMap<String, Decision> = HashMap::new();
    for c in &conflicts {
        let Some((_, s)) = stored.get(&c.id) else {
            continue;
        };
        let Some(d) = &s.decision else { continue };
        match c.choices.iter().find(|ch| ch.to_string().eq_ignore_ascii_case(d)) {
            Some(ch) => {
                decisions.insert(
                    c.id.clone(),
                    Decision {
                        choice: ch.clone(),
                        decided_by: s.decided_by.clone().unwrap_or_default(),
                        decided_at: s.decided_at.clone().unwrap_or_default(),
                        origin: DecisionOrigin::Stored,
                    },
                );
            }
            None => notes.push(format!(
                "conflict {}: the stored decision {d:?} is no longer one of its choices ({}); it is held again",
                c.id,
                cadastra_merge::conflict::choices_text(&c.choices)
            )),
        }
    }
    if let (Some(rows), Some(path)) = (&sheet_rows, &opts.decisions) {
        let st: HashMap<String, Stored> = stored
            .iter()
            .map(|(k, (_, s))| (k.clone(), s.clone()))
            .collect();
        match cadastra_merge::sheet::validate(path, rows, &conflicts, &st, &opts.now) {
            Ok((new, n)) => {
                notes.extend(n);
                decisions.extend(new);
            }
            Err(errs) => {
                return Err(sheet_io(
                    path,
                    format!(
                        "decisions not applied, the registry was not touched ({} problem{}):\n  {}",
                        errs.len(),
                        if errs.len() == 1 { "" } else { "s" },
                        errs.iter()
                            .map(|e| e.to_string())
                            .collect::<Vec<_>>()
                            .join("\n  ")
                    ),
                ))
            }
        }
    }
    let outcome = cadastra_merge::resolve(&recs, &conflicts, &policy, &decisions);

    // everything needed from the borrowed records, owned
    let mut review_new: Vec<ReviewRow> = Vec::new();
    for (r, ids) in &outcome.held {
        let l = recs.layer(*r);
        for id in ids {
            review_new.push(ReviewRow {
                conflict_id: id.clone(),
                table: l.def.name.clone(),
                system: recs.system(*r).to_string(),
                src_key: recs.src_key(*r).unwrap_or_default().to_string(),
                record_json: row_json(l.rows, l.def, r.row as usize),
                geom_wkt: geom_wkt(l.rows, r.row as usize),
                status: "held",
            });
        }
    }
    let mut replace: HashMap<(usize, usize), Vec<(usize, i64)>> = HashMap::new();
    for (r, (fid, old, id)) in &outcome.replace {
        let (i, j) = inc_map[r.layer as usize];
        replace
            .entry((i, j))
            .or_default()
            .push((r.row as usize, *fid));
        let l = recs.layer(*old);
        review_new.push(ReviewRow {
            conflict_id: id.clone(),
            table: l.def.name.clone(),
            system: recs.system(*old).to_string(),
            src_key: recs.src_key(*old).unwrap_or_default().to_string(),
            record_json: row_json(l.rows, l.def, old.row as usize),
            geom_wkt: geom_wkt(l.rows, old.row as usize),
            status: "superseded",
        });
    }
    // records held by earlier runs: rejected now, still held, or loaded (applied)
    let held_before: std::collections::HashSet<(String, String, String)> = review_rows
        .as_ref()
        .map(|(_, rows)| {
            (0..rows.len())
                .filter(|&r| text_at(rows, rdef, "status", r).as_deref() == Some("held"))
                .map(|r| {
                    let g = |f: &str| text_at(rows, rdef, f, r).unwrap_or_default();
                    (g("target_table"), g("src_system"), g("src_key"))
                })
                .collect()
        })
        .unwrap_or_default();
    let mut record_state: HashMap<(String, String, String), &'static str> = HashMap::new();
    if !held_before.is_empty() {
        for (li, l) in layers.iter().enumerate() {
            if l.origin != Origin::Incoming {
                continue;
            }
            for row in 0..l.rows.len() {
                let r = cadastra_merge::RecordRef::new(li, row);
                let k = (
                    l.def.name.clone(),
                    recs.system(r).to_string(),
                    recs.src_key(r).unwrap_or_default().to_string(),
                );
                if held_before.contains(&k) {
                    let state = if outcome.rejected.contains_key(&r) {
                        "rejected"
                    } else if outcome.held.contains_key(&r) {
                        "held"
                    } else {
                        "applied"
                    };
                    record_state.insert(k, state);
                }
            }
        }
    }
    let mut held_rows: HashMap<(usize, usize), BTreeSet<usize>> = HashMap::new();
    for r in outcome.held.keys() {
        let (i, j) = inc_map[r.layer as usize];
        held_rows.entry((i, j)).or_default().insert(r.row as usize);
    }
    let mut rejected_rows: HashMap<(usize, usize), BTreeMap<usize, (String, String)>> =
        HashMap::new();
    for (r, (id, why)) in &outcome.rejected {
        let (i, j) = inc_map[r.layer as usize];
        let rule = id.get(..8).unwrap_or("MERGE").to_string();
        rejected_rows
            .entry((i, j))
            .or_default()
            .insert(r.row as usize, (rule, why.clone()));
    }
    let mut edits: HashMap<(usize, usize), Vec<cadastra_merge::edit::RowEdit>> = HashMap::new();
    let mut renumbered: Vec<(usize, usize, usize, String, String, &'static str)> = Vec::new();
    for e in &outcome.edits {
        if !recs.is_incoming(e.record) {
            continue;
        }
        let (i, j) = inc_map[e.record.layer as usize];
        if let (Choice::Renumber(_), Some(f), EditValue::Text(new)) = (&e.choice, e.field, &e.value)
        {
            let l = recs.layer(e.record);
            let name = l.def.fields[f].name.as_str();
            let kt = if name == "ZDDM" { "ZDDM" } else { "BDCDYH" };
            let old = recs.text(e.record, name).unwrap_or_default();
            renumbered.push((i, j, e.record.row as usize, old, new.clone(), kt));
        }
        edits
            .entry((i, j))
            .or_default()
            .push((e.record.row as usize, e.field, e.value.clone()));
    }
    let findings: Vec<Finding> = conflicts
        .iter()
        .map(|c| finding_of(c, outcome.status.get(&c.id)))
        .collect();
    let sheet = cadastra_merge::sheet::lines(&conflicts, &outcome.status);
    drop(recs);
    drop(layers);

    // ---- 4. partition every mapped target
    let mut changes = ChangeSet::default();
    let mut recon = Vec::new();
    let mut quarantine_all: Vec<Quarantined> = Vec::new();
    let mut held_total = 0u64;
    for (i, ing) in ingested.iter_mut().enumerate() {
        let system = ing.plan.system.clone();
        let mut per_table_q: BTreeMap<String, u64> = BTreeMap::new();
        for q in &ing.quarantine {
            *per_table_q.entry(q.target.clone()).or_default() += 1;
        }
        for (j, mt) in ing.mapped.iter_mut().enumerate() {
            let def = registry()
                .table(&mt.table)
                .expect("mapped to a registry table");
            if let Some(e) = edits.get(&(i, j)) {
                cadastra_merge::edit::apply(&mut mt.rows, e);
            }
            let existing = match reg.as_mut() {
                Some(r) => r.existing(&mt.table, &system)?,
                None => Default::default(),
            };
            let key_i = def.field_index("src_key").expect("provenance");
            let hash_i = def.field_index("record_hash").expect("provenance");
            let row_i = def.field_index("src_row").expect("provenance");
            let (Column::Text(keys), Column::Text(hashes)) =
                (&mt.rows.columns[key_i], &mt.rows.columns[hash_i])
            else {
                unreachable!("provenance columns are text")
            };
            let held = held_rows.remove(&(i, j)).unwrap_or_default();
            let rejected = rejected_rows.remove(&(i, j)).unwrap_or_default();
            let over: HashMap<usize, i64> = replace
                .remove(&(i, j))
                .unwrap_or_default()
                .into_iter()
                .collect();
            let mut ins = Vec::new();
            let mut upd = Vec::new();
            let mut upd_fids = Vec::new();
            let mut unchanged = 0u64;
            let mut rejected_n = 0u64;
            for r in 0..mt.rows.len() {
                if held.contains(&r) {
                    continue;
                }
                if let Some((rule, why)) = rejected.get(&r) {
                    rejected_n += 1;
                    let src_row = match &mt.rows.columns[row_i] {
                        Column::Int(c) => c[r].unwrap_or(0) as u64,
                        _ => 0,
                    };
                    quarantine_all.push(Quarantined {
                        source: ing.plan.name.clone(),
                        src_file: ing.plan.display_path.clone(),
                        src_row,
                        src_key: keys.get(r).map(str::to_string),
                        target: mt.table.clone(),
                        rule_id: rule.clone(),
                        reason: why.clone(),
                        raw_record: mt.raw_index.get(r).map_or_else(
                            || row_json(&mt.rows, def, r),
                            |&raw| raw_json(&ing.raw, raw),
                        ),
                        raw_geom_wkt: geom_wkt(&mt.rows, r).map(|w| format!("{w} (EPSG:4548)")),
                    });
                    continue;
                }
                if let Some(&fid) = over.get(&r) {
                    upd.push(r);
                    upd_fids.push(fid);
                    continue;
                }
                let k = keys.get(r).unwrap_or_default();
                match existing.get(k) {
                    None => ins.push(r),
                    Some(e) if e.record_hash.as_deref() == hashes.get(r) => unchanged += 1,
                    Some(e) => {
                        upd.push(r);
                        upd_fids.push(e.fid);
                    }
                }
            }
            if reg.is_some() {
                let mut cross = |kt: &str, old: &str, new: &str| {
                    for (col, v) in crosswalk.columns.iter_mut().zip([
                        kt,
                        old,
                        new,
                        mt.table.as_str(),
                        system.as_str(),
                        plan.batch.as_str(),
                        run_id.as_str(),
                    ]) {
                        if let Column::Text(c) = col {
                            c.push(Some(v));
                        }
                    }
                };
                // one row per distinct old key of this target (of the rows written): a county
                // code or unit number shared by many records is one entry of the crosswalk
                let xw = std::mem::take(&mut xws[i][j]);
                let mut done = vec![false; xw.pairs()];
                for &(r, k, p) in &xw.cells {
                    if !done[p as usize] && ins.binary_search(&(r as usize)).is_ok() {
                        done[p as usize] = true;
                        let (old, new) = xw.pair(p);
                        cross(crate::run::REKEYED[k as usize], old, new);
                    }
                }
                for (_, _, r, old, new, kt) in renumbered.iter().filter(|x| x.0 == i && x.1 == j) {
                    if ins.binary_search(r).is_ok() || upd.contains(r) {
                        cross(kt, old, new);
                    }
                }
            }
            held_total += held.len() as u64;
            let read = ing.read_per_target.get(&mt.table).copied().unwrap_or(0);
            let q = per_table_q.remove(&mt.table).unwrap_or(0);
            recon.push(ReconRow {
                source: ing.plan.name.clone(),
                layer: mt.table.clone(),
                read,
                loaded: (ins.len() + upd.len()) as u64,
                unchanged,
                held: held.len() as u64,
                quarantined: q + rejected_n,
            });
            if reg.is_some() {
                // the rows move into the change set (copied only when some stay behind); the
                // mapped layer is not used after the merge
                let all_new = upd.is_empty() && ins.len() == mt.rows.len();
                let emptied = Rows {
                    table: mt.rows.table.clone(),
                    columns: Vec::new(),
                    geoms: Vec::new(),
                };
                let (update_rows, insert) = if all_new {
                    (None, Some(std::mem::replace(&mut mt.rows, emptied)))
                } else {
                    let u = (!upd.is_empty()).then(|| mt.rows.take(&upd));
                    let n = (!ins.is_empty()).then(|| mt.rows.take(&ins));
                    mt.rows = emptied;
                    (u, n)
                };
                changes.tables.push(TableChange {
                    table: mt.table.clone(),
                    delete_where: vec![],
                    delete: vec![],
                    update_fids: upd_fids,
                    update_rows,
                    insert: insert.filter(|r| !r.is_empty()),
                });
            }
        }
        // the records as read are only needed for this source's quarantine entries
        ing.raw = Default::default();
        // quarantined records whose target received no rows at all
        for (table, q) in per_table_q {
            let read = ing.read_per_target.get(&table).copied().unwrap_or(q);
            recon.push(ReconRow {
                source: ing.plan.name.clone(),
                layer: table,
                read,
                loaded: 0,
                unchanged: 0,
                held: 0,
                quarantined: q,
            });
        }
        quarantine_all.append(&mut ing.quarantine);
    }

    // ---- 5. conflicts and review tables: new rows inserted, changed states updated by fid
    let mut conflict_ins: Vec<Vec<Option<String>>> = Vec::new();
    let mut conflict_upd: Vec<(i64, usize, Decision)> = Vec::new();
    for c in &conflicts {
        let st = outcome.status.get(&c.id);
        let decision = match st {
            Some(Status::Decided(d)) => Some(d.clone()),
            _ => None,
        };
        match stored.get(&c.id) {
            None => conflict_ins.push(vec![
                Some(c.id.clone()),
                Some(run_id.clone()),
                Some(c.rule.to_string()),
                Some(c.layer.clone()),
                Some(c.feature_key.clone()),
                c.other_key.clone(),
                Some(c.detail.clone()),
                Some(cadastra_merge::conflict::choices_text(&c.choices)),
                decision.as_ref().map(|d| d.choice.to_string()),
                decision.as_ref().map(|d| d.decided_by.clone()),
                decision.as_ref().map(|d| {
                    if d.decided_at.is_empty() {
                        opts.now.clone()
                    } else {
                        d.decided_at.clone()
                    }
                }),
            ]),
            Some((row, s)) => {
                if let Some(d) = decision {
                    let same = s
                        .decision
                        .as_deref()
                        .is_some_and(|x| x.eq_ignore_ascii_case(&d.choice.to_string()));
                    let policy_again = d.origin == DecisionOrigin::Policy
                        && s.decided_by
                            .as_deref()
                            .is_some_and(|b| b.starts_with("policy"))
                        && s.decision.is_none();
                    if !same && !policy_again {
                        if let Some((fids, _)) = &stored_rows {
                            conflict_upd.push((fids[*row], *row, d));
                        }
                    }
                }
            }
        }
    }
    let mut conflict_change =
        TableChange::inserts("conflicts", system_rows("conflicts", &conflict_ins));
    if let (false, Some((_, rows))) = (conflict_upd.is_empty(), &stored_rows) {
        let idx: Vec<usize> = conflict_upd.iter().map(|x| x.1).collect();
        let mut upd = rows.take(&idx);
        let f = |n: &str| cdef.field_index(n).expect("conflicts field");
        let mut e = Vec::new();
        for (k, (_, _, d)) in conflict_upd.iter().enumerate() {
            e.push((
                k,
                Some(f("decision")),
                EditValue::Text(d.choice.to_string()),
            ));
            e.push((
                k,
                Some(f("decided_by")),
                EditValue::Text(d.decided_by.clone()),
            ));
            let at = if d.decided_at.is_empty() {
                opts.now.clone()
            } else {
                d.decided_at.clone()
            };
            e.push((k, Some(f("decided_at")), EditValue::Text(at)));
        }
        cadastra_merge::edit::apply(&mut upd, &e);
        conflict_change.update_fids = conflict_upd.iter().map(|x| x.0).collect();
        conflict_change.update_rows = Some(upd);
    }
    let mut have: HashMap<(String, String, String, String), (usize, String)> = HashMap::new();
    if let Some((_, rows)) = &review_rows {
        for r in 0..rows.len() {
            let g = |f: &str| text_at(rows, rdef, f, r).unwrap_or_default();
            have.insert(
                (
                    g("conflict_id"),
                    g("target_table"),
                    g("src_system"),
                    g("src_key"),
                ),
                (r, g("status")),
            );
        }
    }
    let mut review_ins: Vec<Vec<Option<String>>> = Vec::new();
    let mut seen_review: BTreeSet<(String, String, String, String)> = BTreeSet::new();
    for rv in &review_new {
        let k = (
            rv.conflict_id.clone(),
            rv.table.clone(),
            rv.system.clone(),
            rv.src_key.clone(),
        );
        if have.contains_key(&k) || !seen_review.insert(k) {
            continue;
        }
        review_ins.push(vec![
            Some(run_id.clone()),
            Some(rv.conflict_id.clone()),
            Some(rv.table.clone()),
            Some(rv.system.clone()),
            Some(rv.src_key.clone()),
            Some(rv.record_json.clone()),
            rv.geom_wkt.clone(),
            Some(rv.status.to_string()),
        ]);
    }
    let mut review_change = TableChange::inserts("review", system_rows("review", &review_ins));
    if let Some((fids, rows)) = &review_rows {
        let mut upd_idx = Vec::new();
        let mut states = Vec::new();
        for r in 0..rows.len() {
            let g = |f: &str| text_at(rows, rdef, f, r).unwrap_or_default();
            if g("status") != "held" {
                continue;
            }
            match record_state.get(&(g("target_table"), g("src_system"), g("src_key"))) {
                Some(&state) if state != "held" => {
                    upd_idx.push(r);
                    states.push(state);
                }
                _ => {}
            }
        }
        if !upd_idx.is_empty() {
            let mut upd = rows.take(&upd_idx);
            let f = rdef.field_index("status").expect("review status");
            let e: Vec<_> = states
                .iter()
                .enumerate()
                .map(|(k, s)| (k, Some(f), EditValue::Text(s.to_string())))
                .collect();
            cadastra_merge::edit::apply(&mut upd, &e);
            review_change.update_fids = upd_idx.iter().map(|&r| fids[r]).collect();
            review_change.update_rows = Some(upd);
        }
    }
    if reg.is_some() {
        changes.tables.push(conflict_change);
        changes.tables.push(review_change);
    }

    // ---- 6. what to tell
    let applied: Vec<serde_json::Value> = conflicts
        .iter()
        .filter_map(|c| match outcome.status.get(&c.id) {
            Some(Status::Decided(d)) if d.origin != DecisionOrigin::Stored => Some(serde_json::json!({
                "conflict_id": c.id,
                "rule": c.rule.as_str(),
                "decision": d.choice.to_string(),
                "decided_by": d.decided_by,
                "decided_at": if d.decided_at.is_empty() { opts.now.clone() } else { d.decided_at.clone() },
                "origin": d.origin,
                "sheet": opts.decisions.as_ref().filter(|_| d.origin == DecisionOrigin::Sheet).map(|p| p.display().to_string()),
            })),
            _ => None,
        })
        .collect();
    if !conflicts.is_empty() {
        let mut by_rule: BTreeMap<&str, usize> = BTreeMap::new();
        for c in &conflicts {
            *by_rule.entry(c.rule.as_str()).or_default() += 1;
        }
        let count = |s: &str| outcome.status.values().filter(|x| x.as_str() == s).count();
        notes.push(format!(
            "merge conflicts: {} ({}); {} held, {} decided, {} reported only; {held_total} records held for review",
            conflicts.len(),
            by_rule
                .iter()
                .map(|(r, n)| format!("{r} {n}"))
                .collect::<Vec<_>>()
                .join(", "),
            count("held"),
            count("decided"),
            count("reported"),
        ));
    }
    let from_sheet = applied.iter().filter(|v| v["origin"] == "sheet").count();
    if from_sheet > 0 {
        notes.push(format!(
            "{from_sheet} decisions applied from the decisions sheet"
        ));
    }
    Ok(MergeOutput {
        changes,
        recon,
        crosswalk: crosswalk_per_key(&crosswalk),
        quarantine: quarantine_all,
        findings,
        conflicts: conflicts.len() as u64,
        decisions_json: (!applied.is_empty())
            .then(|| serde_json::Value::Array(applied).to_string()),
        sheet,
        notes,
    })
}

/// One crosswalk row per legacy key. The merge records a key once per table that holds it (a parcel
/// code re-keyed in the parcels, their rights, owners and houses); these rows are grouped by key
/// type, old key, new key and source system, the tables listed in `tables` (comma-separated, in
/// the order they were met), and ordered by old key, the lookup users make.
fn crosswalk_per_key(rows: &Rows) -> Rows {
    use rayon::prelude::*;
    let def = registry().table("key_crosswalk").expect("system table");
    let text = |name: &str| match def.field_index(name).map(|i| &rows.columns[i]) {
        Some(Column::Text(c)) => c,
        _ => unreachable!("key_crosswalk.{name} is a text field"),
    };
    let (kt, old, new, table, sys) = (
        text("key_type"),
        text("old_key"),
        text("new_key"),
        text("tables"),
        text("src_system"),
    );
    let key = |r: u32| {
        let r = r as usize;
        (old.get(r), kt.get(r), new.get(r), sys.get(r))
    };
    // the input's columns in field order, resolved once (not per cell)
    let src: Vec<&StrColumn> = def.fields.iter().map(|f| text(&f.name)).collect();
    let tables_i = def.field_index("tables").expect("key_crosswalk.tables");
    // sorted on the first 32 bytes of the old key (zero-padded, held beside the row number: no
    // reach into the text columns for most comparisons), the whole key only where those tie
    let prefix = |r: usize| {
        let mut p = [0u8; 32];
        if let Some(k) = old.get(r) {
            let n = k.len().min(32);
            p[..n].copy_from_slice(&k.as_bytes()[..n]);
        }
        p
    };
    let mut order: Vec<([u8; 32], u32)> = (0..rows.len())
        .into_par_iter()
        .map(|r| (prefix(r), r as u32))
        .collect();
    order.par_sort_unstable_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| key(a.1).cmp(&key(b.1)))
            .then(a.1.cmp(&b.1))
    });
    let idx: Vec<u32> = order.into_iter().map(|(_, r)| r).collect();
    let mut out = Rows::new(def);
    let mut i = 0;
    while i < idx.len() {
        let first = idx[i];
        let mut j = i + 1;
        while j < idx.len() && key(idx[j]) == key(first) {
            j += 1;
        }
        let mut tables = String::new();
        for &r in &idx[i..j] {
            if let Some(t) = table.get(r as usize) {
                if !tables.split(',').any(|x| x == t) {
                    if !tables.is_empty() {
                        tables.push(',');
                    }
                    tables.push_str(t);
                }
            }
        }
        let r = first as usize;
        for (k, col) in out.columns.iter_mut().enumerate() {
            let Column::Text(c) = col else {
                unreachable!("key_crosswalk fields are text")
            };
            if k == tables_i {
                c.push((!tables.is_empty()).then_some(tables.as_str()));
            } else {
                c.push(src[k].get(r));
            }
        }
        i = j;
    }
    out
}

/// Write `decisions.csv` and `decisions.xlsx` into the run's output folder.
pub(crate) fn write_sheets(out_dir: &std::path::Path, sheet: &[SheetLine]) -> Result<(), RunError> {
    let io = |e: cadastra_merge::sheet::SheetError| RunError::Io {
        path: out_dir.display().to_string(),
        message: e.to_string(),
    };
    cadastra_merge::sheet::write_csv(&out_dir.join("decisions.csv"), sheet).map_err(io)?;
    cadastra_merge::sheet::write_xlsx(&out_dir.join("decisions.xlsx"), sheet).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crosswalk(rows: &[[&str; 5]]) -> Rows {
        let def = registry().table("key_crosswalk").unwrap();
        let mut out = Rows::new(def);
        for r in rows {
            for (f, col) in def.fields.iter().zip(out.columns.iter_mut()) {
                let Column::Text(c) = col else { unreachable!() };
                c.push(Some(match f.name.as_str() {
                    "key_type" => r[0],
                    "old_key" => r[1],
                    "new_key" => r[2],
                    "tables" => r[3],
                    "src_system" => r[4],
                    "batch_id" => "b",
                    _ => "run",
                }));
            }
        }
        out
    }

    fn rows(r: &Rows) -> Vec<Vec<String>> {
        (0..r.len())
            .map(|i| {
                r.columns
                    .iter()
                    .map(|c| match c {
                        Column::Text(c) => c.get(i).unwrap_or("NULL").to_string(),
                        _ => unreachable!(),
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn one_crosswalk_row_per_legacy_key() {
        let input = crosswalk(&[
            ["ZDDM", "371202B", "370116B", "ZDJBXX", "laiwu"],
            ["BDCDYH", "371202A", "370116A", "ZDJBXX", "laiwu"],
            ["ZDDM", "371202B", "370116B", "JSYDSYQ", "laiwu"],
            ["BDCDYH", "371202A", "370116A", "QLR", "laiwu"],
            ["BDCDYH", "371202A", "370116A", "ZDJBXX", "laiwu"],
            // the same old key from another system, and re-numbered on a collision: kept apart
            ["BDCDYH", "371202A", "370116A", "H", "gangcheng"],
            ["BDCDYH", "371202A", "370116A-2", "H", "laiwu"],
        ]);
        let got = rows(&crosswalk_per_key(&input));
        let want: Vec<Vec<String>> = [
            ["BDCDYH", "371202A", "370116A", "H", "gangcheng"],
            ["BDCDYH", "371202A", "370116A", "ZDJBXX,QLR", "laiwu"],
            ["BDCDYH", "371202A", "370116A-2", "H", "laiwu"],
            ["ZDDM", "371202B", "370116B", "ZDJBXX,JSYDSYQ", "laiwu"],
        ]
        .iter()
        .map(|r| {
            r.iter()
                .map(|s| s.to_string())
                .chain(["b".to_string(), "run".to_string()])
                .collect()
        })
        .collect();
        assert_eq!(got, want);
        assert_eq!(crosswalk_per_key(&crosswalk(&[])).len(), 0);
    }

    #[test]
    fn crosswalk_order_is_by_whole_old_key() {
        // keys that tie on their first 32 bytes, and a key that is a prefix of another
        let long = "3712020010010000000000000000000000";
        let (a, b) = (format!("{long}9"), format!("{long}1"));
        let input = crosswalk(&[
            ["K", &a, "n1", "T", "s"],
            ["K", long, "n2", "T", "s"],
            ["K", &b, "n3", "T", "s"],
            ["K", "371202", "n4", "T", "s"],
            ["K", &b, "n3", "U", "s"],
        ]);
        let got: Vec<(String, String)> = rows(&crosswalk_per_key(&input))
            .into_iter()
            .map(|r| (r[1].clone(), r[3].clone()))
            .collect();
        let want = vec![
            ("371202".to_string(), "T".to_string()),
            (long.to_string(), "T".to_string()),
            (b.clone(), "T,U".to_string()),
            (a.clone(), "T".to_string()),
        ];
        assert_eq!(got, want);
    }
}
