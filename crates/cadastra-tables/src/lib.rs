//! Registration records (rights 权利, right holders 权利人, ...) from CSV and Excel, joined with
//! polars, and the value normalisation of rules FMT-04 / FMT-05.
//!
//! This is the only crate of the workspace that links polars (eager API only, no `lazy`).
//!
//! - [`encoding`]: decide a file's text encoding (BOM → declared → UTF-16 shape → valid UTF-8
//!   → chardetng with Chinese candidates) with evidence for the report; transcode to UTF-8.
//! - [`delimited`]: [`read_csv`] with a strict parser that names file, line and field for broken
//!   quoting and ragged rows; every value stays text, empty cells are null.
//! - [`workbook`]: [`read_xlsx`] via calamine; cells as Excel shows them, date cells as ISO
//!   dates; errors name sheet, cell and field.
//! - [`record`]: [`RecordTable`], the in-memory table (columns of
//!   [`cadastra_model::StrColumn`] plus source row numbers), and its polars DataFrame conversion.
//! - [`mod@join`]: [`KeyIndex`] (rows per trimmed key, e.g. owners per unit) and [`join()`] (pairs,
//!   unmatched rows of both sides, null keys, duplicate keys, one-to-many multiplicity).
//! - [`normalize`]: pure value functions: text clean-up with change counts, dates, numbers,
//!   areas with units, codes, share fractions.
//! - [`error`]: [`TableError`], the one error type.
//!
//! Invariants: reading never infers types (`0702` stays `0702`); a reader either returns a
//! whole table or an error naming where the input is wrong, never a partial table; row
//! numbers in results are 0-based positions, `src_rows` the 1-based line/row the user sees.

pub mod delimited;
pub mod encoding;
pub mod error;
pub mod join;
pub mod normalize;
pub mod record;
pub mod workbook;

pub use delimited::{read_csv, read_csv_bytes, CsvOptions};
pub use error::{CellError, CsvProblem, TableError};
pub use join::{
    join, join_indexed, DuplicateKey, JoinKind, JoinResult, KeyIndex, Multiplicity, Row,
};
pub use record::RecordTable;
pub use workbook::{read_xlsx, read_xlsx_with, sheet_names, XlsxOptions};
