//! What every registry backend offers: read what is there, apply one change set atomically.

use cadastra_model::Rows;
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{path}: {message}")]
    Path { path: String, message: String },
    #[error("{path}: not a cadastra registry: {reason}")]
    Foreign { path: String, reason: String },
    #[error("registry {path}: {message}")]
    Locked { path: String, message: String },
    #[error("registry {target}: table {table}: {source}")]
    Sqlite {
        target: String,
        table: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("registry {target}: {context}")]
    Postgres {
        target: String,
        context: String,
        #[source]
        source: postgres::Error,
    },
    #[error("registry {target}: table {table} row {row}: {message}")]
    Data {
        target: String,
        table: String,
        row: usize,
        message: String,
    },
}

/// A row already in the registry, found by its provenance key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingRow {
    pub fid: i64,
    pub record_hash: Option<String>,
}

/// Changes to one table, applied in the order delete, update, insert.
#[derive(Debug, Clone)]
pub struct TableChange {
    pub table: String,
    /// delete the rows whose fields equal these values (all conditions must hold)
    pub delete_where: Vec<Vec<(String, String)>>,
    pub delete: Vec<i64>,
    /// (fid, row index into `update_rows`)
    pub update_fids: Vec<i64>,
    pub update_rows: Option<Rows>,
    pub insert: Option<Rows>,
}

impl TableChange {
    pub fn inserts(table: &str, rows: Rows) -> TableChange {
        TableChange {
            table: table.to_string(),
            delete_where: vec![],
            delete: vec![],
            update_fids: vec![],
            update_rows: None,
            insert: Some(rows),
        }
    }
}

/// Everything one run changes; applied in a single transaction or not at all.
#[derive(Debug, Clone, Default)]
pub struct ChangeSet {
    pub tables: Vec<TableChange>,
}

impl ChangeSet {
    /// Rows inserted by all its changes.
    pub fn insert_rows(&self) -> usize {
        self.tables
            .iter()
            .filter_map(|c| c.insert.as_ref())
            .map(|r| r.len())
            .sum()
    }

    /// Whether, applied to empty tables, this change set amounts to its inserts: no delete or
    /// update can reach a row, because none comes after an insert into the same table (a change's
    /// own deletes run before its inserts). A new registry's first load can then write the rows
    /// in bulk and skip the deletes and updates (`cadastra run` deletes a batch's earlier
    /// quarantine and findings before inserting them: nothing, in a new registry).
    pub fn is_plain_load(&self) -> bool {
        let mut inserted: Vec<&str> = Vec::new();
        for c in &self.tables {
            let modifies = c.delete_where.iter().any(|d| !d.is_empty())
                || !c.delete.is_empty()
                || c.update_rows.is_some();
            if modifies && inserted.contains(&c.table.as_str()) {
                return false;
            }
            if c.insert.as_ref().is_some_and(|r| !r.is_empty()) {
                inserted.push(&c.table);
            }
        }
        true
    }
}

/// A registry backend (GeoPackage file or PostGIS database).
pub trait Registry {
    /// "gpkg" or "postgis"
    fn backend(&self) -> &'static str;
    /// Where it is, for messages (the password of a URL is never shown).
    fn target(&self) -> String;
    /// Rows of `table` loaded from `src_system`, keyed by `src_key`.
    fn existing(
        &mut self,
        table: &str,
        src_system: &str,
    ) -> Result<HashMap<String, ExistingRow>, RegistryError>;
    /// All rows of a table with their fids (for matching, exports and reports).
    fn read_table(&mut self, table: &str) -> Result<(Vec<i64>, Rows), RegistryError>;
    /// Row counts per table.
    fn counts(&mut self) -> Result<BTreeMap<String, i64>, RegistryError>;
    /// Apply every change in one transaction: all or nothing.
    fn apply(&mut self, changes: &ChangeSet) -> Result<(), RegistryError>;
    /// Things worth telling the user since the last call (a stale file or schema removed, a
    /// schema to be created, a load that fell back to one connection, ...).
    fn take_notes(&mut self) -> Vec<String> {
        Vec::new()
    }
}
