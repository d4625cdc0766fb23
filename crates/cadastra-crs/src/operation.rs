//! [`Operation`]: one explicit, checked coordinate operation between two plane grids.
//!
//! Datum changes are built as explicit PROJ pipelines from operator parameters; PROJ is never
//! left to pick a "ballpark" no-op silently (CRS-05). The pipeline text holds the secret
//! parameters: it lives in a redacted, zeroed-on-drop buffer and is only handed to PROJ.

use crate::crs::{crs_info, CrsInfo, CrsRef};
use crate::error::CrsError;
use crate::params::{OperatorParams, Values, PARAMS_ENV};
use crate::pj::{Direction, Pj};
use crate::transform::{self, Engine, TransformStats};
use crate::{finding, Convention};
use cadastra_model::{Finding, Severity};
use geo_types::{Coord, Geometry, MultiPolygon, Point};
use std::fmt;
use std::path::Path;

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
}

impl fmt::Debug for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Operation")
            .field("report", &self.report)
            .field("direction", &self.direction)
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
    /// - same CRS: identity; same datum: projection change only (parameters ignored);
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

    /// The operation its parameters describe (parameter source → parameter target).
    pub fn from_params(params: &OperatorParams) -> Result<Operation, CrsError> {
        Operation::new(
            params.source(),
            params.target(),
            Some(params),
            OperationOptions::default(),
        )
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
        }
    }

    /// A single-threaded transformer holding one PROJ object, for many small calls.
    pub fn transformer(&self) -> Result<Transformer, CrsError> {
        Ok(Transformer {
            pj: self.engine().instantiate()?,
            direction: self.direction,
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
        self.engine()
            .for_each(geoms, "feature", |pj, dir, g| match g {
                None => Ok(None),
                Some(mp) => transform::multipolygon(pj, dir, mp).map(Some),
            })
    }

    /// Transform any geometry in place (a `Rect` becomes a `Polygon`); `None` is skipped.
    pub fn transform_geometries(
        &self,
        geoms: &mut [Option<Geometry<f64>>],
    ) -> Result<TransformStats, CrsError> {
        self.engine()
            .for_each(geoms, "feature", |pj, dir, g| match g {
                None => Ok(None),
                Some(g) => transform::geometry(pj, dir, g).map(Some),
            })
    }
}

/// One PROJ object on the current thread, for repeated small transformations. Not `Send`.
pub struct Transformer {
    pj: Pj,
    direction: Direction,
}

impl fmt::Debug for Transformer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Transformer(<redacted>)")
    }
}

impl Transformer {
    /// Transform coordinates in place with one PROJ call; errors name the coordinate index.
    pub fn transform_coords(&self, coords: &mut [Coord<f64>]) -> Result<usize, CrsError> {
        transform::run(&self.pj, self.direction, coords).map_err(|f| CrsError::Transform {
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
        transform::geometry(&self.pj, self.direction, g).map_err(|f| CrsError::Transform {
            item: "vertex",
            index: f.offset,
            reason: f.message,
        })
    }
}
