//! Findings are data, not errors: one row per problem found, with where and by how much.

use serde::Serialize;
use std::fmt;

/// Severity per domain-brief §6: E blocks the merge, W is for review, I is information.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Severity {
    E,
    W,
    I,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::E => "E",
            Severity::W => "W",
            Severity::I => "I",
        }
    }
    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "E" | "e" | "error" => Some(Severity::E),
            "W" | "w" | "warning" => Some(Severity::W),
            "I" | "i" | "info" => Some(Severity::I),
            _ => None,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rule id from the catalogue (domain-brief §6), e.g. `TOPO-01`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct RuleId(pub &'static str);

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// What a rule did on a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", content = "detail", rename_all = "snake_case")]
pub enum Outcome {
    Passed,
    Findings(usize),
    NotApplicable(String),
    CouldNotRun(String),
}

/// One finding. `x`/`y` are easting/northing in the layer's CRS (reports label them survey Y/X).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub rule_id: RuleId,
    /// sub-code such as `E01`; the full code is `TOPO-01-E01`
    pub sub_code: String,
    pub severity: Severity,
    pub layer: String,
    pub feature_key: String,
    pub other_key: Option<String>,
    pub x: Option<f64>,
    pub y: Option<f64>,
    /// error geometry (overlap, gap, part outside), easting first
    #[serde(skip)]
    pub geom: Option<geo_types::MultiPolygon<f64>>,
    pub value: Option<f64>,
    pub tolerance: Option<f64>,
    pub message_zh: String,
    pub message_en: String,
}

impl Finding {
    pub fn code(&self) -> String {
        format!("{}-{}", self.rule_id, self.sub_code)
    }
    /// The order findings are reported in, independent of thread count and input order.
    pub fn sort_key(&self) -> (RuleId, &str, &str, &str, Option<&str>) {
        (
            self.rule_id,
            &self.sub_code,
            &self.layer,
            &self.feature_key,
            self.other_key.as_deref(),
        )
    }
}

/// Sort findings into their canonical, reproducible order.
pub fn sort_findings(f: &mut [Finding]) {
    f.sort_by(|a, b| {
        a.sort_key().cmp(&b.sort_key()).then_with(|| {
            let ka = (
                a.x.unwrap_or(0.0),
                a.y.unwrap_or(0.0),
                a.value.unwrap_or(0.0),
            );
            let kb = (
                b.x.unwrap_or(0.0),
                b.y.unwrap_or(0.0),
                b.value.unwrap_or(0.0),
            );
            ka.partial_cmp(&kb).unwrap_or(std::cmp::Ordering::Equal)
        })
    });
}
