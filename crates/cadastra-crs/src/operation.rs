//! [`Operation`]: one explicit, checked coordinate operation between two plane grids.
//!
//! Datum changes are built as explicit PROJ pipelines from operator parameters; PROJ is never
//! left to pick a "ballpark" no-op silently (CRS-05). The pipeline text holds the secret
//! parameters: it lives in a redacted, zeroed-on-drop buffer and is only handed to PROJ.

use crate::crs::{crs_info, CrsInfo, CrsRef};
use crate::error::CrsError;
use crate::native::Native;
use crate::params::{OperatorParams, Values, PARAMS_ENV};
use crate::pj::{Direction, Pj};
use crate::sniff::{expected_window, Window};
use crate::transform::{self, Backend, Engine, TransformStats};
use crate::{finding, Convention};
use cadastra_model::{Finding, Severity};
use geo_types::{Coord, Geometry, MultiPolygon, Point};
use std::fmt;
use std::path::Path;
use std::sync::Arc;

/// Environment variable: `1` makes every operation built afterwards transform with PROJ only
/// (no native fast path), e.g. for comparison benchmarks.
pub const PROJ_ONLY_ENV: &str = "CADASTRA_PROJ_ONLY";

fn proj_only_from_env() -> bool {
    proj_only_value(std::env::var(PROJ_ONLY_ENV).ok().as_deref())
}

/// Any value but empty or `0` asks for PROJ only.
fn proj_only_value(v: Option<&str>) -> bool {
    v.is_some_and(|v| !v.is_empty() && v != "0")
}

/// Largest distance (m) between native and PROJ results on the verification grids for the
/// native fast path to be used.
const NATIVE_TOLERANCE_M: f64 = 1e-6;
/// Verification grid: `GRID` × `GRID` points over the Jinan window of each side.
const GRID: usize = 33;

/// Which code transforms coordinates (safe to print: no parameter values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evaluator {
    /// PROJ (`proj_trans_generic` per coordinate run)
    Proj,
    /// cadastra's native port of PROJ's tmerc/cart/helmert, verified against PROJ when the
    /// operation was built (coordinates it does not handle still go to PROJ)
    Native,
}

/// Pipeline text that may carry secret parameters: redacted `Debug`, no `Display`, zeroed on drop.
#[derive(Clone)]
struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        let mut bytes = std::mem::take(&mut self.0).into_bytes();
        bytes.iter_mut().for_each(|b| *b = 0);
        std::hint::black_box(&bytes);
    }
}

/// Choices the caller makes when asking for an operation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OperationOptions {
    /// Accept PROJ's ballpark no-op for a datum change without parameters. Off by default; when
    /// on, the report says so and carries a CRS-05 warning.
    pub allow_ballpark: bool,
}

/// How an operation gets from source to target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationKind {
    /// source and target are the same CRS: coordinates are checked, not changed
    Identity,
    /// same datum: only the projection (false easting, central meridian) changes; exact
    SameDatum,
    /// 7-parameter Helmert from an operator parameter file
    SevenParam(Convention),
    /// 4-parameter plane similarity from an operator parameter file
    FourParam,
    /// a real (non-ballpark) transformation from PROJ's database, with known accuracy
    ProjDatabase,
    /// PROJ's ballpark no-op, explicitly allowed by the caller
    Ballpark,
}

/// What was built and why; safe to print and to put into run reports (no parameter values).
#[derive(Debug, Clone, PartialEq)]
pub struct OperationReport {
    pub source: CrsRef,
    pub target: CrsRef,
    pub kind: OperationKind,
    /// the datums differ (or a local grid is involved)
    pub datum_change: bool,
    /// where the parameters came from (file path), if any were used
    pub params_origin: Option<String>,
    /// PROJ's stated accuracy in metres when PROJ chose the operation
    pub proj_accuracy_m: Option<f64>,
    /// human-readable remarks (English)
    pub notes: Vec<String>,
}

impl OperationReport {
    /// True when the operation is PROJ's ballpark no-op.
    pub fn is_ballpark(&self) -> bool {
        self.kind == OperationKind::Ballpark
    }

    /// Findings for a run report: CRS-05-W01 when a ballpark operation was allowed.
    pub fn findings(&self, layer: &str) -> Vec<Finding> {
        if !self.is_ballpark() {
            return Vec::new();
        }
        vec![finding(
            "CRS-05",
            "W01",
            Severity::W,
            layer,
            format!(
                "{} → {}: 基准转换使用了PROJ的近似(ballpark)无操作, 坐标未做基准改正, 误差可达数十米 (操作员明确允许)",
                self.source, self.target
            ),
            format!(
                "{} → {}: the datum change uses PROJ's ballpark no-op (coordinates not corrected for the datum, errors of tens of metres), allowed explicitly by the operator",
                self.source, self.target
            ),
        )]
    }
}

/// An explicit coordinate operation between two plane grids, easting first.
///
/// `Operation` is `Send + Sync` and cheap to clone; every transformation call builds one PROJ
/// object per worker thread. For many tiny calls on one thread use [`Operation::transformer`].
#[derive(Clone)]
pub struct Operation {
    report: OperationReport,
    definition: Secret,
    direction: Direction,
    invertible: bool,
    what: String,
    /// the verified native evaluator of `definition`, if any
    native: Option<Arc<Native>>,
}

impl fmt::Debug for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Operation")
            .field("report", &self.report)
            .field("direction", &self.direction)
            .field("evaluator", &self.evaluator())
            .field("definition", &self.definition)
            .finish()
    }
}

/// PROJ operations that change the datum; a datum-change pipeline without one is a no-op.
const DATUM_STEPS: [&str; 7] = [
    "proj=helmert",
    "proj=hgridshift",
    "proj=gridshift",
    "proj=xyzgridshift",
    "proj=molodensky",
    "proj=deformation",
    "proj=tinshift",
];

fn has_datum_step(def: &str) -> bool {
    DATUM_STEPS.iter().any(|s| def.contains(s))
}

fn render(steps: &[String]) -> Secret {
    let mut s = String::from("+proj=pipeline");
    for st in steps {
        s.push_str(" +step ");
        s.push_str(st);
    }
    Secret(s)
}

/// `from` → `to` on one datum: inverse projection then projection (nothing if identical).
fn plane_change(from: &CrsInfo, to: &CrsInfo) -> Vec<String> {
    let (a, b) = (from.projection_step(), to.projection_step());
    if a == b {
        Vec::new()
    } else {
        vec![format!("+inv {a}"), b]
    }
}

fn info(c: &CrsRef) -> Result<Option<CrsInfo>, CrsError> {
    match c {
        CrsRef::Epsg(code) => crs_info(*code).map(Some),
        CrsRef::Local(_) => Ok(None),
    }
}

/// Does moving between `a` and `b` change the datum (or leave a local grid)?
fn is_datum_change(a: &CrsRef, b: &CrsRef) -> Result<bool, CrsError> {
    if a == b {
        return Ok(false);
    }
    Ok(match (info(a)?, info(b)?) {
        (Some(x), Some(y)) => !x.same_datum(&y),
        _ => true,
    })
}

/// One side of a parameter set: the request's CRS must be the parameter CRS, or (EPSG) on its
/// datum. Returns the infos of both, or why not.
fn side(
    req: &CrsRef,
    par: &CrsRef,
) -> Result<Result<Option<(CrsInfo, CrsInfo)>, String>, CrsError> {
    match (req, par) {
        (CrsRef::Local(a), CrsRef::Local(b)) if a == b => Ok(Ok(None)),
        (CrsRef::Epsg(_), CrsRef::Epsg(_)) => {
            let (Some(r), Some(p)) = (info(req)?, info(par)?) else {
                // invariant: EPSG refs always resolve to Some or an error above
                return Ok(Err("unresolved CRS".into()));
            };
            if r.same_datum(&p) {
                Ok(Ok(Some((r, p))))
            } else {
                Ok(Err(format!(
                    "{req} is on datum {}, the parameters on {}",
                    r.datum, p.datum
                )))
            }
        }
        _ => Ok(Err(format!("{req} is not the parameters' grid {par}"))),
    }
}

/// Steps and kind for `from` → `to` with `params`, or why the parameters do not fit.
fn with_params(
    from: &CrsRef,
    to: &CrsRef,
    params: &OperatorParams,
) -> Result<Result<(Vec<String>, OperationKind), String>, CrsError> {
    let src = match side(from, params.source())? {
        Ok(s) => s,
        Err(why) => return Ok(Err(why)),
    };
    let dst = match side(to, params.target())? {
        Ok(s) => s,
        Err(why) => return Ok(Err(why)),
    };
    match &params.values {
        Values::Seven(conv, p) => {
            let (Some((fi, _)), Some((ti, _))) = (src, dst) else {
                return Ok(Err("7-parameter sets need EPSG grids on both sides".into()));
            };
            let helmert = format!(
                "+proj=helmert +x={} +y={} +z={} +rx={} +ry={} +rz={} +s={} +convention={}",
                p.tx,
                p.ty,
                p.tz,
                p.rx,
                p.ry,
                p.rz,
                p.ds,
                conv.as_str()
            );
            let steps = vec![
                format!("+inv {}", fi.projection_step()),
                format!("+proj=cart {}", fi.ellipsoid_tokens()),
                helmert,
                format!("+inv +proj=cart {}", ti.ellipsoid_tokens()),
                ti.projection_step(),
            ];
            Ok(Ok((steps, OperationKind::SevenParam(*conv))))
        }
        Values::Four(p) => {
            let mut steps = Vec::new();
            if let Some((fi, pi)) = &src {
                steps.extend(plane_change(fi, pi));
            }
            // +theta makes PROJ read +s as the factor itself (without it, +s is ppm)
            steps.push(format!(
                "+proj=helmert +x={} +y={} +s={} +theta={}",
                p.dx, p.dy, p.scale, p.rotation
            ));
            if let Some((ti, pi)) = &dst {
                steps.extend(plane_change(pi, ti));
            }
            Ok(Ok((steps, OperationKind::FourParam)))
        }
    }
}

impl Operation {
    /// Build the operation `source` → `target`.
    ///
    /// - same CRS: identity; same datum: projection change only (parameters ignored: use
    ///   [`Operation::from_params`] for a correction within one datum);
    /// - datum change with `params`: explicit pipeline (the parameters may also be used in reverse,
    ///   and grids on the parameters' datums, e.g. with or without zone prefix, are accepted);
    /// - datum change without `params`: only a real transformation from PROJ's database is
    ///   accepted; PROJ's ballpark no-op is refused with CRS-05 unless `opts.allow_ballpark`.
    pub fn new(
        source: &CrsRef,
        target: &CrsRef,
        params: Option<&OperatorParams>,
        opts: OperationOptions,
    ) -> Result<Operation, CrsError> {
        Operation::new_proj(source, target, params, opts)
            .map(|op| op.with_native(proj_only_from_env()))
    }

    fn new_proj(
        source: &CrsRef,
        target: &CrsRef,
        params: Option<&OperatorParams>,
        opts: OperationOptions,
    ) -> Result<Operation, CrsError> {
        let what = format!("{source} → {target}");
        let mut report = OperationReport {
            source: source.clone(),
            target: target.clone(),
            kind: OperationKind::Identity,
            datum_change: false,
            params_origin: None,
            proj_accuracy_m: None,
            notes: Vec::new(),
        };
        if source == target {
            // still validate the code
            info(source)?;
            report
                .notes
                .push("source and target are the same CRS".into());
            return Operation::finish(report, Secret("+proj=noop".into()), what);
        }
        let datum_change = is_datum_change(source, target)?;
        report.datum_change = datum_change;
        if !datum_change {
            let (Some(a), Some(b)) = (info(source)?, info(target)?) else {
                // invariant: is_datum_change returns false only for two EPSG CRSs
                return Err(CrsError::OperationCheck {
                    what,
                    reason: "no datum change without two EPSG CRSs".into(),
                });
            };
            report.kind = OperationKind::SameDatum;
            report.notes.push(format!(
                "same datum ({}): projection change only, exact",
                a.datum
            ));
            if params.is_some() {
                report
                    .notes
                    .push("parameter file not used: no datum change".into());
            }
            let steps = plane_change(&a, &b);
            let def = if steps.is_empty() {
                Secret("+proj=noop".into())
            } else {
                render(&steps)
            };
            return Operation::finish(report, def, what);
        }
        if let Some(p) = params {
            report.params_origin = Some(p.origin().to_string());
            match with_params(source, target, p)? {
                Ok((steps, kind)) => {
                    report.kind = kind;
                    report.notes.push(format!(
                        "{} parameters from {} ({} → {})",
                        p.model(),
                        p.origin(),
                        p.source(),
                        p.target()
                    ));
                    return Operation::finish(report, render(&steps), what);
                }
                Err(forward_why) => {
                    // the file may describe the reverse direction
                    if let Ok((steps, kind)) = with_params(target, source, p)? {
                        report.kind = kind;
                        report.notes.push(format!(
                            "{} parameters from {} ({} → {}) applied in reverse",
                            p.model(),
                            p.origin(),
                            p.source(),
                            p.target()
                        ));
                        let mut op = Operation::finish(report.clone(), render(&steps), what)?;
                        if !op.invertible {
                            return Err(CrsError::NotInvertible { what: op.what });
                        }
                        op.direction = Direction::Inverse;
                        op.report = report;
                        return Ok(op);
                    }
                    return Err(CrsError::ParamsMismatch(Box::new(crate::error::Mismatch {
                        file: p.origin().to_string(),
                        params_source: p.source().to_string(),
                        params_target: p.target().to_string(),
                        source_crs: source.to_string(),
                        target_crs: target.to_string(),
                        reason: forward_why,
                    })));
                }
            }
        }
        Operation::without_params(report, opts, what)
    }

    /// Datum change without parameters: accept only what PROJ really knows.
    fn without_params(
        mut report: OperationReport,
        opts: OperationOptions,
        what: String,
    ) -> Result<Operation, CrsError> {
        let (source, target) = (report.source.clone(), report.target.clone());
        let datum_name = |c: &CrsRef| -> Result<String, CrsError> {
            Ok(info(c)?
                .map(|i| i.datum)
                .unwrap_or_else(|| "a local grid".into()))
        };
        let refuse = |why: String| -> Result<Operation, CrsError> {
            Err(CrsError::DatumChangeWithoutParameters(Box::new(
                crate::error::DatumRefusal {
                    source_crs: source.to_string(),
                    target_crs: target.to_string(),
                    source_datum: datum_name(&source)?,
                    target_datum: datum_name(&target)?,
                    why,
                },
            )))
        };
        if source.epsg().is_none() || target.epsg().is_none() {
            return refuse(
                "a local grid has no known relation to any datum; only 4-parameter operator parameters can connect it".into(),
            );
        }
        let pj = Pj::crs_to_crs(&source.to_string(), &target.to_string()).map_err(|e| {
            CrsError::Proj {
                what: format!("an operation {what}"),
                message: e.0,
            }
        })?;
        let i = pj.info();
        let desc = i.description.clone().unwrap_or_default();
        let ballpark = desc.to_ascii_lowercase().contains("ballpark")
            || i.definition.as_deref().is_none_or(|d| !has_datum_step(d));
        let Some(def) = i.definition else {
            return refuse(format!(
                "PROJ offers several candidate operations (\"{desc}\") and none can be pinned"
            ));
        };
        if !ballpark && i.accuracy >= 0.0 {
            report.kind = OperationKind::ProjDatabase;
            report.proj_accuracy_m = Some(i.accuracy);
            report.notes.push(format!(
                "PROJ database operation \"{desc}\", accuracy {} m",
                i.accuracy
            ));
            return Operation::finish(report, Secret(def), what);
        }
        if !opts.allow_ballpark {
            return refuse(format!(
                "PROJ has no real transformation here and would use \"{desc}\", a ballpark no-op that leaves coordinates uncorrected (errors of tens of metres)"
            ));
        }
        report.kind = OperationKind::Ballpark;
        report.notes.push(format!(
            "BALLPARK: PROJ's \"{desc}\" (unknown accuracy, no datum correction) allowed explicitly"
        ));
        Operation::finish(report, Secret(def), what)
    }

    /// Instantiate once to check the definition and what PROJ made of it.
    fn finish(
        report: OperationReport,
        definition: Secret,
        what: String,
    ) -> Result<Operation, CrsError> {
        let pj = Pj::from_definition(&definition.0).map_err(|e| CrsError::Proj {
            what: format!("operation {what}"),
            message: e.0,
        })?;
        let i = pj.info();
        let def = i.definition.as_deref().unwrap_or("");
        let check = |reason: &str| CrsError::OperationCheck {
            what: what.clone(),
            reason: reason.to_string(),
        };
        match report.kind {
            OperationKind::SevenParam(_) | OperationKind::FourParam
                if !def.contains("proj=helmert") =>
            {
                return Err(check("PROJ dropped the Helmert step"));
            }
            OperationKind::Ballpark => {}
            _ if report.datum_change && !has_datum_step(def) => {
                return Err(check(
                    "the datum change has no datum-shift step: it would be a no-op (CRS-05)",
                ));
            }
            _ => {}
        }
        Ok(Operation {
            report,
            definition,
            direction: Direction::Forward,
            invertible: i.has_inverse,
            what,
            native: None,
        })
    }

    /// Like [`Operation::new`], reading parameters only when a datum change needs them: from
    /// `params_path` if given, else from the file named by `CADASTRA_CRS_PARAMS` (if set).
    pub fn resolve(
        source: &CrsRef,
        target: &CrsRef,
        params_path: Option<&Path>,
        opts: OperationOptions,
    ) -> Result<Operation, CrsError> {
        let params = if is_datum_change(source, target)? {
            match params_path {
                Some(p) => Some(OperatorParams::load(p)?),
                None => OperatorParams::from_env()?,
            }
        } else {
            None
        };
        Operation::new(source, target, params.as_ref(), opts)
    }

    /// The operation its parameters describe (parameter source → parameter target), always
    /// applying them, even between grids of one datum (e.g. a 4-parameter correction within a
    /// grid), where [`Operation::new`] would ignore them.
    pub fn from_params(params: &OperatorParams) -> Result<Operation, CrsError> {
        Operation::from_params_proj(params).map(|op| op.with_native(proj_only_from_env()))
    }

    fn from_params_proj(params: &OperatorParams) -> Result<Operation, CrsError> {
        let (source, target) = (params.source(), params.target());
        let what = format!("{source} → {target}");
        let (steps, kind) = match with_params(source, target, params)? {
            Ok(x) => x,
            Err(reason) => {
                // invariant: a parameter set always serves its own grids; kept as an error anyway
                return Err(CrsError::OperationCheck { what, reason });
            }
        };
        let report = OperationReport {
            source: source.clone(),
            target: target.clone(),
            kind,
            datum_change: is_datum_change(source, target)?,
            params_origin: Some(params.origin().to_string()),
            proj_accuracy_m: None,
            notes: vec![format!(
                "{} parameters from {}",
                params.model(),
                params.origin()
            )],
        };
        Operation::finish(report, render(&steps), what)
    }

    /// Name of [`PARAMS_ENV`], for messages.
    pub fn params_env() -> &'static str {
        PARAMS_ENV
    }

    pub fn report(&self) -> &OperationReport {
        &self.report
    }

    pub fn source(&self) -> &CrsRef {
        &self.report.source
    }

    pub fn target(&self) -> &CrsRef {
        &self.report.target
    }

    /// The reverse operation (target → source), e.g. to derive legacy coordinates from true
    /// CGCS2000 ones.
    pub fn inverse(&self) -> Result<Operation, CrsError> {
        if !self.invertible {
            return Err(CrsError::NotInvertible {
                what: self.what.clone(),
            });
        }
        let mut op = self.clone();
        op.direction = match self.direction {
            Direction::Forward => Direction::Inverse,
            Direction::Inverse => Direction::Forward,
        };
        std::mem::swap(&mut op.report.source, &mut op.report.target);
        op.what = format!("{} → {}", op.report.source, op.report.target);
        op.report.notes.push(format!("inverse of {}", self.what));
        Ok(op)
    }

    fn engine(&self) -> Engine<'_> {
        Engine {
            definition: &self.definition.0,
            direction: self.direction,
            what: &self.what,
            native: self.native.as_deref(),
        }
    }

    /// The same operation transformed by PROJ only (reference output that must not depend on
    /// the native fast path, e.g. the committed sample world).
    pub fn proj_only(mut self) -> Operation {
        self.native = None;
        self
    }

    /// Which code transforms this operation's coordinates.
    pub fn evaluator(&self) -> Evaluator {
        if self.native.is_some() {
            Evaluator::Native
        } else {
            Evaluator::Proj
        }
    }

    /// Attach the native evaluator when the definition parses and agrees with PROJ on the
    /// verification grids in both directions (`proj_only` switches it off).
    fn with_native(mut self, proj_only: bool) -> Operation {
        self.native = None;
        if proj_only {
            return self;
        }
        let Some(native) = Native::parse(&self.definition.0) else {
            return self;
        };
        let (input, output) = match self.direction {
            Direction::Forward => (&self.report.source, &self.report.target),
            Direction::Inverse => (&self.report.target, &self.report.source),
        };
        if self
            .native_deviation(&native, input, output)
            .is_some_and(|d| d <= NATIVE_TOLERANCE_M)
        {
            self.native = Some(Arc::new(native));
        }
        self
    }

    /// Largest distance between native and PROJ results over a grid on the pipeline's input
    /// window (forward) and its output window (inverse, when invertible); `None` when they cannot
    /// be compared (no window, PROJ or native fails on a grid point).
    fn native_deviation(&self, native: &Native, input: &CrsRef, output: &CrsRef) -> Option<f64> {
        let pj = Pj::from_definition(&self.definition.0).ok()?;
        let window = |c: &CrsRef| expected_window(c).ok().flatten().map(|w| grid(&w, GRID));
        let proj = |pts: &[Coord<f64>], dir: Direction| -> Option<Vec<Coord<f64>>> {
            let mut v = pts.to_vec();
            pj.trans_coords(&mut v, dir).ok()?;
            Some(v)
        };
        let (ins, outs) = match (window(input), window(output)) {
            (Some(i), Some(o)) => (i, Some(o)),
            (Some(i), None) => {
                let o = if self.invertible {
                    Some(proj(&i, Direction::Forward)?)
                } else {
                    None
                };
                (i, o)
            }
            (None, Some(o)) if self.invertible => (proj(&o, Direction::Inverse)?, Some(o)),
            _ => return None,
        };
        let mut worst = deviation(native, &pj, &ins, Direction::Forward)?;
        if self.invertible {
            if let Some(o) = outs {
                worst = worst.max(deviation(native, &pj, &o, Direction::Inverse)?);
            }
        }
        Some(worst)
    }

    /// A single-threaded transformer holding one PROJ object, for many small calls.
    pub fn transformer(&self) -> Result<Transformer, CrsError> {
        Ok(Transformer {
            pj: self.engine().instantiate()?,
            direction: self.direction,
            native: self.native.clone(),
        })
    }

    /// Transform a flat coordinate slice in place (easting, northing). Errors name the
    /// coordinate index. On error the slice is partly transformed.
    pub fn transform_coords(&self, coords: &mut [Coord<f64>]) -> Result<TransformStats, CrsError> {
        self.engine().coords(coords)
    }

    /// Transform points in place; `None` is skipped. Errors name the point index.
    pub fn transform_points(
        &self,
        points: &mut [Option<Point<f64>>],
    ) -> Result<TransformStats, CrsError> {
        self.engine().points(points)
    }

    /// Transform multipolygons in place (one PROJ call per ring); `None` is skipped. Errors name
    /// the feature index. On error the slice is partly transformed: keep a copy if you need one.
    pub fn transform_multipolygons(
        &self,
        geoms: &mut [Option<MultiPolygon<f64>>],
    ) -> Result<TransformStats, CrsError> {
        self.engine().for_each(geoms, "feature", |b, g| match g {
            None => Ok(None),
            Some(mp) => transform::multipolygon(b, mp).map(Some),
        })
    }

    /// Transform any geometry in place (a `Rect` becomes a `Polygon`); `None` is skipped.
    pub fn transform_geometries(
        &self,
        geoms: &mut [Option<Geometry<f64>>],
    ) -> Result<TransformStats, CrsError> {
        self.engine().for_each(geoms, "feature", |b, g| match g {
            None => Ok(None),
            Some(g) => transform::geometry(b, g).map(Some),
        })
    }
}

/// One PROJ object on the current thread, for repeated small transformations. Not `Send`.
pub struct Transformer {
    pj: Pj,
    direction: Direction,
    native: Option<Arc<Native>>,
}

impl Backend for Transformer {
    fn direction(&self) -> Direction {
        self.direction
    }

    fn native(&self) -> Option<&Native> {
        self.native.as_deref()
    }

    fn pj(&self) -> Result<&Pj, String> {
        Ok(&self.pj)
    }
}

/// `n` × `n` points spanning a window.
fn grid(w: &Window, n: usize) -> Vec<Coord<f64>> {
    let mut v = Vec::with_capacity(n * n);
    for i in 0..n {
        for j in 0..n {
            let (s, t) = (i as f64 / (n - 1) as f64, j as f64 / (n - 1) as f64);
            v.push(Coord {
                x: w.min_e + s * (w.max_e - w.min_e),
                y: w.min_n + t * (w.max_n - w.min_n),
            });
        }
    }
    v
}

/// Largest distance between native and PROJ results on `pts`; `None` if either fails anywhere.
fn deviation(native: &Native, pj: &Pj, pts: &[Coord<f64>], dir: Direction) -> Option<f64> {
    let mut theirs = pts.to_vec();
    pj.trans_coords(&mut theirs, dir).ok()?;
    let mut worst = 0.0f64;
    for (p, t) in pts.iter().zip(&theirs) {
        let n = native.point(*p, dir)?;
        let d = (n.x - t.x).hypot(n.y - t.y);
        if !crate::native::le(d, NATIVE_TOLERANCE_M) {
            return None;
        }
        worst = worst.max(d);
    }
    Some(worst)
}

impl fmt::Debug for Transformer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Transformer(<redacted>)")
    }
}

impl Transformer {
    /// Transform coordinates in place with one PROJ call; errors name the coordinate index.
    pub fn transform_coords(&self, coords: &mut [Coord<f64>]) -> Result<usize, CrsError> {
        transform::run(self, coords).map_err(|f| CrsError::Transform {
            item: "coordinate",
            index: f.offset,
            reason: f.message,
        })
    }

    /// Transform x/y/z arrays in place (heights pass through the geocentric steps).
    pub(crate) fn trans_xyz(
        &self,
        x: &mut [f64],
        y: &mut [f64],
        z: &mut [f64],
    ) -> Result<(), crate::pj::TransFailure> {
        self.pj.trans_xyz(x, y, z, self.direction)
    }

    /// Transform one geometry in place; returns the number of coordinates.
    pub fn transform_geometry(&self, g: &mut Geometry<f64>) -> Result<usize, CrsError> {
        transform::geometry(self, g).map_err(|f| CrsError::Transform {
            item: "vertex",
            index: f.offset,
            reason: f.message,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::{FourParams, SevenParams};
    use geo_types::{polygon, Rect};
    use std::io::Write;
    use std::process::Command;

    const BJ54: CrsRef = CrsRef::Epsg(2436);
    const BJ54_39: CrsRef = CrsRef::Epsg(2415);
    const XA80: CrsRef = CrsRef::Epsg(2384);
    const XA80_39: CrsRef = CrsRef::Epsg(2363);
    const CGCS: CrsRef = CrsRef::Epsg(4548);
    const CGCS_39: CrsRef = CrsRef::Epsg(4527);

    /// Plausible-looking but invented values (real ones are secret).
    const P7: SevenParams = SevenParams {
        tx: 24.815,
        ty: -131.207,
        tz: -83.694,
        rx: 1.2431,
        ry: -0.9127,
        rz: 2.1345,
        ds: 3.417,
    };

    fn seven(conv: Convention) -> OperatorParams {
        OperatorParams::seven(BJ54, CGCS, conv, P7)
    }

    fn opts() -> OperationOptions {
        OperationOptions::default()
    }

    /// A grid of points over Laiwu/Gangcheng in 3-degree CM 117E plane coordinates.
    fn laiwu(n: usize) -> Vec<Coord<f64>> {
        let mut v = Vec::new();
        for i in 0..n {
            for j in 0..n {
                v.push(Coord {
                    x: 527_000.0 + 58_000.0 * i as f64 / (n - 1) as f64,
                    y: 3_990_000.0 + 60_000.0 * j as f64 / (n - 1) as f64,
                });
            }
        }
        v
    }

    /// Run a PROJ command-line tool on easting/northing lines, parse the first two columns.
    fn cli(program: &str, args: &[&str], pts: &[Coord<f64>], extra_cols: &str) -> Vec<Coord<f64>> {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        for p in pts {
            writeln!(f, "{:.6} {:.6}{extra_cols}", p.x, p.y).unwrap();
        }
        f.flush().unwrap();
        let out = Command::new(program)
            .args(args)
            .arg(f.path())
            .output()
            .unwrap_or_else(|e| panic!("{program} (proj-bin) runs: {e}"));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let rows: Vec<Coord<f64>> = text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .map(|l| {
                let v: Vec<f64> = l.split_whitespace().map(|t| t.parse().unwrap()).collect();
                Coord { x: v[0], y: v[1] }
            })
            .collect();
        assert_eq!(rows.len(), pts.len(), "{text}");
        rows
    }

    /// `cct` on a pipeline definition (the same text PROJ got from us).
    fn cct(def: &str, pts: &[Coord<f64>], inverse: bool) -> Vec<Coord<f64>> {
        let mut args = vec!["-d", "6"];
        if inverse {
            args.push("-I");
        }
        args.extend(def.split_whitespace());
        cli("cct", &args, pts, " 0 0")
    }

    fn max_diff(a: &[Coord<f64>], b: &[Coord<f64>]) -> f64 {
        a.iter()
            .zip(b)
            .map(|(p, q)| (p.x - q.x).hypot(p.y - q.y))
            .fold(0.0, f64::max)
    }

    fn run(op: &Operation, pts: &[Coord<f64>]) -> Vec<Coord<f64>> {
        let mut v = pts.to_vec();
        let st = op.transform_coords(&mut v).unwrap();
        assert_eq!(st.coordinates, pts.len());
        v
    }

    #[test]
    fn seven_parameters_match_cct_and_legacy_towgs84_within_a_millimetre() {
        let pts = laiwu(7);
        for conv in [Convention::PositionVector, Convention::CoordinateFrame] {
            let op = Operation::from_params(&seven(conv)).unwrap();
            assert_eq!(op.report().kind, OperationKind::SevenParam(conv));
            assert!(op.report().datum_change);
            let ours = run(&op, &pts);
            // the same pipeline through cct
            let theirs = cct(&op.definition.0, &pts, false);
            assert!(
                max_diff(&ours, &theirs) < 0.001,
                "{conv}: {}",
                max_diff(&ours, &theirs)
            );
            // an independent formulation: cs2cs with +towgs84 (position vector, rx.. in arc-seconds)
            let sign = if conv == Convention::PositionVector {
                1.0
            } else {
                -1.0
            };
            let towgs84 = format!(
                "+towgs84={},{},{},{},{},{},{}",
                P7.tx,
                P7.ty,
                P7.tz,
                sign * P7.rx,
                sign * P7.ry,
                sign * P7.rz,
                P7.ds
            );
            let src = format!("+proj=tmerc +lat_0=0 +lon_0=117 +k=1 +x_0=500000 +y_0=0 +ellps=krass {towgs84} +units=m +type=crs");
            let dst = "+proj=tmerc +lat_0=0 +lon_0=117 +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +type=crs";
            let mut args: Vec<&str> = vec!["-f", "%.6f"];
            args.extend(src.split_whitespace());
            args.push("+to");
            args.extend(dst.split_whitespace());
            let legacy = cli("cs2cs", &args, &pts, "");
            assert!(
                max_diff(&ours, &legacy) < 0.001,
                "{conv} vs towgs84: {}",
                max_diff(&ours, &legacy)
            );
            // and it is not a no-op: Beijing 1954 to CGCS2000 moves points by tens of metres
            assert!(max_diff(&ours, &pts) > 10.0);
        }
        // the conventions differ by metres for these rotations
        let pv = run(
            &Operation::from_params(&seven(Convention::PositionVector)).unwrap(),
            &pts,
        );
        let cf = run(
            &Operation::from_params(&seven(Convention::CoordinateFrame)).unwrap(),
            &pts,
        );
        assert!(max_diff(&pv, &cf) > 1.0);
    }

    #[test]
    fn four_parameters_match_cct_and_the_survey_formula() {
        let p = FourParams {
            dx: -381.274,
            dy: 212.918,
            scale: 1.000_021_37,
            rotation: -7.815,
        };
        let op = Operation::from_params(&OperatorParams::four(XA80, CGCS, p)).unwrap();
        assert_eq!(op.report().kind, OperationKind::FourParam);
        let pts = laiwu(6);
        let ours = run(&op, &pts);
        assert!(max_diff(&ours, &cct(&op.definition.0, &pts, false)) < 0.001);
        // X' = ΔX + k(X cos α − Y sin α), Y' = ΔY + k(X sin α + Y cos α), X north, Y east
        let a = p.rotation / 3600.0 * std::f64::consts::PI / 180.0;
        for (s, t) in pts.iter().zip(&ours) {
            let (x, y) = (s.y, s.x);
            let xn = p.dy + p.scale * (x * a.cos() - y * a.sin());
            let ye = p.dx + p.scale * (x * a.sin() + y * a.cos());
            assert!(
                (t.y - xn).abs() < 1e-6 && (t.x - ye).abs() < 1e-6,
                "{t:?} vs ({ye}, {xn})"
            );
        }
        // served with the zone-prefixed source grid too: the prefix is removed exactly first
        let op39 = Operation::new(
            &XA80_39,
            &CGCS,
            Some(&OperatorParams::four(XA80, CGCS, p)),
            opts(),
        )
        .unwrap();
        let pre: Vec<_> = pts
            .iter()
            .map(|c| Coord {
                x: c.x + 39e6,
                y: c.y,
            })
            .collect();
        assert!(max_diff(&run(&op39, &pre), &ours) < 1e-6);
    }

    #[test]
    fn from_params_applies_a_correction_within_one_grid() {
        let p = FourParams {
            dx: 0.35,
            dy: -0.2,
            scale: 1.0,
            rotation: 0.0,
        };
        let params = OperatorParams::four(XA80, XA80, p);
        let op = Operation::from_params(&params).unwrap();
        assert_eq!(op.report().kind, OperationKind::FourParam);
        let out = run(
            &op,
            &[Coord {
                x: 550_000.0,
                y: 4_010_000.0,
            }],
        );
        assert!((out[0].x - 550_000.35).abs() < 1e-6 && (out[0].y - 4_009_999.8).abs() < 1e-6);
        // Operation::new treats the same request as identity (no datum change)
        let op = Operation::new(&XA80, &XA80, Some(&params), opts()).unwrap();
        assert_eq!(op.report().kind, OperationKind::Identity);
    }

    #[test]
    fn local_grids_need_four_parameters() {
        let local = CrsRef::Local("laiwu-city".into());
        let e = Operation::new(&local, &CGCS, None, opts()).unwrap_err();
        assert_eq!(e.rule_id(), Some(cadastra_model::RuleId("CRS-05")), "{e}");
        let p = FourParams {
            dx: 480_000.0,
            dy: 3_950_000.0,
            scale: 0.999_98,
            rotation: 30.0,
        };
        let params = OperatorParams::four(local.clone(), CGCS, p);
        let op = Operation::new(&local, &CGCS, Some(&params), opts()).unwrap();
        let mut c = [Coord {
            x: 52_000.0,
            y: 61_000.0,
        }];
        op.transform_coords(&mut c).unwrap();
        assert!(
            crate::sniff::Window::JINAN_4548.contains(c[0].x, c[0].y),
            "{c:?}"
        );
        // and another local grid is not this one
        let other = CrsRef::Local("gangcheng".into());
        let e = Operation::new(&other, &CGCS, Some(&params), opts()).unwrap_err();
        assert!(matches!(e, CrsError::ParamsMismatch(_)), "{e}");
    }

    #[test]
    fn same_datum_operations_are_exact_and_agree_with_cs2cs() {
        let pts = laiwu(5);
        // 2363 -> 2384 and 4548 -> 4527: only the false easting changes
        for (a, b, de) in [(&XA80_39, &XA80, -39e6), (&CGCS, &CGCS_39, 39e6)] {
            let op = Operation::new(a, b, None, opts()).unwrap();
            assert_eq!(op.report().kind, OperationKind::SameDatum);
            assert!(!op.report().datum_change);
            let src: Vec<_> = if de < 0.0 {
                pts.iter()
                    .map(|c| Coord {
                        x: c.x + 39e6,
                        y: c.y,
                    })
                    .collect()
            } else {
                pts.clone()
            };
            let out = run(&op, &src);
            for (s, t) in src.iter().zip(&out) {
                assert!((t.x - (s.x + de)).abs() < 1e-6 && (t.y - s.y).abs() < 1e-6);
            }
            // cs2cs with EPSG codes (authority axis order: northing first in and out)
            let swapped: Vec<_> = src.iter().map(|c| Coord { x: c.y, y: c.x }).collect();
            let (sa, sb) = (a.to_string(), b.to_string());
            let theirs = cli("cs2cs", &["-f", "%.6f", &sa, &sb], &swapped, "");
            let theirs: Vec<_> = theirs.iter().map(|c| Coord { x: c.y, y: c.x }).collect();
            assert!(max_diff(&out, &theirs) < 0.001);
        }
        // a parameter file given for a same-datum request is not used
        let op = Operation::new(
            &BJ54_39,
            &BJ54,
            Some(&seven(Convention::PositionVector)),
            opts(),
        )
        .unwrap();
        assert_eq!(op.report().kind, OperationKind::SameDatum);
        assert!(op.report().notes.iter().any(|n| n.contains("not used")));
        // identity
        let op = Operation::new(&CGCS, &CGCS, None, opts()).unwrap();
        assert_eq!(op.report().kind, OperationKind::Identity);
        assert_eq!(run(&op, &pts), pts);
    }

    #[test]
    fn beijing54_to_cgcs2000_is_refused_without_parameters_and_works_with_them() {
        let e = Operation::new(&BJ54, &CGCS, None, opts()).unwrap_err();
        assert_eq!(e.rule_id().map(|r| r.0), Some("CRS-05"));
        let msg = e.to_string();
        assert!(
            msg.contains("Beijing 1954") && msg.contains("allpark"),
            "{msg}"
        );
        // Xian 1980 too, and resolve() without a file or environment variable
        let e = Operation::new(&XA80, &CGCS, None, opts()).unwrap_err();
        assert_eq!(e.rule_id().map(|r| r.0), Some("CRS-05"));
        // with parameters it works (both directions)
        let p = seven(Convention::CoordinateFrame);
        let fwd = Operation::new(&BJ54, &CGCS, Some(&p), opts()).unwrap();
        let rev = Operation::new(&CGCS, &BJ54, Some(&p), opts()).unwrap();
        assert!(rev.report().notes.iter().any(|n| n.contains("reverse")));
        let pts = laiwu(4);
        let there = run(&fwd, &pts);
        let back = run(&rev, &there);
        assert!(max_diff(&back, &pts) < 0.001, "{}", max_diff(&back, &pts));
        // parameters for other datums are refused with the reason
        let e = Operation::new(&XA80, &CGCS, Some(&p), opts()).unwrap_err();
        let msg = e.to_string();
        assert!(
            matches!(e, CrsError::ParamsMismatch(_)) && msg.contains("Xian 1980"),
            "{msg}"
        );
    }

    #[test]
    fn ballpark_only_when_allowed_and_then_reported() {
        let op = Operation::new(
            &BJ54,
            &CGCS,
            None,
            OperationOptions {
                allow_ballpark: true,
            },
        )
        .unwrap();
        assert!(op.report().is_ballpark());
        assert!(op.report().notes.iter().any(|n| n.contains("BALLPARK")));
        let f = op.report().findings("parcels");
        assert_eq!(f.len(), 1);
        assert_eq!(
            (f[0].code(), f[0].severity),
            ("CRS-05-W01".to_string(), Severity::W)
        );
        // what PROJ's ballpark does: cs2cs with the EPSG codes (northing first)
        let pts = laiwu(4);
        let ours = run(&op, &pts);
        let swapped: Vec<_> = pts.iter().map(|c| Coord { x: c.y, y: c.x }).collect();
        let theirs = cli(
            "cs2cs",
            &["-f", "%.6f", "EPSG:2436", "EPSG:4548"],
            &swapped,
            "",
        );
        let theirs: Vec<_> = theirs.iter().map(|c| Coord { x: c.y, y: c.x }).collect();
        assert!(max_diff(&ours, &theirs) < 0.001);
        assert!(op.inverse().unwrap().report().is_ballpark());
    }

    #[test]
    fn a_real_operation_from_the_proj_database_is_accepted_with_its_accuracy() {
        // CH1903+ / LV95 to WGS 84 / UTM 32N: PROJ knows one Helmert with a stated accuracy
        let (a, b) = (CrsRef::Epsg(2056), CrsRef::Epsg(32632));
        let op = Operation::new(&a, &b, None, opts()).unwrap();
        assert_eq!(op.report().kind, OperationKind::ProjDatabase);
        assert!(op
            .report()
            .proj_accuracy_m
            .is_some_and(|m| m > 0.0 && m < 5.0));
        let pts = vec![
            Coord {
                x: 2_600_000.0,
                y: 1_200_000.0,
            },
            Coord {
                x: 2_683_000.0,
                y: 1_248_000.0,
            },
        ];
        let ours = run(&op, &pts);
        let theirs = cli(
            "cs2cs",
            &["-f", "%.6f", "EPSG:2056", "EPSG:32632"],
            &pts,
            "",
        );
        assert!(
            max_diff(&ours, &theirs) < 0.001,
            "{}",
            max_diff(&ours, &theirs)
        );
    }

    #[test]
    fn inverse_matches_cct_and_round_trips() {
        let op = Operation::from_params(&seven(Convention::PositionVector)).unwrap();
        let inv = op.inverse().unwrap();
        assert_eq!((inv.source(), inv.target()), (&CGCS, &BJ54));
        let truth = laiwu(6); // true CGCS2000 coordinates
        let legacy = run(&inv, &truth);
        assert!(max_diff(&legacy, &cct(&op.definition.0, &truth, true)) < 0.001);
        assert!(max_diff(&run(&op, &legacy), &truth) < 0.001);
        assert_eq!(inv.inverse().unwrap().source(), &BJ54);
    }

    #[test]
    fn parameters_serve_zone_prefixed_grids_of_their_datums() {
        let p = seven(Convention::PositionVector);
        let plain = Operation::from_params(&p).unwrap();
        let prefixed = Operation::new(&BJ54_39, &CGCS_39, Some(&p), opts()).unwrap();
        let pts = laiwu(4);
        let a = run(&plain, &pts);
        let pre: Vec<_> = pts
            .iter()
            .map(|c| Coord {
                x: c.x + 39e6,
                y: c.y,
            })
            .collect();
        let b: Vec<_> = run(&prefixed, &pre)
            .into_iter()
            .map(|c| Coord {
                x: c.x - 39e6,
                y: c.y,
            })
            .collect();
        assert!(max_diff(&a, &b) < 1e-5);
    }

    #[test]
    fn nothing_secret_in_debug_reports_or_errors() {
        let op = Operation::from_params(&seven(Convention::PositionVector)).unwrap();
        let texts = [
            format!("{op:?}"),
            format!("{:?}", op.report()),
            format!("{:?}", op.inverse().unwrap()),
            format!("{:?}", op.transformer().unwrap()),
            format!("{:?}", seven(Convention::PositionVector)),
            format!("{P7:?}"),
        ];
        for t in &texts {
            for v in [
                "24.815", "131.207", "83.694", "1.2431", "0.9127", "2.1345", "3.417", "helmert",
            ] {
                assert!(!t.contains(v), "{v} leaked in {t}");
            }
        }
        let mut bad = [Coord {
            x: f64::NAN,
            y: 1.0,
        }];
        let e = op.transform_coords(&mut bad).unwrap_err().to_string();
        assert!(!e.contains("24.815") && e.contains("coordinate 0"), "{e}");
    }

    #[test]
    fn operations_and_parameters_can_be_shared_between_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<Operation>();
        shared::<OperatorParams>();
        shared::<OperationReport>();
    }

    #[test]
    fn unknown_codes_are_clear_errors() {
        let e = Operation::new(&CrsRef::Epsg(999_999), &CGCS, None, opts()).unwrap_err();
        assert!(matches!(e, CrsError::UnknownCrs { .. }), "{e}");
        assert!(e.to_string().contains("EPSG:999999"));
        let e = Operation::new(&CGCS, &CrsRef::Epsg(4490), None, opts()).unwrap_err();
        assert!(matches!(e, CrsError::UnsupportedCrs { .. }), "{e}");
    }

    #[test]
    fn resolve_reads_the_file_named_by_the_environment_only_when_needed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bj54.toml");
        seven(Convention::PositionVector)
            .write(&path, "test")
            .unwrap();
        // an explicit path
        let op = Operation::resolve(&BJ54, &CGCS, Some(&path), opts()).unwrap();
        assert_eq!(
            op.report().params_origin.as_deref(),
            Some(path.display().to_string().as_str())
        );
        // a same-datum request never reads a file, even a missing one
        let missing = dir.path().join("missing.toml");
        assert!(Operation::resolve(&BJ54_39, &BJ54, Some(&missing), opts()).is_ok());
        assert!(Operation::resolve(&BJ54, &CGCS, Some(&missing), opts()).is_err());
        // the environment variable (only this test sets it)
        std::env::set_var(PARAMS_ENV, &path);
        let op = Operation::resolve(&BJ54, &CGCS, None, opts());
        std::env::remove_var(PARAMS_ENV);
        assert_eq!(
            op.unwrap().report().kind,
            OperationKind::SevenParam(Convention::PositionVector)
        );
    }

    fn parcels(n: usize) -> Vec<Option<MultiPolygon<f64>>> {
        (0..n)
            .map(|i| {
                if i % 97 == 5 {
                    return None;
                }
                let x = 530_000.0 + (i % 200) as f64 * 250.0;
                let y = 3_995_000.0 + (i / 200) as f64 * 250.0;
                let outer = polygon![
                    (x: x, y: y), (x: x + 100.0, y: y), (x: x + 100.0, y: y + 80.0),
                    (x: x + 50.0, y: y + 120.0), (x: x, y: y + 80.0), (x: x, y: y)
                ];
                let mut p = outer;
                p.interiors_push(vec![
                    (x + 10.0, y + 10.0),
                    (x + 20.0, y + 10.0),
                    (x + 20.0, y + 20.0),
                    (x + 10.0, y + 10.0),
                ]);
                Some(MultiPolygon(vec![p]))
            })
            .collect()
    }

    #[test]
    fn multipolygons_in_parallel_equal_one_thread_and_the_flat_path() {
        let op = Operation::from_params(&seven(Convention::CoordinateFrame)).unwrap();
        let input = parcels(5_000);
        let run_with = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let mut g = input.clone();
            let st = pool.install(|| op.transform_multipolygons(&mut g)).unwrap();
            (g, st)
        };
        let (one, st1) = run_with(1);
        let (two, st2) = run_with(2);
        assert_eq!(one, two); // bit-identical, whatever the thread count
        assert_eq!(st1, st2);
        let nones = input.iter().filter(|g| g.is_none()).count();
        assert_eq!(
            (st1.items, st1.empty, st1.coordinates),
            (5_000, nones, (5_000 - nones) * 10)
        );
        // the same as transforming the flat list of coordinates
        let mut flat: Vec<Coord<f64>> = input
            .iter()
            .flatten()
            .flat_map(|mp| mp.0.iter())
            .flat_map(|p| {
                p.exterior()
                    .0
                    .iter()
                    .chain(p.interiors().iter().flat_map(|r| r.0.iter()))
            })
            .copied()
            .collect();
        op.transform_coords(&mut flat).unwrap();
        let got: Vec<Coord<f64>> = one
            .iter()
            .flatten()
            .flat_map(|mp| mp.0.iter())
            .flat_map(|p| {
                p.exterior()
                    .0
                    .iter()
                    .chain(p.interiors().iter().flat_map(|r| r.0.iter()))
            })
            .copied()
            .collect();
        assert_eq!(flat, got);
        // rings stay closed
        for mp in one.iter().flatten() {
            assert!(mp.0[0].exterior().is_closed());
        }
    }

    #[test]
    fn errors_name_the_lowest_failing_feature_whatever_the_threads() {
        let op = Operation::from_params(&seven(Convention::PositionVector)).unwrap();
        let mut input = parcels(3_000);
        for bad in [2_871usize, 1_234] {
            if let Some(mp) = input[bad].as_mut() {
                // the hole's third vertex: vertex 6 + 2 of the feature
                mp.0[0].interiors_mut(|h| h[0].0[2].x = f64::NAN);
            }
        }
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let mut g = input.clone();
            let e = pool
                .install(|| op.transform_multipolygons(&mut g))
                .unwrap_err();
            match &e {
                CrsError::Transform {
                    item,
                    index,
                    reason,
                } => {
                    assert_eq!((*item, *index), ("feature", 1_234), "{e}");
                    assert!(reason.contains("vertex 8"), "{e}");
                }
                other => panic!("{other}"),
            }
            assert!(e.to_string().starts_with("feature 1234:"), "{e}");
        }
    }

    #[test]
    fn points_geometries_and_single_thread_transformer() {
        let op = Operation::from_params(&seven(Convention::PositionVector)).unwrap();
        let pts = laiwu(3);
        let expect = run(&op, &pts);
        // optional points
        let mut p: Vec<Option<Point<f64>>> = pts.iter().map(|c| Some(Point(*c))).collect();
        p.insert(4, None);
        let st = op.transform_points(&mut p).unwrap();
        assert_eq!((st.items, st.empty, st.coordinates), (10, 1, 9));
        let got: Vec<Coord<f64>> = p.iter().flatten().map(|p| p.0).collect();
        assert_eq!(got, expect);
        // geometries: a rectangle becomes a polygon; a point; a collection
        let r = Rect::new(pts[0], pts[4]);
        let mut g = vec![
            Some(Geometry::Rect(r)),
            Some(Geometry::Point(Point(pts[0]))),
            None,
            Some(Geometry::GeometryCollection(geo_types::GeometryCollection(
                vec![
                    Geometry::Point(Point(pts[1])),
                    Geometry::LineString(vec![pts[2], pts[3]].into()),
                ],
            ))),
        ];
        let st = op.transform_geometries(&mut g).unwrap();
        assert_eq!((st.items, st.empty, st.coordinates), (4, 1, 5 + 1 + 3));
        assert!(matches!(g[0], Some(Geometry::Polygon(_))));
        assert_eq!(g[1], Some(Geometry::Point(Point(expect[0]))));
        // the single-thread transformer gives the same numbers
        let t = op.transformer().unwrap();
        let mut c = pts.clone();
        assert_eq!(t.transform_coords(&mut c).unwrap(), 9);
        assert_eq!(c, expect);
        let mut one = Geometry::Point(Point(pts[8]));
        t.transform_geometry(&mut one).unwrap();
        assert_eq!(one, Geometry::Point(Point(expect[8])));
    }

    /// Throughput on 10 million coordinates with 1 and 2 threads. Run with
    /// `cargo test -p cadastra-crs --release -- --ignored --nocapture throughput`.
    #[test]
    #[ignore = "benchmark: 10M coordinates, run in release"]
    fn throughput_10m_coordinates() {
        let op = Operation::from_params(&seven(Convention::PositionVector)).unwrap();
        let n = 10_000_000usize;
        let base: Vec<Coord<f64>> = (0..n)
            .map(|i| Coord {
                x: 527_000.0 + (i % 5_000) as f64 * 11.6,
                y: 3_990_000.0 + (i / 5_000) as f64 * 30.0,
            })
            .collect();
        // the same coordinates as 1M parcels of 10 vertices (rings of a multipolygon)
        let parcels: Vec<Option<MultiPolygon<f64>>> = base
            .chunks(10)
            .map(|c| {
                let mut ring = c.to_vec();
                ring[9] = ring[0];
                Some(MultiPolygon(vec![geo_types::Polygon::new(
                    ring.into(),
                    vec![],
                )]))
            })
            .collect();
        // process CPU seconds (user + system) from /proc, to tell load from scaling
        let cpu = || -> f64 {
            let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
            let after = stat.rsplit(')').next().unwrap_or("");
            let f: Vec<&str> = after.split_whitespace().collect();
            // fields 14 and 15 of stat (utime, stime, in ticks of 1/100 s) are the 12th and
            // 13th after the command name (the 1st is the state letter)
            let tick = |i: usize| f.get(i).and_then(|t| t.parse::<f64>().ok()).unwrap_or(0.0);
            (tick(11) + tick(12)) / 100.0
        };
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let mut v = base.clone();
            let (t0, c0) = (std::time::Instant::now(), cpu());
            let st = pool.install(|| op.transform_coords(&mut v)).unwrap();
            let (dt, dc) = (t0.elapsed().as_secs_f64(), cpu() - c0);
            println!(
                "7p pipeline, flat slice, {threads} thread(s): {} coords in {dt:.2} s wall = {:.2} M coords/s ({dc:.2} CPU s, {:.2} M coords per CPU s)",
                st.coordinates,
                st.coordinates as f64 / dt / 1e6,
                st.coordinates as f64 / dc / 1e6
            );
            let mut g = parcels.clone();
            let (t0, c0) = (std::time::Instant::now(), cpu());
            let st = pool.install(|| op.transform_multipolygons(&mut g)).unwrap();
            let (dt, dc) = (t0.elapsed().as_secs_f64(), cpu() - c0);
            println!(
                "7p pipeline, 1M multipolygons, {threads} thread(s): {} coords in {dt:.2} s wall = {:.2} M coords/s ({dc:.2} CPU s, {:.2} M coords per CPU s)",
                st.coordinates,
                st.coordinates as f64 / dt / 1e6,
                st.coordinates as f64 / dc / 1e6
            );
        }
    }

    // ---- native fast path ----

    /// `n` pseudo-random points over Laiwu/Gangcheng (CM 117E plane, no zone prefix).
    fn laiwu_random(n: usize, seed: u64) -> Vec<Coord<f64>> {
        use rand::{Rng, SeedableRng};
        let mut r = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        (0..n)
            .map(|_| Coord {
                x: r.random_range(527_000.0..585_000.0),
                y: r.random_range(3_990_000.0..4_050_000.0),
            })
            .collect()
    }

    /// Native results of `op` against PROJ on the same definition and direction.
    fn native_vs_proj(op: &Operation, pts: &[Coord<f64>]) -> f64 {
        assert_eq!(op.evaluator(), Evaluator::Native, "{}", op.what);
        let ours = run(op, pts);
        let pj = Pj::from_definition(&op.definition.0).unwrap();
        let mut theirs = pts.to_vec();
        pj.trans_coords(&mut theirs, op.direction).unwrap();
        max_diff(&ours, &theirs)
    }

    fn shifted(pts: &[Coord<f64>], de: f64, dn: f64) -> Vec<Coord<f64>> {
        pts.iter()
            .map(|c| Coord {
                x: c.x + de,
                y: c.y + dn,
            })
            .collect()
    }

    #[test]
    fn native_agrees_with_proj_for_every_form_and_direction() {
        let pts = laiwu_random(100_000, 7);
        let local = CrsRef::Local("laiwu-city".into());
        let p4 = FourParams {
            dx: -381.274,
            dy: 212.918,
            scale: 1.000_021_37,
            rotation: -7.815,
        };
        let p4_local = FourParams {
            dx: 480_000.0,
            dy: 3_950_000.0,
            scale: 0.999_98,
            rotation: 30.0,
        };
        let xa7 = |c| OperatorParams::seven(XA80, CGCS, c, P7);
        // (name, operation, easting/northing shift of its input relative to the CM 117E plane)
        let mut cases: Vec<(&str, Operation, f64, f64)> = vec![
            (
                "same datum, zone prefix 2363->2384",
                Operation::new(&XA80_39, &XA80, None, opts()).unwrap(),
                39e6,
                0.0,
            ),
            (
                "same datum 4548->4527",
                Operation::new(&CGCS, &CGCS_39, None, opts()).unwrap(),
                0.0,
                0.0,
            ),
            (
                "same datum, other meridian 4548->4549",
                Operation::new(&CGCS, &CrsRef::Epsg(4549), None, opts()).unwrap(),
                0.0,
                0.0,
            ),
            (
                "7p PV Beijing54",
                Operation::from_params(&seven(Convention::PositionVector)).unwrap(),
                0.0,
                0.0,
            ),
            (
                "7p CF Beijing54",
                Operation::from_params(&seven(Convention::CoordinateFrame)).unwrap(),
                0.0,
                0.0,
            ),
            (
                "7p PV Xian80",
                Operation::from_params(&xa7(Convention::PositionVector)).unwrap(),
                0.0,
                0.0,
            ),
            (
                "7p CF Xian80",
                Operation::from_params(&xa7(Convention::CoordinateFrame)).unwrap(),
                0.0,
                0.0,
            ),
            (
                "7p CF Beijing54 zone 39 -> 4527",
                Operation::new(
                    &BJ54_39,
                    &CGCS_39,
                    Some(&seven(Convention::CoordinateFrame)),
                    opts(),
                )
                .unwrap(),
                39e6,
                0.0,
            ),
            (
                "4p Xian80",
                Operation::from_params(&OperatorParams::four(XA80, CGCS, p4)).unwrap(),
                0.0,
                0.0,
            ),
            (
                "4p Xian80 zone 39",
                Operation::new(
                    &XA80_39,
                    &CGCS,
                    Some(&OperatorParams::four(XA80, CGCS, p4)),
                    opts(),
                )
                .unwrap(),
                39e6,
                0.0,
            ),
            (
                "4p local",
                Operation::new(
                    &local,
                    &CGCS,
                    Some(&OperatorParams::four(local.clone(), CGCS, p4_local)),
                    opts(),
                )
                .unwrap(),
                -480_000.0,
                -3_950_000.0,
            ),
            (
                "7p CF given in reverse (CGCS2000 -> Beijing54)",
                Operation::new(
                    &CGCS,
                    &BJ54,
                    Some(&seven(Convention::CoordinateFrame)),
                    opts(),
                )
                .unwrap(),
                0.0,
                0.0,
            ),
        ];
        let inverses: Vec<_> = cases
            .iter()
            .map(|(name, op, de, dn)| {
                // inputs of the inverse: outputs of the forward operation, roughly
                let out = run(op, &shifted(&laiwu(3), *de, *dn));
                let (oe, on) = (out[4].x - 556_000.0, out[4].y - 4_020_000.0);
                (*name, op.inverse().unwrap(), oe, on)
            })
            .collect();
        cases.extend(inverses);
        for (i, (name, op, de, dn)) in cases.iter().enumerate() {
            let d = native_vs_proj(op, &shifted(&pts, *de, *dn));
            let inv = if i >= cases.len() / 2 {
                " (inverse)"
            } else {
                ""
            };
            println!("native vs PROJ, {name}{inv}: max {d:.3e} m");
            assert!(d <= 1e-6, "{name}{inv}: {d}");
        }
    }

    #[test]
    fn native_multipolygons_agree_with_proj_only() {
        for p in [
            seven(Convention::CoordinateFrame),
            OperatorParams::four(
                XA80,
                CGCS,
                FourParams {
                    dx: -381.274,
                    dy: 212.918,
                    scale: 1.000_021_37,
                    rotation: -7.815,
                },
            ),
        ] {
            let native = Operation::from_params(&p).unwrap();
            let proj = native.clone().with_native(true);
            assert_eq!(
                (native.evaluator(), proj.evaluator()),
                (Evaluator::Native, Evaluator::Proj)
            );
            for (a, b) in [
                (native.clone(), proj.clone()),
                (native.inverse().unwrap(), proj.inverse().unwrap()),
            ] {
                let input = parcels(5_000);
                let (mut x, mut y) = (input.clone(), input.clone());
                let sa = a.transform_multipolygons(&mut x).unwrap();
                let sb = b.transform_multipolygons(&mut y).unwrap();
                assert_eq!(sa, sb);
                let flat = |g: &[Option<MultiPolygon<f64>>]| -> Vec<Coord<f64>> {
                    g.iter()
                        .flatten()
                        .flat_map(|mp| mp.0.iter())
                        .flat_map(|p| {
                            p.exterior()
                                .0
                                .iter()
                                .chain(p.interiors().iter().flat_map(|r| r.0.iter()))
                        })
                        .copied()
                        .collect()
                };
                let d = max_diff(&flat(&x), &flat(&y));
                assert!(d <= 1e-6, "{d}");
                assert!(max_diff(&flat(&x), &flat(&input)) > 1.0);
            }
        }
    }

    #[test]
    fn unsupported_pipelines_and_proj_only_stay_on_proj() {
        // a PROJ database operation (axisswap/unitconvert/somerc...): not parsed
        let op = Operation::new(&CrsRef::Epsg(2056), &CrsRef::Epsg(32632), None, opts()).unwrap();
        assert_eq!(op.evaluator(), Evaluator::Proj);
        assert!(Native::parse(&op.definition.0).is_none());
        // a hand-made pipeline with a step the native module does not know
        let mut odd = Operation::from_params(&seven(Convention::PositionVector)).unwrap();
        odd.definition = Secret(format!(
            "{} +step +proj=axisswap +order=1,2",
            odd.definition.0
        ));
        let odd = odd.with_native(false);
        assert_eq!(odd.evaluator(), Evaluator::Proj);
        let pts = laiwu(4);
        assert!(max_diff(&run(&odd, &pts), &cct(&odd.definition.0, &pts, false)) < 0.001);
        // the switch
        let op = Operation::from_params(&seven(Convention::PositionVector)).unwrap();
        assert_eq!(op.evaluator(), Evaluator::Native);
        assert_eq!(op.clone().with_native(true).evaluator(), Evaluator::Proj);
        assert_eq!(op.inverse().unwrap().evaluator(), Evaluator::Native);
        assert!(op.transformer().unwrap().native().is_some());
        for (v, want) in [
            (None, false),
            (Some(""), false),
            (Some("0"), false),
            (Some("1"), true),
            (Some("yes"), true),
        ] {
            assert_eq!(proj_only_value(v), want, "{v:?}");
        }
        // a verification that fails (another definition than the one verified) is not used
        let mut wrong = Operation::from_params(&seven(Convention::PositionVector)).unwrap();
        let native = Native::parse(
            &Operation::from_params(&seven(Convention::CoordinateFrame))
                .unwrap()
                .definition
                .0,
        )
        .unwrap();
        let (s, t) = (wrong.report.source.clone(), wrong.report.target.clone());
        assert!(wrong
            .native_deviation(&native, &s, &t)
            .is_none_or(|d| d > 1.0));
        wrong.native = None;
        assert_eq!(wrong.evaluator(), Evaluator::Proj);
    }

    #[test]
    fn native_failures_are_proj_failures() {
        let native = Operation::from_params(&seven(Convention::PositionVector)).unwrap();
        let proj = native.clone().with_native(true);
        for bad in [
            Coord {
                x: f64::NAN,
                y: 4e6,
            },
            Coord { x: 1e12, y: 4e6 },
            Coord { x: 5e5, y: 1e9 },
        ] {
            for (a, b) in [
                (native.clone(), proj.clone()),
                (native.inverse().unwrap(), proj.inverse().unwrap()),
            ] {
                let mut x = laiwu(4);
                x[7] = bad;
                let mut y = x.clone();
                let ea = a.transform_coords(&mut x).map_err(|e| e.to_string());
                let eb = b.transform_coords(&mut y).map_err(|e| e.to_string());
                println!("{bad:?}: {ea:?}");
                assert_eq!(ea, eb);
                match ea {
                    Err(e) => assert!(e.contains("coordinate 7"), "{e}"),
                    Ok(_) => assert!(max_diff(&x[7..], &y[7..]) < 1e-6),
                }
                assert!(max_diff(&x[..7], &y[..7]) < 1e-6);
            }
        }
    }
}
