//! The validation rule catalogue of domain-brief §6 (GEOM, TOPO, ATTR, AREA, UNIT, LINK): one module
//! per rule id under `rules/`, registered in [`RULES`] in id order. The generated list of rules,
//! sub-codes and options is `RULES.md` next to this crate's manifest.
//!
//! Crate map:
//!
//! - [`run_rules`]: the entry point. Checks each rule's options, lets the enabled rules that apply
//!   build the shared structures they read ([`Rule::prepare`], sequentially), runs them in
//!   parallel, applies severity overrides and sorts the findings into their canonical order.
//! - [`context`]: what rules see: [`Layer`]s (columns looked up once through [`context::Field`]),
//!   [`RuleOptions`] (per-rule options and severity overrides), [`RuleFinding`] (a finding plus
//!   the row it concerns, with builder methods) and the [`RuleContext`].
//! - [`shared`]: the structures several rules read, built once per run: validity of every
//!   feature, the parcel and building sets with their `cadastra_geom::TopoIndex`, sub-zones, key
//!   indexes, unit-number checks and the parcel pair analysis (overlaps and near misses) that
//!   TOPO-01, TOPO-08 and TOPO-09 share.
//! - [`rules`]: one module per rule id (its `//!` header is its specification), the [`RULES`]
//!   registry and, in tests, the `RULES.md` generator.
//! - [`util`]: text, date, area-unit, land-use and share helpers of the attribute rules.
//! - `testkit` (tests only): inline layers and the one `check` helper that calls [`run_rules`].
//!
//! Rules see the mapped registry layers of a run ([`Layer`]: source, table, rows with geometry in
//! EPSG:4548) and emit findings through a callback, each with the layer/row it concerns so the
//! run can block severity-E rows from loading.
//!
//! Invariants: rules never open files and never panic on bad data (one bad feature never stops a
//! rule; a rule that cannot run returns [`RuleError`]); findings are data (rule id + sub-code,
//! severity, layer, business key, partner key, location on the feature or error geometry, error
//! geometry, measured value and tolerance, Chinese and English message) and never carry personal
//! data (holders are named by QLRKEY / BDCDYH, ID numbers only masked); the result does not depend
//! on the number of threads.
//!
//! ```
//! use cadastra_rules::{run_rules, Layer, RuleOptions};
//! use cadastra_model::{registry, Rows};
//! let rows = Rows::new(registry().table("ZDJBXX").unwrap());
//! let layers = [Layer { source: "laiwu_zd", system: "laiwu", table: "ZDJBXX", rows: &rows }];
//! let v = run_rules(&layers, &RuleOptions::default());
//! assert!(v.findings.is_empty());
//! ```

pub mod context;
pub mod rules;
pub mod shared;
#[cfg(test)]
mod testkit;
pub mod util;

use cadastra_model::{Finding, RuleId, Severity};
pub use context::{Layer, RuleContext, RuleFinding, RuleOptions};

/// What a rule may return besides findings: it could not run at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError(pub String);

/// Scope of a rule: one feature at a time, or a whole layer / several layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Feature,
    Layer,
}

/// A sub-code of a rule: `E01`, `W02`, `I01` (its letter is its default severity).
#[derive(Debug, Clone, Copy)]
pub struct SubCode {
    pub code: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
}

/// The default value of a rule option.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OptValue {
    F64(f64),
    Bool(bool),
    Str(&'static str),
}

impl std::fmt::Display for OptValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OptValue::F64(v) => write!(f, "{v}"),
            OptValue::Bool(v) => write!(f, "{v}"),
            OptValue::Str(v) => write!(f, "\"{v}\""),
        }
    }
}

/// A rule option, settable per pipeline as `[validation.rules."ID"] key = value`.
#[derive(Debug, Clone, Copy)]
pub struct Opt {
    pub key: &'static str,
    pub default: OptValue,
    /// the default is inferred (domain-brief tag `[I]`): confirm with the bureau
    pub inferred: bool,
    pub doc: &'static str,
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
    /// the sub-codes the rule emits (their letter is their default severity)
    fn codes(&self) -> &'static [SubCode] {
        &[]
    }
    /// the rule's options with their defaults
    fn options(&self) -> &'static [Opt] {
        &[]
    }
    /// What the rule needs to be applicable (for the generated rule list).
    fn needs(&self) -> &'static str {
        ""
    }
    /// Whether the rule has anything to look at in this run (else: "not applicable").
    fn applies(&self, cx: &RuleContext<'_>) -> bool;
    /// Build the shared structures of the context this rule reads. Called once per run,
    /// sequentially, before the rules run in parallel (so that no rule initialises a shared
    /// structure from inside the parallel section).
    fn prepare(&self, _cx: &RuleContext<'_>) {}
    fn check(
        &self,
        cx: &RuleContext<'_>,
        emit: &mut dyn FnMut(RuleFinding),
    ) -> Result<(), RuleError>;
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
///
/// Options are checked first: a rule with an unknown option key or a value of the wrong type does
/// not run (`CouldNotRun`), so that a typo in a pipeline never silently falls back to a default.
pub fn run_rules(layers: &[Layer<'_>], options: &RuleOptions) -> Validation {
    use rayon::prelude::*;
    let cx = RuleContext::new(layers, options);
    let mut plan: Vec<(RuleId, Result<(), RuleOutcome>)> = Vec::with_capacity(RULES.len());
    for r in RULES {
        let id = r.id();
        let state = if options.disabled.iter().any(|d| d == id.0) {
            Err(RuleOutcome::Disabled)
        } else if let Err(e) = options.check(*r) {
            Err(RuleOutcome::CouldNotRun(e))
        } else if !r.applies(&cx) {
            Err(RuleOutcome::NotApplicable)
        } else {
            Ok(())
        };
        plan.push((id, state));
    }
    // shared structures, built before the parallel section (see Rule::prepare)
    for (r, (_, state)) in RULES.iter().zip(&plan) {
        if state.is_ok() {
            r.prepare(&cx);
        }
    }
    cx.shared
        .sealed
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let results: Vec<(RuleId, RuleOutcome, Vec<RuleFinding>)> = RULES
        .par_iter()
        .zip(plan.par_iter())
        .map(|(r, (id, state))| {
            if let Err(o) = state {
                return (*id, o.clone(), vec![]);
            }
            let mut out = Vec::new();
            let res = r.check(&cx, &mut |f| out.push(f));
            for f in &mut out {
                f.finding.severity =
                    options.severity_for(*id, &f.finding.sub_code, f.finding.severity);
            }
            match res {
                Ok(()) if out.is_empty() => (*id, RuleOutcome::Passed, out),
                Ok(()) => (*id, RuleOutcome::Findings(out.len()), out),
                Err(RuleError(e)) => (*id, RuleOutcome::CouldNotRun(e), out),
            }
        })
        .collect();
    let mut v = Validation::default();
    for (id, o, f) in results {
        v.outcomes.push((id, o));
        v.findings.extend(f);
    }
    v.findings.par_sort_by(|a, b| {
        a.finding
            .sort_key()
            .cmp(&b.finding.sort_key())
            .then(a.at.cmp(&b.at))
            .then_with(|| a.finding.message_en.cmp(&b.finding.message_en))
    });
    v
}

/// A finding with the (layer, row) it concerns, if it concerns one row.
pub fn finding_for(f: Finding, at: Option<(usize, usize)>) -> RuleFinding {
    RuleFinding {
        finding: f,
        at,
        also: None,
    }
}
