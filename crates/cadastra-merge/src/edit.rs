//! Setting decided values on mapped rows (columnar storage: each touched column is rebuilt once).

use crate::conflict::EditValue;
use cadastra_model::{table::format_real, Column, Rows, StrColumn};
use std::collections::BTreeMap;

/// One value to set: row, field (`None` = geometry), value.
pub type RowEdit = (usize, Option<usize>, EditValue);

/// Apply edits to `rows`; the last edit of a cell wins. Values are converted to the column's
/// type (text into numbers when they parse, else null). Edits past the end are ignored.
pub fn apply(rows: &mut Rows, edits: &[RowEdit]) {
    let n = rows.len();
    let mut by_field: BTreeMap<usize, BTreeMap<usize, &EditValue>> = BTreeMap::new();
    for (row, field, v) in edits {
        if *row >= n {
            continue;
        }
        match field {
            None => {
                if let (EditValue::Geom(g), Some(slot)) = (v, rows.geoms.get_mut(*row)) {
                    *slot = Some((**g).clone());
                }
            }
            Some(f) if *f < rows.columns.len() => {
                by_field.entry(*f).or_default().insert(*row, v);
            }
            Some(_) => {}
        }
    }
    for (f, cells) in by_field {
        let col = &mut rows.columns[f];
        match col {
            Column::Text(c) => {
                let mut new = StrColumn::with_capacity(c.len(), c.text_bytes());
                for (i, old) in c.iter().enumerate() {
                    match cells.get(&i) {
                        Some(v) => new.push(as_text(v).as_deref()),
                        None => new.push(old),
                    }
                }
                *c = new;
            }
            Column::Int(c) => {
                for (i, v) in cells {
                    c[i] = match v {
                        EditValue::Int(x) => Some(*x),
                        EditValue::Real(x) if x.fract() == 0.0 => Some(*x as i64),
                        EditValue::Text(t) => t.trim().parse().ok(),
                        _ => None,
                    };
                }
            }
            Column::Real(c) => {
                for (i, v) in cells {
                    c[i] = match v {
                        EditValue::Real(x) => Some(*x),
                        EditValue::Int(x) => Some(*x as f64),
                        EditValue::Text(t) => t.trim().parse().ok(),
                        _ => None,
                    };
                }
            }
        }
    }
}

fn as_text(v: &EditValue) -> Option<String> {
    match v {
        EditValue::Null | EditValue::Geom(_) => None,
        EditValue::Text(t) => Some(t.clone()),
        EditValue::Int(i) => Some(i.to_string()),
        EditValue::Real(r) => Some(format_real(*r)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cadastra_model::registry;

    #[test]
    fn edits_set_typed_cells_and_leave_the_rest() {
        let def = registry().table("ZDJBXX").unwrap();
        let mut rows = Rows::new(def);
        let zddm = def.field_index("ZDDM").unwrap();
        let zdmj = def.field_index("ZDMJ").unwrap();
        for (i, col) in rows.columns.iter_mut().enumerate() {
            for r in 0..3 {
                match col {
                    Column::Text(c) => c.push(Some(&format!("{i}-{r}"))),
                    Column::Int(c) => c.push(Some(r)),
                    Column::Real(c) => c.push(Some(r as f64)),
                }
            }
        }
        rows.geoms = vec![None, None, None];
        apply(
            &mut rows,
            &[
                (1, Some(zddm), EditValue::Text("370116001001GB00001".into())),
                (2, Some(zdmj), EditValue::Text("12.5".into())),
                (7, Some(zdmj), EditValue::Real(1.0)),
            ],
        );
        let Column::Text(c) = &rows.columns[zddm] else {
            panic!()
        };
        assert_eq!(c.get(0), Some(format!("{zddm}-0").as_str()));
        assert_eq!(c.get(1), Some("370116001001GB00001"));
        let Column::Real(c) = &rows.columns[zdmj] else {
            panic!()
        };
        assert_eq!(c, &vec![Some(0.0), Some(1.0), Some(12.5)]);
    }
}
