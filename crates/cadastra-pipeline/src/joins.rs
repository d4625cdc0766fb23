//! Declared `[[join]]`s: two sources' records joined on a key with polars (cadastra-tables), the
//! unmatched rows on either side listed (宗地无登记 / 有证无图 candidates) before any rule runs.

use crate::run::{Ingested, RunError};
use crate::spec::JoinSpec;
use cadastra_model::summary::JoinSummary;
use cadastra_model::StrColumn;
use cadastra_tables::normalize::{clean_text, Blanks, TextOptions};
use cadastra_tables::RecordTable;
use std::path::Path;

/// The key column of a source (cleaned, optionally cut to a prefix) and the rows taking part.
fn key_table(
    sources: &[&Ingested],
    field: &str,
    prefix: Option<usize>,
    when: Option<&crate::spec::WhenSpec>,
) -> Result<(RecordTable, Vec<String>), String> {
    let opts = TextOptions {
        blanks: Blanks::Remove,
        ..Default::default()
    };
    let mut col = StrColumn::default();
    let mut src_rows = Vec::new();
    let mut names = Vec::new();
    for ing in sources {
        let raw = &ing.raw;
        let fi = raw
            .field_index(field)
            .ok_or_else(|| format!("source {} has no field {field}", ing.plan.name))?;
        let wi = match when {
            Some(w) => Some(
                raw.field_index(&w.field)
                    .ok_or_else(|| format!("source {} has no field {}", ing.plan.name, w.field))?,
            ),
            None => None,
        };
        for r in 0..raw.len() {
            if let (Some(w), Some(wi)) = (when, wi) {
                let v = raw.columns[wi]
                    .get(r)
                    .and_then(|v| clean_text(v, &opts).0.map(|c| c.into_owned()));
                if !v.is_some_and(|v| w.values.contains(&v)) {
                    continue;
                }
            }
            let k = raw.columns[fi]
                .get(r)
                .and_then(|v| clean_text(v, &opts).0.map(|c| c.into_owned()));
            let k = k.map(|k| match prefix {
                Some(n) => k.chars().take(n).collect::<String>(),
                None => k,
            });
            col.push(k.as_deref());
            src_rows.push(raw.src_rows[r]);
            names.push(ing.plan.name.clone());
        }
    }
    let name = sources
        .iter()
        .map(|i| i.plan.name.as_str())
        .collect::<Vec<_>>()
        .join("+");
    let t = RecordTable::new(name, vec!["key".into()], vec![col], src_rows)
        .map_err(|e| e.to_string())?;
    Ok((t, names))
}

/// Run every declared join; writes `out/joins/<name>-unmatched.csv`.
pub(crate) fn run_joins(
    joins: &[JoinSpec],
    ingested: &[Ingested],
    out_dir: &Path,
) -> Result<Vec<JoinSummary>, RunError> {
    let mut out = Vec::new();
    for j in joins {
        let find = |names: Vec<String>| -> Result<Vec<&Ingested>, RunError> {
            names
                .iter()
                .map(|name| {
                    ingested
                        .iter()
                        .find(|i| &i.plan.name == name)
                        .ok_or_else(|| RunError::Io {
                            path: j.name.clone(),
                            message: format!("join {}: source {name} not read", j.name),
                        })
                })
                .collect()
        };
        let (l, r) = (find(j.left.fields())?, find(j.right.fields())?);
        let err = |m: String| RunError::Io {
            path: format!("[[join]] {}", j.name),
            message: m,
        };
        let (lt, lsrc) = key_table(&l, &j.left_key, j.left_prefix, None).map_err(err)?;
        let (rt, rsrc) =
            key_table(&r, &j.right_key, j.right_prefix, j.right_when.as_ref()).map_err(err)?;
        let res = cadastra_tables::join(&lt, &rt, "key", "key").map_err(|e| err(e.to_string()))?;
        let dir = out_dir.join("joins");
        std::fs::create_dir_all(&dir).map_err(|e| RunError::Io {
            path: dir.display().to_string(),
            message: e.to_string(),
        })?;
        let file = dir.join(format!(
            "{}-unmatched.csv",
            j.name.replace(['/', '\\', ' '], "_")
        ));
        let write = || -> std::io::Result<()> {
            let mut w = csv::Writer::from_path(&file)?;
            w.write_record(["side", "source", "src_row", "key", "meaning"])?;
            for &row in &res.unmatched_left {
                w.write_record([
                    "left",
                    &lsrc[row as usize],
                    &lt.src_rows[row as usize].to_string(),
                    lt.columns[0].get(row as usize).unwrap_or(""),
                    &format!("no {} record with this key", rt.name),
                ])?;
            }
            for &row in &res.unmatched_right {
                w.write_record([
                    "right",
                    &rsrc[row as usize],
                    &rt.src_rows[row as usize].to_string(),
                    rt.columns[0].get(row as usize).unwrap_or(""),
                    &format!("no {} record with this key", lt.name),
                ])?;
            }
            w.flush()
        };
        write().map_err(|e| RunError::Io {
            path: file.display().to_string(),
            message: e.to_string(),
        })?;
        out.push(JoinSummary {
            name: j.name.clone(),
            left: lt.name.clone(),
            right: rt.name.clone(),
            left_rows: lt.len() as u64,
            right_rows: rt.len() as u64,
            pairs: res.pairs.len() as u64,
            unmatched_left: res.unmatched_left.len() as u64,
            unmatched_right: res.unmatched_right.len() as u64,
            null_keys: (res.null_key_left.len() + res.null_key_right.len()) as u64,
            one_to_many: res.multiplicity.one_to_many as u64,
            report: file.display().to_string(),
        });
    }
    Ok(out)
}
