//! Test helpers: registry rows from a few named values, square geometries.

use cadastra_model::{registry, Column, Geom, Rows};
use geo_types::{coord, LineString, MultiPolygon, Polygon};

/// Rows of `table`: each record is a list of (field, value) plus an optional geometry; values are
/// parsed into the field's type, other fields stay null.
/// A record: (field, value) pairs and its geometry.
pub type Rec<'a> = (Vec<(&'a str, &'a str)>, Option<Geom>);

pub fn rows(table: &str, records: &[Rec<'_>]) -> Rows {
    let def = registry().table(table).unwrap();
    let mut rows = Rows::new(def);
    for (vals, g) in records {
        for (i, col) in rows.columns.iter_mut().enumerate() {
            let v = vals
                .iter()
                .find(|(k, _)| *k == def.fields[i].name)
                .map(|(_, v)| *v);
            match col {
                Column::Text(c) => c.push(v),
                Column::Int(c) => c.push(v.and_then(|v| v.parse().ok())),
                Column::Real(c) => c.push(v.and_then(|v| v.parse().ok())),
            }
        }
        if def.geometry.is_some() {
            rows.geoms.push(g.clone());
        }
    }
    rows
}

/// An axis-parallel rectangle.
pub fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Geom {
    MultiPolygon(vec![Polygon::new(
        LineString(vec![
            coord! {x: x0, y: y0},
            coord! {x: x1, y: y0},
            coord! {x: x1, y: y1},
            coord! {x: x0, y: y1},
            coord! {x: x0, y: y0},
        ]),
        vec![],
    )])
}
