//! The registry's PostgreSQL schema: recognise it (or refuse a foreign one), check the role's
//! rights, create it from `cadastra_model::registry()`.
//!
//! Catalog rows are read with `Row::get`: every statement here casts what it selects to the type
//! read (`::text`, `::bigint`, `format_type`), so `get` cannot meet another type.

use crate::ddl::{index_statements, is_identifier, pg_create, pg_type};
use cadastra_model::{registry, GeometryType, TableDef};
use postgres::GenericClient;
use std::collections::{BTreeMap, HashMap};

/// What the connection found under the schema name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    /// no such schema: created by the first `apply`
    Absent,
    /// the schema exists and holds no tables (e.g. made by an administrator): filled by the first `apply`
    Empty,
    /// every registry table is there with the registry's columns
    Registry,
}

/// Why the schema cannot be used; `Foreign` for schemas that are not cadastra registries.
#[derive(Debug)]
pub(super) enum Problem {
    Foreign(String),
    Rights(String),
    Db(&'static str, postgres::Error),
}

fn db(what: &'static str) -> impl FnOnce(postgres::Error) -> Problem {
    move |e| Problem::Db(what, e)
}

/// A schema-provided name, checked before it is quoted into SQL.
pub(super) fn ident(name: &str) -> Result<String, String> {
    if is_identifier(name) {
        Ok(format!("\"{name}\""))
    } else {
        Err(format!("{name:?} is not a plain identifier"))
    }
}

/// `geometry(MultiPolygon,4548)` as `format_type` spells it.
fn geometry_type(g: GeometryType, srid: i32) -> String {
    let name = match g {
        GeometryType::Multipolygon => "MultiPolygon",
        GeometryType::Point => "Point",
    };
    format!("geometry({name},{srid})")
}

/// The columns a registry table must have, with their `format_type` spelling.
fn expected_columns(t: &TableDef, srid: i32) -> Vec<(String, String)> {
    let mut v = vec![("fid".to_string(), "bigint".to_string())];
    if let Some(g) = t.geometry {
        v.push(("geom".into(), geometry_type(g, srid)));
    }
    v.extend(t.fields.iter().map(|f| (f.name.clone(), pg_type(f))));
    v
}

/// Look at the schema: absent, empty, a registry, or something else (`Problem::Foreign`).
pub(super) fn inspect(
    c: &mut impl GenericClient,
    schema: &str,
    srid: i32,
) -> Result<State, Problem> {
    let Some(row) = c
        .query_opt(
            "SELECT oid::bigint FROM pg_namespace WHERE nspname = $1",
            &[&schema],
        )
        .map_err(db("reading the catalog"))?
    else {
        return Ok(State::Absent);
    };
    let ns: i64 = row.get(0);
    let rels = c
        .query(
            "SELECT relname::text, relkind::text FROM pg_class WHERE relnamespace = $1::bigint::oid
               AND relkind IN ('r', 'p', 'v', 'm', 'f') ORDER BY relname",
            &[&ns],
        )
        .map_err(db("reading the catalog"))?;
    if rels.is_empty() {
        return Ok(State::Empty);
    }
    let rels: BTreeMap<String, String> = rels.iter().map(|r| (r.get(0), r.get(1))).collect();
    let mut cols: HashMap<String, HashMap<String, String>> = HashMap::new();
    for r in c
        .query(
            "SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod)
               FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
              WHERE c.relnamespace = $1::bigint::oid AND c.relkind IN ('r', 'p')
                AND a.attnum > 0 AND NOT a.attisdropped",
            &[&ns],
        )
        .map_err(db("reading the catalog"))?
    {
        cols.entry(r.get(0)).or_default().insert(r.get(1), r.get(2));
    }
    let tables = &registry().tables;
    if !tables.iter().any(|t| rels.contains_key(&t.name)) {
        let mut some: Vec<&str> = rels.keys().map(String::as_str).take(5).collect();
        if rels.len() > 5 {
            some.push("…");
        }
        return Err(Problem::Foreign(format!(
            "schema {schema} holds {} other tables or views ({}) and none of the registry's; \
             name another schema with ?schema=",
            rels.len(),
            some.join(", ")
        )));
    }
    for t in tables {
        match rels.get(&t.name).map(String::as_str) {
            None => return Err(Problem::Foreign(format!("table {} is missing", t.name))),
            Some("r" | "p") => {}
            Some(_) => {
                return Err(Problem::Foreign(format!(
                    "{} is a view, not a registry table",
                    t.name
                )))
            }
        }
        let have = cols.get(&t.name).cloned().unwrap_or_default();
        for (name, ty) in expected_columns(t, srid) {
            match have.get(&name) {
                None => {
                    return Err(Problem::Foreign(format!(
                        "table {} lacks column {name}",
                        t.name
                    )))
                }
                Some(h) if *h != ty => {
                    let why = if name == "geom" && h.starts_with("geometry(") {
                        " (a registry made for another CRS or geometry type?)"
                    } else {
                        ""
                    };
                    return Err(Problem::Foreign(format!(
                        "table {} column {name} is {h}, the registry needs {ty}{why}",
                        t.name
                    )));
                }
                Some(_) => {}
            }
        }
    }
    Ok(State::Registry)
}

fn flag(
    c: &mut impl GenericClient,
    sql: &str,
    params: &[&(dyn postgres::types::ToSql + Sync)],
) -> Result<bool, Problem> {
    c.query_one(sql, params)
        .and_then(|r| r.try_get(0))
        .map_err(db("checking privileges"))
}

/// The rights a run needs: create the schema (or tables in it), or read and change every table.
pub(super) fn check_rights(
    c: &mut impl GenericClient,
    schema: &str,
    state: State,
) -> Result<(), Problem> {
    let who = c
        .query_one("SELECT current_user::text, current_database()::text", &[])
        .map_err(db("reading the current role"))?;
    // both columns are cast to text by the statement, so `get` cannot meet another type
    let (role, dbname): (String, String) = (who.get(0), who.get(1));
    match state {
        State::Absent => {
            let ok = flag(
                c,
                "SELECT has_database_privilege(current_database(), 'CREATE')",
                &[],
            )?;
            if !ok {
                return Err(Problem::Rights(format!(
                    "role {role} may not create schema {schema} in database {dbname}: an administrator \
                     can run GRANT CREATE ON DATABASE \"{dbname}\" TO \"{role}\", or create the schema \
                     and grant CREATE on it"
                )));
            }
        }
        State::Empty => {
            let ok = flag(
                c,
                "SELECT has_schema_privilege($1, 'CREATE') AND has_schema_privilege($1, 'USAGE')",
                &[&schema],
            )?;
            if !ok {
                return Err(Problem::Rights(format!(
                    "role {role} may not create tables in schema {schema}: an administrator can run \
                     GRANT USAGE, CREATE ON SCHEMA \"{schema}\" TO \"{role}\""
                )));
            }
        }
        State::Registry => {
            let names: Vec<String> = registry().tables.iter().map(|t| t.name.clone()).collect();
            let rows = c
                .query(
                    "SELECT p.priv, t.name FROM unnest($2::text[]) WITH ORDINALITY AS t(name, n),
                            unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'USAGE']) WITH ORDINALITY AS p(priv, m)
                      WHERE CASE WHEN p.priv = 'USAGE'
                            THEN NOT has_sequence_privilege(
                                   pg_get_serial_sequence(format('%I.%I', $1::text, t.name), 'fid'), 'USAGE')
                            ELSE NOT has_table_privilege(format('%I.%I', $1::text, t.name), p.priv) END
                      ORDER BY p.m, t.n",
                    &[&schema, &names],
                )
                .map_err(db("checking privileges"))?;
            let mut missing: Vec<(String, Vec<String>)> = Vec::new();
            for r in &rows {
                let (p, t): (String, String) = (r.get(0), r.get(1));
                match missing.last_mut() {
                    Some((lp, ts)) if *lp == p => ts.push(t),
                    _ => missing.push((p, vec![t])),
                }
            }
            if !missing.is_empty() {
                let parts: Vec<String> = missing
                    .iter()
                    .map(|(p, ts)| {
                        let what = if p == "USAGE" {
                            "the fid sequences of "
                        } else {
                            ""
                        };
                        let mut some = ts.iter().take(3).cloned().collect::<Vec<_>>().join(", ");
                        if ts.len() > 3 {
                            some.push_str(", …");
                        }
                        format!("{p} on {what}{} tables ({some})", ts.len())
                    })
                    .collect();
                return Err(Problem::Rights(format!(
                    "role {role} lacks {} in schema {schema}: an administrator can run GRANT SELECT, INSERT, \
                     UPDATE, DELETE ON ALL TABLES IN SCHEMA \"{schema}\" TO \"{role}\"; GRANT USAGE ON ALL \
                     SEQUENCES IN SCHEMA \"{schema}\" TO \"{role}\"",
                    parts.join("; ")
                )));
            }
        }
    }
    // updates go through a temporary staging table
    let temp = flag(
        c,
        "SELECT has_database_privilege(current_database(), 'TEMP')",
        &[],
    )?;
    if !temp {
        return Err(Problem::Rights(format!(
            "role {role} may not create temporary tables in database {dbname} (updates are staged in one): \
             GRANT TEMP ON DATABASE \"{dbname}\" TO \"{role}\""
        )));
    }
    Ok(())
}

/// `CREATE SCHEMA` (unless it exists) and every registry table, without secondary indexes.
pub(super) fn create_tables(
    c: &mut impl GenericClient,
    schema: &str,
    srid: i32,
    state: State,
) -> Result<(), String> {
    let s = ident(schema)?;
    if state == State::Absent {
        c.batch_execute(&format!("CREATE SCHEMA {s}"))
            .map_err(|e| super::describe(&e))?;
    }
    for t in &registry().tables {
        ident(&t.name)?;
        for f in &t.fields {
            ident(&f.name)?;
        }
        c.batch_execute(&pg_create(schema, t, srid))
            .map_err(|e| format!("table {}: {}", t.name, super::describe(&e)))?;
    }
    Ok(())
}

/// The index statements of a table: GiST on the geometry first (the longest build: the staged
/// load starts it while other connections take the b-trees), then provenance (unique) and
/// business key from `ddl`. Run with the registry schema first on the search path (they name
/// tables unqualified).
pub(super) fn index_sql(t: &TableDef, schema: &str) -> Result<Vec<String>, String> {
    let mut v = Vec::new();
    if t.geometry.is_some() {
        let name = ident(&format!("sx_{}_geom", t.name.to_lowercase()))?;
        v.push(format!(
            "CREATE INDEX {name} ON {}.{} USING GIST (geom)",
            ident(schema)?,
            ident(&t.name)?
        ));
    }
    v.extend(index_statements(t));
    Ok(v)
}
