//! The GeoPackage registry (GPKG 1.2, as GDAL 3.6 writes it), written with rusqlite.
//!
//! A new registry is built aside in `<path>.partial` (journal off; large tables and their indexes
//! written as b-tree pages, `bulk.rs`, the rest inserted; then the other indexes, R-tree bulk build
//! and triggers) and renamed into place when complete. An existing registry is changed inside
//! one `BEGIN IMMEDIATE` transaction with a rollback journal; the R-tree triggers keep the index.
//! Either way a killed run leaves the registry exactly as before or exactly as after.

mod bulk;
mod functions;
pub mod rtree;
mod side;

use crate::ddl::{indexes, q, sqlite_create};
use crate::registry::{ChangeSet, ExistingRow, Registry, RegistryError, TableChange};
use crate::wkb;
use cadastra_model::{registry, Column, Rows, StrColumn, TableDef, TableKind};
use rusqlite::{params, Connection, OpenFlags};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// `PRAGMA application_id` of GeoPackage files ("GPKG").
pub const APPLICATION_ID: i32 = 0x4750_4B47;
/// GeoPackage 1.2, the version GDAL 3.6 writes (R-tree triggers update1-update4).
pub const USER_VERSION: i32 = 10200;

/// The GeoPackage registry at `path`: existing, or to be created on the first `apply`.
pub struct GpkgRegistry {
    path: PathBuf,
    conn: Option<Connection>,
    srs_id: i32,
    srs_wkt: String,
    /// create only these tables (a findings-only GeoPackage); None = the whole registry
    only: Option<Vec<String>>,
    /// things worth telling the user (a stale partial file cleaned up, ...)
    pub notes: Vec<String>,
    /// a new file's large tables are written as b-tree pages (`bulk.rs`)
    bulk: bool,
    /// where the bulk build takes SQLite's lock-byte page to be (tests; None: byte 2^30)
    lock_page: Option<u32>,
}

/// The error of a failed SQLite call on `table` of the file at `path`. Borrows both: the strings
/// are only made when a call fails (this runs twice per inserted row).
fn sql_err<'a>(
    path: &'a Path,
    table: &'a str,
) -> impl FnOnce(rusqlite::Error) -> RegistryError + 'a {
    move |source| RegistryError::Sqlite {
        target: path.display().to_string(),
        table: table.to_string(),
        source,
    }
}

/// The WKT GDAL writes for an EPSG code (what QGIS and GDAL expect to find in gpkg_spatial_ref_sys).
pub fn srs_wkt(epsg: i32) -> Result<(String, String), String> {
    let sr = gdal::spatial_ref::SpatialRef::from_epsg(epsg as u32)
        .map_err(|e| format!("EPSG:{epsg} unknown to GDAL/PROJ: {e}"))?;
    let wkt = sr.to_wkt().map_err(|e| format!("EPSG:{epsg}: {e}"))?;
    let name = sr.name().unwrap_or_else(|| format!("EPSG:{epsg}"));
    Ok((name, wkt))
}

/// Process-wide SQLite settings, applied once before SQLite initialises (later calls are refused
/// by SQLite and ignored): no global memory statistics, which otherwise take a mutex around each
/// of the allocations a bulk load makes per bound value.
pub fn configure_sqlite() {
    static CONFIG: std::sync::Once = std::sync::Once::new();
    CONFIG.call_once(|| {
        // SAFETY: sqlite3_config is called with an int option and an int argument, as
        // SQLITE_CONFIG_MEMSTATUS takes, before this process's code opens a connection; SQLite
        // refuses (SQLITE_MISUSE) without effect when it is already initialised.
        #[allow(unsafe_code)] // rusqlite has no safe wrapper for sqlite3_config
        unsafe {
            rusqlite::ffi::sqlite3_config(
                rusqlite::ffi::SQLITE_CONFIG_MEMSTATUS,
                0 as std::ffi::c_int,
            );
        }
    });
}

impl GpkgRegistry {
    /// Open the registry at `path` if it exists (refusing files that are not cadastra registries),
    /// or prepare to create it. `srs_id` is the EPSG code of the registry's layers (4548).
    pub fn open(path: &Path, srs_id: i32) -> Result<GpkgRegistry, RegistryError> {
        configure_sqlite();
        let perr = |message: String| RegistryError::Path {
            path: path.display().to_string(),
            message,
        };
        let (_, srs_wkt) = srs_wkt(srs_id).map_err(perr)?;
        let mut reg = GpkgRegistry {
            path: path.to_path_buf(),
            conn: None,
            srs_id,
            srs_wkt,
            only: None,
            notes: vec![],
            bulk: true,
            lock_page: None,
        };
        let partial = reg.partial_path();
        for side in side::stale_sides(&partial) {
            if std::fs::remove_file(&side).is_ok() {
                reg.notes.push(format!(
                    "removed {} left by an interrupted run (the registry was not changed by it)",
                    side.display()
                ));
            }
        }
        if partial.exists() {
            std::fs::remove_file(&partial).map_err(|e| {
                perr(format!(
                    "cannot remove stale partial file {}: {e}",
                    partial.display()
                ))
            })?;
            reg.notes.push(format!(
                "removed {} left by an interrupted run (the registry was not changed by it)",
                partial.display()
            ));
        }
        if path.exists() {
            let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE)
                .map_err(|e| perr(format!("cannot open: {e}")))?;
            check_registry(&conn, path)?;
            functions::register(&conn).map_err(sql_err(path, "-"))?;
            conn.execute_batch("PRAGMA busy_timeout = 30000")
                .map_err(sql_err(path, "-"))?;
            reg.conn = Some(conn);
        }
        Ok(reg)
    }

    /// A new GeoPackage holding only some of the schema's tables (e.g. `findings` and
    /// `finding_areas` for `cadastra validate`), replacing any file at `path` on the first apply.
    pub fn create_subset(
        path: &Path,
        srs_id: i32,
        tables: &[&str],
    ) -> Result<GpkgRegistry, RegistryError> {
        if path.exists() {
            std::fs::remove_file(path).map_err(|e| RegistryError::Path {
                path: path.display().to_string(),
                message: format!("cannot replace: {e}"),
            })?;
        }
        let mut reg = GpkgRegistry::open(path, srs_id)?;
        reg.only = Some(tables.iter().map(|t| t.to_string()).collect());
        Ok(reg)
    }

    fn tables(&self) -> impl Iterator<Item = &'static TableDef> + '_ {
        registry()
            .tables
            .iter()
            .filter(move |t| self.only.as_ref().is_none_or(|o| o.contains(&t.name)))
    }

    /// Whether a new file's large tables are written as b-tree pages by every core (the
    /// default) or inserted through SQLite, as an existing file's are (for comparisons).
    pub fn set_bulk(&mut self, on: bool) {
        self.bulk = on;
    }

    /// Test the bulk build's stepping over SQLite's lock-byte page on a small file: pretend the
    /// page is `page` (SQLite then reports exactly that page as never used).
    #[cfg(test)]
    fn set_lock_page(&mut self, page: u32) {
        self.lock_page = Some(page);
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn partial_path(&self) -> PathBuf {
        let mut p = self.path.clone().into_os_string();
        p.push(".partial");
        PathBuf::from(p)
    }

    /// True when the registry file does not exist yet.
    pub fn is_new(&self) -> bool {
        self.conn.is_none()
    }

    /// A connection for building the new file at `path`: no journal, no syncs (the file is
    /// synced once before it is renamed into place), a large page cache.
    fn build_conn(path: &Path) -> Result<Connection, RegistryError> {
        let conn = Connection::open(path).map_err(sql_err(path, "-"))?;
        functions::register(&conn).map_err(sql_err(path, "-"))?;
        conn.execute_batch(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -200000;",
        )
        .map_err(sql_err(path, "-"))?;
        Ok(conn)
    }

    fn create_at(&self, path: &Path) -> Result<Connection, RegistryError> {
        let conn = Self::build_conn(path)?;
        conn.execute_batch(&format!(
            "PRAGMA application_id = {APPLICATION_ID};
             PRAGMA user_version = {USER_VERSION};
             PRAGMA page_size = 4096;"
        ))
        .map_err(sql_err(path, "-"))?;
        conn.execute_batch(CORE_DDL)
            .map_err(sql_err(path, "gpkg core"))?;
        let (name, _) = srs_wkt(self.srs_id).map_err(|m| RegistryError::Path {
            path: path.display().to_string(),
            message: m,
        })?;
        conn.execute(
            "INSERT INTO gpkg_spatial_ref_sys (srs_name, srs_id, organization, organization_coordsys_id, definition, description) VALUES (?1, ?2, 'EPSG', ?2, ?3, ?4)",
            params![name, self.srs_id, self.srs_wkt, "registry CRS (CGCS2000 / 3-degree GK CM 117E)"],
        )
        .map_err(sql_err(path, "gpkg_spatial_ref_sys"))?;
        for t in self.tables() {
            conn.execute_batch(&sqlite_create(t))
                .map_err(sql_err(path, &t.name))?;
            let data_type = if t.geometry.is_some() {
                "features"
            } else {
                "attributes"
            };
            conn.execute(
                "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) VALUES (?1, ?2, ?1, ?3, ?4)",
                params![t.name, data_type, format!("{} {}", t.zh, t.en), t.geometry.map(|_| self.srs_id)],
            )
            .map_err(sql_err(path, &t.name))?;
            if let Some(g) = t.geometry {
                conn.execute(
                    "INSERT INTO gpkg_geometry_columns (table_name, column_name, geometry_type_name, srs_id, z, m) VALUES (?1, 'geom', ?2, ?3, 0, 0)",
                    params![t.name, g.as_str(), self.srs_id],
                )
                .map_err(sql_err(path, &t.name))?;
            }
        }
        // indexes come in finish_new, after the bulk load: one sort instead of a b-tree insert
        // per row
        Ok(conn)
    }

    /// Write the inserts of a new file's large tables as b-tree pages (`bulk.rs`), closing `conn`
    /// for it and opening the file again. Returns the connection, the bounding boxes by fid of the
    /// tables written, and their names; the other tables' changes are left to `apply_table`.
    /// Nothing is written this way unless the change set is a plain load (its deletes and
    /// updates reach no row of the new file, `ChangeSet::is_plain_load`); the bulk-written tables'
    /// deletes and updates are then skipped.
    fn bulk_load(
        &self,
        conn: Connection,
        partial: &Path,
        changes: &ChangeSet,
    ) -> Result<(Connection, side::Boxes, Vec<String>), RegistryError> {
        let mut loads: Vec<bulk::TableLoad> = Vec::new();
        if self.bulk && changes.is_plain_load() {
            let mut names: Vec<&str> = Vec::new();
            for c in &changes.tables {
                if !names.contains(&c.table.as_str()) {
                    names.push(&c.table);
                }
            }
            for name in names {
                let Some(def) = registry().table(name) else {
                    continue;
                };
                let parts: Vec<&Rows> = changes
                    .tables
                    .iter()
                    .filter(|c| c.table == name)
                    .filter_map(|c| c.insert.as_ref())
                    .collect();
                let rows: usize = parts.iter().map(|r| r.len()).sum();
                if rows < bulk::MIN_ROWS || !parts.iter().all(|r| bulk::takes(def, r)) {
                    continue;
                }
                let Some(root) = root_page(&conn, "table", name).map_err(sql_err(partial, name))?
                else {
                    continue;
                };
                // indexes on text columns are created on the empty table and filled by the
                // bulk build; others are built by SQLite after it (`finish_new`)
                let mut filled = Vec::new();
                for ix in indexes(def) {
                    let columns: Option<Vec<usize>> =
                        ix.columns.iter().map(|c| def.field_index(c)).collect();
                    let Some(columns) = columns.filter(|c| bulk::takes_index(&parts, c)) else {
                        continue;
                    };
                    conn.execute_batch(&ix.sql)
                        .map_err(sql_err(partial, name))?;
                    let root = root_page(&conn, "index", &ix.name)
                        .map_err(sql_err(partial, name))?
                        .expect("just created");
                    filled.push(bulk::IndexLoad {
                        name: ix.name,
                        unique: ix.unique,
                        columns,
                        root,
                    });
                }
                // the R-tree too: created empty here, its shadow tables filled by the build
                let rtree = match def.geometry {
                    None => None,
                    Some(_) => {
                        conn.execute_batch(&rtree_ddl(name))
                            .map_err(sql_err(partial, name))?;
                        let root = |t: &str| -> Result<u32, RegistryError> {
                            let shadow = format!("rtree_{name}_geom_{t}");
                            Ok(root_page(&conn, "table", &shadow)
                                .map_err(sql_err(partial, name))?
                                .expect("made with the R-tree"))
                        };
                        Some(bulk::RtreeLoad {
                            node: root("node")?,
                            rowid: root("rowid")?,
                            parent: root("parent")?,
                        })
                    }
                };
                loads.push(bulk::TableLoad {
                    def,
                    root,
                    parts,
                    indexes: filled,
                    rtree,
                });
            }
        }
        if loads.is_empty() {
            return Ok((conn, side::Boxes::new(), vec![]));
        }
        conn.close().map_err(|(_, e)| sql_err(partial, "-")(e))?;
        let boxes = bulk::write(
            partial,
            self.srs_id,
            &loads,
            rayon::current_num_threads(),
            self.lock_page,
        )?;
        let conn = Self::build_conn(partial)?;
        // what SQLite records for an AUTOINCREMENT table once rows are in it
        for l in &loads {
            conn.execute(
                "INSERT INTO sqlite_sequence (name, seq) VALUES (?1, ?2)",
                params![l.def.name, l.rows() as i64],
            )
            .map_err(sql_err(partial, &l.def.name))?;
        }
        let names = loads.iter().map(|l| l.def.name.clone()).collect();
        Ok((conn, boxes, names))
    }

    /// Indexes and R-trees of a new file, after the bulk load. `boxes` holds, per table, the bounding box of every inserted
    /// geometry by fid (collected while inserting): the R-trees are bulk loaded from them
    /// (`rtree.rs`), not filled entry by entry. With `side`, they are built there on a thread of
    /// their own while this connection builds the indexes, and transferred in.
    fn finish_new(
        &self,
        conn: &Connection,
        path: &Path,
        boxes: side::Boxes,
        side: Option<&Path>,
        built: &[String],
    ) -> Result<(), RegistryError> {
        let extents: HashMap<String, [f64; 4]> = boxes
            .iter()
            .filter_map(|(t, b)| extent(b).map(|e| (t.clone(), e)))
            .collect();
        let spatial: Vec<String> = self
            .tables()
            .filter(|t| t.geometry.is_some())
            .map(|t| t.name.clone())
            .collect();
        // the R-trees the bulk build has not made
        let todo: Vec<String> = spatial
            .iter()
            .filter(|t| !built.contains(t))
            .cloned()
            .collect();
        let side = side.filter(|_| !todo.is_empty());
        std::thread::scope(|s| {
            let todo = &todo;
            let (handle, mut boxes) = match side {
                Some(sp) => (
                    Some(s.spawn(move || side::write_rtrees(sp, todo, boxes))),
                    side::Boxes::new(),
                ),
                None => (None, boxes),
            };
            // CREATE INDEX sorts with helper threads, one per core rayon uses (SQLite caps the
            // number)
            let threads = rayon::current_num_threads().saturating_sub(1);
            conn.execute_batch(&format!("PRAGMA threads = {threads}; BEGIN"))
                .map_err(sql_err(path, "-"))?;
            for t in self.tables() {
                for ix in indexes(t) {
                    // the bulk build made and filled some already
                    let made =
                        root_page(conn, "index", &ix.name).map_err(sql_err(path, &t.name))?;
                    if made.is_none() {
                        conn.execute_batch(&ix.sql)
                            .map_err(sql_err(path, &t.name))?;
                    }
                }
            }
            for n in todo {
                conn.execute_batch(&rtree_ddl(n))
                    .map_err(sql_err(path, n))?;
                if handle.is_none() {
                    let mut b = boxes.remove(n).unwrap_or_default();
                    rtree::bulk_load(conn, &format!("rtree_{n}_geom"), &mut b)
                        .map_err(sql_err(path, n))?;
                }
            }
            conn.execute_batch("COMMIT").map_err(sql_err(path, "-"))?;
            if let (Some(h), Some(sp)) = (handle, side) {
                h.join().unwrap_or_else(|_| {
                    Err(RegistryError::Path {
                        path: sp.display().to_string(),
                        message: "the R-tree writer thread panicked".into(),
                    })
                })?;
                side::transfer_rtrees(conn, path, sp, todo)?;
            }
            conn.execute_batch("BEGIN").map_err(sql_err(path, "-"))?;
            for n in &spatial {
                conn.execute_batch(&rtree_triggers(n))
                    .map_err(sql_err(path, n))?;
            }
            update_contents(conn, path, self.only.as_deref(), Some(&extents))?;
            conn.execute_batch("COMMIT").map_err(sql_err(path, "-"))
        })?;
        // planner statistics from a sample of each index (`analysis_limit`): a full ANALYZE reads
        // every row of every index again
        conn.execute_batch("PRAGMA journal_mode = DELETE; PRAGMA analysis_limit = 1000; ANALYZE;")
            .map_err(sql_err(path, "-"))?;
        Ok(())
    }
}

/// The root page of the table or index `name`, if the file has it.
fn root_page(conn: &Connection, kind: &str, name: &str) -> rusqlite::Result<Option<u32>> {
    use rusqlite::OptionalExtension;
    conn.query_row(
        "SELECT rootpage FROM sqlite_master WHERE type = ?1 AND name = ?2",
        [kind, name],
        |r| r.get(0),
    )
    .optional()
}

/// Extent (min x, max x, min y, max y) of a table's boxes.
fn extent(boxes: &[(i64, [f64; 4])]) -> Option<[f64; 4]> {
    let mut it = boxes.iter();
    let mut e = it.next()?.1;
    for (_, b) in it {
        e[0] = e[0].min(b[0]);
        e[1] = e[1].max(b[1]);
        e[2] = e[2].min(b[2]);
        e[3] = e[3].max(b[3]);
    }
    Some(e)
}

/// Extents and last change of the layers in gpkg_contents: from `extents` (a new file, where they
/// were measured while loading) or, for an existing file, from the R-trees.
fn update_contents(
    conn: &Connection,
    path: &Path,
    only: Option<&[String]>,
    extents: Option<&HashMap<String, [f64; 4]>>,
) -> Result<(), RegistryError> {
    for t in registry()
        .tables
        .iter()
        .filter(|t| t.geometry.is_some() && only.is_none_or(|o| o.contains(&t.name)))
    {
        let e = || sql_err(path, &t.name);
        match extents {
            Some(ext) => {
                let b = ext.get(&t.name);
                conn.execute(
                    "UPDATE gpkg_contents SET min_x = ?2, max_x = ?3, min_y = ?4, max_y = ?5, last_change = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE table_name = ?1",
                    params![t.name, b.map(|b| b[0]), b.map(|b| b[1]), b.map(|b| b[2]), b.map(|b| b[3])],
                )
                .map_err(e())?;
            }
            None => {
                let rt = q(&format!("rtree_{}_geom", t.name));
                conn.execute(
                    &format!(
                        "UPDATE gpkg_contents SET min_x = (SELECT min(minx) FROM {rt}), max_x = (SELECT max(maxx) FROM {rt}), min_y = (SELECT min(miny) FROM {rt}), max_y = (SELECT max(maxy) FROM {rt}), last_change = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE table_name = ?1"
                    ),
                    params![t.name],
                )
                .map_err(e())?;
            }
        }
    }
    conn.execute(
        "UPDATE gpkg_contents SET last_change = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE data_type = 'attributes'",
        [],
    )
    .map_err(sql_err(path, "gpkg_contents"))?;
    Ok(())
}

fn check_registry(conn: &Connection, path: &Path) -> Result<(), RegistryError> {
    let foreign = |reason: String| RegistryError::Foreign {
        path: path.display().to_string(),
        reason,
    };
    let app: i32 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(|e| foreign(format!("not an SQLite/GeoPackage file ({e})")))?;
    if app != APPLICATION_ID {
        return Err(foreign(format!("application_id is {app:#x}, not GPKG")));
    }
    for t in &registry().tables {
        let mut stmt = conn
            .prepare(&format!("PRAGMA table_info({})", q(&t.name)))
            .map_err(|e| foreign(e.to_string()))?;
        let cols: Vec<String> = stmt
            .query_map([], |r| r.get::<_, String>(1))
            .map_err(|e| foreign(e.to_string()))?
            .collect::<Result<_, _>>()
            .map_err(|e| foreign(e.to_string()))?;
        if cols.is_empty() {
            return Err(foreign(format!("table {} is missing", t.name)));
        }
        for f in &t.fields {
            if !cols.contains(&f.name) {
                return Err(foreign(format!("table {} lacks column {}", t.name, f.name)));
            }
        }
    }
    Ok(())
}

const CORE_DDL: &str = "
CREATE TABLE gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL, srs_id INTEGER NOT NULL PRIMARY KEY, organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
INSERT INTO gpkg_spatial_ref_sys VALUES ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined cartesian coordinate reference system');
INSERT INTO gpkg_spatial_ref_sys VALUES ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system');
INSERT INTO gpkg_spatial_ref_sys VALUES ('WGS 84 geodetic', 4326, 'EPSG', 4326, 'GEOGCS[\"WGS 84\",DATUM[\"WGS_1984\",SPHEROID[\"WGS 84\",6378137,298.257223563,AUTHORITY[\"EPSG\",\"7030\"]],AUTHORITY[\"EPSG\",\"6326\"]],PRIMEM[\"Greenwich\",0,AUTHORITY[\"EPSG\",\"8901\"]],UNIT[\"degree\",0.0174532925199433,AUTHORITY[\"EPSG\",\"9122\"]],AXIS[\"Latitude\",NORTH],AXIS[\"Longitude\",EAST],AUTHORITY[\"EPSG\",\"4326\"]]', 'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid');
CREATE TABLE gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
  description TEXT DEFAULT '', last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
CREATE TABLE gpkg_geometry_columns (
  table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT uk_gc_table_name UNIQUE (table_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
CREATE TABLE gpkg_extensions (
  table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL, definition TEXT NOT NULL,
  scope TEXT NOT NULL, CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name));
";

/// The R-tree virtual table of layer `t` (the module creates its shadow tables).
fn rtree_create(t: &str) -> String {
    format!(
        "CREATE VIRTUAL TABLE {} USING rtree(id, minx, maxx, miny, maxy);",
        q(&format!("rtree_{t}_geom"))
    )
}

/// The R-tree of layer `t` and its registration as the gpkg_rtree_index extension.
fn rtree_ddl(t: &str) -> String {
    format!(
        "{}
         INSERT INTO gpkg_extensions (table_name, column_name, extension_name, definition, scope)
           VALUES ('{t}', 'geom', 'gpkg_rtree_index', 'http://www.geopackage.org/spec120/#extension_rtree', 'write-only');",
        rtree_create(t)
    )
}

/// The GeoPackage 1.2 R-tree triggers (as GDAL 3.6 writes them).
fn rtree_triggers(t: &str) -> String {
    let rt = format!("rtree_{t}_geom");
    format!(
        r#"CREATE TRIGGER "{rt}_insert" AFTER INSERT ON "{t}" WHEN (new."geom" NOT NULL AND NOT ST_IsEmpty(NEW."geom"))
BEGIN INSERT OR REPLACE INTO "{rt}" VALUES (NEW."fid", ST_MinX(NEW."geom"), ST_MaxX(NEW."geom"), ST_MinY(NEW."geom"), ST_MaxY(NEW."geom")); END;
CREATE TRIGGER "{rt}_update1" AFTER UPDATE OF "geom" ON "{t}" WHEN OLD."fid" = NEW."fid" AND (NEW."geom" NOTNULL AND NOT ST_IsEmpty(NEW."geom"))
BEGIN INSERT OR REPLACE INTO "{rt}" VALUES (NEW."fid", ST_MinX(NEW."geom"), ST_MaxX(NEW."geom"), ST_MinY(NEW."geom"), ST_MaxY(NEW."geom")); END;
CREATE TRIGGER "{rt}_update2" AFTER UPDATE OF "geom" ON "{t}" WHEN OLD."fid" = NEW."fid" AND (NEW."geom" ISNULL OR ST_IsEmpty(NEW."geom"))
BEGIN DELETE FROM "{rt}" WHERE id = OLD."fid"; END;
CREATE TRIGGER "{rt}_update3" AFTER UPDATE ON "{t}" WHEN OLD."fid" != NEW."fid" AND (NEW."geom" NOTNULL AND NOT ST_IsEmpty(NEW."geom"))
BEGIN DELETE FROM "{rt}" WHERE id = OLD."fid"; INSERT OR REPLACE INTO "{rt}" VALUES (NEW."fid", ST_MinX(NEW."geom"), ST_MaxX(NEW."geom"), ST_MinY(NEW."geom"), ST_MaxY(NEW."geom")); END;
CREATE TRIGGER "{rt}_update4" AFTER UPDATE ON "{t}" WHEN OLD."fid" != NEW."fid" AND (NEW."geom" ISNULL OR ST_IsEmpty(NEW."geom"))
BEGIN DELETE FROM "{rt}" WHERE id IN (OLD."fid", NEW."fid"); END;
CREATE TRIGGER "{rt}_delete" AFTER DELETE ON "{t}" WHEN old."geom" NOT NULL
BEGIN DELETE FROM "{rt}" WHERE id = OLD."fid"; END;"#
    )
}

fn insert_sql(def: &TableDef) -> String {
    let mut cols = Vec::new();
    if def.geometry.is_some() {
        cols.push("\"geom\"".to_string());
    }
    cols.extend(def.fields.iter().map(|f| q(&f.name)));
    let marks = vec!["?"; cols.len()].join(",");
    format!(
        "INSERT INTO {} ({}) VALUES ({marks})",
        q(&def.name),
        cols.join(",")
    )
}

fn update_sql(def: &TableDef) -> String {
    let mut sets = Vec::new();
    if def.geometry.is_some() {
        sets.push("\"geom\" = ?".to_string());
    }
    sets.extend(def.fields.iter().map(|f| format!("{} = ?", q(&f.name))));
    format!(
        "UPDATE {} SET {} WHERE fid = ?",
        q(&def.name),
        sets.join(", ")
    )
}

/// Bind row `i` of `rows` (geometry first when the table has one) starting at parameter 1.
///
/// Rows are bound in order, so `stmt` holds row `i - 1`'s values (SQLite keeps bindings across
/// executions): a text value equal to that row's is not bound again. Provenance, batch and run
/// columns repeat on every row, and each bind makes SQLite allocate and copy the text.
fn bind_row(
    stmt: &mut rusqlite::Statement<'_>,
    def: &TableDef,
    rows: &Rows,
    i: usize,
    srs_id: i32,
    blob: &mut Vec<u8>,
) -> rusqlite::Result<usize> {
    let mut p = 1;
    if def.geometry.is_some() {
        match rows.geoms.get(i).and_then(|g| g.as_ref()) {
            Some(g) => {
                if def.geometry == Some(cadastra_model::GeometryType::Point) {
                    let c = g.0.first().and_then(|p| p.exterior().0.first().copied());
                    match c {
                        Some(c) => wkb::gpkg_point(blob, srs_id, c.into()),
                        None => blob.clear(),
                    }
                } else {
                    wkb::gpkg_multipolygon(blob, srs_id, g);
                }
                if blob.is_empty() {
                    stmt.raw_bind_parameter(p, rusqlite::types::Null)?;
                } else {
                    stmt.raw_bind_parameter(p, &blob[..])?;
                }
            }
            None => stmt.raw_bind_parameter(p, rusqlite::types::Null)?,
        }
        p += 1;
    }
    for col in &rows.columns {
        match col {
            Column::Text(c) => {
                if !c.same_as_previous(i) {
                    stmt.raw_bind_parameter(p, c.get(i))?;
                }
            }
            Column::Int(c) => stmt.raw_bind_parameter(p, c[i])?,
            Column::Real(c) => stmt.raw_bind_parameter(p, c[i])?,
        }
        p += 1;
    }
    Ok(p)
}

/// Apply one table's changes. With `boxes` (a new file, whose R-trees are built after the load),
/// the bounding box of every inserted geometry is collected by fid.
fn apply_table(
    conn: &Connection,
    path: &Path,
    srs_id: i32,
    ch: &TableChange,
    boxes: Option<&mut Vec<(i64, [f64; 4])>>,
) -> Result<(), RegistryError> {
    let def = registry()
        .table(&ch.table)
        .ok_or_else(|| RegistryError::Data {
            target: path.display().to_string(),
            table: ch.table.clone(),
            row: 0,
            message: "table not in the registry schema".into(),
        })?;
    let e = || sql_err(path, &def.name);
    for conds in ch.delete_where.iter().filter(|c| !c.is_empty()) {
        let mut sql = format!("DELETE FROM {} WHERE ", q(&def.name));
        for (i, (f, _)) in conds.iter().enumerate() {
            if def.field(f).is_none() {
                return Err(RegistryError::Data {
                    target: path.display().to_string(),
                    table: def.name.clone(),
                    row: 0,
                    message: format!("no field {f}"),
                });
            }
            if i > 0 {
                sql.push_str(" AND ");
            }
            sql.push_str(&format!("{} = ?{}", q(f), i + 1));
        }
        let vals: Vec<&str> = conds.iter().map(|(_, v)| v.as_str()).collect();
        conn.execute(&sql, rusqlite::params_from_iter(vals))
            .map_err(e())?;
    }
    if !ch.delete.is_empty() {
        let mut st = conn
            .prepare(&format!("DELETE FROM {} WHERE fid = ?1", q(&def.name)))
            .map_err(e())?;
        for fid in &ch.delete {
            st.execute([fid]).map_err(e())?;
        }
    }
    let mut blob = Vec::with_capacity(512);
    if let Some(rows) = &ch.update_rows {
        check_shape(def, rows, path)?;
        if rows.len() != ch.update_fids.len() {
            return Err(RegistryError::Data {
                target: path.display().to_string(),
                table: def.name.clone(),
                row: 0,
                message: format!(
                    "{} update rows for {} fids",
                    rows.len(),
                    ch.update_fids.len()
                ),
            });
        }
        let mut st = conn.prepare(&update_sql(def)).map_err(e())?;
        for (i, fid) in ch.update_fids.iter().enumerate() {
            let p = bind_row(&mut st, def, rows, i, srs_id, &mut blob).map_err(e())?;
            st.raw_bind_parameter(p, fid).map_err(e())?;
            st.raw_execute().map_err(e())?;
        }
    }
    if let Some(rows) = &ch.insert {
        check_shape(def, rows, path)?;
        let mut st = conn.prepare(&insert_sql(def)).map_err(e())?;
        let boxes = boxes.filter(|_| def.geometry.is_some());
        match boxes {
            None => {
                for i in 0..rows.len() {
                    bind_row(&mut st, def, rows, i, srs_id, &mut blob).map_err(e())?;
                    st.raw_execute().map_err(e())?;
                }
            }
            Some(boxes) => {
                boxes.reserve(rows.len());
                for i in 0..rows.len() {
                    bind_row(&mut st, def, rows, i, srs_id, &mut blob).map_err(e())?;
                    st.raw_execute().map_err(e())?;
                    if let Some(b) = rows.geoms[i].as_ref().and_then(bbox) {
                        boxes.push((conn.last_insert_rowid(), b));
                    }
                }
            }
        }
    }
    Ok(())
}

/// Bounding box (min x, max x, min y, max y) of a geometry with at least one coordinate.
fn bbox(g: &cadastra_model::Geom) -> Option<[f64; 4]> {
    let mut it =
        g.0.iter()
            .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
            .flat_map(|r| r.0.iter());
    let c = it.next()?;
    let mut b = [c.x, c.x, c.y, c.y];
    for c in it {
        b[0] = b[0].min(c.x);
        b[1] = b[1].max(c.x);
        b[2] = b[2].min(c.y);
        b[3] = b[3].max(c.y);
    }
    Some(b)
}

fn check_shape(def: &TableDef, rows: &Rows, path: &Path) -> Result<(), RegistryError> {
    let bad = |message: String| RegistryError::Data {
        target: path.display().to_string(),
        table: def.name.clone(),
        row: 0,
        message,
    };
    if rows.columns.len() != def.fields.len() {
        return Err(bad(format!(
            "{} columns given, schema has {}",
            rows.columns.len(),
            def.fields.len()
        )));
    }
    if def.geometry.is_some() && rows.geoms.len() != rows.len() {
        return Err(bad(format!(
            "{} geometries for {} rows",
            rows.geoms.len(),
            rows.len()
        )));
    }
    Ok(())
}

impl Registry for GpkgRegistry {
    fn backend(&self) -> &'static str {
        "gpkg"
    }

    fn take_notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }

    fn target(&self) -> String {
        self.path.display().to_string()
    }

    fn existing(
        &mut self,
        table: &str,
        src_system: &str,
    ) -> Result<HashMap<String, ExistingRow>, RegistryError> {
        let Some(conn) = &self.conn else {
            return Ok(HashMap::new());
        };
        let e = sql_err(&self.path, table);
        let mut st = conn
            .prepare(&format!(
                "SELECT src_key, fid, record_hash FROM {} WHERE src_system = ?1",
                q(table)
            ))
            .map_err(e)?;
        let rows = st
            .query_map([src_system], |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Option<String>>(2)?,
                ))
            })
            .map_err(sql_err(&self.path, table))?;
        let mut out = HashMap::new();
        for row in rows {
            let (k, fid, record_hash) = row.map_err(sql_err(&self.path, table))?;
            if let Some(k) = k {
                out.insert(k, ExistingRow { fid, record_hash });
            }
        }
        Ok(out)
    }

    fn read_table(&mut self, table: &str) -> Result<(Vec<i64>, Rows), RegistryError> {
        let def = registry().table(table).ok_or_else(|| RegistryError::Data {
            target: self.target(),
            table: table.into(),
            row: 0,
            message: "table not in the registry schema".into(),
        })?;
        let mut rows = Rows::new(def);
        let mut fids = Vec::new();
        let Some(conn) = &self.conn else {
            return Ok((fids, rows));
        };
        let mut cols = vec!["fid".to_string()];
        if def.geometry.is_some() {
            cols.push("geom".into());
        }
        cols.extend(def.fields.iter().map(|f| q(&f.name)));
        let sql = format!("SELECT {} FROM {} ORDER BY fid", cols.join(","), q(table));
        let e = || sql_err(&self.path, table);
        let mut st = conn.prepare(&sql).map_err(e())?;
        let mut it = st.query([]).map_err(e())?;
        let off = if def.geometry.is_some() { 2 } else { 1 };
        while let Some(r) = it.next().map_err(e())? {
            fids.push(r.get::<_, i64>(0).map_err(e())?);
            if def.geometry.is_some() {
                let b: Option<Vec<u8>> = r.get(1).map_err(e())?;
                let g = match b.map(|b| wkb::decode_gpkg(&b)) {
                    Some(Ok(wkb::Decoded::MultiPolygon(mp))) => Some(mp),
                    Some(Ok(wkb::Decoded::Point(p))) => {
                        Some(geo_types::MultiPolygon(vec![geo_types::Polygon::new(
                            geo_types::LineString(vec![p.0]),
                            vec![],
                        )]))
                    }
                    _ => None,
                };
                rows.geoms.push(g);
            }
            for (j, col) in rows.columns.iter_mut().enumerate() {
                let v = r.get_ref(j + off).map_err(e())?;
                use rusqlite::types::ValueRef;
                match col {
                    Column::Text(c) => match v {
                        ValueRef::Text(t) => c.push(Some(&String::from_utf8_lossy(t))),
                        ValueRef::Integer(i) => c.push(Some(&i.to_string())),
                        ValueRef::Real(x) => c.push(Some(&x.to_string())),
                        _ => c.push(None),
                    },
                    Column::Int(c) => c.push(match v {
                        ValueRef::Integer(i) => Some(i),
                        ValueRef::Real(x) => Some(x as i64),
                        _ => None,
                    }),
                    Column::Real(c) => c.push(match v {
                        ValueRef::Integer(i) => Some(i as f64),
                        ValueRef::Real(x) => Some(x),
                        _ => None,
                    }),
                }
            }
        }
        Ok((fids, rows))
    }

    fn counts(&mut self) -> Result<BTreeMap<String, i64>, RegistryError> {
        let mut out = BTreeMap::new();
        let Some(conn) = &self.conn else {
            return Ok(out);
        };
        for t in self.tables() {
            let n: i64 = conn
                .query_row(&format!("SELECT count(*) FROM {}", q(&t.name)), [], |r| {
                    r.get(0)
                })
                .map_err(sql_err(&self.path, &t.name))?;
            out.insert(t.name.clone(), n);
        }
        Ok(out)
    }

    fn apply(&mut self, changes: &ChangeSet) -> Result<(), RegistryError> {
        match &self.conn {
            None => {
                let partial = self.partial_path();
                let result = (|| {
                    let conn = self.create_at(&partial)?;
                    let (conn, mut boxes, bulk) = self.bulk_load(conn, &partial, changes)?;
                    conn.execute_batch("BEGIN")
                        .map_err(sql_err(&partial, "-"))?;
                    for ch in changes.tables.iter().filter(|c| !bulk.contains(&c.table)) {
                        let b = boxes.entry(ch.table.clone()).or_default();
                        apply_table(&conn, &partial, self.srs_id, ch, Some(b))?;
                    }
                    conn.execute_batch("COMMIT")
                        .map_err(sql_err(&partial, "-"))?;
                    // with a second core, the R-trees are built beside the indexes
                    let rtree_side =
                        (rayon::current_num_threads() > 1).then(|| side::side_path(&partial, 0));
                    self.finish_new(&conn, &partial, boxes, rtree_side.as_deref(), &bulk)?;
                    conn.close().map_err(|(_, e)| sql_err(&partial, "-")(e))?;
                    let f = std::fs::File::open(&partial).map_err(|e| RegistryError::Path {
                        path: partial.display().to_string(),
                        message: e.to_string(),
                    })?;
                    f.sync_all().ok();
                    std::fs::rename(&partial, &self.path).map_err(|e| RegistryError::Path {
                        path: self.path.display().to_string(),
                        message: format!("cannot move the new registry into place: {e}"),
                    })
                })();
                for side in side::stale_sides(&partial) {
                    let _ = std::fs::remove_file(side);
                }
                if result.is_err() {
                    let _ = std::fs::remove_file(&partial);
                    return result;
                }
                let conn = Connection::open(&self.path).map_err(sql_err(&self.path, "-"))?;
                functions::register(&conn).map_err(sql_err(&self.path, "-"))?;
                self.conn = Some(conn);
                Ok(())
            }
            Some(conn) => {
                let path = self.path.clone();
                conn.execute_batch(
                    "PRAGMA journal_mode = DELETE; PRAGMA synchronous = NORMAL; BEGIN IMMEDIATE",
                )
                .map_err(sql_err(&path, "-"))?;
                let r = (|| {
                    for ch in &changes.tables {
                        apply_table(conn, &path, self.srs_id, ch, None)?;
                    }
                    update_contents(conn, &path, None, None)
                })();
                match r {
                    Ok(()) => conn.execute_batch("COMMIT").map_err(sql_err(&path, "-")),
                    Err(e) => {
                        let _ = conn.execute_batch("ROLLBACK");
                        Err(e)
                    }
                }
            }
        }
    }
}

/// Read a text column of a table (helper for tests and reports).
pub fn text_column(rows: &Rows, def: &TableDef, field: &str) -> Option<StrColumn> {
    let i = def.field_index(field)?;
    match &rows.columns[i] {
        Column::Text(c) => Some(c.clone()),
        _ => None,
    }
}

/// Whether a table is one of cadastra's bookkeeping tables.
pub fn is_system(def: &TableDef) -> bool {
    matches!(def.kind, TableKind::System)
}

#[cfg(test)]
mod tests;
