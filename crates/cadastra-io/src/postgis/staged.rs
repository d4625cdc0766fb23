//! The first load of a new PostGIS registry over several connections.
//!
//! One backend process writes a COPY at the speed of one core (on the 1M-parcel bench half of it
//! goes to copying pages into the kernel's cache, for the table and again for the WAL), and builds
//! one index at a time. A new registry holds nothing yet, so its first load can go to a staging
//! schema instead, filled by several connections side by side and made the registry in one short
//! final transaction:
//!
//! 1. `cadastra_load_<lock key>`: the registry tables are created there (committed);
//! 2. the insert rows are cut into pieces and copied by `n` connections at once, each piece with
//!    its fids given (1, 2, … per table in change order, as the serial column would have drawn
//!    them in one transaction), so the result does not depend on which connection was faster;
//! 3. the indexes are built by the same connections, largest tables first;
//! 4. one transaction renames the staging schema to the registry's (or, when an administrator
//!    made the empty schema, moves each table into it), and sets the fid sequences after the
//!    loaded fids.
//!
//! **Invariant:** the registry schema is untouched until step 4, which is one transaction: a
//! failure drops the staging schema and leaves the registry as it was; a killed load leaves a
//! staging schema behind, which the next `connect` to the same registry (holding its run lock, so
//! no load of it can still be running) drops. Only used when every change is an insert (a new
//! registry has nothing to update or delete) and there are enough rows to pay for the extra
//! connections ([`super::PgRegistry::set_parallel_load`]).

use super::schema::{self, ident, State};
use super::{copy_rows, data_err, describe, pg_err, set_search_path, Feed, Planned, SESSION};
use crate::registry::{ChangeSet, RegistryError};
use cadastra_model::registry;
use postgres::{Client, NoTls};
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Rows per piece of a large insert, so that `n` connections share it evenly.
const MIN_PIECE: usize = 20_000;

/// The staging schema of the registry in `schema` (a plain identifier whatever the registry's
/// name is; unique per registry because the run lock is).
pub fn staging_name(schema: &str) -> String {
    format!("cadastra_load_{:016x}", super::lock_key(schema) as u64)
}

/// Drop the staging schema an interrupted load of this registry left; the caller holds the run
/// lock. Returns a note when there was one.
pub(super) fn drop_stale(client: &mut Client, schema: &str) -> Result<Option<String>, String> {
    let name = staging_name(schema);
    let found = client
        .query_opt("SELECT 1 FROM pg_namespace WHERE nspname = $1", &[&name])
        .map_err(|e| describe(&e))?;
    if found.is_none() {
        return Ok(None);
    }
    client
        .batch_execute(&format!("DROP SCHEMA {} CASCADE", ident(&name)?))
        .map_err(|e| describe(&e))?;
    Ok(Some(format!(
        "removed the staging schema {name} an interrupted first load of {schema} left behind"
    )))
}

/// One COPY: rows `rows` of change `change`, fids from `first_fid`.
struct Piece {
    change: usize,
    rows: std::ops::Range<usize>,
    first_fid: i64,
}

/// What the staged load needs from the registry connection.
pub(super) struct Target<'a> {
    pub display: &'a str,
    pub schema: &'a str,
    pub postgis_ns: &'a str,
    pub srid: i32,
    pub state: State,
    pub config: &'a postgres::Config,
}

/// Why a staged load did not happen: `Fallback` when it could not start (staging schema not
/// allowed, no extra connection) and the single-transaction load should run instead; `Failed`
/// when it started and failed (the staging schema is dropped again, the registry untouched).
pub(super) enum Outcome {
    Fallback(String),
    Failed(RegistryError),
}

/// Set up a worker connection like the registry's: date style, messages, search path.
fn session(c: &mut Client, staging: &str, postgis_ns: &str) -> Result<(), postgres::Error> {
    c.batch_execute(SESSION)?;
    // the connections already build one index each on every core: no parallel workers on top
    c.batch_execute(
        "SET maintenance_work_mem = '256MB'; SET max_parallel_maintenance_workers = 0",
    )?;
    set_search_path(c, staging, postgis_ns)
}

/// Load `changes` (inserts only, `plans` from `super::plan`) as a new registry over `client` and
/// `connections - 1` further connections.
pub(super) fn load(
    client: &mut Client,
    t: &Target<'_>,
    changes: &ChangeSet,
    plans: &[Planned],
    connections: usize,
) -> Result<(), Outcome> {
    let staging = staging_name(t.schema);
    let sq = ident(&staging).map_err(Outcome::Fallback)?;
    // 1. the staging schema and its tables
    let pg = |e: postgres::Error| describe(&e);
    let setup = (|| {
        client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {sq} CASCADE"))
            .map_err(pg)?;
        let mut tx = client.transaction().map_err(pg)?;
        schema::create_tables(&mut tx, &staging, t.srid, State::Absent)?;
        tx.commit().map_err(pg)
    })();
    if let Err(m) = setup {
        return Err(Outcome::Fallback(format!(
            "cannot create the staging schema: {m}"
        )));
    }
    let drop_staging = |c: &mut Client| {
        let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {sq} CASCADE"));
    };
    let others: Result<Vec<Client>, String> = (1..connections)
        .map(|_| {
            let mut c = t.config.connect(NoTls).map_err(pg)?;
            session(&mut c, &staging, t.postgis_ns).map_err(pg)?;
            Ok(c)
        })
        .collect();
    let mut others = match others {
        Ok(o) => o,
        Err(m) => {
            drop_staging(client);
            return Err(Outcome::Fallback(format!(
                "cannot open another connection: {m}"
            )));
        }
    };
    let r = fill(client, &mut others, t, &staging, changes, plans).and_then(|fids| {
        drop(others);
        publish(client, t, &staging, &fids)
    });
    restore(client, t);
    if let Err(e) = r {
        drop_staging(client);
        return Err(Outcome::Failed(e));
    }
    Ok(())
}

/// Steps 2 and 3: the rows, then the indexes, over all connections. Returns the rows per table.
fn fill(
    main: &mut Client,
    others: &mut [Client],
    t: &Target<'_>,
    staging: &str,
    changes: &ChangeSet,
    plans: &[Planned],
) -> Result<BTreeMap<String, i64>, RegistryError> {
    session(main, staging, t.postgis_ns).map_err(pg_err(t.display, "setting up the load"))?;
    let connections = others.len() + 1;
    // fids in change order per table; pieces of about an even share of the rows
    let piece = (changes.insert_rows() / (connections * 4)).max(MIN_PIECE);
    let mut next_fid: BTreeMap<String, i64> = BTreeMap::new();
    let mut pieces = Vec::new();
    for (k, ch) in changes.tables.iter().enumerate() {
        let Some(rows) = &ch.insert else { continue };
        let fid = next_fid.entry(ch.table.clone()).or_insert(0);
        let mut start = 0;
        while start < rows.len() {
            let end = (start + piece).min(rows.len());
            pieces.push(Piece {
                change: k,
                rows: start..end,
                first_fid: *fid + start as i64 + 1,
            });
            start = end;
        }
        *fid += rows.len() as i64;
    }
    pieces.sort_by_key(|p| std::cmp::Reverse(p.rows.len()));
    let sq = ident(staging).map_err(|m| data_err(t.display, "-", 0, m))?;
    run_queue(main, others, pieces, &|c: &mut Client, p: Piece| {
        let def = plans[p.change].def;
        let rows = changes.tables[p.change]
            .insert
            .as_ref()
            .expect("pieces come from inserts");
        let sql = format!(
            "COPY {sq}.{} (fid, {}) FROM STDIN (FORMAT binary)",
            ident(&def.name).map_err(|m| data_err(t.display, &def.name, 0, m))?,
            super::column_list(def, t.display)?.join(", ")
        );
        let feed = Feed::Numbered {
            rows: p.rows,
            first_fid: p.first_fid,
        };
        copy_rows(c, t.display, def, "insert", &sql, rows, feed, t.srid).map(drop)
    })?;
    // indexes: the tables with most rows first, each statement on the next free connection
    let mut by_size: Vec<_> = registry().tables.iter().collect();
    by_size.sort_by_key(|d| std::cmp::Reverse(next_fid.get(&d.name).copied().unwrap_or(0)));
    let mut stmts = Vec::new();
    for d in by_size {
        for s in schema::index_sql(d, staging).map_err(|m| data_err(t.display, &d.name, 0, m))? {
            stmts.push((&d.name, s));
        }
    }
    run_queue(main, others, stmts, &|c: &mut Client, (table, s)| {
        c.batch_execute(&s)
            .map_err(pg_err(t.display, &format!("table {table}: building index")))
    })?;
    Ok(next_fid)
}

/// Run `job` on each of `items`, in order, on every connection at once (the main one on this
/// thread), each taking the next item when it is free; after an error no connection takes
/// another item, and the first error wins.
fn run_queue<T: Send>(
    main: &mut Client,
    others: &mut [Client],
    items: Vec<T>,
    job: &(dyn Fn(&mut Client, T) -> Result<(), RegistryError> + Sync),
) -> Result<(), RegistryError> {
    let queue = Mutex::new(VecDeque::from(items));
    let failed = AtomicBool::new(false);
    let work = |c: &mut Client| -> Result<(), RegistryError> {
        while !failed.load(Ordering::Relaxed) {
            let Some(item) = queue.lock().map_or(None, |mut q| q.pop_front()) else {
                break;
            };
            if let Err(e) = job(c, item) {
                failed.store(true, Ordering::Relaxed);
                return Err(e);
            }
        }
        Ok(())
    };
    let work = &work;
    std::thread::scope(|s| {
        let handles: Vec<_> = others
            .iter_mut()
            .map(|c| s.spawn(move || work(c)))
            .collect();
        let mut first = work(main).err();
        for h in handles {
            let r = h.join().unwrap_or_else(|_| {
                Err(RegistryError::Path {
                    path: "-".into(),
                    message: "a load connection's thread panicked".into(),
                })
            });
            if let (None, Err(e)) = (&first, r) {
                first = Some(e);
            }
        }
        first.map_or(Ok(()), Err)
    })
}

/// Step 4: the staging tables become the registry, in one transaction.
fn publish(
    client: &mut Client,
    t: &Target<'_>,
    staging: &str,
    fids: &BTreeMap<String, i64>,
) -> Result<(), RegistryError> {
    let ctx = "making the loaded tables the registry";
    let sq = ident(staging).map_err(|m| data_err(t.display, "-", 0, m))?;
    let tq = ident(t.schema).map_err(|m| data_err(t.display, "-", 0, m))?;
    let mut tx = client.transaction().map_err(pg_err(t.display, ctx))?;
    match t.state {
        State::Absent => tx
            .batch_execute(&format!("ALTER SCHEMA {sq} RENAME TO {tq}"))
            .map_err(pg_err(t.display, ctx))?,
        _ => {
            for d in &registry().tables {
                let name = ident(&d.name).map_err(|m| data_err(t.display, &d.name, 0, m))?;
                tx.batch_execute(&format!("ALTER TABLE {sq}.{name} SET SCHEMA {tq}"))
                    .map_err(pg_err(t.display, &format!("table {}: {ctx}", d.name)))?;
            }
            tx.batch_execute(&format!("DROP SCHEMA {sq}"))
                .map_err(pg_err(t.display, ctx))?;
        }
    }
    for (table, &n) in fids.iter().filter(|(_, n)| **n > 0) {
        let qualified = format!(
            "{tq}.{}",
            ident(table).map_err(|m| data_err(t.display, table, 0, m))?
        );
        tx.query_one(
            "SELECT setval(pg_get_serial_sequence($1, 'fid'), $2)",
            &[&qualified, &n],
        )
        .map_err(pg_err(
            t.display,
            &format!("table {table}: setting the fid sequence"),
        ))?;
    }
    tx.commit().map_err(pg_err(t.display, ctx))
}

/// The registry connection's session as `connect` left it (the load pointed it at the staging
/// schema).
fn restore(client: &mut Client, t: &Target<'_>) {
    let _ =
        client.batch_execute("RESET maintenance_work_mem; RESET max_parallel_maintenance_workers");
    let _ = set_search_path(client, t.schema, t.postgis_ns);
}
