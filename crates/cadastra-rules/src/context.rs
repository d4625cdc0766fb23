//! What rules see: the run's mapped layers, options, and shared lazily built structures.

use crate::shared::Shared;
use crate::{Opt, OptValue, Rule};
use cadastra_model::{
    registry, Cell, Column, Finding, Geom, Rows, RuleId, Severity, StrColumn, TableDef,
};
use std::collections::BTreeMap;

/// One mapped layer of a run (rows of one source for one registry table).
#[derive(Debug, Clone, Copy)]
pub struct Layer<'a> {
    pub source: &'a str,
    pub system: &'a str,
    pub table: &'a str,
    pub rows: &'a Rows,
}

/// A column of a layer, looked up once (field lookups by name are not free on a million rows).
#[derive(Debug, Clone, Copy)]
pub struct Field<'a>(Option<&'a Column>);

impl<'a> Field<'a> {
    /// Is the field in the table at all?
    pub fn exists(&self) -> bool {
        self.0.is_some()
    }
    pub fn cell(&self, row: usize) -> Cell<'a> {
        match self.0 {
            Some(c) if row < c.len() => c.cell(row),
            _ => Cell::Null,
        }
    }
    /// Text of a text/date field; `None` for null, other types or a missing field.
    pub fn text(&self, row: usize) -> Option<&'a str> {
        match self.0 {
            Some(Column::Text(c)) if row < c.len() => c.get(row),
            _ => None,
        }
    }
    /// Trimmed text, `None` when null or blank.
    pub fn value(&self, row: usize) -> Option<&'a str> {
        self.text(row).map(str::trim).filter(|s| !s.is_empty())
    }
    /// A number (reals, integers, numeric text).
    pub fn f64(&self, row: usize) -> Option<f64> {
        self.cell(row).as_f64().filter(|v| v.is_finite())
    }
    /// Null, or blank text.
    pub fn is_blank(&self, row: usize) -> bool {
        match self.cell(row) {
            Cell::Null => true,
            Cell::Text(t) => t.trim().is_empty(),
            Cell::Real(r) => !r.is_finite(),
            Cell::Int(_) => false,
        }
    }
    pub fn str_column(&self) -> Option<&'a StrColumn> {
        match self.0 {
            Some(Column::Text(c)) => Some(c),
            _ => None,
        }
    }
}

impl<'a> Layer<'a> {
    pub fn def(&self) -> &'static TableDef {
        registry()
            .table(self.table)
            .expect("layers are registry tables")
    }
    pub fn len(&self) -> usize {
        self.rows.len()
    }
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
    /// A column by field name (absent fields read as null).
    pub fn field(&self, name: &str) -> Field<'a> {
        Field(
            self.def()
                .field_index(name)
                .and_then(|i| self.rows.columns.get(i)),
        )
    }
    pub fn cell(&self, row: usize, field: &str) -> Cell<'a> {
        self.field(field).cell(row)
    }
    pub fn text(&self, row: usize, field: &str) -> Option<&'a str> {
        self.field(field).text(row)
    }
    pub fn geom(&self, row: usize) -> Option<&'a Geom> {
        self.rows.geoms.get(row).and_then(|g| g.as_ref())
    }
    /// Has the table a geometry column?
    pub fn spatial(&self) -> bool {
        self.def().geometry.is_some()
    }
    /// Name of the field shown as the feature key: the table's business key.
    pub fn key_field(&self) -> Option<&'static str> {
        self.def().key.as_deref()
    }
    /// The key shown in findings: the table's business key, else the legacy key.
    pub fn key(&self, row: usize) -> String {
        self.keys().get(row)
    }
    /// Key lookup for many rows (business key, else legacy key, else `?`).
    pub fn keys(&self) -> Keys<'a> {
        Keys {
            key: self.key_field().map(|k| self.field(k)),
            legacy: self.field("src_key"),
        }
    }
}

/// Feature keys of a layer, columns looked up once.
#[derive(Debug, Clone, Copy)]
pub struct Keys<'a> {
    key: Option<Field<'a>>,
    legacy: Field<'a>,
}

impl Keys<'_> {
    pub fn get(&self, row: usize) -> String {
        self.key
            .and_then(|k| k.value(row))
            .or_else(|| self.legacy.value(row))
            .unwrap_or("?")
            .to_string()
    }
}

/// Per-rule options from the pipeline's `[validation.rules."ID"]` tables.
///
/// Besides the options each rule documents, every rule takes `severity`: a string (`"W"`) sets
/// the severity of all its E and W findings (information stays information), a table
/// (`severity = { W01 = "E", I01 = "W" }`) sets it per sub-code.
#[derive(Debug, Clone, Default)]
pub struct RuleOptions {
    pub rules: BTreeMap<String, BTreeMap<String, toml::Value>>,
    pub disabled: Vec<String>,
}

impl RuleOptions {
    fn get(&self, rule: RuleId, key: &str) -> Option<&toml::Value> {
        self.rules.get(rule.0).and_then(|m| m.get(key))
    }
    /// A numeric option of a rule, or its default.
    pub fn f64(&self, rule: RuleId, key: &str, default: f64) -> f64 {
        self.get(rule, key)
            .and_then(|v| v.as_float().or_else(|| v.as_integer().map(|i| i as f64)))
            .unwrap_or(default)
    }
    pub fn str(&self, rule: RuleId, key: &str) -> Option<String> {
        self.get(rule, key)
            .and_then(|v| v.as_str().map(str::to_string))
    }
    pub fn bool(&self, rule: RuleId, key: &str, default: bool) -> bool {
        self.get(rule, key)
            .and_then(toml::Value::as_bool)
            .unwrap_or(default)
    }
    /// A severity override, e.g. `severity = "W"`.
    pub fn severity(&self, rule: RuleId, default: Severity) -> Severity {
        self.str(rule, "severity")
            .and_then(|s| Severity::parse(&s))
            .unwrap_or(default)
    }
    /// The severity of a finding with sub-code `sub` after the pipeline's overrides.
    pub fn severity_for(&self, rule: RuleId, sub: &str, default: Severity) -> Severity {
        match self.get(rule, "severity") {
            Some(toml::Value::String(s)) if default != Severity::I => {
                Severity::parse(s).unwrap_or(default)
            }
            Some(toml::Value::Table(t)) => t
                .get(sub)
                .and_then(toml::Value::as_str)
                .and_then(Severity::parse)
                .unwrap_or(default),
            _ => default,
        }
    }
    /// Are the options given for `rule` known to it and of the right type?
    pub fn check(&self, rule: &dyn Rule) -> Result<(), String> {
        let Some(given) = self.rules.get(rule.id().0) else {
            return Ok(());
        };
        let mut errs = Vec::new();
        for (k, v) in given {
            if k == "severity" {
                let ok = match v {
                    toml::Value::String(s) => Severity::parse(s).is_some(),
                    toml::Value::Table(t) => t.iter().all(|(sub, s)| {
                        rule.codes().iter().any(|c| c.code == sub)
                            && s.as_str().and_then(Severity::parse).is_some()
                    }),
                    _ => false,
                };
                if !ok {
                    errs.push("severity must be \"E\", \"W\" or \"I\", or a table of the rule's sub-codes".to_string());
                }
                continue;
            }
            match rule.options().iter().find(|o| o.key == k) {
                None => {
                    let known: Vec<&str> = rule.options().iter().map(|o| o.key).collect();
                    errs.push(format!(
                        "unknown option {k:?} (known: severity, {})",
                        known.join(", ")
                    ));
                }
                Some(o) => {
                    let ok = match o.default {
                        OptValue::F64(_) => v.as_float().is_some() || v.as_integer().is_some(),
                        OptValue::Bool(_) => v.as_bool().is_some(),
                        OptValue::Str(_) => v.as_str().is_some(),
                    };
                    if !ok {
                        errs.push(format!(
                            "option {k:?} must be like its default {}",
                            o.default
                        ));
                    }
                }
            }
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(format!("{}: {}", rule.id(), errs.join("; ")))
        }
    }
}

/// A finding plus the (layer index, row) it concerns, when it concerns one row.
#[derive(Debug, Clone)]
pub struct RuleFinding {
    pub finding: Finding,
    pub at: Option<(usize, usize)>,
    /// The partner row of a pair finding (the other overlapping parcel or building): a severity-E
    /// pair finding concerns both rows, and the run should block this one too.
    pub also: Option<(usize, usize)>,
}

impl RuleFinding {
    /// The partner row of a pair finding (see [`RuleFinding::also`]).
    pub fn also(mut self, layer: usize, row: usize) -> Self {
        self.also = Some((layer, row));
        self
    }
    /// The partner feature of a pair rule.
    pub fn other(mut self, key: impl Into<String>) -> Self {
        self.finding.other_key = Some(key.into());
        self
    }
    /// Measured value against its tolerance.
    pub fn value(mut self, value: f64, tolerance: Option<f64>) -> Self {
        self.finding.value = Some(value);
        self.finding.tolerance = tolerance;
        self
    }
    /// The error geometry (overlap, gap, outside part); the location moves onto it.
    pub fn geom(mut self, g: Geom) -> Self {
        if let Some((x, y)) = crate::rules::locate(&g) {
            self.finding.x = Some(x);
            self.finding.y = Some(y);
        }
        if !g.0.is_empty() {
            self.finding.geom = Some(g);
        }
        self
    }
    /// An explicit location (easting, northing).
    pub fn xy(mut self, x: f64, y: f64) -> Self {
        if x.is_finite() && y.is_finite() {
            self.finding.x = Some(x);
            self.finding.y = Some(y);
        }
        self
    }
}

/// The default severity of a sub-code: its letter.
pub fn severity_of(sub: &str) -> Severity {
    match sub.as_bytes().first() {
        Some(b'E') => Severity::E,
        Some(b'W') => Severity::W,
        _ => Severity::I,
    }
}

/// The context of a rule run.
pub struct RuleContext<'a> {
    pub layers: &'a [Layer<'a>],
    pub options: &'a RuleOptions,
    pub(crate) shared: Shared<'a>,
}

impl<'a> RuleContext<'a> {
    pub fn new(layers: &'a [Layer<'a>], options: &'a RuleOptions) -> Self {
        RuleContext {
            layers,
            options,
            shared: Shared::default(),
        }
    }
    /// Layers of a registry table, with their indexes.
    pub fn layers_of(&self, table: &str) -> impl Iterator<Item = (usize, &Layer<'a>)> + '_ {
        let table = table.to_string();
        self.layers
            .iter()
            .enumerate()
            .filter(move |(_, l)| l.table == table)
    }
    /// Layers of the rights tables (JSYDSYQ, FDCQ2, NYDSYQ, LQ, ...), with their indexes.
    pub fn right_layers(&self) -> impl Iterator<Item = (usize, &Layer<'a>)> + '_ {
        self.layers
            .iter()
            .enumerate()
            .filter(|(_, l)| l.def().right)
    }
    pub fn has(&self, table: &str) -> bool {
        self.layers
            .iter()
            .any(|l| l.table == table && !l.rows.is_empty())
    }
    pub fn has_rights(&self) -> bool {
        self.layers
            .iter()
            .any(|l| l.def().right && !l.rows.is_empty())
    }

    /// A numeric option (its default from the rule's option table).
    pub fn opt_f64(&self, rule: RuleId, o: &Opt) -> f64 {
        match o.default {
            OptValue::F64(d) => self.options.f64(rule, o.key, d),
            _ => f64::NAN,
        }
    }
    pub fn opt_bool(&self, rule: RuleId, o: &Opt) -> bool {
        match o.default {
            OptValue::Bool(d) => self.options.bool(rule, o.key, d),
            _ => false,
        }
    }
    pub fn opt_str(&self, rule: RuleId, o: &Opt) -> String {
        match o.default {
            OptValue::Str(d) => self
                .options
                .str(rule, o.key)
                .unwrap_or_else(|| d.to_string()),
            _ => String::new(),
        }
    }

    /// A finding about one row of a layer, located at the row's geometry (interior point) if
    /// any. The default severity is the sub-code's letter.
    pub fn at(
        &self,
        rule: RuleId,
        sub: &str,
        layer: usize,
        row: usize,
        zh: String,
        en: String,
    ) -> RuleFinding {
        let l = &self.layers[layer];
        let (x, y) = l
            .geom(row)
            .and_then(crate::rules::locate)
            .map_or((None, None), |(x, y)| (Some(x), Some(y)));
        RuleFinding {
            finding: Finding {
                rule_id: rule,
                sub_code: sub.to_string(),
                severity: severity_of(sub),
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
            also: None,
        }
    }

    /// A finding not tied to one row (a layer summary, a sub-zone verdict).
    pub fn general(
        &self,
        rule: RuleId,
        sub: &str,
        table: &str,
        key: &str,
        zh: String,
        en: String,
    ) -> RuleFinding {
        RuleFinding {
            finding: Finding {
                rule_id: rule,
                sub_code: sub.to_string(),
                severity: severity_of(sub),
                layer: table.to_string(),
                feature_key: key.to_string(),
                other_key: None,
                x: None,
                y: None,
                geom: None,
                value: None,
                tolerance: None,
                message_zh: zh,
                message_en: en,
            },
            at: None,
            also: None,
        }
    }

    /// The skeleton's constructor, kept for callers that pass the severity explicitly.
    #[allow(clippy::too_many_arguments)] // mirrors the finding's fields
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
        let mut f = self.at(rule, sub, layer, row, zh, en);
        f.finding.severity = severity;
        f
    }
}
