//! The record-table side's encoding decision and CSV parser:
//! `cadastra_tables::encoding::decide_encoding` + `decode`, then `read_csv_bytes`.
//! First byte: bit 0 chinese, bits 1-3 the declared label (none, gbk, utf-8, big5, utf-16le,
//! gb18030, cp936, an unknown label), bit 4 no header, bit 5 lenient quotes, bits 6-7 the
//! delimiter (`,` `;` tab `|`). The rest is the file.
//! Beyond "never panics": a BOM is honoured, the table is rectangular, and its source rows
//! are increasing line numbers.
#![no_main]

use cadastra_tables::encoding::{decide_encoding, decode};
use cadastra_tables::{read_csv_bytes, CsvOptions};
use libfuzzer_sys::fuzz_target;

const LABELS: [Option<&str>; 8] = [
    None,
    Some("gbk"),
    Some("utf-8"),
    Some("big5"),
    Some("utf-16le"),
    Some("gb18030"),
    Some("cp936"),
    Some("klingon"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&o, bytes)) = data.split_first() else {
        return;
    };
    let chinese = o & 1 != 0;
    let declared = LABELS[usize::from((o >> 1) & 7)];
    match decide_encoding(bytes, declared, chinese) {
        Ok(d) => {
            assert!(d.bom_len <= bytes.len());
            assert!(!d.evidence.is_empty(), "a decision always says why");
            if let Some((enc, len)) = encoding_rs::Encoding::for_bom(bytes) {
                assert_eq!((d.encoding, d.bom_len), (enc, len), "the BOM wins");
            }
            let rest = &bytes[d.bom_len..];
            let (text, report) = decode(bytes.to_vec(), &d);
            if d.encoding == encoding_rs::UTF_8 {
                if let Ok(s) = std::str::from_utf8(rest) {
                    assert_eq!(report.malformed, 0);
                    assert_eq!(text, s, "valid UTF-8 is decoded as it is");
                }
            }
        }
        Err(label) => assert_eq!(Some(label.as_str()), declared, "only an unknown label fails"),
    }
    let opts = CsvOptions {
        encoding: declared.map(str::to_string),
        delimiter: [b',', b';', b'\t', b'|'][usize::from(o >> 6)],
        has_header: o & 0x10 == 0,
        chinese,
        strict_quotes: o & 0x20 == 0,
    };
    if let Ok(t) = read_csv_bytes("fuzz.csv", bytes.to_vec(), &opts) {
        t.check().expect("a table read is consistent");
        assert!(t.src_rows.windows(2).all(|w| w[0] < w[1]), "source rows increase");
    }
});
