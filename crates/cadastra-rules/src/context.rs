//! What rules see: the run's mapped layers, options, and shared lazily built indexes.

use cadastra_model::{registry, Cell, Column, Finding, Geom, RuleId, Rows, Severity, TableDef};
use std::collections::BTreeMap;

/// One mapped layer of a run (rows of one source for one registry table).
#[derive(Debug, Clone, Copy)]
pub struct Layer<'a> {
    pub source: &'a str,
    pub system: &'a str,
    pub table: &'a str,
    pub rows: &'a Rows,
}

impl<'a> Layer<'a> {
    pub fn def(&self) -> &'static TableDef {
        registry().table(self.table).expect("layers are registry tables")
    }
    pub fn cell(&self, row: usize, field: &str) -> Cell<'a> {
        match self.def().field_index(field) {
            Some(i) => self.rows.columns[i].cell(row),
            None => Cell::Null,
        }
    }
    pub fn text(&self, row: usize, field: &str) -> Option<&'a str> {
        match self.def().field_index(field).map(|i| &self.rows.columns[i]) {
            Some(Column::Text(c)) => c.get(row),
            _ => None,
        }
    }
    pub fn geom(&self, row: usize) -> Option<&'a Geom> {
        self.rows.geoms.get(row).and_then(|g| g.as_ref())
    }
    /// The key shown in findings: the table's business key, else the legacy key.
    pub fn key(&self, row: usize) -> String {
        let def = self.def();
        def.key
            .as_deref()
            .and_then(|k| self.text(row, k))
            .or_else(|| self.text(row, "src_key"))
            .unwrap_or("?")
            .to_string()
    }
}

/// Per-rule options from the pipeline's `[validation.rules."ID"]` tables.
#[derive(Debug, Clone, Default)]
pub struct RuleOptions {
    pub rules: BTreeMap<String, BTreeMap<String, toml::Value>>,
    pub disabled: Vec<String>,
}

impl RuleOptions {
    /// A numeric option of a rule, or its default.
    pub fn f64(&self, rule: RuleId, key: &str, default: f64) -> f64 {
        self.rules
            .get(rule.0)
            .and_then(|m| m.get(key))
            .and_then(|v| v.as_float().or_else(|| v.as_integer().map(|i| i as f64)))
            .unwrap_or(default)
    }
    pub fn str(&self, rule: RuleId, key: &str) -> Option<String> {
        self.rules.get(rule.0).and_then(|m| m.get(key)).and_then(|v| v.as_str().map(str::to_string))
    }
    /// A severity override, e.g. `severity = "W"`.
    pub fn severity(&self, rule: RuleId, default: Severity) -> Severity {
        self.str(rule, "severity").and_then(|s| Severity::parse(&s)).unwrap_or(default)
    }
}

/// A finding plus the (layer index, row) it concerns, when it concerns one row.
#[derive(Debug, Clone)]
pub struct RuleFinding {
    pub finding: Finding,
    pub at: Option<(usize, usize)>,
}

/// The context of a rule run.
pub struct RuleContext<'a> {
    pub layers: &'a [Layer<'a>],
    pub options: &'a RuleOptions,
}

impl<'a> RuleContext<'a> {
    pub fn new(layers: &'a [Layer<'a>], options: &'a RuleOptions) -> Self {
        RuleContext { layers, options }
    }
    /// Layers of a registry table, with their indexes.
    pub fn layers_of(&self, table: &str) -> impl Iterator<Item = (usize, &Layer<'a>)> + '_ {
        let table = table.to_string();
        self.layers.iter().enumerate().filter(move |(_, l)| l.table == table)
    }
    pub fn has(&self, table: &str) -> bool {
        self.layers.iter().any(|l| l.table == table && !l.rows.is_empty())
    }

    /// A finding about one row of a layer, located at the row's geometry (interior point) if any.
    #[allow(clippy::too_many_arguments)]
    pub fn finding(
        &self,
        rule: RuleId,
        sub: &str,
        severity: Severity,
        layer: usize,
        row: usize,
        zh: String,
        en: String,
    ) -> RuleFinding {
        let l = &self.layers[layer];
        let (x, y) = l.geom(row).and_then(crate::rules::locate).map_or((None, None), |(x, y)| (Some(x), Some(y)));
        RuleFinding {
            finding: Finding {
                rule_id: rule,
                sub_code: sub.to_string(),
                severity,
                layer: l.table.to_string(),
                feature_key: l.key(row),
                other_key: None,
                x,
                y,
                geom: None,
                value: None,
                tolerance: None,
                message_zh: zh,
                message_en: en,
            },
            at: Some((layer, row)),
        }
    }
}
