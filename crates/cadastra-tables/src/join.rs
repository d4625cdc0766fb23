//! Key indexes and joins of record tables (rights ↔ right holders, rights ↔ parcels).
//!
//! Keys are compared after trimming blanks (including U+3000); a key that is empty after
//! trimming counts as null and never matches. Nothing else is normalised here: a unit number
//! with full-width digits does not match its ASCII twin (that is a UNIT-01 finding, not a join
//! problem); clean keys with [`crate::normalize`] first if that is wanted.
//!
//! Both sides are grouped by key with polars (`group_tuples`), then the distinct keys are
//! joined with polars' eager full join, so a million-row side costs one hash pass, and a
//! one-to-many key yields every pair. Row numbers are 0-based positions in the table; the
//! table's `src_rows` gives the line the user sees.
//!
//! ```
//! use cadastra_tables::{join, RecordTable};
//! use cadastra_model::StrColumn;
//! let units = RecordTable::new("H", vec!["BDCDYH".into()],
//!     vec![[Some("U1"), Some("U2")].into_iter().collect::<StrColumn>()], vec![2, 3]).unwrap();
//! let owners = RecordTable::new("QLR", vec!["BDCDYH".into()],
//!     vec![[Some(" U1"), Some("U1"), Some("U9")].into_iter().collect::<StrColumn>()], vec![2, 3, 4]).unwrap();
//! let j = join(&units, &owners, "BDCDYH", "BDCDYH").unwrap();
//! assert_eq!(j.pairs, [(0, 0), (0, 1)]);       // two holders for U1
//! assert_eq!(j.unmatched_left, [1]);           // U2: no holder
//! assert_eq!(j.unmatched_right, [2]);          // U9: holder of an unknown unit
//! assert_eq!(j.multiplicity.one_to_many, 1);
//! ```

use crate::error::TableError;
use crate::record::RecordTable;
use cadastra_model::StrColumn;
use polars::prelude::{
    DataFrame, DataFrameJoinOps, GroupsIndicator, IntoColumn, IntoGroupsType, JoinArgs, JoinType,
    NamedFrom, PlSmallStr, Series, StringChunkedBuilder,
};
use std::hash::{Hash, Hasher};
use std::sync::OnceLock;

/// A row position in a [`RecordTable`] (0-based). Tables are below 4 GiB of text, so `u32`.
pub type Row = u32;

/// The rows of a table grouped by a trimmed key: "owners per unit".
#[derive(Debug, Clone)]
pub struct KeyIndex {
    table: String,
    field: String,
    /// distinct keys in order of first appearance
    keys: StrColumn,
    /// group `g` holds `rows[offsets[g]..offsets[g + 1]]`, ascending
    offsets: Vec<u32>,
    rows: Vec<Row>,
    null_rows: Vec<Row>,
    /// (key hash, group id) sorted, for [`KeyIndex::rows_of`]; built on first use
    by_hash: OnceLock<Vec<(u64, u32)>>,
}

fn key_hash(k: &str) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    k.hash(&mut h);
    h.finish()
}

fn trimmed(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|s| !s.is_empty())
}

impl KeyIndex {
    /// Group the rows of `table` by the trimmed value of `field`.
    pub fn build(table: &RecordTable, field: &str) -> Result<KeyIndex, TableError> {
        let col = table.column(field)?;
        let pe = |e| TableError::polars(&table.name, e);
        let mut b = StringChunkedBuilder::new(PlSmallStr::from_str(field), col.len());
        for v in col.iter() {
            b.append_option(trimmed(v));
        }
        let ca = b.finish();
        // sorted = true: groups in order of their first row, whatever the thread count
        let groups = ca.group_tuples(true, true).map_err(pe)?;
        let mut keys = StrColumn::with_capacity(groups.len(), 0);
        let mut offsets = Vec::with_capacity(groups.len() + 1);
        offsets.push(0u32);
        let mut rows: Vec<Row> = Vec::with_capacity(col.len());
        let mut null_rows = Vec::new();
        for g in groups.iter() {
            let first = g.first() as usize;
            match trimmed(col.get(first)) {
                None => match &g {
                    GroupsIndicator::Idx((_, all)) => null_rows.extend(all.iter().copied()),
                    GroupsIndicator::Slice([f, len]) => null_rows.extend(*f..*f + *len),
                },
                Some(k) => {
                    keys.push(Some(k));
                    let start = rows.len();
                    match &g {
                        GroupsIndicator::Idx((_, all)) => rows.extend(all.iter().copied()),
                        GroupsIndicator::Slice([f, len]) => rows.extend(*f..*f + *len),
                    }
                    let members = &mut rows[start..];
                    if !members.is_sorted() {
                        members.sort_unstable();
                    }
                    offsets.push(rows.len() as u32);
                }
            }
        }
        null_rows.sort_unstable();
        Ok(KeyIndex {
            table: table.name.clone(),
            field: field.to_string(),
            keys,
            offsets,
            rows,
            null_rows,
            by_hash: OnceLock::new(),
        })
    }

    /// Number of distinct (non-null) keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }
    /// True when no row has a key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
    /// The key of group `g < len()` (groups are numbered in order of first appearance).
    pub fn key(&self, g: usize) -> &str {
        // every group was pushed with Some(key)
        self.keys.get(g).unwrap_or_default()
    }
    /// The rows of group `g < len()`, ascending (panics past the end, like slice indexing).
    pub fn rows(&self, g: usize) -> &[Row] {
        &self.rows[self.offsets[g] as usize..self.offsets[g + 1] as usize]
    }
    /// The rows whose trimmed key equals `key` (trimmed too); empty if none. The first call
    /// builds a sorted table of key hashes (a fraction of a second per million keys).
    pub fn rows_of(&self, key: &str) -> &[Row] {
        let key = key.trim();
        let by_hash = self.by_hash.get_or_init(|| {
            let mut v: Vec<(u64, u32)> = (0..self.len())
                .map(|g| (key_hash(self.key(g)), g as u32))
                .collect();
            v.sort_unstable();
            v
        });
        let h = key_hash(key);
        let from = by_hash.partition_point(|&(x, _)| x < h);
        by_hash[from..]
            .iter()
            .take_while(|&&(x, _)| x == h)
            .find(|&&(_, g)| self.key(g as usize) == key)
            .map_or(&[], |&(_, g)| self.rows(g as usize))
    }
    /// Rows with a null or blank key.
    pub fn null_rows(&self) -> &[Row] {
        &self.null_rows
    }
    /// (key, rows) for every distinct key, in order of first appearance.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[Row])> + '_ {
        (0..self.len()).map(move |g| (self.key(g), self.rows(g)))
    }
    /// Keys held by more than one row.
    pub fn duplicates(&self) -> Vec<DuplicateKey> {
        self.iter()
            .filter(|(_, r)| r.len() > 1)
            .map(|(k, r)| DuplicateKey {
                key: k.to_string(),
                rows: r.to_vec(),
            })
            .collect()
    }

    fn key_frame(&self) -> Result<DataFrame, TableError> {
        let mut b = StringChunkedBuilder::new(PlSmallStr::from_static("k"), self.len());
        for g in 0..self.len() {
            b.append_value(self.key(g));
        }
        let ids: Vec<u32> = (0..self.len() as u32).collect();
        DataFrame::new(
            self.len(),
            vec![
                b.finish().into_column(),
                Series::new("g".into(), ids).into_column(),
            ],
        )
        .map_err(|e| TableError::polars(&self.table, e))
    }
}

/// A key held by several rows of one side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateKey {
    pub key: String,
    pub rows: Vec<Row>,
}

/// How matched keys pair up. A key with one left and three right rows is one-to-many.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Multiplicity {
    pub keys_matched: usize,
    pub one_to_one: usize,
    pub one_to_many: usize,
    pub many_to_one: usize,
    pub many_to_many: usize,
    /// most right rows for one key (e.g. most holders of one unit)
    pub max_right_per_key: usize,
    pub max_left_per_key: usize,
}

/// The outcome of [`join`]. All row lists are ascending; `pairs` is sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JoinResult {
    /// (left row, right row) for every pair of rows with equal keys
    pub pairs: Vec<(Row, Row)>,
    /// left rows with a key the right side lacks (e.g. 宗地无登记 candidates)
    pub unmatched_left: Vec<Row>,
    /// right rows with a key the left side lacks (e.g. 有证无图 candidates)
    pub unmatched_right: Vec<Row>,
    /// rows with a null or blank key, which match nothing
    pub null_key_left: Vec<Row>,
    pub null_key_right: Vec<Row>,
    pub duplicates_left: Vec<DuplicateKey>,
    pub duplicates_right: Vec<DuplicateKey>,
    pub multiplicity: Multiplicity,
}

/// How [`JoinResult::joined`] materialises the join.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    /// matched pairs only
    Inner,
    /// matched pairs, then each unmatched or null-key left row once with null right values
    Left,
}

/// Join two tables on trimmed keys. See the [module docs](self).
pub fn join(
    left: &RecordTable,
    right: &RecordTable,
    left_key: &str,
    right_key: &str,
) -> Result<JoinResult, TableError> {
    let l = KeyIndex::build(left, left_key)?;
    let r = KeyIndex::build(right, right_key)?;
    join_indexed(&l, &r)
}

/// [`join`] on key indexes already built (to reuse one index in several joins).
pub fn join_indexed(l: &KeyIndex, r: &KeyIndex) -> Result<JoinResult, TableError> {
    let name = format!("{}.{} = {}.{}", l.table, l.field, r.table, r.field);
    let pe = |e| TableError::polars(&name, e);
    let lf = l.key_frame()?;
    let rf = r.key_frame()?;
    let j = lf
        .join(&rf, ["k"], ["k"], JoinArgs::new(JoinType::Full), None)
        .map_err(pe)?;
    let lg = j.column("g").map_err(pe)?.u32().map_err(pe)?;
    let rg = j.column("g_right").map_err(pe)?.u32().map_err(pe)?;
    let mut out = JoinResult {
        null_key_left: l.null_rows.clone(),
        null_key_right: r.null_rows.clone(),
        duplicates_left: l.duplicates(),
        duplicates_right: r.duplicates(),
        ..JoinResult::default()
    };
    let m = &mut out.multiplicity;
    for (a, b) in lg.iter().zip(rg.iter()) {
        match (a, b) {
            (Some(a), Some(b)) => {
                let (lr, rr) = (l.rows(a as usize), r.rows(b as usize));
                m.keys_matched += 1;
                match (lr.len() > 1, rr.len() > 1) {
                    (false, false) => m.one_to_one += 1,
                    (false, true) => m.one_to_many += 1,
                    (true, false) => m.many_to_one += 1,
                    (true, true) => m.many_to_many += 1,
                }
                m.max_right_per_key = m.max_right_per_key.max(rr.len());
                m.max_left_per_key = m.max_left_per_key.max(lr.len());
                for &x in lr {
                    out.pairs.extend(rr.iter().map(|&y| (x, y)));
                }
            }
            (Some(a), None) => out.unmatched_left.extend_from_slice(l.rows(a as usize)),
            (None, Some(b)) => out.unmatched_right.extend_from_slice(r.rows(b as usize)),
            (None, None) => {}
        }
    }
    out.pairs.sort_unstable();
    out.unmatched_left.sort_unstable();
    out.unmatched_right.sort_unstable();
    Ok(out)
}

impl JoinResult {
    /// The joined table: left fields, then right fields (a right name already on the left gets
    /// `_right`). Rows follow the pairs (sorted by left row); `src_rows` are the left table's.
    pub fn joined(
        &self,
        left: &RecordTable,
        right: &RecordTable,
        kind: JoinKind,
    ) -> Result<RecordTable, TableError> {
        let mut li: Vec<usize> = self.pairs.iter().map(|p| p.0 as usize).collect();
        let mut ri: Vec<Option<usize>> = self.pairs.iter().map(|p| Some(p.1 as usize)).collect();
        if kind == JoinKind::Left {
            let mut extra: Vec<Row> = self
                .unmatched_left
                .iter()
                .chain(&self.null_key_left)
                .copied()
                .collect();
            extra.sort_unstable();
            // merge so that the result stays ordered by left row
            let mut merged: Vec<(usize, Option<usize>)> = li.into_iter().zip(ri).collect();
            merged.extend(extra.into_iter().map(|x| (x as usize, None)));
            merged.sort_by_key(|&(l, r)| (l, r.is_some(), r));
            (li, ri) = merged.into_iter().unzip();
        }
        let mut fields = left.fields.clone();
        for f in &right.fields {
            let name = if fields.contains(f) {
                format!("{f}_right")
            } else {
                f.clone()
            };
            if fields.contains(&name) {
                return Err(TableError::Shape {
                    table: format!("{} + {}", left.name, right.name),
                    message: format!("field {name:?} would appear twice in the joined table"),
                });
            }
            fields.push(name);
        }
        let mut columns: Vec<StrColumn> = left.columns.iter().map(|c| c.take(&li)).collect();
        for c in &right.columns {
            columns.push(ri.iter().map(|r| r.and_then(|r| c.get(r))).collect());
        }
        let src_rows = li.iter().map(|&i| left.src_rows[i]).collect();
        let mut t = RecordTable::new(
            format!("{}+{}", left.name, right.name),
            fields,
            columns,
            src_rows,
        )?;
        t.path = left.path.clone();
        t.encoding = left.encoding.clone();
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str, fields: &[&str], rows: &[&[Option<&str>]]) -> RecordTable {
        let columns = (0..fields.len())
            .map(|c| rows.iter().map(|r| r[c]).collect())
            .collect();
        let src = (2..rows.len() as u64 + 2).collect();
        RecordTable::new(
            name,
            fields.iter().map(|s| s.to_string()).collect(),
            columns,
            src,
        )
        .unwrap()
    }

    fn units() -> RecordTable {
        table(
            "H",
            &["BDCDYH", "ZL"],
            &[
                &[Some("U1"), Some("一号")],
                &[Some("U2 "), Some("二号")],
                &[None, Some("无号")],
                &[Some("U3"), Some("三号")],
                &[Some("U3"), Some("三号重复")],
                &[Some("U4"), Some("四号")],
            ],
        )
    }

    fn owners() -> RecordTable {
        table(
            "QLR",
            &["BDCDYH", "QLRMC"],
            &[
                &[Some("U2"), Some("甲")],
                &[Some("\u{3000}U1"), Some("乙")],
                &[Some("U1"), Some("丙")],
                &[Some("U9"), Some("丁")],
                &[Some("  "), Some("戊")],
                &[Some("U3"), Some("己")],
                &[Some("U3"), Some("庚")],
            ],
        )
    }

    #[test]
    fn key_index_groups_trimmed_keys() {
        let ix = KeyIndex::build(&owners(), "BDCDYH").unwrap();
        assert_eq!(ix.len(), 4);
        assert_eq!(
            ix.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            ["U2", "U1", "U9", "U3"]
        );
        assert_eq!(ix.rows_of("U1"), [1, 2]);
        assert_eq!(ix.rows_of(" U3 "), [5, 6]);
        assert!(ix.rows_of("U7").is_empty());
        assert_eq!(ix.null_rows(), [4]);
        assert_eq!(ix.duplicates().len(), 2);
        assert!(matches!(
            KeyIndex::build(&owners(), "nope"),
            Err(TableError::NoField { .. })
        ));
    }

    #[test]
    fn join_reports_pairs_unmatched_nulls_duplicates_and_multiplicity() {
        let j = join(&units(), &owners(), "BDCDYH", "BDCDYH").unwrap();
        assert_eq!(
            j.pairs,
            [(0, 1), (0, 2), (1, 0), (3, 5), (3, 6), (4, 5), (4, 6)]
        );
        assert_eq!(j.unmatched_left, [5]);
        assert_eq!(j.unmatched_right, [3]);
        assert_eq!(j.null_key_left, [2]);
        assert_eq!(j.null_key_right, [4]);
        assert_eq!(
            j.duplicates_left,
            [DuplicateKey {
                key: "U3".into(),
                rows: vec![3, 4]
            }]
        );
        assert_eq!(j.duplicates_right.len(), 2);
        let m = &j.multiplicity;
        assert_eq!(
            (m.keys_matched, m.one_to_one, m.one_to_many, m.many_to_many),
            (3, 1, 1, 1)
        );
        assert_eq!((m.max_right_per_key, m.max_left_per_key), (2, 2));
    }

    #[test]
    fn joined_tables_inner_and_left() {
        let (u, o) = (units(), owners());
        let j = join(&u, &o, "BDCDYH", "BDCDYH").unwrap();
        let inner = j.joined(&u, &o, JoinKind::Inner).unwrap();
        assert_eq!(inner.fields, ["BDCDYH", "ZL", "BDCDYH_right", "QLRMC"]);
        assert_eq!(inner.len(), 7);
        assert_eq!(inner.get(0, "QLRMC"), Some("乙"));
        assert_eq!(inner.src_rows[..3], [2, 2, 3]);
        let left = j.joined(&u, &o, JoinKind::Left).unwrap();
        assert_eq!(left.len(), 9);
        let zl: Vec<_> = left.column("ZL").unwrap().iter().collect();
        assert_eq!(zl[3], Some("无号"));
        assert_eq!(left.get(3, "QLRMC"), None);
        assert_eq!(left.get(8, "ZL"), Some("四号"));
        assert_eq!(left.get(8, "QLRMC"), None);
    }

    #[test]
    fn empty_and_disjoint_sides() {
        let none = table("E", &["K"], &[]);
        let j = join(&units(), &none, "BDCDYH", "K").unwrap();
        assert!(j.pairs.is_empty());
        assert_eq!(j.unmatched_left, [0, 1, 3, 4, 5]);
        assert_eq!(j.multiplicity, Multiplicity::default());
    }
}
