//! The shapefile side's encoding decision (FMT-02: override > .cpg > .cst > LDID > content) and
//! text decoding. The input's sections are: 0 the text values (one per line) put into a
//! well-formed one-field DBF, 1 the .cpg, 2 the .cst, 3 the LDID byte then the field name.
//! Options byte: bit 0 chinese, bits 2-3 encoding override (none, GBK, UTF-8, Big5).
//! Also `TextEncoding::from_cpg` / `from_ldid` / `from_codepage` / `decode` directly.
//! Beyond "never panics": the precedence holds and plain ASCII values come back as written.
#![no_main]

use cadastra_fuzz::{dbf, split, Scratch};
use cadastra_shp::{read_dbf, EncodingSource, ReadOptions, TextEncoding};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

static SCRATCH: OnceLock<Scratch> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let scratch = SCRATCH.get_or_init(|| Scratch::new("shp_encoding"));
    let inp = split(data);
    let body = inp.sections[0].unwrap_or(&[]);
    let meta = inp.sections[3].unwrap_or(&[]);
    let ldid = meta.first().copied().unwrap_or(0);
    // a name starting with 0x0D (the header terminator) or NUL is no field at all: the DBF would
    // have none (crash-f303f5e9…, now a test in cadastra-shp/tests/corruption.rs)
    let name: &[u8] = meta
        .get(1..)
        .filter(|n| !n.is_empty() && n[0] != 0x0D && n[0] != 0)
        .unwrap_or(b"QLRMC");

    // the lookups on their own
    if let Some(cpg) = inp.sections[1] {
        let text = String::from_utf8_lossy(cpg);
        if let Some(e) = TextEncoding::from_cpg(&text) {
            let _ = e.name();
            let _ = e.decode(body);
        }
    }
    if let Some((e, _why)) = TextEncoding::from_ldid(ldid) {
        let mut out = String::new();
        let _ = e.decode_into(body, &mut out);
    }
    if body.len() >= 4 {
        let cp = u32::from_le_bytes([body[0], body[1], body[2], body[3]]);
        if let Some(e) = TextEncoding::from_codepage(cp) {
            let _ = e.decode(&body[4..]);
        }
    }

    // a DBF holding the values, read back
    let values: Vec<&[u8]> = body.split(|&b| b == b'\n').take(64).collect();
    let width = values.iter().map(|v| v.len()).max().unwrap_or(1).clamp(1, 254) as u8;
    let rows: Vec<Vec<&[u8]>> = values.iter().map(|v| vec![*v]).collect();
    let file = dbf(ldid, &[name], &[width], &rows);
    scratch.write(&[
        ("t.dbf", Some(&file)),
        ("t.cpg", inp.sections[1]),
        ("t.cst", inp.sections[2]),
    ]);
    let override_encoding: Option<TextEncoding> = match (inp.opts >> 2) & 3 {
        1 => Some(encoding_rs::GBK.into()),
        2 => Some(encoding_rs::UTF_8.into()),
        3 => Some(encoding_rs::BIG5.into()),
        _ => None,
    };
    let opts = ReadOptions {
        encoding: override_encoding,
        chinese: inp.opts & 1 != 0,
        threads: None,
        refuse_missing_shx: false,
        no_mmap: true,
    };
    let t = match read_dbf(&scratch.dir().join("t.dbf"), &opts) {
        Ok(t) => t,
        // a one-field DBF built to the format is always readable
        Err(e) => panic!("well-formed DBF refused: {e}"),
    };
    let d = &t.encoding;
    assert!(!d.evidence.is_empty());
    match override_encoding {
        Some(o) => {
            assert_eq!(d.source, EncodingSource::Override);
            assert_eq!(d.encoding, o);
        }
        None => assert_ne!(d.source, EncodingSource::Override),
    }
    assert_eq!(t.len(), rows.len(), "no record is dropped");
    let col = &t.columns[0];
    if d.encoding.is_ascii_compatible() {
        for (r, v) in values.iter().enumerate() {
            let cut = &v[..v.len().min(usize::from(width))];
            let plain = cut.iter().all(|b| (0x21..0x7f).contains(b));
            if plain && !cut.is_empty() {
                let text = std::str::from_utf8(cut).expect("ASCII");
                assert_eq!(col.get(r), Some(text), "row {r}: ASCII text decoded as written");
            }
        }
    }
});
