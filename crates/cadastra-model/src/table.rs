//! Compact columnar storage.
//!
//! A million parcels with twenty text attributes must fit in a few hundred megabytes, so text
//! lives in one buffer per column with end offsets, never in one `String` per cell.
//!
//! ```
//! use cadastra_model::StrColumn;
//! let mut c = StrColumn::default();
//! c.push(Some("莱芜区"));
//! c.push(None);
//! assert_eq!(c.get(0), Some("莱芜区"));
//! assert_eq!(c.get(1), None);
//! ```

use crate::schema::FieldType;

/// Geometry as held by layers: parcels and buildings are multipolygons (easting first).
pub type Geom = geo_types::MultiPolygon<f64>;

/// A nullable text column: all values in one buffer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StrColumn {
    buf: String,
    ends: Vec<u32>,
    nulls: Vec<u64>, // bit set = null
}

impl StrColumn {
    pub fn with_capacity(rows: usize, bytes: usize) -> Self {
        StrColumn {
            buf: String::with_capacity(bytes),
            ends: Vec::with_capacity(rows),
            nulls: Vec::with_capacity(rows / 64 + 1),
        }
    }
    pub fn len(&self) -> usize {
        self.ends.len()
    }
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
    pub fn push(&mut self, v: Option<&str>) {
        let i = self.ends.len();
        if i.is_multiple_of(64) {
            self.nulls.push(0);
        }
        match v {
            Some(s) => self.buf.push_str(s),
            None => self.nulls[i / 64] |= 1 << (i % 64),
        }
        // `get` relies on every end being a boundary of a pushed string
        let end = u32::try_from(self.buf.len()).expect("a text column holds at most 4 GiB");
        self.ends.push(end);
    }
    pub fn is_null(&self, i: usize) -> bool {
        self.nulls[i / 64] & (1 << (i % 64)) != 0
    }
    pub fn get(&self, i: usize) -> Option<&str> {
        if self.is_null(i) {
            return None;
        }
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        let end = self.ends[i] as usize;
        debug_assert!(self.buf.is_char_boundary(start) && self.buf.is_char_boundary(end));
        // SAFETY: `buf` only grows by whole strings (`push`), and `ends` records its length after
        // each, so `start..end` (consecutive ends, or 0) lies on char boundaries within `buf`.
        // Checked slicing would test both boundaries on every read; this is the hottest read of
        // the load and merge stages.
        #[allow(unsafe_code)]
        Some(unsafe { self.buf.get_unchecked(start..end) })
    }
    /// Whether row `i` holds the same value as row `i - 1` (false for row 0).
    pub fn same_as_previous(&self, i: usize) -> bool {
        if i == 0 || i >= self.len() {
            return false;
        }
        match (self.is_null(i), self.is_null(i - 1)) {
            (true, true) => true,
            (false, false) => {
                let a = if i == 1 { 0 } else { self.ends[i - 2] as usize };
                let (b, c) = (self.ends[i - 1] as usize, self.ends[i] as usize);
                b - a == c - b && self.buf.as_bytes()[a..b] == self.buf.as_bytes()[b..c]
            }
            _ => false,
        }
    }
    pub fn iter(&self) -> impl Iterator<Item = Option<&str>> + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }
    /// Bytes of text held (for memory accounting).
    pub fn text_bytes(&self) -> usize {
        self.buf.len()
    }
    /// Rows selected by `idx`, in that order.
    pub fn take(&self, idx: &[usize]) -> StrColumn {
        // sized for the average value (taking most rows of a large column is common: growing by
        // doubling would copy the text several times)
        let avg = self.buf.len() / self.len().max(1);
        let mut out = StrColumn::with_capacity(idx.len(), idx.len() * avg + avg);
        for &i in idx {
            out.push(self.get(i));
        }
        out
    }
    /// Append all rows of another column.
    pub fn extend_from(&mut self, other: &StrColumn) {
        // in bulk: the text appended as one block, the ends shifted, the null bits copied (word by
        // word when this column ends on a word boundary)
        let (n0, base) = (self.len(), self.buf.len());
        self.buf.push_str(&other.buf);
        u32::try_from(self.buf.len()).expect("a text column holds at most 4 GiB");
        self.ends
            .extend(other.ends.iter().map(|&e| e + base as u32));
        let n = self.ends.len();
        if n0.is_multiple_of(64) {
            self.nulls
                .extend_from_slice(&other.nulls[..other.len().div_ceil(64)]);
        } else {
            self.nulls.resize(n.div_ceil(64), 0);
            for i in (0..other.len()).filter(|&i| other.is_null(i)) {
                let j = n0 + i;
                self.nulls[j / 64] |= 1 << (j % 64);
            }
        }
    }
}

impl<'a> FromIterator<Option<&'a str>> for StrColumn {
    fn from_iter<T: IntoIterator<Item = Option<&'a str>>>(iter: T) -> Self {
        let mut c = StrColumn::default();
        for v in iter {
            c.push(v);
        }
        c
    }
}

/// A typed registry column. Dates are held as normalised ISO text (`YYYY-MM-DD`).
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    Text(StrColumn),
    Int(Vec<Option<i64>>),
    Real(Vec<Option<f64>>),
}

/// One cell, borrowed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    Null,
    Text(&'a str),
    Int(i64),
    Real(f64),
}

impl Cell<'_> {
    pub fn is_null(&self) -> bool {
        matches!(self, Cell::Null)
    }
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Cell::Int(i) => Some(i as f64),
            Cell::Real(r) => Some(r),
            Cell::Text(t) => t.trim().parse().ok(),
            Cell::Null => None,
        }
    }
    pub fn as_text(&self) -> Option<std::borrow::Cow<'_, str>> {
        match *self {
            Cell::Null => None,
            Cell::Text(t) => Some(t.into()),
            Cell::Int(i) => Some(i.to_string().into()),
            Cell::Real(r) => Some(format_real(r).into()),
        }
    }
}

/// Shortest text for a real that reads back to the same value.
pub fn format_real(r: f64) -> String {
    let s = format!("{r}");
    if s.contains('.') || s.contains('e') || s.contains("inf") || s.contains("NaN") {
        s
    } else {
        format!("{s}.0")
    }
}

impl Column {
    pub fn new(ty: FieldType, rows: usize) -> Column {
        match ty {
            FieldType::Text | FieldType::Date => Column::Text(StrColumn::with_capacity(rows, 0)),
            FieldType::Int => Column::Int(Vec::with_capacity(rows)),
            FieldType::Real => Column::Real(Vec::with_capacity(rows)),
        }
    }
    pub fn len(&self) -> usize {
        match self {
            Column::Text(c) => c.len(),
            Column::Int(c) => c.len(),
            Column::Real(c) => c.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn cell(&self, i: usize) -> Cell<'_> {
        match self {
            Column::Text(c) => c.get(i).map_or(Cell::Null, Cell::Text),
            Column::Int(c) => c[i].map_or(Cell::Null, Cell::Int),
            Column::Real(c) => c[i].map_or(Cell::Null, Cell::Real),
        }
    }
    pub fn take(&self, idx: &[usize]) -> Column {
        match self {
            Column::Text(c) => Column::Text(c.take(idx)),
            Column::Int(c) => Column::Int(idx.iter().map(|&i| c[i]).collect()),
            Column::Real(c) => Column::Real(idx.iter().map(|&i| c[i]).collect()),
        }
    }
    /// Append the rows of a column of the same type; returns false on a type mismatch.
    pub fn extend_from(&mut self, other: &Column) -> bool {
        match (self, other) {
            (Column::Text(a), Column::Text(b)) => a.extend_from(b),
            (Column::Int(a), Column::Int(b)) => a.extend_from_slice(b),
            (Column::Real(a), Column::Real(b)) => a.extend_from_slice(b),
            _ => return false,
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn str_column_round_trips_nulls_and_empty_strings() {
        let vals = [Some("a"), None, Some(""), Some("宗地"), None];
        let mut c = StrColumn::default();
        for _ in 0..30 {
            for v in vals {
                c.push(v);
            }
        }
        assert_eq!(c.len(), 150);
        for (i, v) in c.iter().enumerate() {
            assert_eq!(v, vals[i % 5], "row {i}");
        }
        let t = c.take(&[3, 1, 2]);
        assert_eq!(
            t.iter().collect::<Vec<_>>(),
            vec![Some("宗地"), None, Some("")]
        );
    }

    #[test]
    fn extend_from_appends_values_and_nulls_at_any_offset() {
        let vals = |n: usize, seed: usize| -> Vec<Option<String>> {
            (0..n)
                .map(|i| {
                    (!(i * 7 + seed).is_multiple_of(5)).then(|| format!("v{}宗{}", i + seed, i % 3))
                })
                .collect()
        };
        for (a, b) in [
            (0, 0),
            (0, 70),
            (64, 3),
            (63, 130),
            (1, 64),
            (100, 200),
            (128, 1),
        ] {
            let (va, vb) = (vals(a, 1), vals(b, 2));
            let mut x: StrColumn = va.iter().map(|v| v.as_deref()).collect();
            let y: StrColumn = vb.iter().map(|v| v.as_deref()).collect();
            x.extend_from(&y);
            let want: StrColumn = va.iter().chain(&vb).map(|v| v.as_deref()).collect();
            assert_eq!(x, want, "{a} + {b}");
            // and it keeps growing correctly by push
            x.push(Some("z"));
            x.push(None);
            assert_eq!((x.get(a + b), x.get(a + b + 1)), (Some("z"), None));
        }
    }

    #[test]
    fn into_take_equals_take() {
        use geo_types::{coord, LineString, MultiPolygon, Polygon};
        let def = crate::registry().table("ZDJBXX").unwrap();
        let mut rows = Rows::new(def);
        for i in 0..50usize {
            for col in rows.columns.iter_mut() {
                match col {
                    Column::Text(c) => c.push((i % 3 != 0).then(|| format!("t{i}")).as_deref()),
                    Column::Int(c) => c.push((i % 4 != 0).then_some(i as i64)),
                    Column::Real(c) => c.push((i % 5 != 0).then_some(i as f64 / 2.0)),
                }
            }
            let x = i as f64;
            rows.geoms.push((i % 7 != 0).then(|| {
                MultiPolygon(vec![Polygon::new(
                    LineString(vec![
                        coord! {x: x, y: 0.0},
                        coord! {x: x + 1.0, y: 0.0},
                        coord! {x: x, y: 1.0},
                        coord! {x: x, y: 0.0},
                    ]),
                    vec![],
                )])
            }));
        }
        let idx = [0, 3, 4, 7, 20, 49, 1];
        let want = rows.take(&idx);
        let got = rows.into_take(&idx);
        assert_eq!(got.table, want.table);
        assert_eq!(got.columns, want.columns);
        assert_eq!(got.geoms, want.geoms);
    }

    #[test]
    fn same_as_previous_compares_values_and_nulls() {
        let vals = [
            Some("a"),
            Some("a"),
            Some("ab"),
            Some(""),
            Some(""),
            None,
            None,
            Some(""),
            Some("宗地"),
            Some("宗地"),
        ];
        let mut c = StrColumn::default();
        for v in vals {
            c.push(v);
        }
        let got: Vec<bool> = (0..vals.len() + 1).map(|i| c.same_as_previous(i)).collect();
        let want: Vec<bool> = (0..vals.len() + 1)
            .map(|i| i > 0 && i < vals.len() && vals[i] == vals[i - 1])
            .collect();
        assert_eq!(got, want);
        assert!(!c.same_as_previous(0));
    }

    #[test]
    fn reals_format_to_read_back() {
        assert_eq!(format_real(12.0), "12.0");
        assert_eq!(format_real(0.1), "0.1");
        assert_eq!(format_real(12.5).parse::<f64>().unwrap(), 12.5);
    }
}

/// Source records as read, before mapping: every value is text (as the source holds it, decoded),
/// with the geometry when the source has one. `src_rows` are the record numbers the user sees
/// (0-based DBF record, 1-based spreadsheet/CSV line), used for provenance and error messages.
#[derive(Debug, Clone, Default)]
pub struct RawTable {
    pub name: String,
    pub fields: Vec<String>,
    pub columns: Vec<StrColumn>,
    pub geoms: Option<Vec<Option<geo_types::Geometry<f64>>>>,
    pub src_rows: Vec<u64>,
}

impl RawTable {
    pub fn len(&self) -> usize {
        self.src_rows.len()
    }
    pub fn is_empty(&self) -> bool {
        self.src_rows.is_empty()
    }
    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f == name)
    }
    pub fn value(&self, row: usize, field: usize) -> Option<&str> {
        self.columns[field].get(row)
    }
}

/// Mapped registry rows of one table, columns in the order of the table's `TableDef::fields`.
#[derive(Debug, Clone)]
pub struct Rows {
    pub table: String,
    pub columns: Vec<Column>,
    /// geometry per row for feature tables (empty for attribute tables)
    pub geoms: Vec<Option<Geom>>,
}

impl Rows {
    pub fn new(def: &crate::TableDef) -> Rows {
        Rows {
            table: def.name.clone(),
            columns: def.fields.iter().map(|f| Column::new(f.ty, 0)).collect(),
            geoms: Vec::new(),
        }
    }
    pub fn len(&self) -> usize {
        self.columns.first().map_or(self.geoms.len(), Column::len)
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn take(&self, idx: &[usize]) -> Rows {
        Rows {
            table: self.table.clone(),
            columns: self.columns.iter().map(|c| c.take(idx)).collect(),
            geoms: if self.geoms.is_empty() {
                Vec::new()
            } else {
                idx.iter().map(|&i| self.geoms[i].clone()).collect()
            },
        }
    }
    /// As [`Rows::take`] with distinct `idx`, consuming the rows: geometries are moved, not
    /// copied.
    pub fn into_take(self, idx: &[usize]) -> Rows {
        let columns = self.columns.iter().map(|c| c.take(idx)).collect();
        let mut geoms = self.geoms;
        let geoms = if geoms.is_empty() {
            Vec::new()
        } else {
            idx.iter().map(|&i| geoms[i].take()).collect()
        };
        Rows {
            table: self.table,
            columns,
            geoms,
        }
    }
}
