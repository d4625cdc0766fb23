//! Test support: inline layers and the one `check` helper that calls [`crate::run_rules`].

use crate::{run_rules, Layer, RuleFinding, RuleOptions};
use cadastra_model::{registry, Column, FieldType, Geom, Rows};
use geo_types::{Coord, LineString, MultiPolygon, Polygon};

/// A test layer: rows given as `field=value` pairs.
pub struct T {
    pub source: String,
    pub system: String,
    pub rows: Rows,
}

/// A layer of `table` from source system `system`.
pub fn layer(table: &str, system: &str) -> T {
    let def = registry().table(table).expect("registry table");
    T {
        source: format!("{system}_{}", table.to_lowercase()),
        system: system.to_string(),
        rows: Rows::new(def),
    }
}

impl T {
    /// Add a row: `fields` as `("ZDDM", "3712...")`; unknown fields panic (a typo in a test).
    pub fn row(mut self, fields: &[(&str, &str)], geom: Option<Geom>) -> T {
        let def = registry().table(&self.rows.table).expect("registry table");
        for (name, _) in fields {
            assert!(
                def.field_index(name).is_some(),
                "{} has no field {name}",
                def.name
            );
        }
        for (f, col) in def.fields.iter().zip(self.rows.columns.iter_mut()) {
            let v = fields.iter().find(|(n, _)| *n == f.name).map(|(_, v)| *v);
            match (col, f.ty) {
                (Column::Text(c), FieldType::Text | FieldType::Date) => c.push(v),
                (Column::Int(c), _) => c.push(v.and_then(|v| v.parse().ok())),
                (Column::Real(c), _) => c.push(v.and_then(|v| v.parse().ok())),
                _ => unreachable!("column types follow the schema"),
            }
        }
        if def.geometry.is_some() {
            self.rows.geoms.push(geom);
        }
        self
    }
}

/// A multipolygon from one ring of (x, y) pairs (closed automatically).
pub fn poly(pts: &[(f64, f64)]) -> Geom {
    let mut ring: Vec<Coord> = pts.iter().map(|&(x, y)| Coord { x, y }).collect();
    if ring.first() != ring.last() {
        ring.push(ring[0]);
    }
    MultiPolygon(vec![Polygon::new(LineString(ring), vec![])])
}

/// An axis-parallel rectangle.
pub fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Geom {
    poly(&[(x0, y0), (x1, y0), (x1, y1), (x0, y1)])
}

/// Pipeline-style options from TOML: `disabled = [..]` and `[rules."ID"] key = value`.
pub fn options(toml_text: &str) -> RuleOptions {
    let t: toml::Table = toml::from_str(toml_text).expect("options parse");
    let mut o = RuleOptions::default();
    if let Some(d) = t.get("disabled").and_then(|d| d.as_array()) {
        o.disabled = d
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
    }
    if let Some(r) = t.get("rules").and_then(|r| r.as_table()) {
        for (id, opts) in r {
            let m = opts.as_table().expect("rule options are a table");
            o.rules.insert(
                id.clone(),
                m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            );
        }
    }
    o
}

/// A finding as the tests compare it: `CODE KEY` or `CODE KEY OTHER`.
pub fn show(f: &RuleFinding) -> String {
    let f = &f.finding;
    match &f.other_key {
        Some(o) => format!("{} {} {}", f.code(), f.feature_key, o),
        None => format!("{} {}", f.code(), f.feature_key),
    }
}

/// The one caller of `run_rules` in the unit tests.
fn run(layers: &[T], opts: &str) -> crate::Validation {
    let ls: Vec<Layer<'_>> = layers
        .iter()
        .map(|t| Layer {
            source: &t.source,
            system: &t.system,
            table: &t.rows.table,
            rows: &t.rows,
        })
        .collect();
    run_rules(&ls, &options(opts))
}

/// Run every rule on the layers with the given options and compare the findings of `rule` (an id
/// such as `TOPO-01`) with `expect`, in canonical order. Returns those findings for further checks.
pub fn check_with(layers: &[T], opts: &str, rule: &str, expect: &[&str]) -> Vec<RuleFinding> {
    let v = run(layers, opts);
    let mine: Vec<RuleFinding> = v
        .findings
        .into_iter()
        .filter(|f| f.finding.rule_id.0 == rule)
        .collect();
    let got: Vec<String> = mine.iter().map(show).collect();
    assert_eq!(
        got,
        expect,
        "findings of {rule}: {:#?}",
        mine.iter()
            .map(|f| &f.finding.message_en)
            .collect::<Vec<_>>()
    );
    for f in &mine {
        let m = format!("{} {}", f.finding.message_zh, f.finding.message_en);
        assert!(
            !m.contains("张三") && !m.contains("110105194912310021"),
            "personal data in {m}"
        );
    }
    mine
}

/// [`check_with`] with default options.
pub fn check(layers: &[T], rule: &str, expect: &[&str]) -> Vec<RuleFinding> {
    check_with(layers, "", rule, expect)
}

/// The outcome of one rule on the layers (passed, not applicable, ...).
pub fn outcome(layers: &[T], opts: &str, rule: &str) -> crate::RuleOutcome {
    let v = run(layers, opts);
    v.outcomes
        .into_iter()
        .find(|(id, _)| id.0 == rule)
        .map(|(_, o)| o)
        .expect("rule is registered")
}

/// Every finding of every rule on the layers.
pub fn all_findings(layers: &[T], opts: &str) -> Vec<RuleFinding> {
    run(layers, opts).findings
}
