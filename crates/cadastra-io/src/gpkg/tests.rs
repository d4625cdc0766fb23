use super::*;
use cadastra_model::{Column, Rows, StrColumn};
use geo_types::{polygon, MultiPolygon};
use std::process::Command;

fn parcels(n: usize) -> Rows {
    let def = registry().table("ZDJBXX").unwrap();
    let mut rows = Rows::new(def);
    for i in 0..n {
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
