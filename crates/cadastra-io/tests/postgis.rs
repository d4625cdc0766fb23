//! The PostGIS registry against a real server.
//!
//! The server comes from `CADASTRA_TEST_PG` (a `postgresql://` URL of a database with PostGIS
//! that this role may create schemas, roles and databases in); `scripts/pg-test-cluster.sh`
//! starts a private one and exports it:
//!
//! ```text
//! source scripts/pg-test-cluster.sh && cargo test -p cadastra-io --test postgis
//! ```
//!
//! Without the variable every test says it is skipped and passes. Each test works in its own
//! schema (`t_<test name>`), so they run in parallel. The 1M-row benchmark is ignored by default:
//! `cargo test -p cadastra-io --release --test postgis -- --ignored --nocapture bench_`.

use cadastra_io::gpkg::GpkgRegistry;
use cadastra_io::postgis::{lock_key, staging_schema, PgRegistry};
use cadastra_io::registry::{ChangeSet, TableChange};
use cadastra_io::{Registry, RegistryError};
use cadastra_model::{registry, Column, FieldType, Geom, Rows, StrColumn, TableDef};
use geo_types::{coord, LineString, MultiPolygon, Polygon};
use postgres::{Client, NoTls};
use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

const SRID: i32 = 4548;

fn server() -> Option<String> {
    match std::env::var("CADASTRA_TEST_PG") {
        Ok(u) if !u.trim().is_empty() => Some(u),
        _ => {
            eprintln!(
                "skipped: CADASTRA_TEST_PG not set (PostGIS tests need a server; scripts/test.sh starts one)"
            );
            None
        }
    }
}

fn admin(base: &str) -> Client {
    Client::connect(base, NoTls).expect("connect to CADASTRA_TEST_PG")
}

/// The registry URL of a test's own schema, dropped first if an earlier run left it.
fn fresh(base: &str, schema: &str) -> String {
    admin(base)
        .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .unwrap();
    with_schema(base, schema)
}

fn with_schema(base: &str, schema: &str) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}schema={schema}")
}

/// `base` with another user (`postgresql://user@host…`) and/or database.
fn with_user_db(base: &str, user: Option<&str>, db: Option<&str>) -> String {
    let rest = base.split_once("://").unwrap().1;
    let (creds, hostpath) = rest.split_once('@').unwrap_or(("", rest));
    let (host, path) = hostpath.split_once('/').unwrap();
    let (dbname, query) = path
        .split_once('?')
        .map_or((path, None), |(d, q)| (d, Some(q)));
    let mut s = format!(
        "postgresql://{}@{host}/{}",
        user.unwrap_or(creds),
        db.unwrap_or(dbname)
    );
    if let Some(q) = query {
        s.push('?');
        s.push_str(q);
    }
    s
}

fn square(x: f64, y: f64) -> Geom {
    MultiPolygon(vec![Polygon::new(
        LineString(vec![
            coord! {x: x, y: y},
            coord! {x: x + 20.0, y: y},
            coord! {x: x + 20.0, y: y + 10.0},
            coord! {x: x, y: y + 10.0},
            coord! {x: x, y: y},
        ]),
        vec![],
    )])
}

/// `n` rows of `table`, every field filled by type (some nulls), provenance `src_system`/`k{start+i}`.
fn rows(table: &str, n: usize, start: usize, src_system: &str) -> Rows {
    let def = registry().table(table).unwrap();
    let mut rows = Rows::new(def);
    let texts = [
        "莱芜区凤城街道鲁中东大街1号",
        "tab\tnew\nline \\ back \"q\" 'a'",
        "",
        "钢混",
    ];
    for i in start..start + n {
        for (f, col) in def.fields.iter().zip(rows.columns.iter_mut()) {
            let null = (i + f.name.len()) % 7 == 0;
            match col {
                Column::Text(c) => {
                    let v = match (f.ty, f.name.as_str()) {
                        (_, "src_system") => Some(src_system.to_string()),
                        (_, "src_key") => Some(format!("k{i}")),
                        (_, "batch_id") => Some("b1".to_string()),
                        _ if null => None,
                        (FieldType::Date, _) => Some(format!(
                            "{:04}-{:02}-{:02}",
                            1980 + i % 45,
                            1 + i % 12,
                            1 + i % 28
                        )),
                        (_, "ZDDM") => Some(format!("370116001001GB{:05}", i + 1)),
                        _ => Some(texts[(i + f.name.len()) % texts.len()].to_string()),
                    };
                    c.push(v.as_deref());
                }
                Column::Int(c) => c.push((!null).then_some(i as i64 * 3 - 7)),
                Column::Real(c) => c.push((!null).then_some(i as f64 * 1.25 + 0.1)),
            }
        }
        match def.geometry {
            Some(cadastra_model::GeometryType::Multipolygon) => rows
                .geoms
                .push((i % 11 != 5).then(|| square(550_000.0 + 20.0 * i as f64, 4_010_000.0))),
            Some(cadastra_model::GeometryType::Point) => {
                rows.geoms.push(Some(MultiPolygon(vec![Polygon::new(
                    LineString(vec![coord! {x: 550_000.5 + i as f64, y: 4_010_000.25}]),
                    vec![],
                )])))
            }
            None => {}
        }
    }
    rows
}

fn text_col(rows: &Rows, def: &TableDef, field: &str) -> StrColumn {
    match &rows.columns[def.field_index(field).unwrap()] {
        Column::Text(c) => c.clone(),
        _ => panic!("{field} is not text"),
    }
}

/// Everything in the registry: per table, fids, columns and geometries.
type Snapshot = BTreeMap<String, (Vec<i64>, Vec<Column>, Vec<Option<Geom>>)>;

fn snapshot(reg: &mut dyn Registry) -> Snapshot {
    registry()
        .tables
        .iter()
        .map(|t| {
            let (fids, r) = reg.read_table(&t.name).unwrap();
            (t.name.clone(), (fids, r.columns, r.geoms))
        })
        .collect()
}

fn connect(url: &str) -> PgRegistry {
    PgRegistry::connect(url, SRID).unwrap_or_else(|e| panic!("{e}"))
}

fn some_tables(n: usize) -> ChangeSet {
    ChangeSet {
        tables: vec![
            TableChange::inserts("ZDJBXX", rows("ZDJBXX", n, 0, "test")),
            TableChange::inserts("ZRZ", rows("ZRZ", n / 2, 0, "test")),
            TableChange::inserts("JSYDSYQ", rows("JSYDSYQ", n / 3, 0, "test")),
            TableChange::inserts("findings", rows("findings", 7, 0, "test")),
            TableChange::inserts("reconciliation", rows("reconciliation", 3, 0, "test")),
        ],
    }
}

#[test]
fn create_load_and_read_back_equal() {
    let Some(base) = server() else { return };
    let url = fresh(&base, "t_read_back");
    let mut reg = connect(&url);
    assert!(reg.is_new());
    assert!(reg.counts().unwrap().is_empty());
    assert!(reg.existing("ZDJBXX", "test").unwrap().is_empty());
    assert_eq!(reg.read_table("ZDJBXX").unwrap().0.len(), 0);
    let cs = some_tables(60);
    reg.apply(&cs).unwrap();
    assert!(!reg.is_new());
    let counts = reg.counts().unwrap();
    assert_eq!(counts.len(), registry().tables.len());
    assert_eq!(
        (
            counts["ZDJBXX"],
            counts["ZRZ"],
            counts["JSYDSYQ"],
            counts["H"]
        ),
        (60, 30, 20, 0)
    );
    for ch in &cs.tables {
        let want = ch.insert.as_ref().unwrap();
        let (fids, got) = reg.read_table(&ch.table).unwrap();
        assert_eq!(
            fids,
            (1..=want.len() as i64).collect::<Vec<_>>(),
            "{}",
            ch.table
        );
        for (j, (a, b)) in got.columns.iter().zip(&want.columns).enumerate() {
            let f = &registry().table(&ch.table).unwrap().fields[j];
            assert_eq!(a, b, "table {} field {}", ch.table, f.name);
        }
        assert_eq!(got.geoms, want.geoms, "{}", ch.table);
    }
    // Chinese text, a date and a real, spot-checked by SQL too
    let mut c = admin(&base);
    let r = c
        .query_one(
            "SELECT \"ZL\", \"ZDMJ\", ST_SRID(geom), ST_NPoints(geom), GeometryType(geom) FROM t_read_back.\"ZDJBXX\" WHERE fid = 2",
            &[],
        )
        .unwrap();
    let def = registry().table("ZDJBXX").unwrap();
    assert_eq!(
        r.get::<_, Option<String>>(0).as_deref(),
        text_col(cs.tables[0].insert.as_ref().unwrap(), def, "ZL").get(1)
    );
    assert_eq!(r.get::<_, Option<f64>>(1), Some(1.35));
    assert_eq!((r.get::<_, i32>(2), r.get::<_, i32>(3)), (SRID, 5));
    assert_eq!(r.get::<_, String>(4), "MULTIPOLYGON");
    let d: String = c
        .query_one(
            "SELECT \"SYQQSSJ\"::text FROM t_read_back.\"JSYDSYQ\" WHERE fid = 2",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(d, "1981-02-02");
    // indexes: provenance unique, GiST on every geometry column
    let idx: Vec<String> = c
        .query(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = 't_read_back' ORDER BY indexname",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let gist = idx
        .iter()
        .filter(|d| d.contains("USING gist (geom)"))
        .count();
    let geo_tables = registry()
        .tables
        .iter()
        .filter(|t| t.geometry.is_some())
        .count();
    assert_eq!(gist, geo_tables, "{idx:#?}");
    assert!(
        idx.iter().any(
            |d| d.contains("UNIQUE INDEX ux_zdjbxx_src") && d.contains("(src_system, src_key)")
        ),
        "{idx:#?}"
    );
    // provenance lookup
    let ex = reg.existing("ZDJBXX", "test").unwrap();
    assert_eq!(ex.len(), 60);
    assert_eq!(ex["k7"].fid, 8);
    assert!(reg.existing("ZDJBXX", "other").unwrap().is_empty());
    assert!(matches!(
        reg.existing("findings", "test"),
        Err(RegistryError::Data { .. })
    ));
    // a second connection sees the registry (not new) and reads the same
    drop(reg);
    let mut again = connect(&url);
    assert!(!again.is_new());
    assert_eq!(again.counts().unwrap(), counts);
    // the URL shown never carries a password
    assert!(
        again.target().contains("schema=t_read_back"),
        "{}",
        again.target()
    );
}

#[test]
fn updates_deletes_and_delete_where() {
    let Some(base) = server() else { return };
    let url = fresh(&base, "t_changes");
    let mut reg = connect(&url);
    let mut first = rows("ZDJBXX", 10, 0, "a");
    let more = rows("ZDJBXX", 5, 10, "b");
    for (c, m) in first.columns.iter_mut().zip(&more.columns) {
        c.extend_from(m);
    }
    first.geoms.extend(more.geoms.iter().cloned());
    reg.apply(&ChangeSet {
        tables: vec![TableChange::inserts("ZDJBXX", first)],
    })
    .unwrap();
    let def = registry().table("ZDJBXX").unwrap();
    // update fids 3 and 5 (5 twice: the last one wins), delete fid 7, delete every row of system "b"
    let mut upd = rows("ZDJBXX", 3, 100, "a");
    let zl = def.field_index("ZL").unwrap();
    upd.columns[zl] = Column::Text(
        [Some("改过的坐落"), Some("first"), Some("second")]
            .into_iter()
            .collect(),
    );
    upd.geoms[0] = Some(square(0.0, 0.0));
    let cs = ChangeSet {
        tables: vec![TableChange {
            table: "ZDJBXX".into(),
            delete_where: vec![vec![
                ("src_system".into(), "b".into()),
                ("batch_id".into(), "b1".into()),
            ]],
            delete: vec![7],
            update_fids: vec![3, 5, 5],
            update_rows: Some(upd),
            insert: Some(rows("ZDJBXX", 2, 200, "c")),
        }],
    };
    reg.apply(&cs).unwrap();
    let (fids, got) = reg.read_table("ZDJBXX").unwrap();
    assert_eq!(fids, vec![1, 2, 3, 4, 5, 6, 8, 9, 10, 16, 17]);
    let zls = text_col(&got, def, "ZL");
    assert_eq!(zls.get(2), Some("改过的坐落"));
    assert_eq!(zls.get(4), Some("second"));
    assert_eq!(got.geoms[2], Some(square(0.0, 0.0)));
    let keys = text_col(&got, def, "src_key");
    assert_eq!(
        keys.get(2),
        Some("k100"),
        "update replaces every field, provenance included"
    );
    assert_eq!(reg.existing("ZDJBXX", "b").unwrap().len(), 0);
    assert_eq!(reg.existing("ZDJBXX", "c").unwrap().len(), 2);
    // delete_where on an int and a real field (values are text, cast to the column type)
    let bsm = match &got.columns[def.field_index("BSM").unwrap()] {
        Column::Int(c) => c[0].unwrap(),
        _ => unreachable!(),
    };
    let cs = ChangeSet {
        tables: vec![TableChange {
            table: "ZDJBXX".into(),
            delete_where: vec![
                vec![("BSM".into(), bsm.to_string())],
                vec![("ZDMJ".into(), "1.35".into())],
            ],
            delete: vec![],
            update_fids: vec![],
            update_rows: None,
            insert: None,
        }],
    };
    reg.apply(&cs).unwrap();
    assert_eq!(
        reg.read_table("ZDJBXX").unwrap().0,
        vec![3, 4, 5, 6, 8, 9, 10, 16, 17]
    );
    // bad conditions are refused before anything runs
    for (conds, want) in [
        (vec![("NOPE".to_string(), "x".to_string())], "no field NOPE"),
        (vec![], "without fields"),
    ] {
        let mut ch = TableChange::inserts("ZDJBXX", Rows::new(def));
        ch.delete_where = vec![conds];
        let e = reg
            .apply(&ChangeSet { tables: vec![ch] })
            .unwrap_err()
            .to_string();
        assert!(e.contains(want), "{e}");
    }
    let mut ch = TableChange::inserts("ZDJBXX", Rows::new(def));
    ch.delete_where = vec![vec![("BSM".into(), "not a number".into())]];
    let e = reg
        .apply(&ChangeSet { tables: vec![ch] })
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("table ZDJBXX: deleting rows where BSM = \"not a number\"")
            && e.contains("bigint"),
        "{e}"
    );
}

#[test]
fn failed_change_leaves_registry_unchanged() {
    let Some(base) = server() else { return };
    let url = fresh(&base, "t_all_or_nothing");
    let mut reg = connect(&url);
    reg.apply(&some_tables(30)).unwrap();
    let before = snapshot(&mut reg);
    let counts = reg.counts().unwrap();
    let def = registry().table("ZDJBXX").unwrap();
    let changes_then = |last: TableChange| ChangeSet {
        tables: vec![
            TableChange {
                table: "ZDJBXX".into(),
                delete_where: vec![vec![("src_system".into(), "test".into())]],
                delete: vec![1, 2],
                update_fids: vec![3],
                update_rows: Some(rows("ZDJBXX", 1, 500, "u")),
                insert: Some(rows("ZDJBXX", 15, 1000, "new")),
            },
            TableChange::inserts("JSYDSYQ", rows("JSYDSYQ", 4, 1000, "new")),
            last,
        ],
    };
    // 1. a table whose rows have the wrong column count: refused before the transaction
    let mut bad = rows("ZRZ", 3, 1000, "new");
    bad.columns.pop();
    let e = reg
        .apply(&changes_then(TableChange::inserts("ZRZ", bad)))
        .unwrap_err();
    assert!(
        matches!(&e, RegistryError::Data { table, .. } if table == "ZRZ"),
        "{e}"
    );
    assert!(e.to_string().contains("columns given"), "{e}");
    // 2. the server refuses the last COPY (provenance key already in the registry) after the
    //    deletes, update and inserts before it ran: all rolled back, the row named
    let mut dup = rows("ZRZ", 6, 1000, "test");
    let key = registry()
        .table("ZRZ")
        .unwrap()
        .field_index("src_key")
        .unwrap();
    let keys: Vec<String> = (0..6)
        .map(|i| {
            if i == 4 {
                "k2".into()
            } else {
                format!("fresh{i}")
            }
        })
        .collect();
    dup.columns[key] = Column::Text(keys.iter().map(|k| Some(k.as_str())).collect());
    let e = reg
        .apply(&changes_then(TableChange::inserts("ZRZ", dup)))
        .unwrap_err();
    match &e {
        RegistryError::Data {
            table,
            row,
            message,
            ..
        } => {
            assert_eq!((table.as_str(), *row), ("ZRZ", 4), "{e}");
            assert!(message.contains("already exists"), "{e}");
        }
        other => panic!("expected a data error naming the row, got {other}"),
    }
    // 3. a date the server would refuse, caught before the transaction with its row
    let mut baddate = rows("JSYDSYQ", 3, 2000, "new");
    let fi = registry()
        .table("JSYDSYQ")
        .unwrap()
        .field_index("DJSJ")
        .unwrap();
    baddate.columns[fi] = Column::Text(
        [Some("2020-01-01"), Some("2020-02-30"), None]
            .into_iter()
            .collect(),
    );
    let e = reg
        .apply(&changes_then(TableChange::inserts("JSYDSYQ", baddate)))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("table JSYDSYQ row 1") && e.contains("\"2020-02-30\" is not a date"),
        "{e}"
    );
    // 4. unknown table
    let e = reg
        .apply(&changes_then(TableChange::inserts(
            "NOT_A_TABLE",
            Rows::new(def),
        )))
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("table NOT_A_TABLE row 0: table not in the registry schema"),
        "{e}"
    );
    assert_eq!(reg.counts().unwrap(), counts);
    assert!(
        snapshot(&mut reg) == before,
        "registry content changed by a failed apply"
    );
    // and the registry still takes the same change without the bad table
    let mut good = changes_then(TableChange::inserts("H", rows("H", 2, 0, "new")));
    good.tables.truncate(3);
    reg.apply(&good).unwrap();
    // every "test" parcel deleted (fids 1-3 with them), 15 new ones
    assert_eq!(reg.counts().unwrap()["ZDJBXX"], 15);
}

#[test]
fn same_counts_and_rows_as_the_geopackage_backend() {
    let Some(base) = server() else { return };
    let url = fresh(&base, "t_like_gpkg");
    let dir = tempfile::tempdir().unwrap();
    let mut gp = GpkgRegistry::open(&dir.path().join("r.gpkg"), SRID).unwrap();
    let mut pg = connect(&url);
    let second = ChangeSet {
        tables: vec![
            TableChange {
                table: "ZDJBXX".into(),
                delete_where: vec![vec![("src_key".into(), "k4".into())]],
                delete: vec![2, 9, 999],
                update_fids: vec![1, 6],
                update_rows: Some(rows("ZDJBXX", 2, 300, "upd")),
                insert: Some(rows("ZDJBXX", 12, 400, "test")),
            },
            TableChange::inserts("QLR", rows("QLR", 9, 0, "test")),
            TableChange {
                table: "reconciliation".into(),
                delete_where: vec![vec![("source".into(), "钢混".into())]],
                delete: vec![],
                update_fids: vec![],
                update_rows: None,
                insert: Some(rows("reconciliation", 2, 10, "x")),
            },
        ],
    };
    for cs in [some_tables(40), second] {
        gp.apply(&cs).unwrap();
        pg.apply(&cs).unwrap();
        assert_eq!(pg.counts().unwrap(), gp.counts().unwrap());
    }
    assert_eq!(pg.counts().unwrap()["ZDJBXX"], 40 - 3 + 12);
    let a = snapshot(&mut pg);
    let b = snapshot(&mut gp);
    for (t, (fids, cols, geoms)) in &a {
        let (gf, gc, gg) = &b[t];
        assert_eq!(fids, gf, "fids of {t}");
        assert_eq!(geoms, gg, "geometries of {t}");
        for (j, (x, y)) in cols.iter().zip(gc).enumerate() {
            assert_eq!(x, y, "{t}.{}", registry().table(t).unwrap().fields[j].name);
        }
    }
    assert_eq!(
        pg.existing("ZDJBXX", "test").unwrap(),
        gp.existing("ZDJBXX", "test").unwrap()
    );
}

fn index_names(c: &mut Client, schema: &str, table: &str) -> Vec<String> {
    c.query(
        "SELECT indexname::text FROM pg_indexes WHERE schemaname = $1 AND tablename = $2 ORDER BY 1",
        &[&schema, &table],
    )
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect()
}

#[test]
fn bulk_inserts_rebuild_indexes_or_keep_them_for_readers() {
    let Some(base) = server() else { return };
    let url = fresh(&base, "t_bulk");
    let mut reg = connect(&url);
    // a new registry gets its indexes once, after a load of any size
    let mut first = some_tables(20);
    first.tables.push(TableChange::inserts(
        "ZRZ",
        rows("ZRZ", 55_000, 100, "bulk"),
    ));
    reg.apply(&first).unwrap();
    let mut c = admin(&base);
    let indexes = index_names(&mut c, "t_bulk", "ZDJBXX");
    assert_eq!(indexes.len(), 4, "{indexes:?}"); // pkey, provenance, ZDDM, GiST
    let gist_oid = |c: &mut Client| -> i64 {
        c.query_one("SELECT 't_bulk.sx_zdjbxx_geom'::regclass::oid::bigint", &[])
            .unwrap()
            .get(0)
    };
    let oid0 = gist_oid(&mut c);
    // a big insert (indexes dropped and rebuilt inside the transaction)
    let big = rows("ZDJBXX", 60_000, 100, "bulk");
    reg.apply(&ChangeSet {
        tables: vec![TableChange::inserts("ZDJBXX", big.clone())],
    })
    .unwrap();
    assert_eq!(index_names(&mut c, "t_bulk", "ZDJBXX"), indexes);
    let oid1 = gist_oid(&mut c);
    assert_ne!(oid1, oid0, "the GiST index was rebuilt");
    assert_eq!(reg.counts().unwrap()["ZDJBXX"], 60_020);
    assert_eq!(reg.counts().unwrap()["ZRZ"], 55_010);
    let (fids, got) = reg.read_table("ZDJBXX").unwrap();
    assert_eq!(fids[20], 21);
    assert_eq!(
        got.take(&[20, 60_019]).columns,
        big.take(&[0, 59_999]).columns
    );
    // the same keys again: refused by the rebuilt unique index, everything rolled back
    let before = reg.counts().unwrap();
    let e = reg
        .apply(&ChangeSet {
            tables: vec![TableChange::inserts("ZDJBXX", big)],
        })
        .unwrap_err();
    assert!(
        e.to_string().contains("ux_zdjbxx_src") && e.to_string().contains("duplicate"),
        "{e}"
    );
    assert_eq!(reg.counts().unwrap(), before);
    assert_eq!(index_names(&mut c, "t_bulk", "ZDJBXX"), indexes);
    // a reader holding the table: the load keeps the indexes and does not wait for it
    let mut reader = admin(&base);
    let mut rtx = reader.transaction().unwrap();
    rtx.batch_execute("SELECT count(*) FROM t_bulk.\"ZDJBXX\"")
        .unwrap();
    let t0 = Instant::now();
    reg.apply(&ChangeSet {
        tables: vec![TableChange::inserts(
            "ZDJBXX",
            rows("ZDJBXX", 60_000, 0, "bulk2"),
        )],
    })
    .unwrap();
    assert!(t0.elapsed() < Duration::from_secs(120));
    rtx.rollback().unwrap();
    assert_eq!(reg.counts().unwrap()["ZDJBXX"], 120_020);
    assert_eq!(index_names(&mut c, "t_bulk", "ZDJBXX"), indexes);
    assert_eq!(
        gist_oid(&mut c),
        oid1,
        "indexes kept while a reader held the table"
    );
}

#[test]
fn foreign_schemas_are_refused() {
    let Some(base) = server() else { return };
    let mut c = admin(&base);
    // a schema of someone else's tables
    let url = fresh(&base, "t_foreign_other");
    c.batch_execute("CREATE SCHEMA t_foreign_other; CREATE TABLE t_foreign_other.customers (id int); CREATE TABLE t_foreign_other.orders (id int)").unwrap();
    let e = PgRegistry::connect(&url, SRID).err().unwrap();
    assert!(matches!(e, RegistryError::Foreign { .. }), "{e}");
    let s = e.to_string();
    assert!(
        s.contains("not a cadastra registry") && s.contains("customers, orders"),
        "{s}"
    );
    // a registry table lacking a column
    let url = fresh(&base, "t_foreign_cols");
    c.batch_execute("CREATE SCHEMA t_foreign_cols; CREATE TABLE t_foreign_cols.\"ZDJBXX\" (fid bigserial, geom geometry)").unwrap();
    let s = PgRegistry::connect(&url, SRID).err().unwrap().to_string();
    assert!(s.contains("not a cadastra registry"), "{s}");
    // a registry made for another CRS
    let url = fresh(&base, "t_foreign_crs");
    connect(&url).apply(&some_tables(3)).unwrap();
    let e = PgRegistry::connect(&url, 4549).err().unwrap();
    let s = e.to_string();
    assert!(
        matches!(e, RegistryError::Foreign { .. })
            && s.contains(
                "geometry(MultiPolygon,4548), the registry needs geometry(MultiPolygon,4549)"
            ),
        "{s}"
    );
    // a column of the wrong type
    c.batch_execute("ALTER TABLE t_foreign_crs.\"ZRZ\" ALTER COLUMN \"JGRQ\" TYPE text")
        .unwrap();
    let s = PgRegistry::connect(&url, SRID).err().unwrap().to_string();
    assert!(
        s.contains("table ZRZ column JGRQ is text, the registry needs date"),
        "{s}"
    );
    // a schema name that is not a plain identifier never reaches SQL
    let s = PgRegistry::connect(&with_schema(&base, "x\";drop"), SRID)
        .err()
        .unwrap()
        .to_string();
    assert!(s.contains("not a plain identifier"), "{s}");
}

#[test]
fn a_second_run_is_locked_out() {
    let Some(base) = server() else { return };
    let url = fresh(&base, "t_lock");
    let first = connect(&url);
    let e = PgRegistry::connect(&url, SRID).err().unwrap();
    let s = e.to_string();
    assert!(matches!(e, RegistryError::Locked { .. }), "{s}");
    assert!(
        s.contains("schema t_lock is locked by another cadastra run")
            && s.contains("pg_terminate_backend"),
        "{s}"
    );
    // other schemas are not affected
    connect(&fresh(&base, "t_lock_other"));
    // waiting works: the first run ends after 300 ms
    let t0 = Instant::now();
    let h = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        drop(first);
    });
    let second = PgRegistry::connect_wait(&url, SRID, Duration::from_secs(20));
    h.join().unwrap();
    assert!(second.is_ok(), "{}", second.err().unwrap());
    assert!(t0.elapsed() >= Duration::from_millis(300));
    // the lock is the documented advisory key
    let key = lock_key("t_lock");
    let n: i64 = admin(&base)
        .query_one(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
               AND classid::bigint = $1 AND objid::bigint = $2",
            &[&(key >> 32 & 0xffff_ffff), &(key & 0xffff_ffff)],
        )
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
}

#[test]
fn missing_rights_and_missing_postgis_are_explained() {
    let Some(base) = server() else { return };
    let mut c = admin(&base);
    let role = "t_cadastra_norights";
    c.batch_execute(
        "DROP SCHEMA IF EXISTS t_rights_granted CASCADE; DROP SCHEMA IF EXISTS t_rights_ro CASCADE",
    )
    .unwrap();
    // a role left by an interrupted run is dropped with what it owns
    let _ = c.batch_execute(&format!("DROP OWNED BY {role} CASCADE; DROP ROLE {role}"));
    c.batch_execute(&format!(
        "DO $$ BEGIN CREATE ROLE {role} LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$"
    ))
    .unwrap();
    let as_role = with_user_db(&base, Some(role), None);
    // cannot create the schema
    let e = PgRegistry::connect(&with_schema(&as_role, "t_rights"), SRID)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains(&format!("role {role} may not create schema t_rights"))
            && e.contains("GRANT CREATE ON DATABASE"),
        "{e}"
    );
    // an administrator made the schema, without rights for the role, then with them
    c.batch_execute("CREATE SCHEMA t_rights_granted").unwrap();
    let url = with_schema(&as_role, "t_rights_granted");
    let e = PgRegistry::connect(&url, SRID).err().unwrap().to_string();
    assert!(
        e.contains("may not create tables in schema t_rights_granted"),
        "{e}"
    );
    c.batch_execute(&format!(
        "GRANT USAGE, CREATE ON SCHEMA t_rights_granted TO {role}"
    ))
    .unwrap();
    let mut reg = connect(&url);
    assert!(
        reg.notes.iter().any(|n| n.contains("empty")),
        "{:?}",
        reg.notes
    );
    reg.apply(&some_tables(6)).unwrap();
    assert_eq!(reg.counts().unwrap()["ZDJBXX"], 6);
    drop(reg);
    // a registry the role may read but not change
    let url = fresh(&base, "t_rights_ro");
    connect(&url).apply(&some_tables(3)).unwrap();
    c.batch_execute(&format!("GRANT USAGE ON SCHEMA t_rights_ro TO {role}; GRANT SELECT ON ALL TABLES IN SCHEMA t_rights_ro TO {role}")).unwrap();
    let e = PgRegistry::connect(&with_schema(&as_role, "t_rights_ro"), SRID)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains(&format!(
            "role {role} lacks INSERT on {} tables (ZDJBXX",
            registry().tables.len()
        )),
        "{e}"
    );
    assert!(
        e.contains("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA"),
        "{e}"
    );
    // a database without PostGIS: the role may not install it, a superuser may
    let db = "t_cadastra_nopostgis";
    c.batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .unwrap();
    c.batch_execute(&format!("CREATE DATABASE {db}")).unwrap();
    let e = PgRegistry::connect(&with_user_db(&base, Some(role), Some(db)), SRID)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains(&format!("the PostGIS extension is not installed in database {db} and role {role} may not install it")), "{e}");
    let reg = connect(&with_user_db(&base, None, Some(db)));
    assert!(
        reg.notes
            .iter()
            .any(|n| n.contains("installed the PostGIS extension")),
        "{:?}",
        reg.notes
    );
    drop(reg);
    c.batch_execute(&format!("DROP DATABASE {db} WITH (FORCE)"))
        .unwrap();
    c.batch_execute(&format!(
        "DROP SCHEMA t_rights_granted CASCADE; DROP SCHEMA t_rights_ro CASCADE; DROP OWNED BY {role}; DROP ROLE {role}"
    ))
    .unwrap();
}

#[test]
fn unreachable_server_is_a_clear_error() {
    // needs no server: nothing listens on port 1
    let e = PgRegistry::connect(
        "postgresql://u:secret@127.0.0.1:1/db?connect_timeout=5",
        SRID,
    )
    .err()
    .unwrap();
    let s = e.to_string();
    assert!(matches!(e, RegistryError::Postgres { .. }), "{s}");
    assert!(
        s.contains("cannot connect") && s.contains("postgresql://u@127.0.0.1:1/db?schema=cadastra"),
        "{s}"
    );
    assert!(!s.contains("secret"), "{s}");
    let s = PgRegistry::connect("postgresql://u:secret@h/db?nonsense=1", SRID)
        .err()
        .unwrap()
        .to_string();
    assert!(
        s.contains("invalid connection URL") && !s.contains("secret"),
        "{s}"
    );
}

/// This test binary again, running only the ignored child test `name` against registry `url`.
fn spawn_child(name: &str, url: &str) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--ignored", "--nocapture"])
        .env("CADASTRA_PG_CHILD_URL", url)
        .spawn()
        .unwrap()
}

/// Wait until a cadastra session waits on a lock in a statement `LIKE query`: true, or false when
/// `child` ended or `secs` seconds passed since `t0` first.
fn blocked_in(
    base: &str,
    child: &mut std::process::Child,
    query: &str,
    t0: Instant,
    secs: u64,
) -> bool {
    let mut watch = admin(base);
    loop {
        let n: i64 = watch
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'cadastra'
                   AND wait_event_type = 'Lock' AND query LIKE $1",
                &[&query],
            )
            .unwrap()
            .get(0);
        if n == 1 {
            return true;
        }
        if t0.elapsed() > Duration::from_secs(secs) || child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A first load big enough to be cut into pieces: two parcel changes (fids continue across them),
/// buildings, findings and a reconciliation row.
fn staged_tables() -> ChangeSet {
    ChangeSet {
        tables: vec![
            TableChange::inserts("ZDJBXX", rows("ZDJBXX", 25_000, 0, "test")),
            TableChange::inserts("ZRZ", rows("ZRZ", 30, 0, "test")),
            TableChange::inserts("ZDJBXX", rows("ZDJBXX", 30_000, 25_000, "other")),
            TableChange::inserts("findings", rows("findings", 7, 0, "test")),
            TableChange::inserts("reconciliation", rows("reconciliation", 3, 0, "test")),
        ],
    }
}

fn schema_exists(c: &mut Client, name: &str) -> bool {
    c.query_opt("SELECT 1 FROM pg_namespace WHERE nspname = $1", &[&name])
        .unwrap()
        .is_some()
}

#[test]
fn staged_first_load_equals_one_transaction() {
    let Some(base) = server() else { return };
    let mut c = admin(&base);
    let cs = staged_tables();
    let mut snaps = Vec::new();
    // one transaction; three connections into an absent schema; three into one an administrator made
    for (schema, connections, made) in [
        ("t_staged_one", 1, false),
        ("t_staged_absent", 3, false),
        ("t_staged_empty", 3, true),
    ] {
        let url = fresh(&base, schema);
        if made {
            c.batch_execute(&format!("CREATE SCHEMA {schema}")).unwrap();
        }
        let mut reg = connect(&url);
        reg.set_parallel_load(connections, 1);
        reg.apply(&cs).unwrap();
        assert!(!reg.is_new());
        assert!(
            !reg.notes.iter().any(|n| n.contains("over one connection")),
            "{schema}: {:?}",
            reg.notes
        );
        assert!(!schema_exists(&mut c, &staging_schema(schema)), "{schema}");
        // the fid sequences continue after the loaded fids
        reg.apply(&ChangeSet {
            tables: vec![TableChange::inserts(
                "ZDJBXX",
                rows("ZDJBXX", 5, 90_000, "more"),
            )],
        })
        .unwrap();
        let indexes: Vec<Vec<String>> = ["ZDJBXX", "ZRZ", "findings"]
            .iter()
            .map(|t| index_names(&mut c, schema, t))
            .collect();
        snaps.push((schema, snapshot(&mut reg), indexes, reg.counts().unwrap()));
    }
    let (_, one, one_ix, one_counts) = &snaps[0];
    assert_eq!(one["ZDJBXX"].0, (1..=55_005).collect::<Vec<i64>>());
    assert_eq!(one_counts["ZDJBXX"], 55_005);
    assert!(one_ix[0].len() >= 3, "{one_ix:?}");
    for (schema, snap, ix, counts) in &snaps[1..] {
        assert_eq!(counts, one_counts, "{schema}");
        assert_eq!(ix, one_ix, "{schema}");
        assert!(
            snap == one,
            "{schema}: the staged load differs from the one-transaction load"
        );
    }
}

#[test]
fn staged_load_that_cannot_finish_leaves_nothing() {
    let Some(base) = server() else { return };
    let url = fresh(&base, "t_staged_race");
    let mut reg = connect(&url);
    reg.set_parallel_load(2, 1);
    assert!(reg.is_new());
    // another session makes the schema (with a table of its own) after this one looked
    let mut c = admin(&base);
    c.batch_execute("CREATE SCHEMA t_staged_race; CREATE TABLE t_staged_race.other (x int)")
        .unwrap();
    let err = reg.apply(&staged_tables()).unwrap_err().to_string();
    assert!(err.contains("t_staged_race"), "{err}");
    assert!(!schema_exists(&mut c, &staging_schema("t_staged_race")));
    let tables: Vec<String> = c
        .query(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = 't_staged_race'",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(tables, vec!["other".to_string()]);
}

/// The child of `killed_staged_load_is_cleaned_up`: a staged first load that blocks on the
/// reconciliation table of its staging schema (the parent locks it) and is killed there.
#[test]
#[ignore = "run by killed_staged_load_is_cleaned_up as a child process"]
fn child_staged_load_blocked_then_killed() {
    let Ok(url) = std::env::var("CADASTRA_PG_CHILD_URL") else {
        return;
    };
    let mut reg = connect(&url);
    reg.set_parallel_load(2, 1);
    let mut cs = staged_tables();
    cs.tables[0] = TableChange::inserts("ZDJBXX", rows("ZDJBXX", 100_000, 0, "test"));
    let _ = reg.apply(&cs);
    eprintln!("child: apply returned; the parent should have killed this process");
}

#[test]
fn killed_staged_load_is_cleaned_up() {
    let Some(base) = server() else { return };
    let schema = "t_staged_killed";
    let url = fresh(&base, schema);
    let staging = staging_schema(schema);
    let mut c = admin(&base);
    c.batch_execute(&format!("DROP SCHEMA IF EXISTS {staging} CASCADE"))
        .unwrap();
    let mut child = spawn_child("child_staged_load_blocked_then_killed", &url);
    // lock the staging reconciliation table as soon as it exists: its COPY (the smallest piece,
    // sent last) waits for it
    let t0 = Instant::now();
    let tx = loop {
        let mut tx = c.transaction().unwrap();
        let exists = tx
            .query_opt(
                "SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = 'reconciliation'",
                &[&staging],
            )
            .unwrap()
            .is_some();
        if exists {
            tx.batch_execute(&format!(
                "LOCK TABLE {staging}.reconciliation IN EXCLUSIVE MODE"
            ))
            .unwrap();
            break tx;
        }
        drop(tx);
        assert!(
            t0.elapsed() < Duration::from_secs(120) && child.try_wait().unwrap().is_none(),
            "the child never made its staging schema"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    let blocked = blocked_in(&base, &mut child, "COPY \"cadastra_load_%", t0, 120);
    child.kill().unwrap();
    child.wait().unwrap();
    tx.rollback().unwrap();
    assert!(blocked, "the child's load never reached the locked table");
    assert!(
        schema_exists(&mut c, &staging),
        "the killed load left its staging schema"
    );
    assert!(
        !schema_exists(&mut c, schema),
        "a killed first load made the registry"
    );
    // the next connection (holding the run lock) removes it and says so
    let mut reg = PgRegistry::connect_wait(&url, SRID, Duration::from_secs(30)).unwrap();
    assert!(
        reg.notes.iter().any(|n| n.contains(&staging)),
        "{:?}",
        reg.notes
    );
    assert!(!schema_exists(&mut c, &staging));
    assert!(reg.is_new());
    assert!(reg.counts().unwrap().is_empty());
}

/// The child of `killed_run_leaves_registry_unchanged`: applies a change that blocks on a row
/// lock the parent holds, and is killed there.
#[test]
#[ignore = "run by killed_run_leaves_registry_unchanged as a child process"]
fn child_apply_blocked_then_killed() {
    let Ok(url) = std::env::var("CADASTRA_PG_CHILD_URL") else {
        return;
    };
    let mut reg = connect(&url);
    let mut zrz = TableChange::inserts("ZRZ", rows("ZRZ", 0, 0, "x"));
    zrz.delete = vec![1];
    let cs = ChangeSet {
        tables: vec![
            TableChange {
                table: "ZDJBXX".into(),
                delete_where: vec![vec![("src_system".into(), "test".into())]],
                delete: vec![],
                update_fids: vec![],
                update_rows: None,
                insert: Some(rows("ZDJBXX", 5000, 10_000, "killed")),
            },
            zrz,
        ],
    };
    let _ = reg.apply(&cs);
    eprintln!("child: apply returned; the parent should have killed this process");
}

#[test]
fn killed_run_leaves_registry_unchanged() {
    let Some(base) = server() else { return };
    let url = fresh(&base, "t_killed");
    let mut reg = connect(&url);
    reg.apply(&some_tables(20)).unwrap();
    let before = snapshot(&mut reg);
    drop(reg);
    // hold a row lock the child's change needs after it has deleted and loaded parcels
    let mut holder = admin(&base);
    let mut tx = holder.transaction().unwrap();
    tx.batch_execute("SELECT 1 FROM t_killed.\"ZRZ\" WHERE fid = 1 FOR UPDATE")
        .unwrap();
    let mut child = spawn_child("child_apply_blocked_then_killed", &url);
    let blocked = blocked_in(
        &base,
        &mut child,
        "DELETE FROM \"t_killed\".\"ZRZ\"%",
        Instant::now(),
        60,
    );
    child.kill().unwrap();
    child.wait().unwrap();
    tx.rollback().unwrap();
    assert!(blocked, "the child never reached the blocked delete");
    // the killed run's server process ends when it finds the client gone, releasing the lock
    let mut reg = PgRegistry::connect_wait(&url, SRID, Duration::from_secs(30)).unwrap();
    assert!(
        snapshot(&mut reg) == before,
        "a killed run changed the registry"
    );
    assert!(reg.existing("ZDJBXX", "killed").unwrap().is_empty());
}

/// 1M parcels through `apply` into a new registry, then the same rows from a GeoPackage written
/// by the gpkg backend through `ogr2ogr -f PostgreSQL`; prints wall time and rows/s of both, and
/// (server on this host, readable `/proc`) the CPU seconds of client and server, which do not
/// depend on what else the machine is doing.
#[test]
#[ignore = "benchmark: 1M rows, a few minutes; run with --ignored --nocapture"]
fn bench_million_parcels() {
    let Some(base) = server() else { return };
    let n: usize = std::env::var("CADASTRA_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let t = Instant::now();
    let parcels = bench_parcels(n);
    eprintln!("built {n} parcel rows in {:.2?}", t.elapsed());
    let cs = ChangeSet {
        tables: vec![TableChange::inserts("ZDJBXX", parcels)],
    };
    let mut c = admin(&base);
    let meter = Meter::new(&mut c);
    let url = fresh(&base, "t_bench");

    let m0 = meter.start();
    let mut reg = connect(&url);
    reg.apply(&cs).unwrap();
    drop(reg);
    meter.report(
        &mut c,
        m0,
        n,
        "postgis apply, new registry (binary COPY, then indexes)",
    );

    // the same rows once more into the now indexed table (other provenance keys)
    let def = registry().table("ZDJBXX").unwrap();
    let k = def.field_index("src_system").unwrap();
    let mut again = cs.clone();
    again.tables[0].insert.as_mut().unwrap().columns[k] =
        Column::Text(std::iter::repeat_n(Some("second"), n).collect());
    let m0 = meter.start();
    let mut reg = connect(&url);
    reg.apply(&again).unwrap();
    drop(reg);
    meter.report(
        &mut c,
        m0,
        n,
        "postgis apply, as many again into the indexed registry (indexes rebuilt)",
    );

    // a smaller load that keeps the indexes and updates them row by row
    let m = (n / 25).min(40_000);
    let mut third = TableChange::inserts(
        "ZDJBXX",
        cs.tables[0]
            .insert
            .as_ref()
            .unwrap()
            .take(&(0..m).collect::<Vec<_>>()),
    );
    third.insert.as_mut().unwrap().columns[k] =
        Column::Text(std::iter::repeat_n(Some("third"), m).collect());
    let m0 = meter.start();
    let mut reg = connect(&url);
    reg.apply(&ChangeSet {
        tables: vec![third],
    })
    .unwrap();
    drop(reg);
    meter.report(
        &mut c,
        m0,
        m,
        "postgis apply, a small load into the indexed registry (indexes kept)",
    );

    let m0 = meter.start();
    let mut reg = connect(&url);
    let (fids, _) = reg.read_table("ZDJBXX").unwrap();
    assert_eq!(fids.len(), 2 * n + m);
    drop(reg);
    meter.report(&mut c, m0, fids.len(), "postgis read_table");

    // the comparison: the gpkg backend writes the GeoPackage, ogr2ogr loads it
    let dir = tempfile::tempdir().unwrap();
    let gpkg = dir.path().join("bench.gpkg");
    let t = Instant::now();
    GpkgRegistry::open(&gpkg, SRID).unwrap().apply(&cs).unwrap();
    eprintln!("gpkg apply (new file): {n} rows in {:.2?}", t.elapsed());
    c.batch_execute("DROP SCHEMA IF EXISTS t_bench_ogr CASCADE; CREATE SCHEMA t_bench_ogr")
        .unwrap();
    let pg = ogr_pg_connection(&base);
    for (label, extra) in [
        (
            "ogr2ogr -f PostgreSQL from that GeoPackage (default -gt 20000)",
            vec![],
        ),
        (
            "ogr2ogr -f PostgreSQL from that GeoPackage, -gt unlimited",
            vec!["-gt", "unlimited"],
        ),
    ] {
        c.batch_execute("DROP TABLE IF EXISTS t_bench_ogr.zdjbxx")
            .unwrap();
        let m0 = meter.start();
        let out = Command::new("ogr2ogr")
            .args(["-f", "PostgreSQL", &pg])
            .arg(&gpkg)
            .arg("ZDJBXX")
            .args([
                "-nln",
                "zdjbxx",
                "-lco",
                "SCHEMA=t_bench_ogr",
                "-lco",
                "GEOMETRY_NAME=geom",
            ])
            .args(&extra)
            .output()
            .expect("ogr2ogr (gdal-bin) is needed for the comparison");
        assert!(
            out.status.success(),
            "ogr2ogr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        meter.report(&mut c, m0, n, label);
        let count: i64 = c
            .query_one("SELECT count(*) FROM t_bench_ogr.zdjbxx", &[])
            .unwrap()
            .get(0);
        assert_eq!(count, n as i64);
    }
    c.batch_execute("DROP SCHEMA t_bench_ogr CASCADE; DROP SCHEMA t_bench CASCADE")
        .unwrap();
}

/// Wall clock and CPU seconds of a benchmark phase: this process and its children (ogr2ogr), and
/// the server processes that ended during it (the postmaster's reaped children: the phase's own
/// connections, which it closes). `/proc` ticks are USER_HZ = 100 per second on Linux.
struct Meter {
    postmaster: Option<String>,
}

struct Mark {
    wall: Instant,
    client: f64,
    server: Option<f64>,
}

fn proc_cpu(pid: &str, children: bool) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let f: Vec<f64> = stat
        .rsplit_once(')')?
        .1
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(0.0))
        .collect();
    // after the command: state(0) … utime(11) stime(12) cutime(13) cstime(14)
    let own = f.get(11)? + f.get(12)?;
    let kids = f.get(13)? + f.get(14)?;
    Some(if children { kids } else { own + kids } / 100.0)
}

impl Meter {
    fn new(c: &mut Client) -> Meter {
        let dir: Option<String> = c
            .query_one("SHOW data_directory", &[])
            .ok()
            .map(|r| r.get(0));
        let postmaster = dir
            .and_then(|d| std::fs::read_to_string(format!("{d}/postmaster.pid")).ok())
            .and_then(|s| s.lines().next().map(str::to_string))
            .filter(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists());
        if postmaster.is_none() {
            eprintln!("(server CPU not measured: the server is not on this host or not readable)");
        }
        Meter { postmaster }
    }
    fn start(&self) -> Mark {
        Mark {
            wall: Instant::now(),
            client: proc_cpu("self", false).unwrap_or(0.0),
            server: self.postmaster.as_deref().and_then(|p| proc_cpu(p, true)),
        }
    }
    fn report(&self, c: &mut Client, m: Mark, rows: usize, label: &str) {
        let wall = m.wall.elapsed();
        // wait until the phase's server processes have ended and been reaped
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(10) {
            let others: i64 = c
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'
                       AND pid <> pg_backend_pid()",
                    &[],
                )
                .unwrap()
                .get(0);
            if others == 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(200));
        let client = proc_cpu("self", false).unwrap_or(0.0) - m.client;
        let rate = rows as f64 / wall.as_secs_f64();
        let server = match (
            m.server,
            self.postmaster.as_deref().and_then(|p| proc_cpu(p, true)),
        ) {
            (Some(a), Some(b)) => {
                let s = b - a;
                format!(
                    "; CPU client {client:.2} s + server {s:.2} s = {:.0} rows per CPU second",
                    rows as f64 / (client + s)
                )
            }
            _ => format!("; CPU client {client:.2} s"),
        };
        eprintln!("{label}: {rows} rows in {wall:.2?} = {rate:.0} rows/s{server}");
    }
}

fn bench_parcels(n: usize) -> Rows {
    let def = registry().table("ZDJBXX").unwrap();
    let mut rows = Rows::new(def);
    for col in rows.columns.iter_mut() {
        *col = Column::new(
            match col {
                Column::Text(_) => FieldType::Text,
                Column::Int(_) => FieldType::Int,
                Column::Real(_) => FieldType::Real,
            },
            n,
        );
    }
    rows.geoms.reserve(n);
    let mut buf = String::new();
    for i in 0..n {
        for (f, col) in def.fields.iter().zip(rows.columns.iter_mut()) {
            match col {
                Column::Text(c) => {
                    buf.clear();
                    let v = match f.name.as_str() {
                        "ZDDM" => {
                            buf.push_str(&format!(
                                "370116{:03}{:03}GB{:05}",
                                i / 100_000,
                                i / 1000 % 1000,
                                i % 100_000
                            ));
                            Some(buf.as_str())
                        }
                        "ZL" => Some("莱芜区凤城街道鲁中东大街1号"),
                        "YT" => Some("0701"),
                        "QLLX" => Some("3"),
                        "src_system" => Some("bench"),
                        "src_key" => {
                            buf.push_str(&format!("k{i}"));
                            Some(buf.as_str())
                        }
                        "batch_id" => Some("b1"),
                        _ => None,
                    };
                    c.push(v);
                }
                Column::Int(c) => c.push(Some(i as i64)),
                Column::Real(c) => c.push(if f.name == "ZDMJ" {
                    Some(200.0 + (i % 97) as f64)
                } else {
                    None
                }),
            }
        }
        let x = 500_000.0 + 20.0 * (i % 5000) as f64;
        let y = 4_000_000.0 + 10.0 * (i / 5000) as f64;
        rows.geoms.push(Some(square(x, y)));
    }
    rows
}

/// `PG:` connection string for ogr2ogr from the test URL.
fn ogr_pg_connection(base: &str) -> String {
    let c: postgres::Config = base.parse().unwrap();
    let host = match c.get_hosts().first() {
        Some(postgres::config::Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = c.get_ports().first().copied().unwrap_or(5432);
    format!(
        "PG:host={host} port={port} user={} dbname={}",
        c.get_user().unwrap_or("postgres"),
        c.get_dbname().unwrap_or("postgres")
    )
}
