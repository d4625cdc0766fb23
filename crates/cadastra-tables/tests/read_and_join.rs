//! Reading the fixtures of tests/data (see its README) and workbooks written here, joining
//! rights with right holders, and normalising what was read.

use cadastra_tables::normalize::{
    clean_table, normalize_code, normalize_date, parse_area_with_code, parse_share, Blanks,
    TextOptions,
};
use cadastra_tables::{
    join, read_csv, read_xlsx, read_xlsx_with, sheet_names, CsvOptions, CsvProblem, JoinKind,
    KeyIndex, RecordTable, TableError, XlsxOptions,
};
use std::path::{Path, PathBuf};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn col(t: &RecordTable, field: &str) -> Vec<Option<String>> {
    t.column(field)
        .unwrap()
        .iter()
        .map(|v| v.map(str::to_string))
        .collect()
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

const U1: &str = "370116001002JC00001F00010001";
const U3: &str = "370116001002JC00003F00010001";

fn holders() -> RecordTable {
    read_csv(data("qlr_gbk.csv"), &CsvOptions::default()).unwrap()
}

fn rights() -> RecordTable {
    read_csv(data("jsydsyq_utf8_bom.csv"), &CsvOptions::default()).unwrap()
}

#[test]
fn gbk_csv_without_bom_is_detected_and_read() {
    let t = holders();
    assert_eq!(t.encoding, "GBK");
    assert!(
        t.evidence.iter().any(|e| e.contains("not UTF-8")),
        "{:?}",
        t.evidence
    );
    assert!(
        t.evidence.iter().any(|e| e.contains("chardetng")),
        "{:?}",
        t.evidence
    );
    assert_eq!(t.name, "qlr_gbk");
    assert_eq!(
        t.fields,
        ["BDCDYH", "SXH", "QLRMC", "ZJZL", "ZJH", "QLBL", "GYFS", "DJSJ", "DZ"]
    );
    assert_eq!(t.len(), 8);
    assert_eq!(t.src_rows, [2, 3, 4, 5, 6, 7, 8, 9]);
    assert_eq!(
        col(&t, "QLRMC"),
        [
            "张三",
            "李秀英",
            "王五",
            "赵六",
            "钱七",
            "孙八",
            "周九",
            "莱芜市房地产开发公司"
        ]
        .map(s)
    );
    assert_eq!(t.get(0, "DZ"), Some("莱芜区凤城街道办事处, 胜利路1号"));
    assert_eq!(t.get(7, "DZ"), Some("莱城区\"鲁中\"大街"));
    assert_eq!(t.get(2, "DZ"), None, "empty cell is null");
    assert_eq!(t.get(4, "QLBL"), None);
    assert_eq!(
        t.get(6, "BDCDYH"),
        Some("  "),
        "blanks are kept by the reader"
    );
    assert_eq!(
        t.get(3, "ZJH"),
        Some("３７１２０３１９７２０２０２４５６Ｘ")
    );
}

#[test]
fn declared_encoding_overrides_detection() {
    let o = CsvOptions {
        encoding: Some("cp936".into()),
        ..CsvOptions::default()
    };
    let t = read_csv(data("qlr_gbk.csv"), &o).unwrap();
    assert_eq!(t.encoding, "GBK");
    assert_eq!(t.evidence, ["declared \"cp936\": GBK"]);
    // a wrong declaration is obeyed, and the damage is on record
    let o = CsvOptions {
        encoding: Some("utf-8".into()),
        ..CsvOptions::default()
    };
    let t = read_csv(data("qlr_gbk.csv"), &o).unwrap();
    assert!(
        t.evidence
            .iter()
            .any(|e| e.contains("malformed") && e.contains("line 2")),
        "{:?}",
        t.evidence
    );
}

#[test]
fn utf8_bom_csv_keeps_leading_zeros() {
    let t = rights();
    assert_eq!(t.encoding, "UTF-8");
    assert!(
        t.evidence[0].starts_with("byte-order mark EF BB BF"),
        "{:?}",
        t.evidence
    );
    assert_eq!(t.fields[0], "YWH", "the BOM is not part of the first name");
    assert_eq!(
        col(&t, "YT"),
        ["0702", "702", "0702", "0702", "0501", "072"].map(s)
    );
    assert_eq!(t.get(0, "YWH"), Some("2003050100001"));
    assert_eq!(t.get(3, "MJDW"), None);
}

#[test]
fn utf16_tab_export_is_read() {
    let o = CsvOptions {
        delimiter: b'\t',
        ..CsvOptions::default()
    };
    let t = read_csv(data("zd_utf16.txt"), &o).unwrap();
    assert_eq!(t.encoding, "UTF-16LE");
    assert_eq!(t.fields, ["ZDDM", "ZL", "ZDMJ"]);
    assert_eq!(col(&t, "ZL"), [s("凤城街道"), s("口镇")]);
    assert_eq!(col(&t, "ZDMJ"), [s("120.5"), None]);
}

fn csv_error(file: &str) -> (TableError, String) {
    let e = read_csv(data(file), &CsvOptions::default()).unwrap_err();
    let msg = e.to_string();
    (e, msg)
}

#[test]
fn broken_quoting_names_file_line_and_field() {
    let (e, msg) = csv_error("broken_quote.csv");
    match e {
        TableError::Csv {
            line,
            column,
            field,
            problem,
            ..
        } => {
            assert_eq!((line, column, field.as_str()), (3, 3, "ZL"));
            assert_eq!(
                problem,
                CsvProblem::TextAfterClosingQuote { opened_line: 3 }
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(
        msg.contains("broken_quote.csv: line 3, field 3 (\"ZL\")"),
        "{msg}"
    );

    let (e, msg) = csv_error("unclosed_quote.csv");
    assert!(
        matches!(
            &e,
            TableError::Csv {
                line: 4,
                column: 3,
                problem: CsvProblem::UnclosedQuote,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        msg.contains("unclosed_quote.csv: line 4, field 3 (\"ZL\"): quoted field is never closed"),
        "{msg}"
    );

    let (e, msg) = csv_error("ragged.csv");
    match e {
        TableError::Csv {
            line,
            field,
            problem,
            ..
        } => {
            assert_eq!((line, field.as_str()), (5, "QLLX"));
            assert_eq!(
                problem,
                CsvProblem::FieldCount {
                    expected: 4,
                    found: 3
                }
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(msg.contains("ragged.csv: line 5"), "{msg}");
}

#[test]
fn missing_file_error_names_it() {
    let e = read_csv(data("nope.csv"), &CsvOptions::default()).unwrap_err();
    assert!(matches!(e, TableError::Io { .. }));
    assert!(e.to_string().contains("nope.csv"), "{e}");
}

#[test]
fn rights_join_holders_with_unmatched_and_multiplicity() {
    let (r, h) = (rights(), holders());
    let j = join(&r, &h, "BDCDYH", "BDCDYH").unwrap();
    assert_eq!(
        j.pairs,
        [
            (0, 0),
            (0, 1),
            (1, 2),
            (2, 3),
            (2, 4),
            (4, 7),
            (5, 0),
            (5, 1)
        ]
    );
    assert_eq!(j.unmatched_left, [3], "a right whose unit has no holder");
    assert_eq!(j.unmatched_right, [5], "a holder of a unit with no right");
    assert_eq!(j.null_key_right, [6]);
    assert!(j.null_key_left.is_empty());
    assert_eq!(j.duplicates_left.len(), 1);
    assert_eq!(
        (
            j.duplicates_left[0].key.as_str(),
            &j.duplicates_left[0].rows[..]
        ),
        (U1, &[0, 5][..])
    );
    assert_eq!(
        j.duplicates_right
            .iter()
            .map(|d| d.key.as_str())
            .collect::<Vec<_>>(),
        [U1, U3]
    );
    let m = &j.multiplicity;
    assert_eq!(
        (
            m.keys_matched,
            m.one_to_one,
            m.one_to_many,
            m.many_to_one,
            m.many_to_many
        ),
        (4, 2, 1, 0, 1)
    );
    assert_eq!(m.max_right_per_key, 2);

    // current rights only (QSZT 1): U1 becomes one-to-many
    let current: Vec<usize> = (0..r.len())
        .filter(|&i| r.get(i, "QSZT") == Some("1"))
        .collect();
    let rc = r.take(&current);
    let j = join(&rc, &h, "BDCDYH", "BDCDYH").unwrap();
    assert_eq!(
        (j.multiplicity.one_to_many, j.multiplicity.many_to_many),
        (2, 0)
    );
    let joined = j.joined(&rc, &h, JoinKind::Left).unwrap();
    assert_eq!(joined.len(), 7);
    assert_eq!(joined.get(0, "QLRMC"), Some("张三"));
    assert_eq!(joined.src_rows, [2, 2, 3, 4, 4, 5, 6]);
    assert_eq!(joined.get(5, "QLRMC"), None, "U5 has no holder");
    assert_eq!(joined.get(5, "YWH"), Some("2010101000004"));
}

#[test]
fn shares_per_unit_sum_to_one() {
    let h = holders();
    let ix = KeyIndex::build(&h, "BDCDYH").unwrap();
    let sum = |unit: &str| -> f64 {
        ix.rows_of(unit)
            .iter()
            .map(|&r| parse_share(h.get(r as usize, "QLBL").unwrap_or("")).unwrap_or(0.0))
            .sum()
    };
    assert!((sum(U1) - 1.0).abs() < 1e-12);
    assert!((sum("370116001002JC00002F00010001") - 1.0).abs() < 1e-12);
    // U3: "无" and an empty share: the rule sees the gap
    assert_eq!(sum(U3), 0.0);
    assert_eq!(ix.null_rows(), [6]);
}

#[test]
fn normalising_what_was_read() {
    let mut h = holders();
    let counts = clean_table(&mut h, None, &TextOptions::default()).unwrap();
    let by = |f: &str| {
        counts
            .iter()
            .find(|(n, _)| n == f)
            .map(|(_, c)| *c)
            .unwrap()
    };
    assert_eq!(h.get(3, "ZJH"), Some("37120319720202456X"));
    assert_eq!(by("ZJH").fullwidth, 1);
    assert_eq!(h.get(6, "BDCDYH"), None, "blank key emptied");
    assert_eq!(by("BDCDYH").emptied, 1);
    assert_eq!(h.get(3, "QLBL"), None, "无 is a placeholder");
    assert_eq!(h.get(6, "DJSJ"), None, "NULL is a placeholder");
    assert_eq!(h.get(6, "DZ"), None, "— is a placeholder");
    let dates: Vec<Option<String>> = h
        .column("DJSJ")
        .unwrap()
        .iter()
        .map(|v| v.map(|d| normalize_date(d).unwrap()))
        .collect();
    assert_eq!(
        dates,
        [
            s("2003-05-01"),
            s("2003-05-01"),
            s("2008-03-15"),
            s("2003-05-01"),
            s("2003-05-01"),
            s("2010-10-10"),
            None,
            s("2015-06-30")
        ]
    );

    let r = rights();
    let m2: Vec<f64> = (0..r.len())
        .map(|i| parse_area_with_code(r.get(i, "SYQMJ").unwrap(), r.get(i, "MJDW")).unwrap())
        .collect();
    let want = [120.5, 200.0, 1234.5, 120.5, 2000.0, 100.0];
    for (g, w) in m2.iter().zip(want) {
        assert!((g - w).abs() < 1e-9, "{m2:?}");
    }
    assert_eq!(
        normalize_code(r.get(1, "YT").unwrap(), Some(4)).unwrap(),
        "0702"
    );
    let ids = TextOptions {
        blanks: Blanks::Remove,
        ..TextOptions::default()
    };
    assert_eq!(
        cadastra_tables::normalize::clean_text("3712 0319 7202", &ids)
            .0
            .as_deref(),
        Some("371203197202")
    );
}

fn write_workbook(path: &Path) {
    use rust_xlsxwriter::{ExcelDateTime, Format, Formula, Workbook};
    let mut wb = Workbook::new();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let datetime = Format::new().set_num_format("yyyy-mm-dd hh:mm");
    let ws = wb.add_worksheet();
    ws.set_name("权利人").unwrap();
    ws.write_string(0, 0, "莱芜区不动产权利人一览表").unwrap(); // a title row above the header
    let header = [
        "BDCDYH", "YT", "ZDMJ", "ZS", "DJSJ", "SLSJ", "BL", "SFCZR", "BZ", "",
    ];
    for (c, h) in header.iter().enumerate() {
        if !h.is_empty() {
            ws.write_string(2, c as u16, *h).unwrap();
        }
    }
    // row 4 (Excel numbering)
    ws.write_string(3, 0, U1).unwrap();
    ws.write_string(3, 1, "0702").unwrap();
    ws.write_number(3, 2, 120.5).unwrap();
    ws.write_number(3, 3, 702.0).unwrap();
    ws.write_datetime_with_format(3, 4, ExcelDateTime::from_ymd(2003, 5, 1).unwrap(), &date)
        .unwrap();
    let t = ExcelDateTime::from_ymd(2003, 5, 1)
        .unwrap()
        .and_hms(12, 30, 0)
        .unwrap();
    ws.write_datetime_with_format(3, 5, t, &datetime).unwrap();
    ws.write_number(3, 6, 0.1 + 0.2).unwrap();
    ws.write_boolean(3, 7, true).unwrap();
    // row 5 is empty, row 6 has data
    ws.write_string(5, 0, U3).unwrap();
    ws.write_number(5, 1, 702.0).unwrap();
    ws.write_number(5, 3, 370102198001011234.0).unwrap();
    ws.write_string(5, 4, "2003年5月1日").unwrap();
    ws.write_number(5, 5, 37742.0).unwrap(); // a serial typed as a plain number
    ws.write_string(5, 8, "有证无图").unwrap();
    let ws2 = wb.add_worksheet();
    ws2.set_name("错误").unwrap();
    ws2.write_string(0, 0, "BDCDYH").unwrap();
    ws2.write_string(0, 1, "ZDMJ").unwrap();
    ws2.write_string(1, 0, U1).unwrap();
    ws2.write_formula(1, 1, Formula::new("=NA()").set_result("#N/A"))
        .unwrap();
    wb.save(path).unwrap();
}

#[test]
fn xlsx_written_then_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("qlr.xlsx");
    write_workbook(&path);
    assert_eq!(sheet_names(&path).unwrap(), ["权利人", "错误"]);

    let opts = XlsxOptions {
        sheet: Some("权利人".into()),
        header_row: Some(3),
    };
    let t = read_xlsx_with(&path, &opts).unwrap();
    assert_eq!(t.name, "qlr/权利人");
    assert_eq!(t.encoding, "xlsx");
    assert_eq!(
        t.fields,
        ["BDCDYH", "YT", "ZDMJ", "ZS", "DJSJ", "SLSJ", "BL", "SFCZR", "BZ"]
    );
    assert_eq!(
        t.src_rows,
        [4, 6],
        "Excel row numbers, the empty row 5 skipped"
    );
    assert_eq!(
        col(&t, "YT"),
        [s("0702"), s("702")],
        "text keeps its zero, a number has none"
    );
    assert_eq!(col(&t, "ZDMJ"), [s("120.5"), None]);
    assert_eq!(col(&t, "ZS"), [s("702"), s("370102198001011000")]);
    assert_eq!(col(&t, "DJSJ"), [s("2003-05-01"), s("2003年5月1日")]);
    assert_eq!(col(&t, "SLSJ"), [s("2003-05-01 12:30:00"), s("37742")]);
    assert_eq!(
        normalize_date(t.get(1, "SLSJ").unwrap()).unwrap(),
        "2003-05-01"
    );
    assert_eq!(col(&t, "BL"), [s("0.3"), None]);
    assert_eq!(col(&t, "SFCZR"), [s("TRUE"), None]);
    assert_eq!(col(&t, "BZ"), [None, s("有证无图")]);

    // without a header row the title row is the header: one named column plus unnamed ones
    let t = read_xlsx(&path, None).unwrap();
    assert_eq!(t.fields[0], "莱芜区不动产权利人一览表");
    assert_eq!(t.fields[1], "column_B");

    let e = read_xlsx(&path, Some("错误")).unwrap_err();
    match &e {
        TableError::Cell(c) => {
            let got = (c.sheet.as_str(), c.row, c.cell.as_str(), c.field.as_str());
            assert_eq!(got, ("错误", 2, "B2", "ZDMJ"));
            assert_eq!(c.message, "Excel error value #N/A");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        e.to_string().contains("qlr.xlsx: sheet \"错误\", cell B2"),
        "{e}"
    );

    match read_xlsx(&path, Some("宗地")).unwrap_err() {
        TableError::NoSheet { available, .. } => assert_eq!(available, ["权利人", "错误"]),
        other => panic!("{other:?}"),
    }
    let bad_header = XlsxOptions {
        sheet: None,
        header_row: Some(2),
    };
    assert!(
        read_xlsx_with(&path, &bad_header).is_err(),
        "row 2 is empty"
    );
}

#[test]
fn xlsx_round_trips_through_polars() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("qlr.xlsx");
    write_workbook(&path);
    let t = read_xlsx_with(
        &path,
        &XlsxOptions {
            sheet: None,
            header_row: Some(3),
        },
    )
    .unwrap();
    let df = t.to_dataframe(Some("src_row")).unwrap();
    assert_eq!(df.shape(), (2, 10));
    let back = RecordTable::from_dataframe(&t.name, &df, Some("src_row")).unwrap();
    assert_eq!(
        (back.fields, back.columns, back.src_rows),
        (t.fields, t.columns, t.src_rows)
    );
}

#[test]
fn not_a_workbook_is_an_error_naming_the_file() {
    let e = read_xlsx(data("qlr_gbk.csv"), None).unwrap_err();
    assert!(
        e.to_string()
            .starts_with(&data("qlr_gbk.csv").display().to_string()),
        "{e}"
    );
}
