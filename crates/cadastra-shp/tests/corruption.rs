//! Damaged files made from the writer's output: truncation, bad index entries, deleted and
//! missing records, random byte flips. The reader must return every record it can, with a
//! problem for each one it cannot read, or refuse with an error naming the file; never panic.

use cadastra_shp::{
    read_dbf, read_shapefile, write_dbf, write_shapefile, DbfField, ProblemKind, ReadOptions,
    ShpError, ShpLayer, WriteSpec,
};
use geo_types::{polygon, Geometry};
use std::path::{Path, PathBuf};

const N: usize = 10;

fn fields() -> Vec<DbfField> {
    vec![
        DbfField::text("ZDDM", 19),
        DbfField::text("QLRMC", 12),
        DbfField::number("ZDMJ", 10, 2),
    ]
}

fn records(n: usize) -> Vec<Vec<Option<String>>> {
    (0..n)
        .map(|i| {
            vec![
                Some(format!("371202001001GB{i:05}")),
                Some(if i % 2 == 0 {
                    "张三".to_string()
                } else {
                    "李四".to_string()
                }),
                Some(format!("{}.50", 100 + i)),
            ]
        })
        .collect()
}

fn geoms(n: usize) -> Vec<Option<Geometry<f64>>> {
    (0..n)
        .map(|i| {
            let x = i as f64 * 10.0;
            Some(Geometry::Polygon(polygon![
                (x: x, y: 0.), (x: x, y: 5.), (x: x + 5., y: 5.), (x: x + 5., y: 0.)
            ]))
        })
        .collect()
}

/// A fresh 10-parcel GBK shapefile (LDID 77) in `dir`.
fn sample(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(format!("{name}.shp"));
    write_shapefile(
        &p,
        &WriteSpec::gbk_ldid(),
        &fields(),
        &records(N),
        &geoms(N),
    )
    .expect("write");
    p
}

fn read(p: &Path) -> ShpLayer {
    read_shapefile(p, &ReadOptions::default()).expect("read")
}

fn has_problem(l: &ShpLayer, row: usize, kind: ProblemKind) -> bool {
    l.problems.iter().any(|p| p.row == row && p.kind == kind)
}

fn truncate(p: &Path, by: u64) {
    let len = std::fs::metadata(p).expect("meta").len();
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(p)
        .expect("open");
    f.set_len(len - by).expect("truncate");
}

#[test]
fn truncated_shp_keeps_every_row_and_reports_the_cut_record() {
    for with_shx in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let p = sample(dir.path(), "cut");
        if !with_shx {
            std::fs::remove_file(p.with_extension("shx")).unwrap();
        }
        truncate(&p, 20);
        let l = read(&p);
        assert_eq!(l.len(), N, "with .shx {with_shx}");
        assert!(l.geoms[..N - 1].iter().all(Option::is_some));
        assert!(l.geoms[N - 1].is_none());
        assert!(
            has_problem(&l, N - 1, ProblemKind::BadShape),
            "{:?}",
            l.problems
        );
        assert_eq!(l.columns[0].get(N - 1), Some("371202001001GB00009"));
        if !with_shx {
            assert!(
                l.warnings.iter().any(|w| w.contains("truncated")),
                "{:?}",
                l.warnings
            );
        }
    }
}

#[test]
fn a_bad_index_entry_is_repaired_by_scanning_the_shp() {
    let dir = tempfile::tempdir().unwrap();
    let p = sample(dir.path(), "badshx");
    let shx = p.with_extension("shx");
    let mut b = std::fs::read(&shx).unwrap();
    b[100 + 8 * 3..104 + 8 * 3].copy_from_slice(&0x0FFF_FFFFi32.to_be_bytes());
    std::fs::write(&shx, &b).unwrap();
    let l = read(&p);
    assert_eq!(l.len(), N);
    assert!(l.shx_rebuilt);
    assert!(l.geoms.iter().all(Option::is_some));
    assert!(
        l.warnings
            .iter()
            .any(|w| w.contains("entries 3 do not match")),
        "{:?}",
        l.warnings
    );

    // when the .shp cannot be scanned cleanly either (record 7's length field is damaged), the
    // .shx is kept: record 3 becomes a problem, record 7 still reads through the index
    let entry7 = i32::from_be_bytes(b[100 + 8 * 7..104 + 8 * 7].try_into().unwrap()) as usize * 2;
    let mut shp = std::fs::read(&p).unwrap();
    shp[entry7 + 4..entry7 + 8].copy_from_slice(&0x7FFF_0000i32.to_be_bytes());
    std::fs::write(&p, &shp).unwrap();
    let l = read(&p);
    assert_eq!(l.len(), N);
    assert!(!l.shx_rebuilt);
    assert!(
        l.geoms[3].is_none() && has_problem(&l, 3, ProblemKind::BadShape),
        "{:?}",
        l.problems
    );
    assert!(l.geoms[7].is_some());
    assert_eq!(l.geoms.iter().filter(|g| g.is_some()).count(), N - 1);
}

#[test]
fn truncated_dbf_gives_null_attributes_for_the_lost_records() {
    let dir = tempfile::tempdir().unwrap();
    let p = sample(dir.path(), "dbfcut");
    truncate(&p.with_extension("dbf"), 30); // EOF marker and part of the last record
    let l = read(&p);
    assert_eq!(l.len(), N);
    assert!(l.geoms.iter().all(Option::is_some));
    assert!(l.columns.iter().all(|c| c.get(N - 1).is_none()));
    assert!(
        has_problem(&l, N - 1, ProblemKind::NoDbfRecord),
        "{:?}",
        l.problems
    );
    assert_eq!(l.columns[1].get(N - 2), Some("张三"));
}

#[test]
fn deleted_records_are_skipped_with_their_shapes_and_listed() {
    let dir = tempfile::tempdir().unwrap();
    let p = sample(dir.path(), "deleted");
    let dbf = p.with_extension("dbf");
    let mut b = std::fs::read(&dbf).unwrap();
    let header_len = usize::from(u16::from_le_bytes([b[8], b[9]]));
    let record_len = usize::from(u16::from_le_bytes([b[10], b[11]]));
    b[header_len + 2 * record_len] = b'*';
    std::fs::write(&dbf, &b).unwrap();
    let l = read(&p);
    assert_eq!(l.len(), N - 1);
    assert_eq!(l.deleted_records, [2]);
    assert_eq!(l.source_records[2], 3);
    assert_eq!(l.columns[0].get(2), Some("371202001001GB00003"));
    let Some(Geometry::Polygon(poly)) = &l.geoms[2] else {
        panic!("{:?}", l.geoms[2])
    };
    assert!(
        poly.exterior().0.iter().any(|c| c.x == 30.0),
        "row 2 carries record 3's shape"
    );
}

#[test]
fn shp_and_dbf_of_different_lengths_keep_the_longer() {
    let dir = tempfile::tempdir().unwrap();
    let p = sample(dir.path(), "short_dbf");
    write_dbf(&p, &WriteSpec::gbk_ldid(), &fields(), &records(N - 2)).unwrap();
    let l = read(&p);
    assert_eq!(l.len(), N);
    assert!(
        has_problem(&l, N - 1, ProblemKind::NoDbfRecord)
            && has_problem(&l, N - 2, ProblemKind::NoDbfRecord)
    );
    assert!(l.columns[0].get(N - 1).is_none() && l.geoms[N - 1].is_some());

    let p = sample(dir.path(), "long_dbf");
    write_dbf(&p, &WriteSpec::gbk_ldid(), &fields(), &records(N + 3)).unwrap();
    let l = read(&p);
    assert_eq!(l.len(), N + 3);
    assert!(has_problem(&l, N + 2, ProblemKind::NoShapeRecord));
    assert!(l.geoms[N + 2].is_none());
    assert_eq!(l.columns[0].get(N + 2), Some("371202001001GB00012"));
}

#[test]
fn missing_shx_can_be_refused_and_missing_shp_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let p = sample(dir.path(), "noshx");
    std::fs::remove_file(p.with_extension("shx")).unwrap();
    let opts = ReadOptions {
        refuse_missing_shx: true,
        ..ReadOptions::default()
    };
    match read_shapefile(&p, &opts) {
        Err(ShpError::Missing { path }) => assert!(path.ends_with("noshx.shx"), "{path:?}"),
        other => panic!("{other:?}"),
    }
    std::fs::remove_file(&p).unwrap();
    let err = read_shapefile(&p, &ReadOptions::default()).unwrap_err();
    assert!(err.to_string().contains("noshx.shp"), "{err}");
    // the .dbf alone still reads
    assert_eq!(read_dbf(&p, &ReadOptions::default()).unwrap().len(), N);
}

/// Deterministic pseudo-random numbers (xorshift64*).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545F4914F6CDD1D)
    }
}

/// Read after damage: Ok, or an error naming the file; a panic fails the test.
fn survives(p: &Path, what: &str) {
    let stem = p
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    match std::panic::catch_unwind(|| read_shapefile(p, &ReadOptions::default())) {
        Err(_) => panic!("{what}: reader panicked"),
        Ok(Ok(l)) => {
            assert_eq!(l.geoms.len(), l.len(), "{what}");
            assert!(l.columns.iter().all(|c| c.len() == l.len()), "{what}");
            assert!(l.problems.iter().all(|q| q.row < l.len()), "{what}");
        }
        Ok(Err(e)) => assert!(e.to_string().contains(&stem), "{what}: {e}"),
    }
    let dbf = p.with_extension("dbf");
    let dbf_read = std::panic::catch_unwind(|| read_dbf(&dbf, &ReadOptions::default()));
    assert!(dbf_read.is_ok(), "{what}: dbf reader panicked");
}

#[test]
fn every_truncation_and_random_damage_is_survived() {
    let dir = tempfile::tempdir().unwrap();
    let p = sample(dir.path(), "fuzz");
    let originals: Vec<(PathBuf, Vec<u8>)> = ["shp", "shx", "dbf"]
        .iter()
        .map(|e| {
            let f = p.with_extension(e);
            let b = std::fs::read(&f).unwrap();
            (f, b)
        })
        .collect();
    let restore = || {
        for (f, b) in &originals {
            std::fs::write(f, b).unwrap();
        }
    };
    for (f, b) in &originals {
        for cut in 0..b.len() {
            restore();
            std::fs::write(f, &b[..cut]).unwrap();
            survives(&p, &format!("{} cut to {cut}", f.display()));
        }
    }
    let mut rng = Rng(0xDEADBEEF);
    for round in 0..600 {
        restore();
        let (f, b) = &originals[round % 3];
        let mut d = b.clone();
        for _ in 0..1 + rng.next() % 4 {
            let at = (rng.next() % d.len() as u64) as usize;
            d[at] = (rng.next() & 0xFF) as u8;
        }
        std::fs::write(f, &d).unwrap();
        survives(&p, &format!("{} flip round {round}", f.display()));
    }
}

#[test]
fn one_worker_reads_the_same_as_several() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("many.shp");
    let n = 40_000;
    write_shapefile(
        &p,
        &WriteSpec::gbk_undeclared(),
        &fields(),
        &records(n),
        &geoms(n),
    )
    .unwrap();
    let read_with = |threads| {
        let opts = ReadOptions {
            threads: Some(threads),
            chinese: true,
            ..ReadOptions::default()
        };
        read_shapefile(&p, &opts).unwrap()
    };
    let one = read_with(1);
    assert_eq!(one.len(), n);
    for threads in [2, 3, 8] {
        let many = read_with(threads);
        assert_eq!(many.columns, one.columns, "{threads} threads");
        assert_eq!(many.geoms, one.geoms, "{threads} threads");
        assert_eq!(many.problems, one.problems);
        assert_eq!(many.encoding, one.encoding);
        assert_eq!(many.source_records, one.source_records);
    }
    assert_eq!(one.columns[1].get(n - 1), Some("李四"));
}

/// Fuzz regression (shp_encoding, crash-f303f5e9…): a field descriptor whose name starts with the
/// header terminator 0x0D ends the field list, as in shapelib: the DBF reads with no fields and
/// every record counted, whatever the header length says; never a panic.
#[test]
fn a_descriptor_starting_with_the_terminator_ends_the_field_list() {
    let dir = tempfile::tempdir().unwrap();
    let rows = 3u32;
    let mut b = vec![0u8; 32];
    b[0] = 0x03;
    b[4..8].copy_from_slice(&rows.to_le_bytes());
    b[8..10].copy_from_slice(&(32u16 + 32 + 1).to_le_bytes());
    b[10..12].copy_from_slice(&(1u16 + 5).to_le_bytes());
    b[29] = 0x01;
    let mut d = [0u8; 32];
    d[..3].copy_from_slice(b"\r\x1a\x00");
    d[11] = b'C';
    d[16] = 5;
    b.extend_from_slice(&d);
    b.push(0x0D);
    for v in [b"abcde", b"\xc0\xb3\xb31\xc7", b"     "] {
        b.push(b' ');
        b.extend_from_slice(v);
    }
    b.push(0x1A);
    let p = dir.path().join("t.dbf");
    std::fs::write(&p, &b).unwrap();
    let t = read_dbf(&p, &ReadOptions::default()).expect("a DBF without fields still reads");
    assert!(t.columns.is_empty(), "{} fields", t.columns.len());
    assert_eq!(t.len(), rows as usize, "every record counted");
}
