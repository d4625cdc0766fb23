//! The one error type of the crate. Every variant names the file, and where it applies the
//! line or row, the field and the sheet, so that an operator can open the file and find the cell.

use std::fmt;
use std::path::PathBuf;

/// What is wrong with the delimited text at one place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CsvProblem {
    /// a quoted field runs to the end of the file
    UnclosedQuote,
    /// `ab"c` in strict mode: a quote inside a field that did not start with one
    QuoteInUnquotedField,
    /// `"ab"c`: something other than a delimiter or line end after a closing quote; the quote
    /// opened on `opened_line` (earlier than the error line when a quote was left open)
    TextAfterClosingQuote { opened_line: u64 },
    /// the record has a different number of fields than the header
    FieldCount { expected: usize, found: usize },
}

impl fmt::Display for CsvProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CsvProblem::UnclosedQuote => f.write_str("quoted field is never closed"),
            CsvProblem::QuoteInUnquotedField => f.write_str("quote inside an unquoted field"),
            CsvProblem::TextAfterClosingQuote { opened_line } => {
                write!(
                    f,
                    "text after the closing quote of a field opened on line {opened_line}"
                )
            }
            CsvProblem::FieldCount { expected, found } => {
                write!(f, "{found} fields where the header has {expected}")
            }
        }
    }
}

/// Where in a workbook a cell could not be read, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: sheet {sheet:?}, cell {cell} (row {row}, field {field:?}): {message}")]
pub struct CellError {
    pub path: PathBuf,
    pub sheet: String,
    /// 1-based Excel row number
    pub row: u64,
    /// A1-style reference
    pub cell: String,
    pub field: String,
    pub message: String,
}

/// Errors of reading, converting and joining record tables.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("{path}: unknown encoding label {label:?}")]
    UnknownEncoding { path: PathBuf, label: String },

    #[error("{path}: invalid option: {reason}")]
    InvalidOption { path: PathBuf, reason: String },

    #[error("{path}: {bytes} bytes of text, more than one table can hold (4 GiB)")]
    TooLarge { path: PathBuf, bytes: usize },

    #[error("{path}: no header row")]
    NoHeader { path: PathBuf },

    #[error("{path}: field {name:?} appears twice in the header (columns {first} and {second})")]
    DuplicateField {
        path: PathBuf,
        name: String,
        first: usize,
        second: usize,
    },

    /// Broken quoting or a ragged row. `line` is 1-based as an editor shows it, `field` the header
    /// name (or `column_<n>`), `column` the 1-based field position.
    #[error("{path}: line {line}, field {column} ({field:?}): {problem}")]
    Csv {
        path: PathBuf,
        line: u64,
        column: usize,
        field: String,
        problem: CsvProblem,
    },

    #[error("{path}: {message}")]
    Workbook { path: PathBuf, message: String },

    #[error("{path}: no sheet {sheet:?} (sheets: {available:?})")]
    NoSheet {
        path: PathBuf,
        sheet: String,
        available: Vec<String>,
    },

    /// A cell that cannot be given as text (an Excel error value such as `#N/A`).
    #[error("{0}")]
    Cell(Box<CellError>),

    #[error("table {table:?}: no field {field:?}")]
    NoField { table: String, field: String },

    #[error("table {table:?}: {message}")]
    Shape { table: String, message: String },

    #[error("table {table:?}: polars: {source}")]
    Polars {
        table: String,
        source: polars::error::PolarsError,
    },
}

impl TableError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        TableError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
    pub(crate) fn polars(table: &str, source: polars::error::PolarsError) -> Self {
        TableError::Polars {
            table: table.to_string(),
            source,
        }
    }
}
