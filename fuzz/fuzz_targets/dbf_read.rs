//! The DBF reader (`cadastra_shp::read_dbf`) alone: sections .dbf, .cpg, .cst.
//! Options byte: bit 0 chinese, bits 2-3 encoding override (none, GBK, UTF-8, Big5).
//! Beyond "never panics": columns are row-aligned, names unique, rows + deleted <= records.
#![no_main]

use cadastra_fuzz::{split, Scratch};
use cadastra_shp::{read_dbf, ReadOptions};
use libfuzzer_sys::fuzz_target;
use std::collections::HashSet;
use std::sync::OnceLock;

static SCRATCH: OnceLock<Scratch> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let scratch = SCRATCH.get_or_init(|| Scratch::new("dbf_read"));
    let inp = split(data);
    scratch.write(&[
        ("t.dbf", inp.sections[0].or(Some(&[]))),
        ("t.cpg", inp.sections[1]),
        ("t.cst", inp.sections[2]),
    ]);
    let opts = ReadOptions {
        encoding: match (inp.opts >> 2) & 3 {
            1 => Some(encoding_rs::GBK.into()),
            2 => Some(encoding_rs::UTF_8.into()),
            3 => Some(encoding_rs::BIG5.into()),
            _ => None,
        },
        chinese: inp.opts & 1 != 0,
        threads: None,
        refuse_missing_shx: false,
        no_mmap: true,
    };
    let Ok(t) = read_dbf(&scratch.dir().join("t.dbf"), &opts) else {
        return;
    };
    let n = t.len();
    assert_eq!(t.columns.len(), t.fields.len());
    for c in &t.columns {
        assert_eq!(c.len(), n);
    }
    assert_eq!(t.source_records.len(), n);
    assert!(t.source_records.windows(2).all(|w| w[0] < w[1]));
    assert!(
        n + t.deleted_records.len() <= t.records_in_file.max(n),
        "{n} rows + {} deleted > {} records",
        t.deleted_records.len(),
        t.records_in_file
    );
    let mut names = HashSet::new();
    for f in &t.fields {
        assert!(names.insert(f.name.clone()), "duplicate field name {}", f.name);
    }
    for p in &t.problems {
        assert!(p.row < n, "problem row {} of {n}", p.row);
    }
    assert!(!t.encoding.evidence.is_empty(), "a decision always says why");
});
