//! [`RecordTable`]: source records as read, every value text, with where each row came from.

use crate::error::TableError;
use cadastra_model::StrColumn;
use polars::prelude::{
    DataFrame, DataType, IntoColumn, NamedFrom, PlSmallStr, Series, StringChunkedBuilder,
};
use std::path::PathBuf;

/// A table of source records. All values are text (null for an empty cell); nothing is
/// type-inferred, so legacy codes such as `0702` keep their leading zeros.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordTable {
    /// file stem for CSV, `stem/sheet` for workbooks
    pub name: String,
    pub path: PathBuf,
    pub fields: Vec<String>,
    /// one column per field, each `src_rows.len()` long
    pub columns: Vec<StrColumn>,
    /// for each row, the line (CSV, where the record starts) or row (Excel) number as the user
    /// sees it, 1-based, header included
    pub src_rows: Vec<u64>,
    /// `GBK`, `UTF-8`, `UTF-16LE`, ... for text files; `xlsx` for workbooks
    pub encoding: String,
    /// how the encoding (or sheet) was chosen and what was found on the way, for the run report
    pub evidence: Vec<String>,
}

impl RecordTable {
    /// A table from parts; fails if the columns and fields do not line up.
    pub fn new(
        name: impl Into<String>,
        fields: Vec<String>,
        columns: Vec<StrColumn>,
        src_rows: Vec<u64>,
    ) -> Result<Self, TableError> {
        let t = RecordTable {
            name: name.into(),
            path: PathBuf::new(),
            fields,
            columns,
            src_rows,
            encoding: String::new(),
            evidence: Vec::new(),
        };
        t.check()?;
        Ok(t)
    }

    /// Shape invariants: one column per field, unique field names, equal column lengths.
    pub fn check(&self) -> Result<(), TableError> {
        let shape = |message: String| TableError::Shape {
            table: self.name.clone(),
            message,
        };
        if self.fields.len() != self.columns.len() {
            return Err(shape(format!(
                "{} fields but {} columns",
                self.fields.len(),
                self.columns.len()
            )));
        }
        for (i, f) in self.fields.iter().enumerate() {
            if self.fields[..i].contains(f) {
                return Err(shape(format!("field {f:?} appears twice")));
            }
        }
        for (f, c) in self.fields.iter().zip(&self.columns) {
            if c.len() != self.src_rows.len() {
                return Err(shape(format!(
                    "column {f:?} has {} rows, the table {}",
                    c.len(),
                    self.src_rows.len()
                )));
            }
        }
        Ok(())
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.src_rows.len()
    }
    /// True when the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.src_rows.is_empty()
    }
    /// Position of a field (exact name).
    pub fn field_index(&self, field: &str) -> Option<usize> {
        self.fields.iter().position(|f| f == field)
    }
    /// The column of a field, or an error naming the table and field.
    pub fn column(&self, field: &str) -> Result<&StrColumn, TableError> {
        self.field_index(field)
            .map(|i| &self.columns[i])
            .ok_or_else(|| TableError::NoField {
                table: self.name.clone(),
                field: field.to_string(),
            })
    }
    /// One cell by row and field name; `None` for null or an unknown field.
    pub fn get(&self, row: usize, field: &str) -> Option<&str> {
        self.field_index(field)
            .and_then(|i| self.columns[i].get(row))
    }
    /// The rows at `rows`, in that order, keeping their source row numbers.
    pub fn take(&self, rows: &[usize]) -> RecordTable {
        RecordTable {
            name: self.name.clone(),
            path: self.path.clone(),
            fields: self.fields.clone(),
            columns: self.columns.iter().map(|c| c.take(rows)).collect(),
            src_rows: rows.iter().map(|&r| self.src_rows[r]).collect(),
            encoding: self.encoding.clone(),
            evidence: self.evidence.clone(),
        }
    }

    /// A polars DataFrame of String columns with the same names; with `src_row_column`, the
    /// source row numbers are added as a UInt64 column of that name.
    pub fn to_dataframe(&self, src_row_column: Option<&str>) -> Result<DataFrame, TableError> {
        let mut cols = Vec::with_capacity(self.columns.len() + 1);
        for (name, c) in self.fields.iter().zip(&self.columns) {
            let mut b = StringChunkedBuilder::new(PlSmallStr::from_str(name), c.len());
            for v in c.iter() {
                b.append_option(v);
            }
            cols.push(b.finish().into_column());
        }
        if let Some(rc) = src_row_column {
            cols.push(Series::new(PlSmallStr::from_str(rc), &self.src_rows).into_column());
        }
        DataFrame::new(self.len(), cols).map_err(|e| TableError::polars(&self.name, e))
    }

    /// A table from a DataFrame. Columns that are not String are cast to String. With
    /// `src_row_column`, that integer column gives the source row numbers (and is not kept as a
    /// field); without it rows are numbered 1, 2, ...
    pub fn from_dataframe(
        name: &str,
        df: &DataFrame,
        src_row_column: Option<&str>,
    ) -> Result<RecordTable, TableError> {
        let pe = |e| TableError::polars(name, e);
        let n = df.height();
        let mut fields = Vec::new();
        let mut columns = Vec::new();
        let mut src_rows: Vec<u64> = (1..=n as u64).collect();
        let mut found_rows = false;
        for col in df.columns() {
            if Some(col.name().as_str()) == src_row_column {
                let c = col.cast(&DataType::UInt64).map_err(pe)?;
                let ca = c.u64().map_err(pe)?;
                for (i, v) in ca.iter().enumerate() {
                    src_rows[i] = v.ok_or_else(|| TableError::Shape {
                        table: name.to_string(),
                        message: format!("null in row-number column at row {}", i + 1),
                    })?;
                }
                found_rows = true;
                continue;
            }
            let c = if col.dtype() == &DataType::String {
                col.clone()
            } else {
                col.cast(&DataType::String).map_err(pe)?
            };
            let ca = c.str().map_err(pe)?;
            let mut sc = StrColumn::with_capacity(n, 0);
            for v in ca.iter() {
                sc.push(v);
            }
            fields.push(col.name().to_string());
            columns.push(sc);
        }
        if let (Some(rc), false) = (src_row_column, found_rows) {
            return Err(TableError::NoField {
                table: name.to_string(),
                field: rc.to_string(),
            });
        }
        let mut t = RecordTable::new(name, fields, columns, src_rows)?;
        t.encoding = "dataframe".into();
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RecordTable {
        let c1: StrColumn = [Some("0702"), None, Some("0101")].into_iter().collect();
        let c2: StrColumn = [Some("张三"), Some("李四"), None].into_iter().collect();
        RecordTable::new(
            "t",
            vec!["YT".into(), "QLRMC".into()],
            vec![c1, c2],
            vec![2, 3, 5],
        )
        .unwrap()
    }

    #[test]
    fn dataframe_round_trip_keeps_text_nulls_and_rows() {
        let t = sample();
        let df = t.to_dataframe(Some("src_row")).unwrap();
        assert_eq!(df.shape(), (3, 3));
        assert_eq!(df.column("YT").unwrap().dtype(), &DataType::String);
        let back = RecordTable::from_dataframe("t", &df, Some("src_row")).unwrap();
        assert_eq!(back.fields, t.fields);
        assert_eq!(back.columns, t.columns);
        assert_eq!(back.src_rows, [2, 3, 5]);
        let plain = RecordTable::from_dataframe("t", &t.to_dataframe(None).unwrap(), None).unwrap();
        assert_eq!(plain.src_rows, [1, 2, 3]);
    }

    #[test]
    fn non_text_dataframe_columns_become_text() {
        let df = DataFrame::new(
            2,
            vec![
                Series::new("n".into(), &[Some(7i64), None]).into_column(),
                Series::new("x".into(), &[1.5f64, 2.0]).into_column(),
            ],
        )
        .unwrap();
        let t = RecordTable::from_dataframe("d", &df, None).unwrap();
        assert_eq!(t.get(0, "n"), Some("7"));
        assert_eq!(t.get(1, "n"), None);
        assert_eq!(t.get(0, "x"), Some("1.5"));
        let e = RecordTable::from_dataframe("d", &df, Some("row")).unwrap_err();
        assert_eq!(e.to_string(), "table \"d\": no field \"row\"");
    }

    #[test]
    fn shape_errors_and_lookups() {
        let t = sample();
        assert_eq!(t.get(0, "QLRMC"), Some("张三"));
        assert_eq!(t.get(0, "nope"), None);
        assert!(matches!(t.column("nope"), Err(TableError::NoField { .. })));
        let sub = t.take(&[2, 0]);
        assert_eq!(sub.src_rows, [5, 2]);
        assert_eq!(sub.get(0, "YT"), Some("0101"));
        let short: StrColumn = [Some("x")].into_iter().collect();
        let e = RecordTable::new("bad", vec!["a".into()], vec![short], vec![1, 2]).unwrap_err();
        assert!(e.to_string().contains("column \"a\" has 1 rows"), "{e}");
        let e = RecordTable::new("bad", vec!["a".into(), "a".into()], vec![], vec![]).unwrap_err();
        assert!(e.to_string().contains("2 fields but 0 columns"), "{e}");
    }
}
