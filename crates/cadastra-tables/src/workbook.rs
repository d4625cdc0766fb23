//! Excel workbooks (.xlsx; calamine also opens .xlsm, .xlsb, .xls and .ods) as [`RecordTable`]s.
//!
//! The first non-empty row of the sheet's used range is the header. Cells become text the way
//! Excel shows them, not the way they are stored:
//!
//! - integers and whole floats without `.0` (`702`, not `702.0`); other numbers rounded to
//!   Excel's 15 significant digits (`0.3`, not `0.30000000000000004`), so an 18-digit ID
//!   number typed as a number reads `370102198001011000`, as in Excel;
//! - text cells verbatim, so `'0702` stays `0702`;
//! - **date cells as ISO dates** `YYYY-MM-DD` (`YYYY-MM-DD HH:MM:SS` when the cell has a time of
//!   day, `HH:MM:SS` for a time-only cell), in the workbook's 1900 or 1904 date system. Dates
//!   typed as numbers or text are left as they are for [`crate::normalize::date`];
//! - booleans `TRUE` / `FALSE`; empty cells and empty strings null;
//! - Excel error values (`#N/A`, `#DIV/0!`, ...) are errors naming sheet, cell, row and field.
//!
//! Wholly empty rows are skipped; columns with no header and no value are dropped.

use crate::error::{CellError, TableError};
use crate::record::RecordTable;
use cadastra_model::StrColumn;
use calamine::{open_workbook_auto, Data, Reader};
use std::path::Path;

/// The sheet names of a workbook, in workbook order.
pub fn sheet_names(path: impl AsRef<Path>) -> Result<Vec<String>, TableError> {
    let path = path.as_ref();
    let wb = open_workbook_auto(path).map_err(|e| workbook_err(path, e))?;
    Ok(wb.sheet_names())
}

fn workbook_err(path: &Path, e: impl std::fmt::Display) -> TableError {
    TableError::Workbook {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Which sheet, and where its header is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct XlsxOptions {
    /// the sheet's name; `None` takes the first sheet
    pub sheet: Option<String>,
    /// the 1-based Excel row number of the header (below a title row, say); `None` takes the
    /// first non-empty row
    pub header_row: Option<u32>,
}

/// Read one sheet (the first when `sheet` is `None`). The table is named `stem/sheet` and its
/// `src_rows` are Excel row numbers.
pub fn read_xlsx(path: impl AsRef<Path>, sheet: Option<&str>) -> Result<RecordTable, TableError> {
    read_xlsx_with(
        path,
        &XlsxOptions {
            sheet: sheet.map(str::to_string),
            header_row: None,
        },
    )
}

/// [`read_xlsx`] with an explicit header row. Rows above the header are ignored.
pub fn read_xlsx_with(
    path: impl AsRef<Path>,
    opts: &XlsxOptions,
) -> Result<RecordTable, TableError> {
    let path = path.as_ref();
    let sheet = opts.sheet.as_deref();
    let mut wb = open_workbook_auto(path).map_err(|e| workbook_err(path, e))?;
    let names = wb.sheet_names();
    let sheet = match sheet {
        Some(s) if names.iter().any(|n| n == s) => s.to_string(),
        Some(s) => {
            return Err(TableError::NoSheet {
                path: path.to_path_buf(),
                sheet: s.to_string(),
                available: names,
            })
        }
        None => names
            .first()
            .cloned()
            .ok_or_else(|| workbook_err(path, "the workbook has no sheets"))?,
    };
    let range = wb
        .worksheet_range(&sheet)
        .map_err(|e| workbook_err(path, e))?;
    let Some((row0, col0)) = range.start() else {
        return Err(TableError::NoHeader {
            path: path.to_path_buf(),
        });
    };
    let cell_err = |row: u64, col: usize, field: &str, message: String| {
        TableError::Cell(Box::new(CellError {
            path: path.to_path_buf(),
            sheet: sheet.clone(),
            row,
            cell: format!("{}{row}", column_letters(col0 as usize + col)),
            field: field.to_string(),
            message,
        }))
    };

    // rows before the declared header row are skipped (row0 is 0-based, header_row 1-based)
    let skip = opts
        .header_row
        .map_or(0, |h| h.saturating_sub(1).saturating_sub(row0) as usize);
    let mut rows = range
        .rows()
        .enumerate()
        .skip(skip)
        .filter(|(_, r)| r.iter().any(|c| !is_blank(c)));
    let Some((hi, header)) = rows.next() else {
        return Err(TableError::NoHeader {
            path: path.to_path_buf(),
        });
    };
    let header_row = u64::from(row0) + hi as u64 + 1;
    if let Some(h) = opts.header_row.filter(|&h| u64::from(h) != header_row) {
        return Err(workbook_err(
            path,
            format!("sheet {sheet:?}: header row {h} is empty"),
        ));
    }
    let width = range.width();
    let mut names: Vec<Option<String>> = Vec::with_capacity(width);
    for c in 0..width {
        let cell = header.get(c).unwrap_or(&Data::Empty);
        let text = cell_text(cell).map_err(|m| cell_err(header_row, c, "(header)", m))?;
        names.push(text.map(|t| t.trim().to_string()).filter(|t| !t.is_empty()));
    }
    let data: Vec<(usize, &[Data])> = rows.collect();
    // keep columns that have a name or at least one value
    let keep: Vec<usize> = (0..width)
        .filter(|&c| {
            names[c].is_some()
                || data
                    .iter()
                    .any(|(_, r)| r.get(c).is_some_and(|v| !is_blank(v)))
        })
        .collect();
    let mut fields: Vec<String> = Vec::with_capacity(keep.len());
    for &c in &keep {
        let name = names[c]
            .clone()
            .unwrap_or_else(|| format!("column_{}", column_letters(col0 as usize + c)));
        if let Some(j) = fields.iter().position(|f| *f == name) {
            return Err(TableError::DuplicateField {
                path: path.to_path_buf(),
                name,
                first: col0 as usize + keep[j] + 1,
                second: col0 as usize + c + 1,
            });
        }
        fields.push(name);
    }
    let mut columns: Vec<StrColumn> = keep
        .iter()
        .map(|_| StrColumn::with_capacity(data.len(), 0))
        .collect();
    let mut src_rows = Vec::with_capacity(data.len());
    for (ri, row) in &data {
        let excel_row = u64::from(row0) + *ri as u64 + 1;
        for (k, &c) in keep.iter().enumerate() {
            let cell = row.get(c).unwrap_or(&Data::Empty);
            let v = cell_text(cell).map_err(|m| cell_err(excel_row, c, &fields[k], m))?;
            columns[k].push(v.as_deref());
        }
        src_rows.push(excel_row);
    }
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut evidence = vec![format!(
        "sheet {sheet:?} of {names:?}; header on row {header_row}; {} data rows; date cells as ISO dates",
        src_rows.len()
    )];
    if keep.len() < width {
        evidence.push(format!(
            "{} empty unnamed column(s) dropped",
            width - keep.len()
        ));
    }
    let mut t = RecordTable::new(format!("{stem}/{sheet}"), fields, columns, src_rows)?;
    t.path = path.to_path_buf();
    t.encoding = "xlsx".into();
    t.evidence = evidence;
    Ok(t)
}

fn is_blank(c: &Data) -> bool {
    match c {
        Data::Empty => true,
        Data::String(s) => s.is_empty(),
        _ => false,
    }
}

/// A cell as the text Excel shows; `Err` for Excel error values.
fn cell_text(c: &Data) -> Result<Option<String>, String> {
    Ok(match c {
        Data::Empty => None,
        Data::String(s) if s.is_empty() => None,
        Data::String(s) => Some(s.clone()),
        Data::Int(i) => Some(i.to_string()),
        Data::Float(f) => Some(excel_number(*f)),
        Data::Bool(b) => Some(if *b { "TRUE" } else { "FALSE" }.to_string()),
        Data::DateTime(dt) => {
            let v = dt.as_f64();
            if dt.is_duration() {
                Some(duration_text(v))
            } else {
                let (y, m, d, h, mi, s, ms) = dt.to_ymd_hms_milli();
                let time = if ms > 0 {
                    format!("{h:02}:{mi:02}:{s:02}.{ms:03}")
                } else {
                    format!("{h:02}:{mi:02}:{s:02}")
                };
                if (0.0..1.0).contains(&v) {
                    Some(time)
                } else if (h, mi, s, ms) == (0, 0, 0, 0) {
                    Some(format!("{y:04}-{m:02}-{d:02}"))
                } else {
                    Some(format!("{y:04}-{m:02}-{d:02} {time}"))
                }
            }
        }
        Data::DateTimeIso(s) | Data::DurationIso(s) => Some(s.clone()),
        Data::Error(e) => return Err(format!("Excel error value {e}")),
    })
}

fn duration_text(days: f64) -> String {
    let secs = (days * 86_400.0).round() as i64;
    let sign = if secs < 0 { "-" } else { "" };
    let secs = secs.abs();
    format!(
        "{sign}{}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// A number as Excel displays it in a General cell: 15 significant digits, no `.0`.
pub fn excel_number(f: f64) -> String {
    if !f.is_finite() {
        return f.to_string();
    }
    // round to 15 significant digits, as Excel does for display
    let sci = format!("{f:.14e}");
    let r: f64 = sci.parse().unwrap_or(f);
    if r.fract() != 0.0 {
        return format!("{r}");
    }
    if r.abs() < 1e15 {
        return format!("{}", r as i64);
    }
    // a whole number of 16 or more digits: the 15 significant digits, then zeros (the binary
    // value would print as ...008)
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: usize = exp.parse().unwrap_or(14);
    let sign = if mant.starts_with('-') { "-" } else { "" };
    let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    format!("{sign}{digits}{}", "0".repeat(exp.saturating_sub(14)))
}

/// `A`, ..., `Z`, `AA`, ... for a 0-based column index.
pub fn column_letters(mut col: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (col % 26) as u8);
        if col < 26 {
            break;
        }
        col = col / 26 - 1;
    }
    s.reverse();
    String::from_utf8_lossy(&s).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_display_like_excel() {
        assert_eq!(excel_number(702.0), "702");
        assert_eq!(excel_number(-3.0), "-3");
        assert_eq!(excel_number(1234.5), "1234.5");
        assert_eq!(excel_number(0.1 + 0.2), "0.3");
        assert_eq!(excel_number(370102198001011234.0), "370102198001011000");
        assert_eq!(excel_number(1e-7), "0.0000001");
        assert_eq!(excel_number(-1e15), "-1000000000000000");
        assert_eq!(excel_number(1e20), "100000000000000000000");
        assert_eq!(excel_number(123456789012345.0), "123456789012345");
        assert_eq!(excel_number(f64::NAN), "NaN");
    }

    #[test]
    fn column_letters_run_past_z() {
        let got: Vec<String> = [0, 25, 26, 27, 51, 52, 701, 702].map(column_letters).into();
        assert_eq!(got, ["A", "Z", "AA", "AB", "AZ", "BA", "ZZ", "AAA"]);
    }

    #[test]
    fn durations_and_errors() {
        assert_eq!(duration_text(1.5), "36:00:00");
        assert_eq!(duration_text(-0.25), "-6:00:00");
        let e = cell_text(&Data::Error(calamine::CellErrorType::NA)).unwrap_err();
        assert_eq!(e, "Excel error value #N/A");
        assert_eq!(cell_text(&Data::String(String::new())).unwrap(), None);
        assert_eq!(
            cell_text(&Data::Bool(true)).unwrap().as_deref(),
            Some("TRUE")
        );
    }
}
