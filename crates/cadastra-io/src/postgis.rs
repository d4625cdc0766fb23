//! The registry in PostgreSQL + PostGIS.
//!
//! One PostgreSQL schema (default `cadastra`, or `?schema=name` in the URL) holds the registry
//! tables, made from the same definition as the GeoPackage (`cadastra_model::registry()`, DDL from
//! [`crate::ddl`]): `fid bigserial`, geometry typed `geometry(MULTIPOLYGON,<srid>)` or
//! `geometry(POINT,<srid>)` with a GiST index, dates as `date`, the unique provenance index.
//!
//! - [`PgRegistry::connect`] opens a session, takes the run lock (a session advisory lock keyed by
//!   the schema name, see [`lock_key`]), installs PostGIS when it is missing and allowed, recognises
//!   the schema (absent, empty, a registry, or foreign: refused) and checks the role's rights, so
//!   that a run fails before it reads its sources, not after.
//! - [`Registry::apply`] runs one transaction: the schema and tables when new, then per table
//!   parameterised deletes, updates (binary COPY into a temporary table, then one `UPDATE … FROM`)
//!   and inserts (binary `COPY … FROM STDIN`, geometry as EWKB); a new registry gets its indexes
//!   after the load, and a large insert into an existing table (≥ 50 000 rows and ≥ a quarter of
//!   the table) drops and rebuilds that table's indexes unless readers hold it. Rows are checked
//!   before the transaction starts (shape, types, dates, NUL, rings PostGIS refuses), and errors
//!   the server finds inside a COPY are reported with their row. The first load of a new registry
//!   (at least [`PARALLEL_MIN_ROWS`] rows, inserts only) goes over several connections into a
//!   staging schema that one final transaction makes the registry (`staged.rs`).
//! - [`Registry::read_table`] returns the rows as the GeoPackage backend does (ordered by fid,
//!   geometry decoded from WKB, points as a one-vertex polygon, dates as ISO text).
//!
//! **Invariant:** the registry changes only inside the one transaction of `apply`; a failed or
//! killed run leaves it as it was (PostgreSQL sequences excepted: fids a failed run drew are not
//! reused, as in any PostgreSQL table). A killed staged first load leaves only its staging schema,
//! which the next `connect` to the registry drops.
//! **Invariant:** values travel only as parameters or COPY data; identifiers come only from the
//! registry schema and pass `ddl::is_identifier` before they are quoted.

mod copy;
mod schema;
mod staged;
pub mod url;

pub use staged::staging_name as staging_schema;

use crate::registry::{ChangeSet, ExistingRow, Registry, RegistryError, TableChange};
use crate::wkb;
use cadastra_model::{registry, Column, FieldType, Rows, TableDef};
use copy::CopyEncoder;
use postgres::types::{ToSql, Type};
use postgres::{Client, NoTls};
use schema::{ident, State};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::str::FromStr;
use std::time::{Duration, Instant};

/// Bytes of COPY data gathered before they are handed to the connection.
const COPY_CHUNK: usize = 1 << 20;
/// Advisory lock serialising `CREATE EXTENSION postgis` between first runs.
const POSTGIS_INSTALL_LOCK: i64 = 0x0CAD_A57A_0000_0001;

/// The registry in a PostgreSQL database with PostGIS. The run lock is held until it is dropped.
///
/// ```no_run
/// use cadastra_io::postgis::PgRegistry;
/// use cadastra_io::registry::{ChangeSet, TableChange};
/// use cadastra_io::Registry;
///
/// let mut reg = PgRegistry::connect("postgresql://cadastra@db.example/registry?schema=laiwu", 4548)?;
/// let parcels = cadastra_model::Rows::new(cadastra_model::registry().table("ZDJBXX").unwrap());
/// reg.apply(&ChangeSet { tables: vec![TableChange::inserts("ZDJBXX", parcels)] })?;
/// println!("{:?}", reg.counts()?);
/// # Ok::<(), cadastra_io::RegistryError>(())
/// ```
pub struct PgRegistry {
    client: Client,
    url: url::RegistryUrl,
    srid: i32,
    state: State,
    /// how to open further connections (the first load of a new registry, `staged.rs`)
    config: postgres::Config,
    /// the schema PostGIS is installed in (on every connection's search path)
    postgis_ns: String,
    /// (connections, fewest rows) of a staged first load
    parallel: (usize, usize),
    /// things worth telling the user (PostGIS installed, schema to be created, ...)
    pub notes: Vec<String>,
}

/// Rows from which the first load of a new registry goes over several connections (`staged.rs`);
/// `CADASTRA_PG_PARALLEL_MIN_ROWS` overrides it.
pub const PARALLEL_MIN_ROWS: usize = 100_000;

/// The session settings of every registry connection: dates as ISO text, no notices.
const SESSION: &str = "SET DateStyle = 'ISO, YMD'; SET client_min_messages = warning";

/// Put `first` (the registry's schema, or a staging schema), then PostGIS's, on the search path.
fn set_search_path(c: &mut Client, first: &str, postgis_ns: &str) -> Result<(), postgres::Error> {
    c.query_one(
        "SELECT set_config('search_path', quote_ident($1) || ', ' || quote_ident($2), false)",
        &[&first, &postgis_ns],
    )
    .map(drop)
}

/// The advisory lock key of a registry schema (what `pg_locks` shows as classid/objid, high and
/// low 32 bits): a run holds it for as long as its connection is open.
pub fn lock_key(schema: &str) -> i64 {
    let h = Sha256::digest(format!("cadastra registry lock: {schema}").as_bytes());
    let mut k = [0u8; 8];
    k.copy_from_slice(&h[..8]);
    i64::from_be_bytes(k)
}

/// A PostgreSQL error as one line: the server's message with its detail and hint, or the chain of
/// causes of a client-side error (the driver's own `Display` shows only "db error").
pub(crate) fn describe(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut s = db.message().to_string();
        if let Some(d) = db.detail() {
            s.push_str(&format!(" ({d})"));
        }
        if let Some(h) = db.hint() {
            s.push_str(&format!("; hint: {h}"));
        }
        return s;
    }
    let mut parts = Vec::new();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        parts.push(s.to_string());
        src = s.source();
    }
    if parts.is_empty() {
        e.to_string()
    } else {
        parts.join(": ")
    }
}

/// Maps a driver error to `RegistryError::Postgres`; allocates only when there is an error.
fn pg_err<'a>(
    target: &'a str,
    context: &'a str,
) -> impl FnOnce(postgres::Error) -> RegistryError + 'a {
    move |source| RegistryError::Postgres {
        context: format!("{context}: {}", describe(&source)),
        target: target.to_string(),
        source,
    }
}

fn data_err(target: &str, table: &str, row: usize, message: impl Into<String>) -> RegistryError {
    RegistryError::Data {
        target: target.into(),
        table: table.into(),
        row,
        message: message.into(),
    }
}

fn table_def(target: &str, table: &str) -> Result<&'static TableDef, RegistryError> {
    registry()
        .table(table)
        .ok_or_else(|| data_err(target, table, 0, "table not in the registry schema"))
}

/// How long `connect` waits for the run lock. The server releases a session's advisory lock
/// when its backend process ends, which trails the client's disconnect by a few milliseconds
/// (longer after a killed client, until the server notices the closed socket): a run that starts
/// right after another ended must not be refused for that.
pub const LOCK_GRACE: Duration = Duration::from_secs(2);

impl PgRegistry {
    /// Connect to the registry at `url` (`postgresql://user@host:port/db[?schema=name]`) whose
    /// geometries are in EPSG `srid`, and take its run lock; a second run against the same schema
    /// gets `RegistryError::Locked` after a grace of [`LOCK_GRACE`].
    pub fn connect(url: &str, srid: i32) -> Result<PgRegistry, RegistryError> {
        Self::connect_wait(url, srid, LOCK_GRACE)
    }

    /// As [`PgRegistry::connect`], but wait up to `wait` for another run to release the lock.
    pub fn connect_wait(url: &str, srid: i32, wait: Duration) -> Result<PgRegistry, RegistryError> {
        let url = url::parse(url).map_err(|message| RegistryError::Path {
            path: url::shown(url),
            message,
        })?;
        let target = url.display.clone();
        let path_err = |message: String| RegistryError::Path {
            path: target.clone(),
            message,
        };
        let mut config = postgres::Config::from_str(&url.connect)
            .map_err(|e| path_err(format!("invalid connection URL: {}", describe(&e))))?;
        if config.get_application_name().is_none() {
            config.application_name("cadastra");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(15));
        }
        let mut client = config.connect(NoTls).map_err(|e| {
            let tls = if config.get_ssl_mode() == postgres::config::SslMode::Require {
                " (this build connects without TLS: use sslmode=disable or prefer)"
            } else {
                ""
            };
            pg_err(&target, &format!("cannot connect{tls}"))(e)
        })?;
        client
            .batch_execute(SESSION)
            .map_err(pg_err(&target, "setting up the session"))?;
        take_lock(&mut client, &target, &url.schema, wait)?;
        let mut notes = Vec::new();
        // an interrupted first load's staging schema (no load of this registry runs: we hold its lock)
        match staged::drop_stale(&mut client, &url.schema) {
            Ok(note) => notes.extend(note),
            Err(m) => notes.push(format!(
                "cannot remove the staging schema of an interrupted load ({}): {m}",
                staged::staging_name(&url.schema)
            )),
        }
        let encoding: String = client
            .query_one("SELECT current_setting('server_encoding')", &[])
            .and_then(|r| r.try_get(0))
            .map_err(pg_err(&target, "reading the database encoding"))?;
        if encoding != "UTF8" {
            notes.push(format!(
                "the database encoding is {encoding}, not UTF8: text it cannot hold will make the load fail"
            ));
        }
        let postgis_ns = ensure_postgis(&mut client, &target, &mut notes)?;
        set_search_path(&mut client, &url.schema, &postgis_ns)
            .map_err(pg_err(&target, "setting the search path"))?;
        let problem = |p: schema::Problem| match p {
            schema::Problem::Foreign(reason) => RegistryError::Foreign {
                path: target.clone(),
                reason,
            },
            schema::Problem::Rights(message) => RegistryError::Path {
                path: target.clone(),
                message,
            },
            schema::Problem::Db(what, e) => pg_err(&target, what)(e),
        };
        let state = schema::inspect(&mut client, &url.schema, srid).map_err(problem)?;
        schema::check_rights(&mut client, &url.schema, state).map_err(problem)?;
        match state {
            State::Absent => notes.push(format!(
                "schema {} will be created by the first load",
                url.schema
            )),
            State::Empty => notes.push(format!(
                "schema {} is empty: the first load creates the tables",
                url.schema
            )),
            State::Registry => {}
        }
        let min_rows = std::env::var("CADASTRA_PG_PARALLEL_MIN_ROWS")
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(PARALLEL_MIN_ROWS);
        Ok(PgRegistry {
            client,
            url,
            srid,
            state,
            config,
            postgis_ns,
            parallel: (rayon::current_num_threads().min(4), min_rows),
            notes,
        })
    }

    /// The first load of a new registry with at least `min_rows` rows goes over `connections`
    /// connections into a staging schema made the registry in one final transaction (default:
    /// one connection per worker thread up to 4, [`PARALLEL_MIN_ROWS`]); 1 connection loads in
    /// one transaction.
    pub fn set_parallel_load(&mut self, connections: usize, min_rows: usize) {
        self.parallel = (connections.max(1), min_rows);
    }

    /// The PostgreSQL schema holding the registry.
    pub fn schema(&self) -> &str {
        &self.url.schema
    }

    /// True until the first `apply` has created the registry tables.
    pub fn is_new(&self) -> bool {
        self.state != State::Registry
    }

    /// `"schema"."table"`, both checked.
    fn qualified(&self, table: &str) -> Result<String, RegistryError> {
        let t = ident(table).map_err(|m| data_err(&self.url.display, table, 0, m))?;
        let s = ident(&self.url.schema).map_err(|m| data_err(&self.url.display, table, 0, m))?;
        Ok(format!("{s}.{t}"))
    }
}

fn take_lock(
    client: &mut Client,
    target: &str,
    schema: &str,
    wait: Duration,
) -> Result<(), RegistryError> {
    let key = lock_key(schema);
    let deadline = Instant::now() + wait;
    loop {
        let got: bool = client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&key])
            .and_then(|r| r.try_get(0))
            .map_err(pg_err(target, "taking the registry lock"))?;
        if got {
            return Ok(());
        }
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        std::thread::sleep((deadline - now).min(Duration::from_millis(200)));
    }
    let hi = key >> 32 & 0xffff_ffff;
    let lo = key & 0xffff_ffff;
    let holder = client
        .query_opt(
            "SELECT a.pid, coalesce(a.application_name, ''), coalesce(host(a.client_addr), 'this host'),
                    coalesce(a.usename::text, '?'), coalesce(to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS'), '?')
               FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
              WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                AND l.classid::bigint = $1 AND l.objid::bigint = $2 AND l.objsubid = 1
              LIMIT 1",
            &[&hi, &lo],
        )
        .ok()
        .flatten();
    let who = match holder {
        Some(r) => {
            let pid: i32 = r.try_get(0).unwrap_or(0);
            let app: String = r.try_get(1).unwrap_or_default();
            let from: String = r.try_get(2).unwrap_or_default();
            let user: String = r.try_get(3).unwrap_or_default();
            let since: String = r.try_get(4).unwrap_or_default();
            format!(
                " (server process {pid}, application {app:?}, user {user}, from {from}, connected since {since}); \
                 wait for it to finish, or end it with SELECT pg_terminate_backend({pid})"
            )
        }
        None => "; wait for it to finish".to_string(),
    };
    let waited = if wait.is_zero() {
        String::new()
    } else {
        format!(" after waiting {wait:?}")
    };
    Err(RegistryError::Locked {
        path: target.to_string(),
        message: format!("schema {schema} is locked by another cadastra run{waited}{who}"),
    })
}

/// The schema PostGIS lives in; installs the extension when it is missing and the role may.
fn ensure_postgis(
    client: &mut Client,
    target: &str,
    notes: &mut Vec<String>,
) -> Result<String, RegistryError> {
    const FIND: &str =
        "SELECT n.nspname::text FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
                         WHERE e.extname = 'postgis'";
    let found = |client: &mut Client| -> Result<Option<String>, RegistryError> {
        client
            .query_opt(FIND, &[])
            .and_then(|r| r.map(|r| r.try_get(0)).transpose())
            .map_err(pg_err(target, "looking for the PostGIS extension"))
    };
    if let Some(ns) = found(client)? {
        return Ok(ns);
    }
    let who = client
        .query_one("SELECT current_user::text, current_database()::text", &[])
        .map_err(pg_err(target, "reading the current role"))?;
    // both columns are cast to text by the statement, so `get` cannot meet another type
    let (role, dbname): (String, String) = (who.get(0), who.get(1));
    let mut tx = client
        .transaction()
        .map_err(pg_err(target, "installing PostGIS"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&POSTGIS_INSTALL_LOCK])
        .map_err(pg_err(target, "installing PostGIS"))?;
    match tx.batch_execute("CREATE EXTENSION IF NOT EXISTS postgis") {
        Ok(()) => tx.commit().map_err(pg_err(target, "installing PostGIS"))?,
        Err(e) => {
            let code = e.code().cloned();
            let message = describe(&e);
            drop(tx);
            let why = if code == Some(postgres::error::SqlState::INSUFFICIENT_PRIVILEGE) {
                format!(
                    "the PostGIS extension is not installed in database {dbname} and role {role} may not \
                     install it ({message}); ask an administrator to run `CREATE EXTENSION postgis` in database {dbname}"
                )
            } else if code == Some(postgres::error::SqlState::UNDEFINED_FILE)
                || message.contains("is not available")
            {
                format!(
                    "PostGIS is not installed on this PostgreSQL server ({message}); install it (Debian: \
                     postgresql-15-postgis-3), then run `CREATE EXTENSION postgis` in database {dbname}"
                )
            } else {
                format!("the PostGIS extension is missing in database {dbname} and could not be installed: {message}")
            };
            return Err(RegistryError::Path {
                path: target.to_string(),
                message: why,
            });
        }
    }
    notes.push(format!(
        "installed the PostGIS extension in database {dbname}"
    ));
    found(client)?.ok_or_else(|| RegistryError::Path {
        path: target.to_string(),
        message: "CREATE EXTENSION postgis succeeded but the extension is not listed".into(),
    })
}

/// What the checks before the transaction settled for one table change.
struct Planned {
    def: &'static TableDef,
    /// (fid, row of `update_rows`), the last update of a fid winning as in the GeoPackage backend
    updates: Vec<(i64, usize)>,
}

fn plan(target: &str, ch: &TableChange) -> Result<Planned, RegistryError> {
    let def = table_def(target, &ch.table)?;
    for conds in &ch.delete_where {
        if conds.is_empty() {
            return Err(data_err(
                target,
                &def.name,
                0,
                "a delete condition without fields would delete every row",
            ));
        }
        for (f, v) in conds {
            if def.field(f).is_none() {
                return Err(data_err(
                    target,
                    &def.name,
                    0,
                    format!("delete condition: no field {f}"),
                ));
            }
            if v.contains('\0') {
                return Err(data_err(
                    target,
                    &def.name,
                    0,
                    format!("delete condition on {f}: value contains NUL"),
                ));
            }
        }
    }
    let mut updates = Vec::new();
    if !ch.update_fids.is_empty() || ch.update_rows.is_some() {
        let rows = ch.update_rows.as_ref().ok_or_else(|| {
            data_err(
                target,
                &def.name,
                0,
                format!("{} fids to update but no rows", ch.update_fids.len()),
            )
        })?;
        if rows.len() != ch.update_fids.len() {
            return Err(data_err(
                target,
                &def.name,
                0,
                format!(
                    "{} update rows for {} fids",
                    rows.len(),
                    ch.update_fids.len()
                ),
            ));
        }
        copy::check_rows(def, rows)
            .map_err(|(row, m)| data_err(target, &def.name, row, format!("update: {m}")))?;
        let mut last: HashMap<i64, usize> = HashMap::with_capacity(ch.update_fids.len());
        for (i, fid) in ch.update_fids.iter().enumerate() {
            last.insert(*fid, i);
        }
        updates = ch
            .update_fids
            .iter()
            .enumerate()
            .filter(|(i, f)| last[*f] == *i)
            .map(|(i, f)| (*f, i))
            .collect();
    }
    if let Some(rows) = &ch.insert {
        copy::check_rows(def, rows).map_err(|(row, m)| data_err(target, &def.name, row, m))?;
        if def.is_data() {
            // only data tables have the unique (src_system, src_key) index; review and
            // quarantine hold one row per (record, reason)
            check_unique_provenance(def, rows)
                .map_err(|(row, m)| data_err(target, &def.name, row, m))?;
        }
    }
    Ok(Planned { def, updates })
}

/// Duplicate provenance keys within one insert (the unique index would refuse them; found here
/// with their row, also when the index is only built after the load).
fn check_unique_provenance(def: &TableDef, rows: &Rows) -> Result<(), copy::RowProblem> {
    let col = |name: &str| match def.field_index(name).map(|i| &rows.columns[i]) {
        Some(Column::Text(c)) => Some(c),
        _ => None,
    };
    let (Some(sys), Some(key)) = (col("src_system"), col("src_key")) else {
        return Ok(());
    };
    let mut seen: HashMap<(&str, &str), usize> = HashMap::with_capacity(rows.len());
    for i in 0..rows.len() {
        let (Some(s), Some(k)) = (sys.get(i), key.get(i)) else {
            continue;
        };
        if let Some(first) = seen.insert((s, k), i) {
            return Err((
                i,
                format!("provenance key (src_system, src_key) = ({s}, {k}) repeats row {first}"),
            ));
        }
    }
    Ok(())
}

/// Which rows a COPY sends: all rows in order (inserts), (fid, row) pairs (updates), or a range
/// of rows numbered from a first fid (a staged first load).
enum Feed<'a> {
    All(usize),
    Fids(&'a [(i64, usize)]),
    Numbered {
        rows: std::ops::Range<usize>,
        first_fid: i64,
    },
}

impl Feed<'_> {
    fn len(&self) -> usize {
        match self {
            Feed::All(n) => *n,
            Feed::Fids(v) => v.len(),
            Feed::Numbered { rows, .. } => rows.len(),
        }
    }
    fn get(&self, k: usize) -> (Option<i64>, usize) {
        match self {
            Feed::All(_) => (None, k),
            Feed::Fids(v) => (Some(v[k].0), v[k].1),
            Feed::Numbered { rows, first_fid } => (Some(first_fid + k as i64), rows.start + k),
        }
    }
}

/// The row index a server error inside a COPY points at ("COPY t, line 17, column x").
fn copy_line(e: &postgres::Error) -> Option<usize> {
    let w = e.as_db_error()?.where_()?;
    let rest = &w[w.find(", line ")? + 7..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse::<usize>().ok()?.checked_sub(1)
}

#[allow(clippy::too_many_arguments)] // one call site per kind of COPY; a struct would only rename them
fn copy_rows(
    tx: &mut impl postgres::GenericClient,
    target: &str,
    def: &TableDef,
    what: &str,
    sql: &str,
    rows: &Rows,
    feed: Feed<'_>,
    srid: i32,
) -> Result<u64, RegistryError> {
    let fail = |e: postgres::Error| match copy_line(&e).filter(|k| *k < feed.len()) {
        Some(k) => data_err(
            target,
            &def.name,
            feed.get(k).1,
            format!("{what}: {}", describe(&e)),
        ),
        None => pg_err(target, &format!("table {}: {what}", def.name))(e),
    };
    let mut w = tx.copy_in(sql).map_err(fail)?;
    let mut enc = CopyEncoder::new(srid);
    let mut sent = Ok(());
    for k in 0..feed.len() {
        let (fid, i) = feed.get(k);
        enc.row(def, rows, i, fid)
            .map_err(|m| data_err(target, &def.name, i, format!("{what}: {m}")))?;
        if enc.buf.len() >= COPY_CHUNK {
            sent = w.write_all(&enc.buf);
            enc.buf.clear();
            if sent.is_err() {
                break;
            }
        }
    }
    if sent.is_ok() {
        enc.finish();
        sent = w.write_all(&enc.buf);
    }
    match sent {
        Ok(()) => w.finish().map_err(fail),
        Err(io) => match w.finish() {
            // the server's own error explains a failed send best
            Err(e) => Err(fail(e)),
            Ok(_) => Err(RegistryError::Path {
                path: target.to_string(),
                message: format!("table {}: {what}: sending rows failed: {io}", def.name),
            }),
        },
    }
}

/// `"geom", "F1", …` in schema order (the COPY and UPDATE column list).
fn column_list(def: &TableDef, target: &str) -> Result<Vec<String>, RegistryError> {
    let mut cols = Vec::with_capacity(def.fields.len() + 1);
    if def.geometry.is_some() {
        cols.push("geom".to_string());
    }
    for f in &def.fields {
        cols.push(ident(&f.name).map_err(|m| data_err(target, &def.name, 0, m))?);
    }
    Ok(cols)
}

/// Inserts of at least this many rows may rebuild the table's indexes instead of updating them.
const BULK_MIN_ROWS: usize = 50_000;

/// A large insert into an existing table (at least [`BULK_MIN_ROWS`] and a quarter of the rows
/// already there) loads faster with the registry's secondary indexes dropped and rebuilt after it
/// than with every index updated row by row (GiST above all). That needs the table exclusively
/// until commit: if readers hold it for more than a moment the load keeps the indexes instead.
/// Returns the statements that recreate what was dropped.
fn drop_indexes_for_bulk_insert(
    tx: &mut postgres::Transaction<'_>,
    target: &str,
    schema: &str,
    qualified: &str,
    def: &TableDef,
    n: usize,
) -> Result<Vec<String>, RegistryError> {
    if n < BULK_MIN_ROWS {
        return Ok(Vec::new());
    }
    let ctx = format!("table {}: preparing a bulk insert", def.name);
    let have: i64 = tx
        .query_one(&format!("SELECT count(*) FROM {qualified}"), &[])
        .and_then(|r| r.try_get(0))
        .map_err(pg_err(target, &ctx))?;
    if (n as i64).saturating_mul(4) < have {
        return Ok(Vec::new());
    }
    let stmts = schema::index_sql(def, schema).map_err(|m| data_err(target, &def.name, 0, m))?;
    let mut names = Vec::with_capacity(stmts.len());
    for s in &stmts {
        // `CREATE [UNIQUE] INDEX "name" ON …`: the name is the first quoted identifier
        let name = s.split('"').nth(1).unwrap_or_default();
        names.push(ident(name).map_err(|m| data_err(target, &def.name, 0, m))?);
    }
    let s = ident(schema).map_err(|m| data_err(target, &def.name, 0, m))?;
    let mut sp = tx
        .savepoint("cadastra_bulk")
        .map_err(pg_err(target, &ctx))?;
    let locked = sp.batch_execute(&format!(
        "SET LOCAL lock_timeout = '3s'; LOCK TABLE {qualified} IN ACCESS EXCLUSIVE MODE"
    ));
    if locked.is_err() {
        // readers hold the table: roll back to the savepoint and load with the indexes in place
        drop(sp);
        return Ok(Vec::new());
    }
    sp.commit().map_err(pg_err(target, &ctx))?;
    let drops: Vec<String> = names
        .iter()
        .map(|n| format!("DROP INDEX IF EXISTS {s}.{n}"))
        .collect();
    tx.batch_execute(&format!(
        "SET LOCAL lock_timeout TO DEFAULT; SET LOCAL maintenance_work_mem = '256MB'; {}",
        drops.join("; ")
    ))
    .map_err(pg_err(target, &ctx))?;
    Ok(stmts)
}

fn apply_table(
    tx: &mut postgres::Transaction<'_>,
    target: &str,
    (schema, qualified): (&str, &str),
    srid: i32,
    new: bool,
    ch: &TableChange,
    p: &Planned,
) -> Result<(), RegistryError> {
    let def = p.def;
    let name = &def.name;
    for conds in &ch.delete_where {
        let mut sql = format!("DELETE FROM {qualified} WHERE ");
        for (k, (f, _)) in conds.iter().enumerate() {
            // `plan` checked that every field exists in the table definition
            let Some(fd) = def.field(f) else { continue };
            if k > 0 {
                sql.push_str(" AND ");
            }
            let col = ident(f).map_err(|m| data_err(target, name, 0, m))?;
            match fd.ty {
                FieldType::Text => sql.push_str(&format!("{col} = ${}", k + 1)),
                FieldType::Date => sql.push_str(&format!("{col} = CAST(${} AS date)", k + 1)),
                FieldType::Int => sql.push_str(&format!("{col} = CAST(${} AS bigint)", k + 1)),
                FieldType::Real => {
                    sql.push_str(&format!("{col} = CAST(${} AS double precision)", k + 1))
                }
            }
        }
        let shown: Vec<String> = conds.iter().map(|(f, v)| format!("{f} = {v:?}")).collect();
        let ctx = format!("table {name}: deleting rows where {}", shown.join(" and "));
        let st = tx
            .prepare_typed(&sql, &vec![Type::TEXT; conds.len()])
            .map_err(pg_err(target, &ctx))?;
        let vals: Vec<&(dyn ToSql + Sync)> = conds
            .iter()
            .map(|(_, v)| v as &(dyn ToSql + Sync))
            .collect();
        tx.execute(&st, &vals).map_err(pg_err(target, &ctx))?;
    }
    if !ch.delete.is_empty() {
        tx.execute(
            &format!("DELETE FROM {qualified} WHERE fid = ANY($1)"),
            &[&ch.delete],
        )
        .map_err(pg_err(
            target,
            &format!("table {name}: deleting {} rows by fid", ch.delete.len()),
        ))?;
    }
    let cols = column_list(def, target)?;
    if let (false, Some(rows)) = (p.updates.is_empty(), &ch.update_rows) {
        let ctx = format!("table {name}: updating {} rows", p.updates.len());
        tx.batch_execute(&format!(
            "DROP TABLE IF EXISTS pg_temp.cadastra_update;
             CREATE TEMP TABLE cadastra_update (LIKE {qualified}) ON COMMIT DROP"
        ))
        .map_err(pg_err(target, &ctx))?;
        let sql = format!(
            "COPY pg_temp.cadastra_update (fid, {}) FROM STDIN (FORMAT binary)",
            cols.join(", ")
        );
        copy_rows(
            tx,
            target,
            def,
            "update",
            &sql,
            rows,
            Feed::Fids(&p.updates),
            srid,
        )?;
        let sets: Vec<String> = cols.iter().map(|c| format!("{c} = u.{c}")).collect();
        tx.batch_execute(&format!(
            "UPDATE {qualified} AS t SET {} FROM pg_temp.cadastra_update AS u WHERE t.fid = u.fid;
             DROP TABLE pg_temp.cadastra_update",
            sets.join(", ")
        ))
        .map_err(pg_err(target, &ctx))?;
    }
    if let Some(rows) = &ch.insert {
        if !rows.is_empty() {
            // a new registry gets its indexes after the whole load
            let rebuild = if new {
                Vec::new()
            } else {
                drop_indexes_for_bulk_insert(tx, target, schema, qualified, def, rows.len())?
            };
            let sql = format!(
                "COPY {qualified} ({}) FROM STDIN (FORMAT binary)",
                cols.join(", ")
            );
            copy_rows(
                tx,
                target,
                def,
                "insert",
                &sql,
                rows,
                Feed::All(rows.len()),
                srid,
            )?;
            for s in rebuild {
                tx.batch_execute(&s)
                    .map_err(pg_err(target, &format!("table {name}: rebuilding index")))?;
            }
        }
    }
    Ok(())
}

impl Registry for PgRegistry {
    fn backend(&self) -> &'static str {
        "postgis"
    }

    fn target(&self) -> String {
        self.url.display.clone()
    }

    fn existing(
        &mut self,
        table: &str,
        src_system: &str,
    ) -> Result<HashMap<String, ExistingRow>, RegistryError> {
        let target = self.target();
        let def = table_def(&target, table)?;
        if !def.is_data() {
            return Err(data_err(
                &target,
                table,
                0,
                "not a data table: it has no provenance columns",
            ));
        }
        let mut out = HashMap::new();
        if self.is_new() {
            return Ok(out);
        }
        let sql = format!(
            "SELECT src_key, fid, record_hash FROM {} WHERE src_system = $1",
            self.qualified(table)?
        );
        let ctx = format!("table {table}: reading provenance keys");
        let mut it = self
            .client
            .query_raw(&sql, [src_system])
            .map_err(pg_err(&target, &ctx))?;
        while let Some(r) = postgres::fallible_iterator::FallibleIterator::next(&mut it)
            .map_err(pg_err(&target, &ctx))?
        {
            let key: Option<String> = r.try_get(0).map_err(pg_err(&target, &ctx))?;
            let fid: i64 = r.try_get(1).map_err(pg_err(&target, &ctx))?;
            let record_hash: Option<String> = r.try_get(2).map_err(pg_err(&target, &ctx))?;
            if let Some(k) = key {
                out.insert(k, ExistingRow { fid, record_hash });
            }
        }
        Ok(out)
    }

    fn read_table(&mut self, table: &str) -> Result<(Vec<i64>, Rows), RegistryError> {
        let target = self.target();
        let def = table_def(&target, table)?;
        let mut rows = Rows::new(def);
        let mut fids = Vec::new();
        if self.is_new() {
            return Ok((fids, rows));
        }
        let mut cols = vec!["fid".to_string()];
        if def.geometry.is_some() {
            cols.push("ST_AsBinary(geom)".into());
        }
        for f in &def.fields {
            let c = ident(&f.name).map_err(|m| data_err(&target, table, 0, m))?;
            cols.push(if f.ty == FieldType::Date {
                format!("to_char({c}, 'YYYY-MM-DD')")
            } else {
                c
            });
        }
        let sql = format!(
            "SELECT {} FROM {} ORDER BY fid",
            cols.join(", "),
            self.qualified(table)?
        );
        let ctx = format!("table {table}: reading");
        let none: [&(dyn ToSql + Sync); 0] = [];
        let mut it = self
            .client
            .query_raw(&sql, none)
            .map_err(pg_err(&target, &ctx))?;
        let off = if def.geometry.is_some() { 2 } else { 1 };
        while let Some(r) = postgres::fallible_iterator::FallibleIterator::next(&mut it)
            .map_err(pg_err(&target, &ctx))?
        {
            let fid: i64 = r.try_get(0).map_err(pg_err(&target, &ctx))?;
            if def.geometry.is_some() {
                let b: Option<&[u8]> = r.try_get(1).map_err(pg_err(&target, &ctx))?;
                let g = match b.map(wkb::decode_wkb) {
                    None => None,
                    Some(Ok(wkb::Decoded::MultiPolygon(mp))) => Some(mp),
                    Some(Ok(wkb::Decoded::Point(p))) => {
                        Some(geo_types::MultiPolygon(vec![geo_types::Polygon::new(
                            geo_types::LineString(vec![p.0]),
                            vec![],
                        )]))
                    }
                    Some(Err(e)) => {
                        return Err(data_err(
                            &target,
                            table,
                            fids.len(),
                            format!("fid {fid}: geometry: {e}"),
                        ))
                    }
                };
                rows.geoms.push(g);
            }
            for (j, col) in rows.columns.iter_mut().enumerate() {
                let k = j + off;
                match col {
                    Column::Text(c) => c.push(
                        r.try_get::<_, Option<&str>>(k)
                            .map_err(pg_err(&target, &ctx))?,
                    ),
                    Column::Int(c) => c.push(r.try_get(k).map_err(pg_err(&target, &ctx))?),
                    Column::Real(c) => c.push(r.try_get(k).map_err(pg_err(&target, &ctx))?),
                }
            }
            fids.push(fid);
        }
        Ok((fids, rows))
    }

    fn counts(&mut self) -> Result<BTreeMap<String, i64>, RegistryError> {
        let mut out = BTreeMap::new();
        if self.is_new() {
            return Ok(out);
        }
        let target = self.target();
        for t in &registry().tables {
            let n: i64 = self
                .client
                .query_one(
                    &format!("SELECT count(*) FROM {}", self.qualified(&t.name)?),
                    &[],
                )
                .and_then(|r| r.try_get(0))
                .map_err(pg_err(&target, &format!("table {}: counting rows", t.name)))?;
            out.insert(t.name.clone(), n);
        }
        Ok(out)
    }

    fn take_notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }

    fn apply(&mut self, changes: &ChangeSet) -> Result<(), RegistryError> {
        let target = self.target();
        // everything that can be checked is checked before the transaction starts
        let plans = changes
            .tables
            .iter()
            .map(|ch| plan(&target, ch))
            .collect::<Result<Vec<_>, _>>()?;
        let mut qualified = Vec::with_capacity(plans.len());
        for p in &plans {
            qualified.push(self.qualified(&p.def.name)?);
        }
        let new = self.is_new();
        let rows = changes.insert_rows();
        let (connections, min_rows) = self.parallel;
        let inserts_only = changes.is_plain_load()
            && changes
                .tables
                .iter()
                .zip(&plans)
                .all(|(c, p)| c.delete.is_empty() && p.updates.is_empty());
        if new && connections > 1 && rows >= min_rows.max(1) && inserts_only {
            let t = staged::Target {
                display: &self.url.display,
                schema: &self.url.schema,
                postgis_ns: &self.postgis_ns,
                srid: self.srid,
                state: self.state,
                config: &self.config,
            };
            match staged::load(&mut self.client, &t, changes, &plans, connections) {
                Ok(()) => {
                    self.state = State::Registry;
                    return Ok(());
                }
                Err(staged::Outcome::Failed(e)) => return Err(e),
                Err(staged::Outcome::Fallback(why)) => self
                    .notes
                    .push(format!("loading over one connection: {why}")),
            }
        }
        let (schema, srid, state) = (self.url.schema.clone(), self.srid, self.state);
        let mut tx = self
            .client
            .transaction()
            .map_err(pg_err(&target, "starting the transaction"))?;
        if new {
            schema::create_tables(&mut tx, &schema, srid, state).map_err(|m| {
                RegistryError::Path {
                    path: target.clone(),
                    message: format!("creating the registry tables: {m}"),
                }
            })?;
        }
        for ((ch, p), q) in changes.tables.iter().zip(&plans).zip(&qualified) {
            apply_table(&mut tx, &target, (&schema, q), srid, new, ch, p)?;
        }
        if new {
            // indexes of a new registry are built after its first load (faster than kept during it)
            tx.batch_execute("SET LOCAL maintenance_work_mem = '256MB'")
                .map_err(pg_err(&target, "building indexes"))?;
            for t in &registry().tables {
                let stmts =
                    schema::index_sql(t, &schema).map_err(|m| data_err(&target, &t.name, 0, m))?;
                for s in stmts {
                    tx.batch_execute(&s).map_err(pg_err(
                        &target,
                        &format!("table {}: building index", t.name),
                    ))?;
                }
            }
        }
        tx.commit().map_err(pg_err(&target, "committing"))?;
        self.state = State::Registry;
        Ok(())
    }
}
