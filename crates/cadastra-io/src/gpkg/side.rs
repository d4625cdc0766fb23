//! Side files of a new registry: work done on another core into a file of its own, then copied
//! into the registry.
//!
//! SQLite has one writer per file. While the main connection builds the indexes of a new
//! registry, a second thread builds the R-trees (`rtree.rs`) the bulk build (`bulk.rs`) has not
//! written, those of tables under its row threshold, in `<registry>.partial.w0`; the main
//! connection then attaches that file and copies the R-trees' shadow tables (`_node`, `_rowid`,
//! `_parent`) in as they are. Side files go with the partial file: removed when the build ends
//! either way, and by the next `open` when a run was killed.
//!
//! Tried and dropped (measured on the 1M world): rows inserted by several
//! connections into side files and transferred (`INSERT INTO t SELECT * FROM side.t`) — the copy
//! costs more than half of the insert, and the whole pipeline's write got slower (51 → 57 s).

use super::{rtree, rtree_create, sql_err};
use crate::ddl::q;
use crate::registry::RegistryError;
use rusqlite::Connection;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Bounding boxes of inserted geometries by fid, per table (for the R-tree bulk load).
pub(super) type Boxes = HashMap<String, Vec<(i64, [f64; 4])>>;

/// Side file `k` next to the partial registry.
pub(super) fn side_path(partial: &Path, k: usize) -> PathBuf {
    let mut p = partial.as_os_str().to_owned();
    p.push(format!(".w{k}"));
    PathBuf::from(p)
}

/// Side files a killed run may have left next to `partial`.
pub(super) fn stale_sides(partial: &Path) -> Vec<PathBuf> {
    let (Some(dir), Some(name)) = (partial.parent(), partial.file_name()) else {
        return vec![];
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let prefix = format!("{}.w", name.to_string_lossy());
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| {
                    e.file_name()
                        .to_str()
                        .and_then(|n| n.strip_prefix(&prefix))
                        .is_some_and(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()))
                })
                .map(|e| dir.join(e.file_name()))
                .collect()
        })
        .unwrap_or_default()
}

/// Build the R-trees of `tables` from `boxes` in a new side file at `path` (same page size as the
/// registry, so the same node size).
pub(super) fn write_rtrees(
    path: &Path,
    tables: &[String],
    mut boxes: Boxes,
) -> Result<(), RegistryError> {
    let _ = std::fs::remove_file(path);
    let conn = Connection::open(path).map_err(sql_err(path, "-"))?;
    conn.execute_batch(
        "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA page_size = 4096;
         PRAGMA cache_size = -100000; BEGIN",
    )
    .map_err(sql_err(path, "-"))?;
    for t in tables {
        conn.execute_batch(&rtree_create(t))
            .map_err(sql_err(path, t))?;
        let mut b = boxes.remove(t).unwrap_or_default();
        rtree::bulk_load(&conn, &format!("rtree_{t}_geom"), &mut b).map_err(sql_err(path, t))?;
    }
    conn.execute_batch("COMMIT").map_err(sql_err(path, "-"))?;
    conn.close().map_err(|(_, e)| sql_err(path, "-")(e))?;
    Ok(())
}

/// Replace the (empty) R-trees of `tables` by those built in the side file at `side`: their
/// shadow tables are copied as they are (SQLite's transfer of identical tables).
pub(super) fn transfer_rtrees(
    conn: &Connection,
    partial: &Path,
    side: &Path,
    tables: &[String],
) -> Result<(), RegistryError> {
    // ATTACH and DETACH are refused inside a transaction
    conn.execute("ATTACH DATABASE ?1 AS side", [side.to_string_lossy()])
        .map_err(sql_err(side, "-"))?;
    let r = (|| {
        conn.execute_batch("BEGIN").map_err(sql_err(partial, "-"))?;
        for t in tables {
            for shadow in ["node", "rowid", "parent"] {
                let st = q(&format!("rtree_{t}_geom_{shadow}"));
                conn.execute_batch(&format!(
                    "DELETE FROM main.{st}; INSERT INTO main.{st} SELECT * FROM side.{st};"
                ))
                .map_err(sql_err(partial, t))?;
            }
        }
        conn.execute_batch("COMMIT").map_err(sql_err(partial, "-"))
    })();
    if r.is_err() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    conn.execute_batch("DETACH DATABASE side")
        .map_err(sql_err(side, "-"))?;
    r
}
