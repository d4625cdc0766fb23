//! The strict parser against the `csv` crate as an oracle: whatever `csv::Writer` writes
//! (quoting commas, quotes, line ends as needed), `read_csv_bytes` must read back field for
//! field, in GBK and UTF-16 too.

use cadastra_tables::{read_csv_bytes, CsvOptions};
use proptest::prelude::*;

fn cell() -> impl Strategy<Value = String> {
    // ASCII, Chinese, the characters that force quoting, and blanks
    proptest::string::string_regex("[a-z0-9 ,\"\r\n张三莱芜区\u{3000}]{0,8}").unwrap()
}

fn table() -> impl Strategy<Value = (usize, Vec<Vec<String>>)> {
    (1usize..6).prop_flat_map(|w| {
        (
            Just(w),
            proptest::collection::vec(proptest::collection::vec(cell(), w), 0..20),
        )
    })
}

fn write(header: &[String], rows: &[Vec<String>], delim: u8, crlf: bool) -> String {
    let term = if crlf {
        csv::Terminator::CRLF
    } else {
        csv::Terminator::Any(b'\n')
    };
    let mut w = csv::WriterBuilder::new()
        .delimiter(delim)
        .terminator(term)
        .from_writer(Vec::new());
    w.write_record(header).unwrap();
    for r in rows {
        w.write_record(r).unwrap();
    }
    String::from_utf8(w.into_inner().unwrap()).unwrap()
}

fn check(
    text_bytes: Vec<u8>,
    header: &[String],
    rows: &[Vec<String>],
    opts: &CsvOptions,
) -> Result<(), TestCaseError> {
    let t = read_csv_bytes("oracle.csv", text_bytes, opts)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&t.fields, &header.to_vec());
    // The csv crate writes a record of one empty field as `""`, not as a blank line, but one
    // field of spaces unquoted, which reads as a blank line and is skipped.
    let rows: Vec<&Vec<String>> = rows
        .iter()
        .filter(|r| !(r.len() == 1 && !r[0].is_empty() && r[0].bytes().all(|b| b == b' ')))
        .collect();
    prop_assert_eq!(t.len(), rows.len());
    for (i, r) in rows.iter().enumerate() {
        for (c, v) in r.iter().enumerate() {
            let want = if v.is_empty() { None } else { Some(v.as_str()) };
            prop_assert_eq!(t.columns[c].get(i), want, "row {} col {}", i, c);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn reads_what_the_csv_crate_writes((w, rows) in table(), crlf in any::<bool>(), tab in any::<bool>()) {
        let header: Vec<String> = (0..w).map(|i| format!("F{i}")).collect();
        let delim = if tab { b'\t' } else { b',' };
        let text = write(&header, &rows, delim, crlf);
        let opts = CsvOptions { delimiter: delim, ..CsvOptions::default() };
        check(text.clone().into_bytes(), &header, &rows, &opts)?;
        // the same text in GBK, declared (detection on a handful of characters is a guess,
        // tested in the encoding module), and in UTF-16LE with a BOM
        let gbk = encoding_rs::GBK.encode(&text).0.into_owned();
        let declared = CsvOptions { encoding: Some("gbk".into()), ..opts.clone() };
        check(gbk, &header, &rows, &declared)?;
        let mut u16 = vec![0xFF, 0xFE];
        u16.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        check(u16, &header, &rows, &opts)?;
    }

    #[test]
    fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..300), strict in any::<bool>()) {
        let opts = CsvOptions { strict_quotes: strict, ..CsvOptions::default() };
        if let Ok(t) = read_csv_bytes("junk.csv", bytes, &opts) {
            prop_assert!(t.check().is_ok());
        }
    }
}
