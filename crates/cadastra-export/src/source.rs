//! Reading layers out of a registry: a GeoPackage (read-only, rusqlite) or PostGIS
//! (`cadastra_io::postgis::PgRegistry`, which waits for a running load to finish).

use crate::ExportError;
use cadastra_io::ddl::q;
use cadastra_io::wkb::{decode_gpkg, Decoded};
use cadastra_io::Registry;
use cadastra_model::{registry, Column, Rows, TableDef};
use geo_types::{LineString, MultiPolygon, Polygon};
use rusqlite::{Connection, OpenFlags};
use std::path::Path;

/// Where rows come from.
pub enum Source {
    Gpkg {
        conn: Connection,
        path: String,
    },
    Postgis {
        reg: Box<cadastra_io::postgis::PgRegistry>,
        target: String,
    },
}

impl Source {
    /// Open the registry named by `spec` (a GeoPackage path or a `postgresql://` URL) for reading.
    pub fn open(spec: &str) -> Result<Source, ExportError> {
        if spec.starts_with("postgres://") || spec.starts_with("postgresql://") {
            let reg = cadastra_io::postgis::PgRegistry::connect_wait(
                spec,
                crate::EPSG as i32,
                std::time::Duration::from_secs(60),
            )?;
            let target = reg.target();
            return Ok(Source::Postgis {
                reg: Box::new(reg),
                target,
            });
        }
        let path = Path::new(spec);
        if !path.is_file() {
            return Err(ExportError::Input {
                path: spec.to_string(),
                message: "no such registry file".into(),
            });
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| ExportError::sqlite(spec, "-", e))?;
        conn.execute_batch("PRAGMA busy_timeout = 30000") // not busy_timeout(): needs SQLite 3.44, Debian 12 has 3.40
            .map_err(|e| ExportError::sqlite(spec, "-", e))?;
        let app: i32 = conn
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .map_err(|e| ExportError::Input {
                path: spec.to_string(),
                message: format!("not an SQLite/GeoPackage file ({e})"),
            })?;
        if app != cadastra_io::gpkg::APPLICATION_ID {
            return Err(ExportError::Input {
                path: spec.to_string(),
                message: format!("application_id is {app:#x}, not a GeoPackage"),
            });
        }
        Ok(Source::Gpkg {
            conn,
            path: spec.to_string(),
        })
    }

    pub fn target(&self) -> &str {
        match self {
            Source::Gpkg { path, .. } => path,
            Source::Postgis { target, .. } => target,
        }
    }

    /// Does the registry hold this table?
    pub fn has(&mut self, table: &str) -> Result<bool, ExportError> {
        match self {
            Source::Gpkg { conn, path } => conn
                .query_row(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
                    [table],
                    |r| r.get::<_, i64>(0),
                )
                .map(|n| n > 0)
                .map_err(|e| ExportError::sqlite(path, table, e)),
            Source::Postgis { reg, .. } => Ok(reg.counts()?.contains_key(table)),
        }
    }

    /// Every row of `table` in fid order. Point geometries come back the registry's way: a
    /// one-coordinate ring (see [`point_of`]).
    pub fn read(&mut self, def: &'static TableDef) -> Result<Rows, ExportError> {
        match self {
            Source::Postgis { reg, .. } => Ok(reg.read_table(&def.name)?.1),
            Source::Gpkg { conn, path } => read_gpkg(conn, path, def),
        }
    }
}

fn read_gpkg(conn: &Connection, path: &str, def: &TableDef) -> Result<Rows, ExportError> {
    let e = |x: rusqlite::Error| ExportError::sqlite(path, &def.name, x);
    let mut rows = Rows::new(def);
    let mut cols = Vec::new();
    if def.geometry.is_some() {
        cols.push("geom".to_string());
    }
    cols.extend(def.fields.iter().map(|f| q(&f.name)));
    let sql = format!(
        "SELECT {} FROM {} ORDER BY fid",
        cols.join(","),
        q(&def.name)
    );
    let mut st = conn.prepare(&sql).map_err(e)?;
    let mut it = st.query([]).map_err(e)?;
    let off = usize::from(def.geometry.is_some());
    while let Some(r) = it.next().map_err(e)? {
        if def.geometry.is_some() {
            let b: Option<Vec<u8>> = r.get(0).map_err(e)?;
            rows.geoms.push(match b.map(|b| decode_gpkg(&b)) {
                Some(Ok(Decoded::MultiPolygon(mp))) => Some(mp),
                Some(Ok(Decoded::Point(p))) => Some(MultiPolygon(vec![Polygon::new(
                    LineString(vec![p.0]),
                    vec![],
                )])),
                _ => None,
            });
        }
        use rusqlite::types::ValueRef;
        for (j, col) in rows.columns.iter_mut().enumerate() {
            let v = r.get_ref(j + off).map_err(e)?;
            match col {
                Column::Text(c) => match v {
                    ValueRef::Text(t) => c.push(Some(&String::from_utf8_lossy(t))),
                    ValueRef::Integer(i) => c.push(Some(&i.to_string())),
                    ValueRef::Real(x) => c.push(Some(&cadastra_model::table::format_real(x))),
                    _ => c.push(None),
                },
                Column::Int(c) => c.push(match v {
                    ValueRef::Integer(i) => Some(i),
                    ValueRef::Real(x) => Some(x as i64),
                    ValueRef::Text(t) => std::str::from_utf8(t)
                        .ok()
                        .and_then(|s| s.trim().parse().ok()),
                    _ => None,
                }),
                Column::Real(c) => c.push(match v {
                    ValueRef::Integer(i) => Some(i as f64),
                    ValueRef::Real(x) => Some(x),
                    ValueRef::Text(t) => std::str::from_utf8(t)
                        .ok()
                        .and_then(|s| s.trim().parse().ok()),
                    _ => None,
                }),
            }
        }
    }
    Ok(rows)
}

/// The coordinate of a point stored the registry's way (first coordinate of the first ring).
pub fn point_of(mp: &MultiPolygon<f64>) -> Option<(f64, f64)> {
    let c = mp.0.first()?.exterior().0.first()?;
    (c.x.is_finite() && c.y.is_finite()).then_some((c.x, c.y))
}

/// Tables exported when no `--layer` is given: the registry's data and the findings layers.
pub fn default_layers() -> Vec<&'static TableDef> {
    registry()
        .tables
        .iter()
        .filter(|t| t.is_data() || matches!(t.kind, cadastra_model::TableKind::Findings))
        .collect()
}
