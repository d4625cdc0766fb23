//! Read-only access to a registry GeoPackage for the reports: features in a window (through the
//! R-tree), a feature by its business key, the conflicts table, right holders of units.
//! Identifiers come from the schema only; values are bound.

use crate::ReportError;
use cadastra_io::ddl::q;
use cadastra_io::wkb::{decode_gpkg, Decoded};
use geo_types::MultiPolygon;
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// An open registry, read-only.
pub struct RegistryReader {
    conn: Connection,
    path: PathBuf,
    tables: HashSet<String>,
}

/// One row of the `conflicts` table (schema order).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ConflictRow {
    pub conflict_id: String,
    pub run_id: String,
    pub rule_id: String,
    pub layer: String,
    pub feature_key: String,
    pub other_key: String,
    pub detail: String,
    pub choices: String,
    pub decision: String,
    pub decided_by: String,
    pub decided_at: String,
}

/// A feature's key and geometry.
pub type KeyedGeom = (Option<String>, MultiPolygon<f64>);

fn blob_geom(b: Option<Vec<u8>>) -> Option<MultiPolygon<f64>> {
    match decode_gpkg(&b?).ok()? {
        Decoded::MultiPolygon(mp) => Some(mp),
        Decoded::Point(_) => None,
    }
}

impl RegistryReader {
    pub fn open(path: &Path) -> Result<RegistryReader, ReportError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(ReportError::sqlite(path))?;
        conn.execute_batch("PRAGMA busy_timeout = 30000") // not busy_timeout(): needs SQLite 3.44, Debian 12 has 3.40
            .map_err(ReportError::sqlite(path))?;
        let mut st = conn
            .prepare("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")
            .map_err(ReportError::sqlite(path))?;
        let tables = st
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(ReportError::sqlite(path))?
            .collect::<Result<HashSet<_>, _>>()
            .map_err(ReportError::sqlite(path))?;
        drop(st);
        Ok(RegistryReader {
            conn,
            path: path.to_path_buf(),
            tables,
        })
    }

    pub fn has(&self, table: &str) -> bool {
        self.tables.contains(table)
    }

    fn err(&self) -> impl FnOnce(rusqlite::Error) -> ReportError + '_ {
        ReportError::sqlite(&self.path)
    }

    /// Features of `table` whose envelope meets `env` ([minx, miny, maxx, maxy]), at most `limit`,
    /// with the value of `key_field`.
    pub fn features_in(
        &self,
        table: &str,
        key_field: &str,
        env: [f64; 4],
        limit: usize,
    ) -> Result<Vec<KeyedGeom>, ReportError> {
        let rt = format!("rtree_{table}_geom");
        if !self.has(table) || !self.has(&rt) {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT t.{k}, t.geom FROM {t} t JOIN {r} r ON t.fid = r.id \
             WHERE r.minx <= ?3 AND r.maxx >= ?1 AND r.miny <= ?4 AND r.maxy >= ?2 LIMIT ?5",
            k = q(key_field),
            t = q(table),
            r = q(&rt)
        );
        let mut st = self.conn.prepare_cached(&sql).map_err(self.err())?;
        let rows = st
            .query_map(
                rusqlite::params![env[0], env[1], env[2], env[3], limit as i64],
                |r| {
                    Ok((
                        r.get::<_, Option<String>>(0)?,
                        r.get::<_, Option<Vec<u8>>>(1)?,
                    ))
                },
            )
            .map_err(self.err())?;
        let mut out = Vec::new();
        for row in rows {
            let (k, b) = row.map_err(self.err())?;
            if let Some(g) = blob_geom(b) {
                out.push((k, g));
            }
        }
        Ok(out)
    }

    /// The geometry of the feature whose `key_field` equals `key` (the first one).
    pub fn feature_by_key(
        &self,
        table: &str,
        key_field: &str,
        key: &str,
    ) -> Result<Option<MultiPolygon<f64>>, ReportError> {
        if !self.has(table) {
            return Ok(None);
        }
        let sql = format!(
            "SELECT geom FROM {} WHERE {} = ?1 LIMIT 1",
            q(table),
            q(key_field)
        );
        let mut st = self.conn.prepare_cached(&sql).map_err(self.err())?;
        let b: Option<Option<Vec<u8>>> = st
            .query_row([key], |r| r.get(0))
            .optional()
            .map_err(self.err())?;
        Ok(b.and_then(blob_geom))
    }

    /// Occupied cells (cell_m metres) of a layer's feature centres, from its R-tree.
    pub fn occupied_cells(
        &self,
        table: &str,
        origin: (f64, f64),
        cell_m: f64,
        max_cells: (u32, u32),
    ) -> Result<Vec<(u32, u32)>, ReportError> {
        let rt = format!("rtree_{table}_geom");
        if !self.has(&rt) {
            return Ok(Vec::new());
        }
        let mut st = self
            .conn
            .prepare(&format!("SELECT minx, maxx, miny, maxy FROM {}", q(&rt)))
            .map_err(self.err())?;
        let mut rows = st.query([]).map_err(self.err())?;
        let mut set = HashSet::new();
        while let Some(r) = rows.next().map_err(self.err())? {
            let x = (r.get::<_, f64>(0).map_err(self.err())?
                + r.get::<_, f64>(1).map_err(self.err())?)
                / 2.0;
            let y = (r.get::<_, f64>(2).map_err(self.err())?
                + r.get::<_, f64>(3).map_err(self.err())?)
                / 2.0;
            let cx = ((x - origin.0) / cell_m).floor();
            let cy = ((y - origin.1) / cell_m).floor();
            if cx >= 0.0 && cy >= 0.0 && cx < max_cells.0 as f64 && cy < max_cells.1 as f64 {
                set.insert((cx as u32, cy as u32));
            }
        }
        let mut v: Vec<_> = set.into_iter().collect();
        v.sort_unstable();
        Ok(v)
    }

    /// Extent of a layer from `gpkg_contents` ([minx, miny, maxx, maxy]).
    pub fn extent(&self, table: &str) -> Result<Option<[f64; 4]>, ReportError> {
        let r: Option<[Option<f64>; 4]> = self
            .conn
            .query_row(
                "SELECT min_x, min_y, max_x, max_y FROM gpkg_contents WHERE table_name = ?1",
                [table],
                |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?]),
            )
            .optional()
            .map_err(self.err())?;
        Ok(match r {
            Some([Some(a), Some(b), Some(c), Some(d)]) if a <= c && b <= d => Some([a, b, c, d]),
            _ => None,
        })
    }

    /// Right holders (name, ID number) of the units whose BDCDYH is in `units` or whose first 19
    /// characters (the parcel code) are in `units`. At most `per_key` per key.
    pub fn holders(
        &self,
        units: &HashSet<String>,
        per_key: usize,
    ) -> Result<HashMap<String, Vec<(String, String)>>, ReportError> {
        let mut out: HashMap<String, Vec<(String, String)>> = HashMap::new();
        if units.is_empty() || !self.has("QLR") {
            return Ok(out);
        }
        let mut st = self
            .conn
            .prepare("SELECT BDCDYH, QLRMC, ZJH FROM QLR ORDER BY BDCDYH, SXH")
            .map_err(self.err())?;
        let mut rows = st.query([]).map_err(self.err())?;
        while let Some(r) = rows.next().map_err(self.err())? {
            let Some(unit) = r.get::<_, Option<String>>(0).map_err(self.err())? else {
                continue;
            };
            let hit = if units.contains(&unit) {
                Some(unit.clone())
            } else {
                unit.get(..19)
                    .filter(|p| units.contains(*p))
                    .map(str::to_string)
            };
            if let Some(k) = hit {
                let v = out.entry(k).or_default();
                if v.len() < per_key {
                    v.push((
                        r.get::<_, Option<String>>(1)
                            .map_err(self.err())?
                            .unwrap_or_default(),
                        r.get::<_, Option<String>>(2)
                            .map_err(self.err())?
                            .unwrap_or_default(),
                    ));
                }
            }
        }
        Ok(out)
    }
}

/// Every row of the registry's `conflicts` table (none when the table is absent).
pub fn conflicts(path: &Path) -> Result<Vec<ConflictRow>, ReportError> {
    let r = RegistryReader::open(path)?;
    if !r.has("conflicts") {
        return Ok(Vec::new());
    }
    let mut st = r
        .conn
        .prepare(
            "SELECT conflict_id, run_id, rule_id, layer, feature_key, other_key, detail, choices, \
             decision, decided_by, decided_at FROM conflicts ORDER BY rule_id, layer, feature_key, fid",
        )
        .map_err(r.err())?;
    let rows = st
        .query_map([], |row| {
            let g = |i: usize| -> rusqlite::Result<String> {
                Ok(row.get::<_, Option<String>>(i)?.unwrap_or_default())
            };
            Ok(ConflictRow {
                conflict_id: g(0)?,
                run_id: g(1)?,
                rule_id: g(2)?,
                layer: g(3)?,
                feature_key: g(4)?,
                other_key: g(5)?,
                detail: g(6)?,
                choices: g(7)?,
                decision: g(8)?,
                decided_by: g(9)?,
                decided_at: g(10)?,
            })
        })
        .map_err(r.err())?;
    let v = rows.collect::<Result<Vec<_>, _>>().map_err(r.err())?;
    Ok(v)
}
