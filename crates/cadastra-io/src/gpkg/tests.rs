use super::*;
use cadastra_model::{Column, Rows, StrColumn};
use geo_types::{polygon, MultiPolygon};
use std::process::Command;

fn parcels(n: usize) -> Rows {
    parcels_at(0, n)
}

/// Parcels `first..first + n`: distinct keys, 20 m apart along a row.
fn parcels_at(first: usize, n: usize) -> Rows {
    let def = registry().table("ZDJBXX").unwrap();
    let mut rows = Rows::new(def);
    for i in first..first + n {
        for (f, col) in def.fields.iter().zip(rows.columns.iter_mut()) {
            match col {
                Column::Text(c) => c.push(match f.name.as_str() {
                    "ZDDM" => Some(Box::leak(
                        format!("370116001001GB{:05}", i + 1).into_boxed_str(),
                    )),
                    "ZL" => Some("莱芜区凤城街道鲁中东大街1号"),
                    "src_system" => Some("test"),
                    "src_key" => Some(Box::leak(format!("k{i}").into_boxed_str())),
                    "record_hash" => Some("h"),
                    _ => None,
                }),
                Column::Int(c) => c.push(None),
                Column::Real(c) => c.push(if f.name == "ZDMJ" { Some(200.0) } else { None }),
            }
        }
        let x = 550_000.0 + 20.0 * i as f64;
        rows.geoms.push(Some(MultiPolygon(vec![polygon![
            (x: x, y: 4_010_000.0), (x: x + 20.0, y: 4_010_000.0), (x: x + 20.0, y: 4_010_010.0),
            (x: x, y: 4_010_010.0), (x: x, y: 4_010_000.0)
        ]])));
    }
    rows
}

fn ogr_count(path: &Path, layer: &str) -> Option<usize> {
    let out = Command::new("ogrinfo")
        .args(["-ro", "-so"])
        .arg(path)
        .arg(layer)
        .output()
        .ok()?;
    let s = String::from_utf8_lossy(&out.stdout);
    s.lines()
        .find_map(|l| l.strip_prefix("Feature Count: "))
        .and_then(|v| v.trim().parse().ok())
}

#[test]
fn new_registry_is_valid_and_readable_by_gdal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.gpkg");
    let mut reg = GpkgRegistry::open(&path, 4548).unwrap();
    assert!(reg.is_new());
    let cs = ChangeSet {
        tables: vec![TableChange::inserts("ZDJBXX", parcels(50))],
    };
    reg.apply(&cs).unwrap();
    assert!(path.exists());
    assert!(!reg.partial_path().exists());
    assert_eq!(reg.counts().unwrap()["ZDJBXX"], 50);
    let (fids, rows) = reg.read_table("ZDJBXX").unwrap();
    assert_eq!(fids.len(), 50);
    let def = registry().table("ZDJBXX").unwrap();
    let zl = text_column(&rows, def, "ZL").unwrap();
    assert_eq!(zl.get(7), Some("莱芜区凤城街道鲁中东大街1号"));
    assert_eq!(rows.geoms[3], parcels(50).geoms[3]);
    // GDAL reads it, with the count and CRS
    if let Some(n) = ogr_count(&path, "ZDJBXX") {
        assert_eq!(n, 50);
        let out = Command::new("ogrinfo")
            .args(["-ro", "-so"])
            .arg(&path)
            .arg("ZDJBXX")
            .output()
            .unwrap();
        assert!(String::from_utf8_lossy(&out.stdout).contains("4548"));
    } else {
        panic!("ogrinfo (gdal-bin) is needed for this test");
    }
    // GDAL's validator accepts it
    let v = Command::new("/usr/bin/python3")
        .args(["-m", "osgeo_utils.samples.validate_gpkg", "-k"])
        .arg(&path)
        .output()
        .expect("python3-gdal is needed for this test");
    assert!(
        v.status.success(),
        "validate_gpkg: {}{}",
        String::from_utf8_lossy(&v.stdout),
        String::from_utf8_lossy(&v.stderr)
    );
}

#[test]
fn failed_change_leaves_existing_registry_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.gpkg");
    let mut reg = GpkgRegistry::open(&path, 4548).unwrap();
    reg.apply(&ChangeSet {
        tables: vec![TableChange::inserts("ZDJBXX", parcels(10))],
    })
    .unwrap();
    let before = std::fs::read(&path).unwrap();
    // second change: valid inserts, then a table whose rows have the wrong shape -> whole change refused
    let mut bad = parcels(3);
    bad.columns.pop();
    let cs = ChangeSet {
        tables: vec![
            TableChange::inserts("ZDJBXX", {
                let mut r = parcels(15);
                if let Column::Text(c) = &mut r.columns[registry()
                    .table("ZDJBXX")
                    .unwrap()
                    .field_index("src_key")
                    .unwrap()]
                {
                    let mut nc = StrColumn::default();
                    for i in 0..c.len() {
                        nc.push(Some(&format!("new{i}")));
                    }
                    *c = nc;
                }
                r
            }),
            TableChange::inserts("ZRZ", bad),
        ],
    };
    assert!(reg.apply(&cs).is_err());
    drop(reg);
    let mut reg = GpkgRegistry::open(&path, 4548).unwrap();
    assert_eq!(reg.counts().unwrap()["ZDJBXX"], 10);
    let after = std::fs::read(&path).unwrap();
    assert_eq!(before.len(), after.len());
}

#[test]
fn foreign_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.gpkg");
    std::fs::write(&p, b"not a database at all, just text").unwrap();
    assert!(matches!(
        GpkgRegistry::open(&p, 4548),
        Err(RegistryError::Foreign { .. })
    ));
    let p2 = dir.path().join("y.gpkg");
    let c = Connection::open(&p2).unwrap();
    c.execute_batch("PRAGMA application_id = 1196444487; CREATE TABLE t(a)")
        .unwrap();
    drop(c);
    let e = GpkgRegistry::open(&p2, 4548).err().unwrap().to_string();
    assert!(e.contains("not a cadastra registry"), "{e}");
}

/// Text values equal to the previous row's are not bound again (SQLite keeps bindings): runs of
/// equal values, NULL after a value and a value after NULL all read back as written, for inserts
/// into a new file, inserts into an existing one, and updates.
#[test]
fn repeated_and_null_text_values_round_trip() {
    let def = registry().table("ZDJBXX").unwrap();
    let zl = def.field_index("ZL").unwrap();
    let pattern: Vec<Option<&str>> = vec![
        Some("甲"),
        Some("甲"),
        None,
        None,
        Some("乙"),
        Some("甲"),
        None,
        Some("乙"),
        Some("乙"),
    ];
    let with = |rows: &mut Rows, vals: &[Option<&str>]| {
        let mut c = StrColumn::default();
        for v in vals {
            c.push(*v);
        }
        rows.columns[zl] = Column::Text(c);
    };
    let read_zl = |reg: &mut GpkgRegistry| -> Vec<Option<String>> {
        let (_, rows) = reg.read_table("ZDJBXX").unwrap();
        match &rows.columns[zl] {
            Column::Text(c) => c.iter().map(|v| v.map(str::to_string)).collect(),
            _ => panic!("ZL is text"),
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.gpkg");
    let mut first = parcels(pattern.len());
    with(&mut first, &pattern);
    let mut reg = GpkgRegistry::open(&path, 4548).unwrap();
    reg.apply(&ChangeSet {
        tables: vec![TableChange::inserts("ZDJBXX", first)],
    })
    .unwrap();
    let want: Vec<Option<String>> = pattern.iter().map(|v| v.map(str::to_string)).collect();
    assert_eq!(read_zl(&mut reg), want);

    // an existing file: more inserts (other keys) in the reverse pattern
    let reversed: Vec<Option<&str>> = pattern.iter().rev().copied().collect();
    let mut more = parcels(2 * pattern.len());
    more = more.take(&(pattern.len()..2 * pattern.len()).collect::<Vec<_>>());
    with(&mut more, &reversed);
    reg.apply(&ChangeSet {
        tables: vec![TableChange::inserts("ZDJBXX", more)],
    })
    .unwrap();
    let mut want2 = want.clone();
    want2.extend(reversed.iter().map(|v| v.map(str::to_string)));
    assert_eq!(read_zl(&mut reg), want2);

    // updates of the first rows, shifted by one so that each row's value changes
    let (fids, _) = reg.read_table("ZDJBXX").unwrap();
    let shifted: Vec<Option<&str>> = pattern.iter().skip(1).chain([&None]).copied().collect();
    let mut upd = parcels(pattern.len());
    with(&mut upd, &shifted);
    let mut ch = TableChange::inserts("ZDJBXX", Rows::new(def));
    ch.insert = None;
    ch.update_rows = Some(upd);
    ch.update_fids = fids[..pattern.len()].to_vec();
    reg.apply(&ChangeSet { tables: vec![ch] }).unwrap();
    let mut want3: Vec<Option<String>> = shifted.iter().map(|v| v.map(str::to_string)).collect();
    want3.extend(reversed.iter().map(|v| v.map(str::to_string)));
    assert_eq!(read_zl(&mut reg), want3);
}

fn crosswalk(n: usize) -> Rows {
    let def = registry().table("key_crosswalk").unwrap();
    let mut rows = Rows::new(def);
    for i in 0..n {
        for (f, col) in def.fields.iter().zip(rows.columns.iter_mut()) {
            let Column::Text(c) = col else { unreachable!() };
            let v = match f.name.as_str() {
                "key_type" => "ZDDM".to_string(),
                "old_key" => format!("371202001001GB{:05}", (i * 7919) % n),
                "new_key" => format!("370116001001GB{:05}", (i * 7919) % n),
                "tables" => "ZDJBXX".into(),
                _ => "x".into(),
            };
            c.push(if i % 13 == 5 { None } else { Some(&v) });
        }
    }
    rows
}

/// Every table, the R-tree and the bookkeeping of a registry file, row by row in fid order.
fn dump(path: &Path) -> Vec<(String, Vec<Vec<rusqlite::types::Value>>)> {
    let conn = Connection::open(path).unwrap();
    let mut names: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_stat%' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    names.push("sqlite_master WHERE type = 'index'".into());
    names
        .into_iter()
        .map(|t| {
            let sql = if t.starts_with("sqlite_master") {
                format!("SELECT name, tbl_name, sql FROM {t} ORDER BY name")
            } else if t == "gpkg_contents" {
                "SELECT table_name, min_x, min_y, max_x, max_y FROM gpkg_contents ORDER BY 1".into()
            } else {
                format!("SELECT * FROM \"{t}\" ORDER BY 1")
            };
            let mut st = conn.prepare(&sql).unwrap();
            let n = st.column_count();
            let rows = st
                .query_map([], |r| {
                    (0..n)
                        .map(|i| r.get::<_, rusqlite::types::Value>(i))
                        .collect::<Result<Vec<_>, _>>()
                })
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            (t, rows)
        })
        .collect()
}

#[test]
fn one_and_several_threads_build_the_same_file() {
    // with a second core the R-trees are built in a side file while the indexes are made
    let cs = ChangeSet {
        tables: vec![
            TableChange::inserts("ZDJBXX", parcels(1800)),
            TableChange::inserts("key_crosswalk", crosswalk(2500)),
            TableChange::inserts("ZDJBXX", parcels_at(1800, 1200)),
        ],
    };
    let dir = tempfile::tempdir().unwrap();
    let mut dumps = Vec::new();
    for writers in [1, 2] {
        let path = dir.path().join(format!("r{writers}.gpkg"));
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(writers)
            .build()
            .unwrap();
        let mut reg = GpkgRegistry::open(&path, 4548).unwrap();
        pool.install(|| reg.apply(&cs)).unwrap();
        let conn = Connection::open(&path).unwrap();
        let check: String = conn
            .query_row("SELECT rtreecheck('rtree_ZDJBXX_geom')", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok", "{writers} writers");
        // the R-tree answers a window query like a scan of the table does
        let hits: i64 = conn
            .query_row(
                "SELECT count(*) FROM rtree_ZDJBXX_geom WHERE maxx >= 560000 AND minx <= 561000",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let want = (0..3000)
            .map(|i| 550_000.0 + 20.0 * i as f64)
            .filter(|x| x + 20.0 >= 560_000.0 && *x <= 561_000.0)
            .count();
        assert_eq!(hits as usize, want, "{writers} writers");
        assert_eq!(reg.counts().unwrap()["ZDJBXX"], 3000);
        assert_eq!(reg.counts().unwrap()["key_crosswalk"], 2500);
        assert_eq!(ogr_count(&path, "ZDJBXX"), Some(3000));
        // the layer extent is the parcels'
        let ext: (f64, f64, f64, f64) = conn
            .query_row(
                "SELECT min_x, max_x, min_y, max_y FROM gpkg_contents WHERE table_name = 'ZDJBXX'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        assert_eq!(
            ext,
            (
                550_000.0,
                550_000.0 + 20.0 * 3000.0,
                4_010_000.0,
                4_010_010.0
            )
        );
        dumps.push(dump(&path));
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".gpkg"))
        .collect();
    assert!(leftovers.is_empty(), "side files left: {leftovers:?}");
    assert_eq!(dumps.len(), 2);
    for (i, d) in dumps.iter().enumerate().skip(1) {
        assert_eq!(d.len(), dumps[0].len());
        for (a, b) in d.iter().zip(&dumps[0]) {
            assert_eq!(a.0, b.0);
            assert!(a.1 == b.1, "{} differs with {} threads", a.0, i + 1);
        }
    }
}

#[test]
fn side_files_of_a_killed_build_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.gpkg");
    for side in [
        "r.gpkg.partial.w0",
        "r.gpkg.partial.w1",
        "r.gpkg.partial.w12",
    ] {
        std::fs::write(dir.path().join(side), b"half written").unwrap();
    }
    std::fs::write(dir.path().join("r.gpkg.partial.wx"), b"not ours").unwrap();
    let reg = GpkgRegistry::open(&path, 4548).unwrap();
    assert_eq!(reg.notes.len(), 3, "{:?}", reg.notes);
    let mut left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, vec!["r.gpkg.partial.wx".to_string()]);
}

/// Rows of `table` with every value shape a new file's bulk build writes: NULLs, integers of
/// every stored width, reals (NaN is stored as NULL, as SQLite does), dates, text spilling into
/// overflow pages (over 4,061 bytes), index keys repeated, NULL, and spilling too (over 1,002
/// bytes), geometries and missing geometries. Fids follow row order from `first`.
fn varied(table: &str, first: usize, n: usize) -> Rows {
    let def = registry().table(table).unwrap();
    let ints = [
        None,
        Some(0),
        Some(1),
        Some(-1),
        Some(127),
        Some(128),
        Some(-129),
        Some(32768),
        Some(-8_388_609),
        Some(2_147_483_648),
        Some(-140_737_488_355_329),
        Some(i64::MAX),
        Some(i64::MIN),
    ];
    let reals = [
        None,
        Some(0.0),
        Some(-0.0),
        Some(1.5),
        Some(-2.25),
        Some(1e300),
        Some(200.0),
        Some(f64::NAN),
    ];
    let long_text = "莱芜区凤城街道".repeat(300);
    let long_key = format!("370116{}", "X".repeat(1500));
    let mut rows = Rows::new(def);
    for i in first..first + n {
        for (f, col) in def.fields.iter().zip(rows.columns.iter_mut()) {
            match col {
                Column::Text(c) => {
                    let v = if f.name == "src_system" {
                        Some("test".to_string())
                    } else if f.name == "src_key" {
                        Some(format!("k{i}"))
                    } else if def.key.as_deref() == Some(f.name.as_str()) {
                        match i % 11 {
                            3 => None,
                            4 => Some(format!("{long_key}{i}")),
                            _ => Some(format!("3701160010{:05}", i % 500)),
                        }
                    } else if f.ty == cadastra_model::FieldType::Date {
                        (i % 4 != 0).then(|| "2019-03-01".to_string())
                    } else {
                        match i % 97 {
                            1 => Some(format!("{long_text}{i}")),
                            k if k % 5 == 0 => None,
                            k if k % 3 == 1 => Some("莱芜区".into()),
                            _ => Some(format!("v{i}")),
                        }
                    };
                    c.push(v.as_deref());
                }
                Column::Int(c) => c.push(if ints[i % ints.len()] == Some(1) {
                    Some(i as i64)
                } else {
                    ints[(i + f.name.len()) % ints.len()]
                }),
                Column::Real(c) => c.push(reals[(i + f.name.len()) % reals.len()]),
            }
        }
        if def.geometry.is_some() {
            let x = 550_000.0 + 20.0 * i as f64;
            rows.geoms.push((i % 9 != 0).then(|| {
                MultiPolygon(vec![polygon![
                    (x: x, y: 4_010_000.0), (x: x + 20.0, y: 4_010_000.0), (x: x + 20.0, y: 4_010_010.0),
                    (x: x, y: 4_010_010.0), (x: x, y: 4_010_000.0)
                ]])
            }));
        }
    }
    rows
}

fn integrity(path: &Path) -> String {
    let conn = Connection::open(path).unwrap();
    let rows: Vec<String> = conn
        .prepare("PRAGMA integrity_check")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    rows.join("\n")
}

/// Build `cs` into a new file in `dir` twice, as b-tree pages and through SQLite inserts; each
/// must pass `PRAGMA integrity_check`, and both must hold the same. Returns the bulk file.
fn bulk_and_inserted(dir: &Path, cs: &ChangeSet) -> PathBuf {
    let mut dumps = Vec::new();
    for bulk in [true, false] {
        let path = dir.join(format!("r-{bulk}.gpkg"));
        let mut reg = GpkgRegistry::open(&path, 4548).unwrap();
        reg.set_bulk(bulk);
        reg.apply(cs).unwrap();
        assert_eq!(integrity(&path), "ok", "bulk {bulk}");
        dumps.push(dump(&path));
    }
    assert_eq!(dumps[0].len(), dumps[1].len());
    for (a, b) in dumps[0].iter().zip(&dumps[1]) {
        assert_eq!(a.0, b.0);
        assert_eq!(a.1.len(), b.1.len(), "{}", a.0);
        for (ra, rb) in a.1.iter().zip(&b.1) {
            assert!(ra == rb, "{}: bulk {ra:?} != inserted {rb:?}", a.0);
        }
    }
    dir.join("r-true.gpkg")
}

/// A new file's tables written as b-tree pages hold exactly what inserting them through SQLite
/// gives (every table, index definition, R-tree and sequence), pass `PRAGMA integrity_check`,
/// and take later inserts and lookups through their indexes like any file.
#[test]
fn bulk_build_equals_sqlite_inserts() {
    // buildings with 40 geometries: an R-tree that is only its root node (no `_parent` rows);
    // the parcels' R-tree has three levels
    let mut zrz = varied("ZRZ", 0, 1500);
    for g in zrz.geoms.iter_mut().skip(45) {
        *g = None;
    }
    // a batch's earlier rows deleted first, as `cadastra run` does: nothing to delete yet
    let mut clear = TableChange::inserts("ZDJBXX", varied("ZDJBXX", 0, 0));
    clear.insert = None;
    clear.delete_where = vec![vec![("src_system".into(), "test".into())]];
    let cs = ChangeSet {
        tables: vec![
            clear,
            TableChange::inserts("ZDJBXX", varied("ZDJBXX", 0, 2600)),
            TableChange::inserts("ZRZ", zrz),
            TableChange::inserts("key_crosswalk", crosswalk(2500)),
            TableChange::inserts("ZDJBXX", varied("ZDJBXX", 2600, 1400)),
            // below MIN_ROWS: inserted through SQLite in both files
            TableChange::inserts("H", varied("H", 0, 40)),
        ],
    };
    let dir = tempfile::tempdir().unwrap();
    let path = bulk_and_inserted(dir.path(), &cs);
    assert_eq!(ogr_count(&path, "ZDJBXX"), Some(4000));

    // the bulk-built file afterwards: inserts continue the fids, the unique index holds, the key
    // index and the R-tree answer
    let mut reg = GpkgRegistry::open(&path, 4548).unwrap();
    reg.apply(&ChangeSet {
        tables: vec![TableChange::inserts("ZDJBXX", varied("ZDJBXX", 4000, 3))],
    })
    .unwrap();
    let conn = Connection::open(&path).unwrap();
    let (max, n): (i64, i64) = conn
        .query_row("SELECT max(fid), count(*) FROM ZDJBXX", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!((max, n), (4003, 4003));
    let again = reg.apply(&ChangeSet {
        tables: vec![TableChange::inserts("ZDJBXX", varied("ZDJBXX", 17, 1))],
    });
    assert!(again.is_err(), "a second k17 must break ux_zdjbxx_src");
    let by_key: i64 = conn
        .query_row(
            "SELECT count(*) FROM ZDJBXX INDEXED BY ix_zdjbxx_zddm WHERE ZDDM = '370116001000017'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let scan: i64 = conn
        .query_row(
            "SELECT count(*) FROM ZDJBXX NOT INDEXED WHERE ZDDM = '370116001000017'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(scan > 1);
    assert_eq!(by_key, scan);
    let long: i64 = conn
        .query_row(
            "SELECT fid FROM ZDJBXX INDEXED BY ix_zdjbxx_zddm WHERE ZDDM = ?1",
            [format!("370116{}3997", "X".repeat(1500))],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(long, 3998);
    for rt in ["rtree_ZDJBXX_geom", "rtree_ZRZ_geom"] {
        let check: String = conn
            .query_row(&format!("SELECT rtreecheck('{rt}')"), [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok", "{rt}");
    }
    let (nodes, parents): (i64, i64) = conn
        .query_row(
            "SELECT (SELECT count(*) FROM rtree_ZRZ_geom_node), (SELECT count(*) FROM rtree_ZRZ_geom_parent)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((nodes, parents), (1, 0));
    let window: i64 = conn
        .query_row(
            "SELECT count(*) FROM rtree_ZDJBXX_geom WHERE maxx >= 560000 AND minx <= 561000",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let want = (0..4003)
        .filter(|i| i % 9 != 0)
        .map(|i| 550_000.0 + 20.0 * i as f64)
        .filter(|x| x + 20.0 >= 560_000.0 && *x <= 561_000.0)
        .count();
    assert_eq!(window as usize, want);
    assert_eq!(integrity(&path), "ok");
}

/// Two rows with the same source key in a bulk-built table: the load fails naming the index,
/// the key and both fids, and no registry file is left.
#[test]
fn bulk_build_refuses_a_repeated_source_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.gpkg");
    let mut reg = GpkgRegistry::open(&path, 4548).unwrap();
    let err = reg
        .apply(&ChangeSet {
            tables: vec![
                TableChange::inserts("ZDJBXX", varied("ZDJBXX", 0, 1500)),
                TableChange::inserts("ZDJBXX", varied("ZDJBXX", 1499, 2)),
            ],
        })
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("ux_zdjbxx_src") && err.contains("k1499") && err.contains("1500 and 1501"),
        "{err}"
    );
    assert!(!path.exists());
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}

/// A delete after an insert into the same table reaches rows of the same change set: not a
/// plain load, so the new file is built through SQLite and the delete takes effect.
#[test]
fn a_delete_after_an_insert_is_applied() {
    let mut del = TableChange::inserts("ZDJBXX", varied("ZDJBXX", 0, 0));
    del.insert = None;
    del.delete_where = vec![vec![("src_key".into(), "k3".into())]];
    let cs = ChangeSet {
        tables: vec![
            TableChange::inserts("ZDJBXX", varied("ZDJBXX", 0, 1500)),
            del,
        ],
    };
    assert!(!cs.is_plain_load());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.gpkg");
    let mut reg = GpkgRegistry::open(&path, 4548).unwrap();
    reg.apply(&cs).unwrap();
    assert_eq!(reg.counts().unwrap()["ZDJBXX"], 1499);
    assert_eq!(integrity(&path), "ok");
    let mut first = cs.clone();
    first.tables.reverse();
    assert!(first.is_plain_load(), "the delete first reaches nothing");
}

/// The bulk build never writes SQLite's lock-byte page (the page holding byte 2^30, reached by
/// files over 1 GiB): runs of pages step over it. Tried here on a small file with the page
/// pretended elsewhere, at the first page the build writes, inside table, R-tree and index runs
/// and among interior pages: SQLite finds exactly that page unused, and everything else as in a
/// build without it.
#[test]
fn bulk_build_steps_over_the_lock_byte_page() {
    let cs = ChangeSet {
        tables: vec![
            TableChange::inserts("ZDJBXX", varied("ZDJBXX", 0, 2600)),
            TableChange::inserts("key_crosswalk", crosswalk(2500)),
        ],
    };
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.gpkg");
    GpkgRegistry::open(&plain, 4548)
        .unwrap()
        .apply(&cs)
        .unwrap();
    let want = dump(&plain);
    let conn = Connection::open(&plain).unwrap();
    let pages: u32 = conn
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .unwrap();
    let first: u32 = conn
        .query_row(
            "SELECT max(rootpage) FROM sqlite_master WHERE tbl_name IN ('ZDJBXX', 'key_crosswalk') OR name LIKE 'rtree_ZDJBXX_geom_%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    drop(conn);
    // the bulk build writes from `first + 1` on; the empty tables' indexes and the statistics
    // SQLite adds afterwards take the last few dozen pages
    assert!(
        pages > first + 400,
        "{pages} pages, {first} before the build"
    );
    let mut at: Vec<u32> = vec![first + 1, first + 2, first + 50];
    at.extend((1..14).map(|k| first + (pages - first - 100) * k / 13));
    for lock in at {
        let path = dir.path().join(format!("lock{lock}.gpkg"));
        let mut reg = GpkgRegistry::open(&path, 4548).unwrap();
        reg.set_lock_page(lock);
        reg.apply(&cs).unwrap();
        let report = integrity(&path);
        assert!(
            report.ends_with(&format!("Page {lock} is never used")) && report.lines().count() <= 2,
            "lock page {lock}: {report}"
        );
        let got = dump(&path);
        assert!(got == want, "lock page {lock}: contents differ");
    }
}

/// Records and index keys of every length around SQLite's overflow thresholds (a table cell keeps
/// up to 4,061 bytes of its payload, an index cell 1,002; beyond, the local part is M or K bytes
/// depending on the remainder): the bulk build spills them exactly as SQLite does.
#[test]
fn bulk_build_spills_like_sqlite_at_every_length() {
    let def = registry().table("ZDJBXX").unwrap();
    let mut rows = varied("ZDJBXX", 0, 1300);
    let zl = def.field_index("ZL").unwrap();
    let zddm = def.field_index("ZDDM").unwrap();
    let mut zl_col = StrColumn::default();
    let mut key_col = StrColumn::default();
    for i in 0..1300usize {
        let zl_len = 3_900 + 2 * i.min(450);
        zl_col.push(Some(&"x".repeat(zl_len)));
        let key_len = match i {
            0..=199 => 900 + i,
            200..=299 => 4_500 + 8 * (i - 200),
            _ => 19,
        };
        key_col.push(Some(&format!("{i:019}{}", "k".repeat(key_len - 19))));
    }
    rows.columns[zl] = Column::Text(zl_col);
    rows.columns[zddm] = Column::Text(key_col);
    let cs = ChangeSet {
        tables: vec![TableChange::inserts("ZDJBXX", rows)],
    };
    let dir = tempfile::tempdir().unwrap();
    let conn = Connection::open(bulk_and_inserted(dir.path(), &cs)).unwrap();
    let n: i64 = conn
        .query_row(
            "SELECT count(*) FROM ZDJBXX INDEXED BY ix_zdjbxx_zddm WHERE ZDDM >= '0000000000000000150'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 1150);
}
