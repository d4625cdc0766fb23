//! The validation rule catalogue of domain-brief §6 (GEOM, TOPO, ATTR, AREA, UNIT, LINK): one module
//! per rule id under `rules/`, registered in [`RULES`] in id order.
//!
//! Rules see the mapped registry layers of a run ([`Layer`]: source, table, rows with geometry in
//! EPSG:4548) and emit [`Finding`]s through a callback, each with the layer/row it concerns so the
//! run can block severity-E rows from loading. Rules never open files and never panic on bad data:
//! one bad feature never stops a rule.

pub mod context;
pub mod rules;

pub use context::{Layer, RuleContext, RuleFinding, RuleOptions};
use cadastra_model::{Finding, RuleId, Severity};

/// What a rule may return besides findings: it could not run at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError(pub String);

/// Scope of a rule: one feature at a time, or a whole layer / several layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Feature,
    Layer,
}

/// A validation rule. Implementations are unit structs registered in [`RULES`].
pub trait Rule: Send + Sync {
    fn id(&self) -> RuleId;
    /// kebab-case name
    fn name(&self) -> &'static str;
    /// default severity of its main finding
    fn severity(&self) -> Severity;
    fn scope(&self) -> Scope;
    /// one line in Chinese and English for the generated rule list
    fn describe(&self) -> (&'static str, &'static str);
    /// Whether the rule has anything to look at in this run (else: "not applicable").
    fn applies(&self, cx: &RuleContext<'_>) -> bool;
    fn check(&self, cx: &RuleContext<'_>, emit: &mut dyn FnMut(RuleFinding)) -> Result<(), RuleError>;
}

pub use rules::RULES;

/// The outcome of one rule on a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleOutcome {
    Passed,
    Findings(usize),
    NotApplicable,
    Disabled,
    CouldNotRun(String),
}

/// Everything the rules found.
#[derive(Debug, Default)]
pub struct Validation {
    pub findings: Vec<RuleFinding>,
    pub outcomes: Vec<(RuleId, RuleOutcome)>,
}

/// Run every enabled rule over the layers; findings come back in canonical order.
pub fn run_rules(layers: &[Layer<'_>], options: &RuleOptions) -> Validation {
    let cx = RuleContext::new(layers, options);
    let results: Vec<(RuleId, RuleOutcome, Vec<RuleFinding>)> = {
        use rayon::prelude::*;
        RULES
            .par_iter()
            .map(|r| {
                let id = r.id();
                if options.disabled.iter().any(|d| d == id.0) {
                    return (id, RuleOutcome::Disabled, vec![]);
                }
                if !r.applies(&cx) {
                    return (id, RuleOutcome::NotApplicable, vec![]);
                }
                let mut out = Vec::new();
                match r.check(&cx, &mut |f| out.push(f)) {
                    Ok(()) if out.is_empty() => (id, RuleOutcome::Passed, out),
                    Ok(()) => (id, RuleOutcome::Findings(out.len()), out),
                    Err(RuleError(e)) => (id, RuleOutcome::CouldNotRun(e), out),
                }
            })
            .collect()
    };
    let mut v = Validation::default();
    for (id, o, f) in results {
        v.outcomes.push((id, o));
        v.findings.extend(f);
    }
    v.findings.sort_by(|a, b| {
        a.finding
            .sort_key()
            .cmp(&b.finding.sort_key())
            .then(a.at.cmp(&b.at))
    });
    v
}

/// A finding with the (layer, row) it concerns, if it concerns one row.
pub fn finding_for(f: Finding, at: Option<(usize, usize)>) -> RuleFinding {
    RuleFinding { finding: f, at }
}
