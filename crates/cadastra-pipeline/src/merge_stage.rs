//! Merge stage: incoming mapped layers against the registry and each other.
//!
//! Today: re-keying (371202 → 370116, 371203 → 370117, recorded in the crosswalk) and idempotency
//! (rows already in the registry with the same provenance key and record hash are "unchanged";
//! changed ones are updated by fid; new ones inserted). The reconciliation rows are produced here.

use crate::mapping::Quarantined;
use crate::run::{rekey, Ingested, RunError};
use crate::summary::ReconRow;
use cadastra_io::registry::{ChangeSet, Registry, TableChange};
use cadastra_model::{registry, Column, Finding};
use std::collections::BTreeMap;

/// What the merge stage hands to the write stage.
pub(crate) struct MergeOutput {
    pub changes: ChangeSet,
    pub recon: Vec<ReconRow>,
    /// key_crosswalk rows: key_type, old_key, new_key, table_name, src_system, batch_id, run_id
    pub crosswalk: Vec<Vec<Option<String>>>,
    pub quarantine: Vec<Quarantined>,
    /// MERGE-* findings
    pub findings: Vec<Finding>,
    pub conflicts: u64,
    /// decisions applied from `--decisions` (who decided what), for the audit table
    pub decisions_json: Option<String>,
}

pub(crate) fn merge(
    plan: &crate::Plan,
    run_id: &str,
    ingested: &mut [Ingested],
    mut reg: Option<&mut (dyn Registry + 'static)>,
) -> Result<MergeOutput, RunError> {
    let run_id = run_id.to_string();
    let mut changes = ChangeSet::default();
    let mut recon = Vec::new();
    let mut crosswalk: Vec<Vec<Option<String>>> = Vec::new();
    let mut quarantine_all: Vec<Quarantined> = Vec::new();
    for ing in ingested.iter_mut() {
        let system = ing.plan.system.clone();
        let mut per_table_q: BTreeMap<String, u64> = BTreeMap::new();
        for q in &ing.quarantine {
            *per_table_q.entry(q.target.clone()).or_default() += 1;
        }
        for mt in &mut ing.mapped {
            let def = registry()
                .table(&mt.table)
                .expect("mapped to a registry table");
            let xw = rekey(&mut mt.rows, &mt.table);
            let existing = match reg.as_mut() {
                Some(r) => r.existing(&mt.table, &system)?,
                None => Default::default(),
            };
            let key_i = def.field_index("src_key").expect("provenance");
            let hash_i = def.field_index("record_hash").expect("provenance");
            let (Column::Text(keys), Column::Text(hashes)) =
                (&mt.rows.columns[key_i], &mt.rows.columns[hash_i])
            else {
                unreachable!("provenance columns are text")
            };
            let mut ins = Vec::new();
            let mut upd = Vec::new();
            let mut upd_fids = Vec::new();
            let mut unchanged = 0u64;
            for r in 0..mt.rows.len() {
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
            for (r, kt, old, new) in &xw {
                if ins.binary_search(r).is_ok() {
                    crosswalk.push(vec![
                        Some(kt.to_string()),
                        Some(old.clone()),
                        Some(new.clone()),
                        Some(mt.table.clone()),
                        Some(system.clone()),
                        Some(plan.batch.clone()),
                        Some(run_id.clone()),
                    ]);
                }
            }
            let read = ing.read_per_target.get(&mt.table).copied().unwrap_or(0);
            let q = per_table_q.remove(&mt.table).unwrap_or(0);
            recon.push(ReconRow {
                source: ing.plan.name.clone(),
                layer: mt.table.clone(),
                read,
                loaded: (ins.len() + upd.len()) as u64,
                unchanged,
                held: 0,
                quarantined: q,
            });
            changes.tables.push(TableChange {
                table: mt.table.clone(),
                delete_where: vec![],
                delete: vec![],
                update_fids: upd_fids,
                update_rows: (!upd.is_empty()).then(|| mt.rows.take(&upd)),
                insert: (!ins.is_empty()).then(|| mt.rows.take(&ins)),
            });
        }
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
    Ok(MergeOutput {
        changes,
        recon,
        crosswalk,
        quarantine: quarantine_all,
        findings: Vec::new(),
        conflicts: 0,
        decisions_json: None,
    })
}
