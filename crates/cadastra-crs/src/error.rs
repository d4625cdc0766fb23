//! [`CrsError`]: everything that can stop a CRS operation. No variant carries a parameter value or
//! a pipeline definition, so printing an error never leaks the secret transformation.

use cadastra_model::RuleId;
use std::fmt;
use std::path::PathBuf;

/// Why a parameter file cannot serve a requested operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub file: String,
    pub params_source: String,
    pub params_target: String,
    pub source_crs: String,
    pub target_crs: String,
    pub reason: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "parameter file {} converts {} to {}, which cannot serve {} to {}: {}",
            self.file,
            self.params_source,
            self.params_target,
            self.source_crs,
            self.target_crs,
            self.reason
        )
    }
}

/// CRS-05: a refused datum change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatumRefusal {
    pub source_crs: String,
    pub target_crs: String,
    pub source_datum: String,
    pub target_datum: String,
    /// what PROJ would have done instead
    pub why: String,
}

impl fmt::Display for DatumRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CRS-05: refusing {} ({}) to {} ({}) without transformation parameters: {}; name an operator parameter file (or set CADASTRA_CRS_PARAMS), or allow a ballpark operation explicitly",
            self.source_crs, self.source_datum, self.target_crs, self.target_datum, self.why
        )
    }
}

/// Why a CRS operation, a parameter file, a fit or a transformation failed.
#[derive(Debug, thiserror::Error)]
pub enum CrsError {
    #[error("cannot read parameter file {}: {source}", path.display())]
    ParamsIo {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write parameter file {}: {source}", path.display())]
    ParamsWrite {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not TOML; the position is given, the text is not quoted (it may hold values).
    #[error("parameter file {file}: not valid TOML near line {line} (content not shown)")]
    ParamsSyntax { file: String, line: usize },
    #[error("parameter file {file}: missing key `{key}`")]
    ParamsMissingKey { file: String, key: &'static str },
    #[error("parameter file {file}: key `{key}` must be {expected} (value not shown)")]
    ParamsBadValue {
        file: String,
        key: String,
        expected: &'static str,
    },
    #[error("parameter file {file}: unknown key `{key}` for model {model}")]
    ParamsUnknownKey {
        file: String,
        key: String,
        model: &'static str,
    },
    #[error("no parameter file: none was named and the environment variable {var} is not set")]
    ParamsNotGiven { var: &'static str },
    /// The parameters convert between other datums or grids than the request.
    #[error("{0}")]
    ParamsMismatch(Box<Mismatch>),
    #[error(
        "cannot read CRS reference {text:?}: expected `EPSG:<code>`, `local` or `local:<name>`"
    )]
    BadCrsRef { text: String },
    #[error("unknown CRS {crs}: {reason}")]
    UnknownCrs { crs: String, reason: String },
    #[error("CRS {crs} is not supported: {reason}")]
    UnsupportedCrs { crs: String, reason: String },
    /// CRS-05: a datum change was asked for without parameters; PROJ would only offer a no-op.
    #[error("{0}")]
    DatumChangeWithoutParameters(Box<DatumRefusal>),
    /// PROJ could not build an operation; `what` names it, the definition is not shown.
    #[error("PROJ could not create {what}: {message}")]
    Proj { what: String, message: String },
    /// A built operation failed a self-check (e.g. a datum change without a Helmert step).
    #[error("operation {what} failed its check: {reason}")]
    OperationCheck { what: String, reason: String },
    #[error("operation {what} has no inverse in PROJ")]
    NotInvertible { what: String },
    /// A coordinate could not be transformed; `index` is the feature (or coordinate) index.
    #[error("{item} {index}: {reason}")]
    Transform {
        item: &'static str,
        index: usize,
        reason: String,
    },
    #[error("control points {file}, line {line}: {reason}")]
    ControlPoints {
        file: String,
        line: u64,
        reason: String,
    },
    #[error("control points {file}: columns src_x/src_y/dst_x/dst_y are ambiguous; state which axis is north (Chinese survey convention: X = north)")]
    AmbiguousAxes { file: String },
    #[error("control point {name:?} appears twice (lines {first} and {second})")]
    DuplicatePoint {
        name: String,
        first: u64,
        second: u64,
    },
    #[error("{model} fit needs at least {need} control points, got {got}")]
    TooFewPoints {
        model: &'static str,
        need: usize,
        got: usize,
    },
    #[error("{model} fit impossible: {reason}")]
    DegenerateGeometry { model: &'static str, reason: String },
}

impl CrsError {
    /// The catalogue rule (domain-brief §6.2) this error stands for, if any.
    pub fn rule_id(&self) -> Option<RuleId> {
        match self {
            CrsError::DatumChangeWithoutParameters(_) => Some(RuleId("CRS-05")),
            CrsError::UnknownCrs { .. } => Some(RuleId("CRS-01")),
            _ => None,
        }
    }
}
