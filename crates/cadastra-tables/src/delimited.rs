//! Delimited text (CSV) in any encoding: encoding decision, transcoding, strict parsing.
//!
//! The parser is our own (RFC 4180 with a configurable delimiter) rather than polars' or the
//! `csv` crate's: both accept broken quoting silently (`"ab"c` becomes `abc`) or report it far
//! from where it happened, and neither names the field. Here an unclosed quote is reported at
//! the line and field where it opened, text after a closing quote and (in strict mode) a quote
//! inside an unquoted field at their line and field, and a ragged row at its first line with
//! the name of the first missing (or the position of the first extra) field. Values go straight
//! into [`StrColumn`]s; nothing is type-inferred, so `0702` keeps its zero.
//!
//! Line ends: `\n` or `\r\n`; a file with no `\n` at all but with `\r` is read as classic-Mac
//! `\r`-terminated. Blank lines (empty, or only spaces and tabs) are skipped. Empty fields,
//! quoted or not, become null; blanks inside values are kept for [`crate::normalize`].

use crate::encoding::{decide_encoding, decode};
use crate::error::{CsvProblem, TableError};
use crate::record::RecordTable;
use cadastra_model::StrColumn;
use std::path::Path;

/// How to read a delimited file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvOptions {
    /// the operator's encoding label (`gbk`, `cp936`, `utf-8`, ...); `None` detects it
    pub encoding: Option<String>,
    /// an ASCII byte other than `"`, CR and LF
    pub delimiter: u8,
    /// the first record names the fields; without it fields are `column_1`, `column_2`, ...
    pub has_header: bool,
    /// Chinese data: the detector may only answer GBK, GB18030 or Big5 for non-UTF-8 bytes
    pub chinese: bool,
    /// a `"` inside a field that did not start with one is an error (strict) or kept as text
    pub strict_quotes: bool,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            encoding: None,
            delimiter: b',',
            has_header: true,
            chinese: true,
            strict_quotes: true,
        }
    }
}

/// Read a delimited file into a [`RecordTable`] named after the file stem.
///
/// The table's `encoding` is the encoding used (`GBK`, `UTF-8`, `UTF-16LE`, ...) and its
/// `evidence` says why, plus how many malformed byte sequences were replaced, if any.
pub fn read_csv(path: impl AsRef<Path>, opts: &CsvOptions) -> Result<RecordTable, TableError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| TableError::io(path, e))?;
    read_csv_bytes(path, bytes, opts)
}

/// [`read_csv`] on bytes already in memory; `path` is used for the table name and in errors.
pub fn read_csv_bytes(
    path: impl AsRef<Path>,
    bytes: Vec<u8>,
    opts: &CsvOptions,
) -> Result<RecordTable, TableError> {
    let path = path.as_ref();
    check_options(path, opts)?;
    let decision =
        decide_encoding(&bytes, opts.encoding.as_deref(), opts.chinese).map_err(|label| {
            TableError::UnknownEncoding {
                path: path.to_path_buf(),
                label,
            }
        })?;
    let (text, report) = decode(bytes, &decision);
    let mut evidence = decision.evidence;
    if report.malformed > 0 {
        evidence.push(format!(
            "{} malformed byte sequence(s) replaced by U+FFFD, the first on line {}",
            report.malformed,
            report.first_malformed_line.unwrap_or(0)
        ));
    }
    let parsed = parse(path, &text, opts)?;
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(RecordTable {
        name,
        path: path.to_path_buf(),
        fields: parsed.fields,
        columns: parsed.columns,
        src_rows: parsed.src_rows,
        encoding: decision.encoding.name().to_string(),
        evidence,
    })
}

fn check_options(path: &Path, opts: &CsvOptions) -> Result<(), TableError> {
    let d = opts.delimiter;
    if !d.is_ascii() || matches!(d, b'"' | b'\r' | b'\n') {
        return Err(TableError::InvalidOption {
            path: path.to_path_buf(),
            reason: format!(
                "delimiter {:?} must be ASCII and not a quote or line end",
                d as char
            ),
        });
    }
    Ok(())
}

/// Fields, columns and line numbers parsed from UTF-8 text.
pub(crate) struct Parsed {
    pub fields: Vec<String>,
    pub columns: Vec<StrColumn>,
    pub src_rows: Vec<u64>,
}

#[derive(Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    /// contains `""` pairs to be unescaped
    escaped: bool,
}

/// A parse failure before the field names are attached: (line, 0-based field, problem).
type RawError = (u64, usize, CsvProblem);

struct Parser<'a> {
    b: &'a [u8],
    pos: usize,
    line: u64,
    delim: u8,
    /// the line terminator: `\n` (with an optional `\r` before it) or `\r`
    term: u8,
    strict: bool,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str, delim: u8, strict: bool) -> Self {
        let b = text.as_bytes();
        let term = if memchr::memchr(b'\n', b).is_none() && memchr::memchr(b'\r', b).is_some() {
            b'\r'
        } else {
            b'\n'
        };
        Parser {
            b,
            pos: 0,
            line: 1,
            delim,
            term,
            strict,
        }
    }

    /// Is `pos` at a line end? Returns its length in bytes.
    fn line_end_at(&self, pos: usize) -> Option<usize> {
        match self.b.get(pos) {
            Some(&c) if c == self.term => Some(1),
            Some(b'\r') if self.term == b'\n' && self.b.get(pos + 1) == Some(&b'\n') => Some(2),
            _ => None,
        }
    }

    /// The next record's fields into `out`; `Ok(None)` at the end of the text.
    fn record(&mut self, out: &mut Vec<Span>) -> Result<Option<u64>, RawError> {
        // skip blank lines, and lines of spaces and tabs (unless those are the delimiter)
        loop {
            let mut p = self.pos;
            while matches!(self.b.get(p), Some(&c) if (c == b' ' || c == b'\t') && c != self.delim)
            {
                p += 1;
            }
            if let Some(n) = self.line_end_at(p) {
                self.pos = p + n;
                self.line += 1;
            } else if p >= self.b.len() {
                return Ok(None);
            } else {
                break;
            }
        }
        let start_line = self.line;
        out.clear();
        loop {
            let idx = out.len();
            if self.b.get(self.pos) == Some(&b'"') {
                let open_line = self.line;
                self.pos += 1;
                let start = self.pos;
                let mut escaped = false;
                let end = loop {
                    let Some(i) = memchr::memchr(b'"', &self.b[self.pos..]) else {
                        return Err((open_line, idx, CsvProblem::UnclosedQuote));
                    };
                    let q = self.pos + i;
                    self.line +=
                        memchr::memchr_iter(self.term, &self.b[self.pos..q]).count() as u64;
                    if self.b.get(q + 1) == Some(&b'"') {
                        escaped = true;
                        self.pos = q + 2;
                    } else {
                        self.pos = q + 1;
                        break q;
                    }
                };
                out.push(Span {
                    start,
                    end,
                    escaped,
                });
                if self.pos >= self.b.len() {
                    return Ok(Some(start_line));
                }
                if self.b[self.pos] == self.delim {
                    self.pos += 1;
                    continue;
                }
                if let Some(n) = self.line_end_at(self.pos) {
                    self.pos += n;
                    self.line += 1;
                    return Ok(Some(start_line));
                }
                return Err((
                    self.line,
                    idx,
                    CsvProblem::TextAfterClosingQuote {
                        opened_line: open_line,
                    },
                ));
            }
            let start = self.pos;
            let mut from = self.pos;
            loop {
                // fields are short: a plain loop beats memchr3's per-call set-up here
                let (b, delim, term) = (self.b, self.delim, self.term);
                let hit = b[from..]
                    .iter()
                    .position(|&c| c == delim || c == term || c == b'"');
                match hit {
                    None => {
                        out.push(Span {
                            start,
                            end: self.b.len(),
                            escaped: false,
                        });
                        self.pos = self.b.len();
                        return Ok(Some(start_line));
                    }
                    Some(i) => {
                        let p = from + i;
                        let c = self.b[p];
                        if c == b'"' {
                            if self.strict {
                                return Err((self.line, idx, CsvProblem::QuoteInUnquotedField));
                            }
                            from = p + 1;
                            continue;
                        }
                        if c == self.delim {
                            out.push(Span {
                                start,
                                end: p,
                                escaped: false,
                            });
                            self.pos = p + 1;
                            break;
                        }
                        // line end; drop the \r of \r\n
                        let end = if self.term == b'\n' && p > start && self.b[p - 1] == b'\r' {
                            p - 1
                        } else {
                            p
                        };
                        out.push(Span {
                            start,
                            end,
                            escaped: false,
                        });
                        self.pos = p + 1;
                        self.line += 1;
                        return Ok(Some(start_line));
                    }
                }
            }
        }
    }
}

fn column_name(i: usize) -> String {
    format!("column_{}", i + 1)
}

/// Parse UTF-8 text into named text columns.
pub(crate) fn parse(path: &Path, text: &str, opts: &CsvOptions) -> Result<Parsed, TableError> {
    if text.len() > u32::MAX as usize {
        return Err(TableError::TooLarge {
            path: path.to_path_buf(),
            bytes: text.len(),
        });
    }
    let mut p = Parser::new(text, opts.delimiter, opts.strict_quotes);
    let mut spans = Vec::with_capacity(64);
    let mut scratch = String::new();
    let err = |names: &[String], (line, idx, problem): RawError| TableError::Csv {
        path: path.to_path_buf(),
        line,
        column: idx + 1,
        field: names.get(idx).cloned().unwrap_or_else(|| column_name(idx)),
        problem,
    };

    let first = p.record(&mut spans).map_err(|e| err(&[], e))?;
    let Some(first_line) = first else {
        if opts.has_header {
            return Err(TableError::NoHeader {
                path: path.to_path_buf(),
            });
        }
        return Ok(Parsed {
            fields: Vec::new(),
            columns: Vec::new(),
            src_rows: Vec::new(),
        });
    };
    let ncols = spans.len();
    let fields: Vec<String> = if opts.has_header {
        let mut names = Vec::with_capacity(ncols);
        for (i, s) in spans.iter().enumerate() {
            let raw = value(text, *s, &mut scratch);
            let name = raw.trim_start_matches('\u{FEFF}').trim();
            let name = if name.is_empty() {
                column_name(i)
            } else {
                name.to_string()
            };
            if let Some(j) = names.iter().position(|n| *n == name) {
                return Err(TableError::DuplicateField {
                    path: path.to_path_buf(),
                    name,
                    first: j + 1,
                    second: i + 1,
                });
            }
            names.push(name);
        }
        names
    } else {
        (0..ncols).map(column_name).collect()
    };

    // capacity: one row per line end (exact unless fields span lines); memchr counts a few GB/s
    let est_rows = memchr::memchr_iter(p.term, text.as_bytes()).count() + 1;
    let mut columns: Vec<StrColumn> = (0..ncols)
        .map(|_| StrColumn::with_capacity(est_rows, text.len() / ncols.max(1)))
        .collect();
    let mut src_rows = Vec::with_capacity(est_rows);
    let mut push = |spans: &[Span], line: u64, columns: &mut Vec<StrColumn>| {
        for (c, s) in columns.iter_mut().zip(spans) {
            let v = value(text, *s, &mut scratch);
            c.push(if v.is_empty() { None } else { Some(v) });
        }
        src_rows.push(line);
    };
    if !opts.has_header {
        push(&spans, first_line, &mut columns);
    }
    while let Some(line) = p.record(&mut spans).map_err(|e| err(&fields, e))? {
        if spans.len() != ncols {
            let idx = spans.len().min(ncols);
            return Err(err(
                &fields,
                (
                    line,
                    idx,
                    CsvProblem::FieldCount {
                        expected: ncols,
                        found: spans.len(),
                    },
                ),
            ));
        }
        push(&spans, line, &mut columns);
    }
    Ok(Parsed {
        fields,
        columns,
        src_rows,
    })
}

/// The text of a field; `scratch` holds it when `""` had to be unescaped.
fn value<'t>(text: &'t str, s: Span, scratch: &'t mut String) -> &'t str {
    let raw = &text[s.start..s.end];
    if !s.escaped {
        return raw;
    }
    scratch.clear();
    let mut rest = raw;
    while let Some(i) = rest.find("\"\"") {
        scratch.push_str(&rest[..=i]);
        rest = &rest[i + 2..];
    }
    scratch.push_str(rest);
    scratch
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> CsvOptions {
        CsvOptions::default()
    }

    type Rows = (Vec<String>, Vec<Vec<Option<String>>>, Vec<u64>);

    fn rows(text: &str, o: &CsvOptions) -> Result<Rows, TableError> {
        let p = parse(Path::new("t.csv"), text, o)?;
        let n = p.src_rows.len();
        let rows = (0..n)
            .map(|r| {
                p.columns
                    .iter()
                    .map(|c| c.get(r).map(str::to_string))
                    .collect()
            })
            .collect();
        Ok((p.fields, rows, p.src_rows))
    }

    fn s(v: &str) -> Option<String> {
        Some(v.to_string())
    }

    fn problem(text: &str, o: &CsvOptions) -> (u64, usize, String, CsvProblem) {
        match rows(text, o) {
            Err(TableError::Csv {
                line,
                column,
                field,
                problem,
                ..
            }) => (line, column, field, problem),
            other => panic!("expected a CSV error, got {other:?}"),
        }
    }

    #[test]
    fn plain_quoted_escaped_and_empty_fields() {
        let (f, r, lines) = rows(
            "ZDDM,ZL,BZ\r\n0702,\"莱芜区, 口镇\",\"说\"\"明\"\"\"\r\n0703,,\"\"\r\n",
            &opts(),
        )
        .unwrap();
        assert_eq!(f, ["ZDDM", "ZL", "BZ"]);
        assert_eq!(r[0], [s("0702"), s("莱芜区, 口镇"), s("说\"明\"")]);
        assert_eq!(r[1], [s("0703"), None, None]);
        assert_eq!(lines, [2, 3]);
    }

    #[test]
    fn multi_line_fields_blank_lines_and_missing_final_newline() {
        let (_, r, lines) = rows("a,b\n\n1,\"x\ny\"\n\n2,z", &opts()).unwrap();
        assert_eq!(r, [vec![s("1"), s("x\ny")], vec![s("2"), s("z")]]);
        assert_eq!(lines, [3, 6]);
    }

    #[test]
    fn whitespace_only_lines_are_blank() {
        let (_, r, lines) = rows("a,b\n  \n1,2\n\t \r\n3, \n   ", &opts()).unwrap();
        assert_eq!(r, [vec![s("1"), s("2")], vec![s("3"), s(" ")]]);
        assert_eq!(lines, [3, 5]);
        // with a tab delimiter a line of tabs is a record of empty fields
        let o = CsvOptions {
            delimiter: b'\t',
            ..opts()
        };
        let (_, r, _) = rows("a\tb\n\t\n", &o).unwrap();
        assert_eq!(r, [vec![None, None]]);
    }

    #[test]
    fn trailing_delimiter_gives_a_null_last_field() {
        let (f, r, _) = rows("a,b,\n1,2,\n3,4,", &opts()).unwrap();
        assert_eq!(f, ["a", "b", "column_3"]);
        assert_eq!(r, [vec![s("1"), s("2"), None], vec![s("3"), s("4"), None]]);
    }

    #[test]
    fn other_delimiters_no_header_and_cr_only_files() {
        let o = CsvOptions {
            delimiter: b'\t',
            has_header: false,
            ..opts()
        };
        let (f, r, lines) = rows("0702\t张三\r0703\t李四\r", &o).unwrap();
        assert_eq!(f, ["column_1", "column_2"]);
        assert_eq!(r, [vec![s("0702"), s("张三")], vec![s("0703"), s("李四")]]);
        assert_eq!(lines, [1, 2]);
        let o = CsvOptions {
            delimiter: b'|',
            ..opts()
        };
        assert_eq!(rows("a|b\n1|2\n", &o).unwrap().1, [vec![s("1"), s("2")]]);
    }

    #[test]
    fn header_names_are_trimmed_and_unique() {
        assert_eq!(rows("\u{FEFF} a ,b\n", &opts()).unwrap().0, ["a", "b"]);
        match rows("a,b,a\n", &opts()) {
            Err(TableError::DuplicateField {
                name,
                first,
                second,
                ..
            }) => {
                assert_eq!((name.as_str(), first, second), ("a", 1, 3))
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            rows("", &opts()),
            Err(TableError::NoHeader { .. })
        ));
        let o = CsvOptions {
            has_header: false,
            ..opts()
        };
        assert!(rows("\n\n", &o).unwrap().0.is_empty());
    }

    #[test]
    fn unclosed_quote_is_reported_where_it_opened() {
        let (line, col, field, p) = problem("a,b,c\n1,2,3\n4,\"open,6\n7,8,9\n", &opts());
        assert_eq!(
            (line, col, field.as_str(), p),
            (3, 2, "b", CsvProblem::UnclosedQuote)
        );
    }

    #[test]
    fn text_after_closing_quote() {
        let (line, col, field, p) = problem("a,b\n1,2\n\"x\ny\"z,3\n", &opts());
        assert_eq!((line, col, field.as_str()), (4, 1, "a"));
        assert_eq!(p, CsvProblem::TextAfterClosingQuote { opened_line: 3 });
    }

    #[test]
    fn quote_inside_unquoted_field_strict_and_lenient() {
        let text = "ZL,QLRMC\n\"x\",张\"三\"\n";
        let (line, col, field, p) = problem(text, &opts());
        assert_eq!(
            (line, col, field.as_str(), p),
            (2, 2, "QLRMC", CsvProblem::QuoteInUnquotedField)
        );
        let lenient = CsvOptions {
            strict_quotes: false,
            ..opts()
        };
        assert_eq!(
            rows(text, &lenient).unwrap().1,
            [vec![s("x"), s("张\"三\"")]]
        );
    }

    #[test]
    fn ragged_rows_name_the_missing_or_extra_field() {
        let (line, col, field, p) = problem("a,b,c\n1,2,3\n4,5\n", &opts());
        assert_eq!((line, col, field.as_str()), (3, 3, "c"));
        assert_eq!(
            p,
            CsvProblem::FieldCount {
                expected: 3,
                found: 2
            }
        );
        let (line, col, field, p) = problem("a,b\n1,2\n\"x\ny\",2,3\n", &opts());
        assert_eq!((line, col, field.as_str()), (3, 3, "column_3"));
        assert_eq!(
            p,
            CsvProblem::FieldCount {
                expected: 2,
                found: 3
            }
        );
    }

    #[test]
    fn error_message_names_file_line_and_field() {
        let e = rows("a,b\n1\n", &opts()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.csv: line 2, field 2 (\"b\"): 1 fields where the header has 2"
        );
    }

    #[test]
    fn bad_delimiter_is_an_option_error() {
        let o = CsvOptions {
            delimiter: b'"',
            ..opts()
        };
        let e = read_csv_bytes("x.csv", b"a\n".to_vec(), &o).unwrap_err();
        assert!(matches!(e, TableError::InvalidOption { .. }), "{e}");
    }

    #[test]
    fn unknown_encoding_label_names_the_file() {
        let o = CsvOptions {
            encoding: Some("nope".into()),
            ..opts()
        };
        let e = read_csv_bytes("x.csv", b"a\n".to_vec(), &o).unwrap_err();
        assert_eq!(e.to_string(), "x.csv: unknown encoding label \"nope\"");
    }
}
