//! Value normalisation, rules FMT-04 and FMT-05 of the domain brief. Pure functions: each
//! returns the normalised value or a typed reason why it could not.
//!
//! - [`text`]: full-width → ASCII, trimming, blanks, placeholders (`无`, `NULL`, `/`, ...) to
//!   null, with [`ChangeCounts`] for the run summary.
//! - [`date`]: mixed date formats, Chinese dates and Excel serials to ISO `YYYY-MM-DD`.
//! - [`number`]: reals, integers, areas with units (亩, 公顷, MJDW codes) to m², code values
//!   (`702.0` → `0702` when a width is declared), share fractions for QLBL.
//!
//! [`clean_table`] applies the text cleaning to the columns of a [`RecordTable`].

pub mod date;
pub mod number;
pub mod text;

pub use date::{normalize_date, parse_date, Date, DateError, DateOptions};
pub use number::{
    normalize_code, parse_area, parse_area_with_code, parse_int, parse_real, parse_share,
    split_area, AreaUnit, CodeError, NumberError,
};
pub use text::{
    clean_column, clean_text, Blanks, ChangeCounts, Changes, TextOptions, DEFAULT_PLACEHOLDERS,
};

use crate::error::TableError;
use crate::record::RecordTable;
use cadastra_model::StrColumn;
use std::borrow::Cow;

/// Full-width forms U+FF01..U+FF5E (`！`..`～`: letters, digits, punctuation) to ASCII and the
/// ideographic space U+3000 to a space. Borrowed when there is nothing to change.
///
/// ```
/// use cadastra_tables::normalize::fullwidth_to_ascii;
/// assert_eq!(fullwidth_to_ascii("ＪＣ００１５（北）"), "JC0015(北)");
/// ```
pub fn fullwidth_to_ascii(s: &str) -> Cow<'_, str> {
    let is_fw = |c: char| ('\u{FF01}'..='\u{FF5E}').contains(&c) || c == '\u{3000}';
    if !s.chars().any(is_fw) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| match c {
                '\u{3000}' => ' ',
                // U+FF01..U+FF5E map to U+0021..U+007E by a fixed offset
                c if is_fw(c) => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
                c => c,
            })
            .collect(),
    )
}

fn chinese_digit(c: char) -> Option<u32> {
    Some(match c {
        '0'..='9' => c as u32 - '0' as u32,
        '〇' | '零' | '○' => 0,
        '一' | '壹' => 1,
        '二' | '两' | '贰' => 2,
        '三' | '叁' => 3,
        '四' | '肆' => 4,
        '五' | '伍' => 5,
        '六' | '陆' => 6,
        '七' | '柒' => 7,
        '八' | '捌' => 8,
        '九' | '玖' => 9,
        _ => return None,
    })
}

/// A small whole number written with Chinese numerals or Arabic digits: positional
/// (`二〇〇三` = 2003, `2003`) or with 十/百/千 (`二十一` = 21, `十二` = 12, `百` = 100).
pub fn chinese_number(s: &str) -> Option<u32> {
    if s.is_empty() {
        return None;
    }
    let unit = |c: char| match c {
        '十' | '拾' => Some(10),
        '百' | '佰' => Some(100),
        '千' | '仟' => Some(1000),
        _ => None,
    };
    if s.chars().all(|c| chinese_digit(c).is_some()) {
        return s.chars().try_fold(0u32, |acc, c| {
            acc.checked_mul(10)?.checked_add(chinese_digit(c)?)
        });
    }
    let (mut total, mut cur, mut last_unit) = (0u32, None::<u32>, u32::MAX);
    for c in s.chars() {
        if let Some(d) = chinese_digit(c) {
            if cur.is_some() && d != 0 {
                return None; // two digits without a unit between them: 二三十
            }
            cur = if d == 0 { None } else { Some(d) };
        } else if let Some(u) = unit(c) {
            if u >= last_unit {
                return None; // units must fall: 十百 is not a number
            }
            total += cur.unwrap_or(1) * u;
            cur = None;
            last_unit = u;
        } else {
            return None;
        }
    }
    Some(total + cur.unwrap_or(0))
}

/// Apply a value function (say [`normalize_date`]) to every non-null cell. A success replaces
/// the value; a failure keeps the original text and is listed with its row, so the caller can
/// report it (FMT-04: unparseable = W) without losing the value.
///
/// ```
/// use cadastra_tables::normalize::{map_column, normalize_date, DateError};
/// use cadastra_model::StrColumn;
/// let col: StrColumn = [Some("2003年5月1日"), None, Some("2003-02-30")].into_iter().collect();
/// let (out, failed) = map_column(&col, normalize_date);
/// assert_eq!(out.get(0), Some("2003-05-01"));
/// assert_eq!(out.get(2), Some("2003-02-30"));
/// assert_eq!(failed[0].0, 2);
/// assert!(matches!(failed[0].1, DateError::Impossible { .. }));
/// ```
pub fn map_column<E>(
    col: &StrColumn,
    mut f: impl FnMut(&str) -> Result<String, E>,
) -> (StrColumn, Vec<(crate::join::Row, E)>) {
    let mut out = StrColumn::with_capacity(col.len(), col.text_bytes());
    let mut failed = Vec::new();
    for (i, v) in col.iter().enumerate() {
        match v {
            None => out.push(None),
            Some(s) => match f(s) {
                Ok(n) => out.push(Some(&n)),
                Err(e) => {
                    out.push(Some(s));
                    failed.push((i as crate::join::Row, e));
                }
            },
        }
    }
    (out, failed)
}

/// Clean the text of the named fields (all fields when `fields` is `None`) in place; returns
/// the counts per field, in table order.
pub fn clean_table(
    table: &mut RecordTable,
    fields: Option<&[&str]>,
    opts: &TextOptions,
) -> Result<Vec<(String, ChangeCounts)>, TableError> {
    let idx: Vec<usize> = match fields {
        None => (0..table.fields.len()).collect(),
        Some(names) => {
            let mut v = Vec::with_capacity(names.len());
            for n in names {
                v.push(table.field_index(n).ok_or_else(|| TableError::NoField {
                    table: table.name.clone(),
                    field: n.to_string(),
                })?);
            }
            v.sort_unstable();
            v.dedup();
            v
        }
    };
    let mut out = Vec::with_capacity(idx.len());
    for i in idx {
        let (col, counts) = clean_column(&table.columns[i], opts);
        table.columns[i] = col;
        out.push((table.fields[i].clone(), counts));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fullwidth_block_maps_by_offset() {
        assert_eq!(fullwidth_to_ascii("！～"), "!~");
        assert_eq!(fullwidth_to_ascii("ａｚＡＺ０９"), "azAZ09");
        assert_eq!(fullwidth_to_ascii("１２．５％"), "12.5%");
        assert_eq!(fullwidth_to_ascii("\u{3000}"), " ");
        // outside the block: halfwidth katakana, CJK punctuation, fullwidth yen
        assert_eq!(fullwidth_to_ascii("ｱ。￥"), "ｱ。￥");
        assert!(matches!(fullwidth_to_ascii("abc 张三"), Cow::Borrowed(_)));
        for c in '\u{FF01}'..='\u{FF5E}' {
            let a = fullwidth_to_ascii(&c.to_string()).into_owned();
            assert_eq!(a.len(), 1, "{c}");
            assert!(a.as_bytes()[0].is_ascii_graphic(), "{c}");
        }
    }

    #[test]
    fn chinese_numbers() {
        for (s, v) in [
            ("二〇〇三", 2003),
            ("一九九九", 1999),
            ("2003", 2003),
            ("五", 5),
            ("十", 10),
            ("十二", 12),
            ("二十", 20),
            ("二十一", 21),
            ("三十一", 31),
            ("百", 100),
            ("一百", 100),
            ("一百零五", 105),
            ("两千零三", 2003),
            ("贰拾", 20),
        ] {
            assert_eq!(chinese_number(s), Some(v), "{s}");
        }
        for s in ["", "二三十", "十百", "x", "十x", "一万"] {
            assert_eq!(chinese_number(s), None, "{s}");
        }
    }

    #[test]
    fn clean_table_counts_per_field() {
        let a: StrColumn = [Some("ＪＣ"), Some("无")].into_iter().collect();
        let b: StrColumn = [Some(" x"), None].into_iter().collect();
        let mut t =
            RecordTable::new("t", vec!["A".into(), "B".into()], vec![a, b], vec![2, 3]).unwrap();
        let n = clean_table(&mut t, Some(&["B"]), &TextOptions::default()).unwrap();
        assert_eq!(n.len(), 1);
        assert_eq!((n[0].0.as_str(), n[0].1.trimmed), ("B", 1));
        assert_eq!(t.get(0, "A"), Some("ＪＣ"));
        assert_eq!(t.get(0, "B"), Some("x"));
        let n = clean_table(&mut t, None, &TextOptions::default()).unwrap();
        assert_eq!(n[0].1.placeholders, 1);
        assert_eq!(t.get(0, "A"), Some("JC"));
        assert_eq!(t.get(1, "A"), None);
        assert!(clean_table(&mut t, Some(&["C"]), &TextOptions::default()).is_err());
    }
}
