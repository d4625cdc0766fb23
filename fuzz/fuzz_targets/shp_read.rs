//! The shapefile reader (`cadastra_shp::read_shapefile`) on an arbitrary file set: .shp, .shx,
//! .dbf, .cpg, .prj, .cst as sections of the input (see `cadastra_fuzz::split`).
//! Options byte: bit 0 chinese, bit 1 refuse a missing .shx, bits 2-3 encoding override (none,
//! GBK, UTF-8, Big5), bit 4 upper-case extensions, bit 5 open by the .dbf's path.
//! Beyond "never panics": the layer is row-aligned and its problems point at real rows.
#![no_main]

use cadastra_fuzz::{split, Scratch};
use cadastra_shp::{read_shapefile, ReadOptions};
use libfuzzer_sys::fuzz_target;
use std::collections::HashSet;
use std::sync::OnceLock;

static SCRATCH: OnceLock<Scratch> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let scratch = SCRATCH.get_or_init(|| Scratch::new("shp_read"));
    let inp = split(data);
    let upper = inp.opts & 0x10 != 0;
    let name = |ext: &str| {
        if upper {
            format!("zd.{}", ext.to_ascii_uppercase())
        } else {
            format!("zd.{ext}")
        }
    };
    let exts = ["shp", "shx", "dbf", "cpg", "prj", "cst"];
    let names: Vec<String> = exts.iter().map(|e| name(e)).collect();
    let files: Vec<(&str, Option<&[u8]>)> = names
        .iter()
        .zip(inp.sections)
        .map(|(n, s)| (n.as_str(), s))
        .collect();
    scratch.write(&files);
    let opts = ReadOptions {
        encoding: match (inp.opts >> 2) & 3 {
            1 => Some(encoding_rs::GBK.into()),
            2 => Some(encoding_rs::UTF_8.into()),
            3 => Some(encoding_rs::BIG5.into()),
            _ => None,
        },
        chinese: inp.opts & 1 != 0,
        threads: None,
        refuse_missing_shx: inp.opts & 2 != 0,
        no_mmap: true,
    };
    let open = if inp.opts & 0x20 != 0 { "zd.dbf" } else { "zd.shp" };
    let Ok(layer) = read_shapefile(&scratch.dir().join(open), &opts) else {
        return;
    };
    let n = layer.len();
    assert_eq!(layer.geoms.len(), n, "one geometry slot per row");
    assert_eq!(layer.columns.len(), layer.fields.len(), "one column per field");
    for c in &layer.columns {
        assert_eq!(c.len(), n, "every column has a value slot per row");
    }
    assert!(
        layer.source_records.windows(2).all(|w| w[0] < w[1]),
        "rows keep the file's record order"
    );
    let live: HashSet<usize> = layer.source_records.iter().copied().collect();
    assert!(
        layer.deleted_records.iter().all(|r| !live.contains(r)),
        "a deleted record is not also a row"
    );
    let mut names = HashSet::new();
    for f in &layer.fields {
        assert!(names.insert(f.name.clone()), "field names are unique: {}", f.name);
    }
    assert!(layer.problems.windows(2).all(|w| w[0].row <= w[1].row));
    for p in &layer.problems {
        assert!(p.row < n.max(1), "problem row {} of {n} rows", p.row);
    }
    for r in 0..n {
        let _ = layer.multipolygon(r);
    }
});
