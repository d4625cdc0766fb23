//! Least-squares fitting of 4- and 7-parameter transformations from control points (公共点),
//! the library behind `cadastra crs fit`.
//!
//! - 4p: closed-form linear least squares of the plane similarity PROJ applies
//!   (`E' = dx + a·E + b·N`, `N' = dy − b·E + a·N`, `a = k cos α`, `b = k sin α`).
//! - 7p: Bursa-Wolf on geocentric coordinates. Plane coordinates go through the source/target
//!   GK projections and ellipsoids (heights from `src_h`/`dst_h` when given, else 0). With the
//!   source centroid removed, PROJ's model `X' = T + (1+s)·R·X` (R linearised, as PROJ applies
//!   it) is linear in (T', 1+s, (1+s)·r): solved by Householder QR, then refined iteratively.
//!
//! Residuals are computed by running the fitted parameters through the same PROJ pipeline a run
//! uses, so the report shows what the migration will do. The report never shows parameter
//! values or control-point coordinates (the pairs would reveal the parameters): names and
//! residuals only. [`FitReport::write_params`] is the only way the values leave.

use crate::crs::{crs_info, CrsInfo, CrsRef};
use crate::error::CrsError;
use crate::finding;
use crate::operation::{Operation, OperationOptions};
use crate::params::{Convention, FourParams, Model, OperatorParams, SevenParams};
use crate::pj::{Direction, Pj};
use cadastra_model::{Finding, Severity};
use geo_types::Coord;
use std::collections::HashMap;
use std::fmt;
use std::path::Path;

const ARCSEC_PER_RAD: f64 = 180.0 / std::f64::consts::PI * 3600.0;

/// A common point known in both systems, easting/northing in metres.
#[derive(Clone, PartialEq)]
pub struct ControlPoint {
    pub name: String,
    pub src: Coord<f64>,
    pub dst: Coord<f64>,
    /// ellipsoidal heights, metres (7p only; 0 when absent)
    pub src_h: Option<f64>,
    pub dst_h: Option<f64>,
    /// line in the CSV file (0 for points built in memory)
    pub line: u64,
}

impl ControlPoint {
    /// A point built in memory.
    pub fn new(name: &str, src: Coord<f64>, dst: Coord<f64>) -> ControlPoint {
        ControlPoint {
            name: name.to_string(),
            src,
            dst,
            src_h: None,
            dst_h: None,
            line: 0,
        }
    }
}

impl fmt::Debug for ControlPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ControlPoint")
            .field("name", &self.name)
            .field("line", &self.line)
            .field("coordinates", &"<redacted>")
            .finish()
    }
}

/// Which survey axis is north in `src_x,src_y,dst_x,dst_y` files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SurveyAxes {
    /// Chinese survey convention: X = north, Y = east
    XNorth,
    /// X = east, Y = north
    XEast,
}

fn decode(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        // legacy Chinese CSV from Excel: GBK / GB18030
        Err(_) => encoding_rs::GB18030.decode(bytes).0.into_owned(),
    }
}

/// Read control points from a CSV file. Header `name,src_e,src_n,dst_e,dst_n` (optional
/// `src_h,dst_h`; other columns ignored), or `name,src_x,src_y,dst_x,dst_y` when `axes` says
/// which is north. UTF-8 (with or without BOM) or GB18030.
pub fn read_control_points(
    path: &Path,
    axes: Option<SurveyAxes>,
) -> Result<Vec<ControlPoint>, CrsError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| CrsError::ControlPoints {
        file: file.clone(),
        line: 0,
        reason: format!("cannot read: {e}"),
    })?;
    parse_control_points(&bytes, &file, axes)
}

/// Parse control-point CSV bytes; `file` names them in errors. See [`read_control_points`].
pub fn parse_control_points(
    bytes: &[u8],
    file: &str,
    axes: Option<SurveyAxes>,
) -> Result<Vec<ControlPoint>, CrsError> {
    let text = decode(bytes);
    let err = |line: u64, reason: String| CrsError::ControlPoints {
        file: file.to_string(),
        line,
        reason,
    };
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = rdr
        .headers()
        .map_err(|e| err(1, format!("unreadable header: {e}")))?
        .iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    let col = |name: &str| header.iter().position(|h| h == name);
    let need = |name: &str| col(name).ok_or_else(|| err(1, format!("missing column `{name}`")));
    let name_i = need("name")?;
    let enu = ["src_e", "src_n", "dst_e", "dst_n"].map(col);
    let xy = ["src_x", "src_y", "dst_x", "dst_y"].map(col);
    // column indices of src_e, src_n, dst_e, dst_n and their header names
    let (idx, names): ([usize; 4], [&str; 4]) = if let [Some(a), Some(b), Some(c), Some(d)] = enu {
        ([a, b, c, d], ["src_e", "src_n", "dst_e", "dst_n"])
    } else if let [Some(x1), Some(y1), Some(x2), Some(y2)] = xy {
        match axes {
            None => {
                return Err(CrsError::AmbiguousAxes {
                    file: file.to_string(),
                })
            }
            Some(SurveyAxes::XNorth) => ([y1, x1, y2, x2], ["src_y", "src_x", "dst_y", "dst_x"]),
            Some(SurveyAxes::XEast) => ([x1, y1, x2, y2], ["src_x", "src_y", "dst_x", "dst_y"]),
        }
    } else {
        let missing = ["src_e", "src_n", "dst_e", "dst_n"]
            .into_iter()
            .find(|c| col(c).is_none())
            .unwrap_or("src_e");
        return Err(err(
            1,
            format!("missing column `{missing}` (expected name,src_e,src_n,dst_e,dst_n)"),
        ));
    };
    let (sh, dh) = (col("src_h"), col("dst_h"));
    // the csv crate does not count skipped blank lines: derive line numbers from byte offsets
    let line_of = |pos: Option<&csv::Position>| -> u64 {
        pos.map(|p| {
            let b = text.as_bytes();
            let mut end = (p.byte() as usize).min(b.len());
            // a record's position may point at blank lines before it
            while end < b.len() && (b[end] == b'\n' || b[end] == b'\r') {
                end += 1;
            }
            b[..end].iter().filter(|b| **b == b'\n').count() as u64 + 1
        })
        .unwrap_or(0)
    };
    let mut out: Vec<ControlPoint> = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| err(line_of(e.position()), "unreadable record".to_string()))?;
        let line = line_of(rec.position());
        if rec.iter().all(str::is_empty) {
            continue;
        }
        let name = rec.get(name_i).unwrap_or("").to_string();
        if name.is_empty() {
            return Err(err(line, "empty point name".into()));
        }
        // values are not quoted back: control-point pairs are as sensitive as the parameters
        let num = |i: usize, col_name: &str| -> Result<f64, CrsError> {
            let v = rec.get(i).unwrap_or("");
            v.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| {
                    err(
                        line,
                        format!("point {name:?}: `{col_name}` is not a number"),
                    )
                })
        };
        let opt = |i: Option<usize>, col_name: &str| -> Result<Option<f64>, CrsError> {
            match i.map(|i| rec.get(i).unwrap_or("")) {
                None | Some("") => Ok(None),
                Some(_) => num(i.unwrap_or(0), col_name).map(Some),
            }
        };
        let p = ControlPoint {
            src: Coord {
                x: num(idx[0], names[0])?,
                y: num(idx[1], names[1])?,
            },
            dst: Coord {
                x: num(idx[2], names[2])?,
                y: num(idx[3], names[3])?,
            },
            src_h: opt(sh, "src_h")?,
            dst_h: opt(dh, "dst_h")?,
            line,
            name: name.clone(),
        };
        if let Some(first) = seen.insert(name.clone(), line) {
            return Err(CrsError::DuplicatePoint {
                name,
                first,
                second: line,
            });
        }
        out.push(p);
    }
    Ok(out)
}

/// CRS-06 thresholds on the total residual of a control point (metres).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    /// above this: W (default 0.05 m, class-1 boundary-point error)
    pub warn_m: f64,
    /// above this: E (default 0.10 m)
    pub error_m: f64,
}

impl Default for Tolerance {
    fn default() -> Tolerance {
        Tolerance {
            warn_m: 0.05,
            error_m: 0.10,
        }
    }
}

/// What to fit.
#[derive(Debug, Clone, PartialEq)]
pub struct FitSpec {
    pub model: Model,
    /// 7p: the convention to write; `None` fits both and recommends one
    pub convention: Option<Convention>,
    /// the grid of `src_e/src_n` (EPSG for 7p; EPSG or local for 4p)
    pub source: CrsRef,
    /// the grid of `dst_e/dst_n`
    pub target: CrsRef,
    pub tolerance: Tolerance,
}

impl FitSpec {
    pub fn new(model: Model, source: CrsRef, target: CrsRef) -> FitSpec {
        FitSpec {
            model,
            convention: None,
            source,
            target,
            tolerance: Tolerance::default(),
        }
    }
}

/// One control point's residual: observed target minus transformed source, metres.
#[derive(Debug, Clone, PartialEq)]
pub struct Residual {
    pub name: String,
    pub line: u64,
    pub de: f64,
    pub dn: f64,
    pub total: f64,
    /// CRS-06 flag: W above `warn_m`, E above `error_m`
    pub flag: Option<Severity>,
}

/// The outcome of a fit. Printing it (`Debug`, [`FitReport::residual_table`]) never shows
/// parameter values; [`FitReport::write_params`] writes them to the operator file.
#[derive(Debug, Clone)]
pub struct FitReport {
    pub model: Model,
    /// the convention written (7p)
    pub convention: Option<Convention>,
    pub source: CrsRef,
    pub target: CrsRef,
    pub residuals: Vec<Residual>,
    /// RMS of dE, of dN, and of the total (√(dE²+dN²)) over all points, metres
    pub rms_e: f64,
    pub rms_n: f64,
    pub rms: f64,
    pub max: f64,
    /// observations minus unknowns (0: residuals prove nothing)
    pub redundancy: usize,
    /// 7p without a stated convention: total RMS obtained with each convention
    pub convention_trials: Vec<(Convention, f64)>,
    pub tolerance: Tolerance,
    pub notes: Vec<String>,
    params: OperatorParams,
}

impl FitReport {
    /// The fitted parameters (for in-memory use; their `Debug` is redacted).
    pub fn params(&self) -> &OperatorParams {
        &self.params
    }

    /// Write the parameter file a run uses (mode 0600 on Unix).
    pub fn write_params(&self, path: &Path) -> Result<(), CrsError> {
        let conv = self
            .convention
            .map(|c| format!(", convention {c}"))
            .unwrap_or_default();
        let comment = format!(
            "fitted by cadastra from {} control points: model {}{conv}, RMS {:.4} m, max {:.4} m",
            self.residuals.len(),
            self.model,
            self.rms,
            self.max
        );
        self.params.write(path, &comment)
    }

    /// Residuals flagged by CRS-06.
    pub fn flagged(&self) -> impl Iterator<Item = &Residual> {
        self.residuals.iter().filter(|r| r.flag.is_some())
    }

    /// A plain-text residual table (names and residuals only, no parameters, no coordinates).
    pub fn residual_table(&self) -> String {
        let mut s = format!(
            "{} fit {} → {}: {} points, redundancy {}\n",
            self.model,
            self.source,
            self.target,
            self.residuals.len(),
            self.redundancy
        );
        s.push_str(&format!(
            "{:<16} {:>10} {:>10} {:>10}  flag\n",
            "point", "dE (m)", "dN (m)", "total (m)"
        ));
        for r in &self.residuals {
            s.push_str(&format!(
                "{:<16} {:>10.4} {:>10.4} {:>10.4}  {}\n",
                r.name,
                r.de,
                r.dn,
                r.total,
                r.flag.map(|f| format!("CRS-06 {f}")).unwrap_or_default()
            ));
        }
        s.push_str(&format!(
            "RMS dE {:.4} m, dN {:.4} m, total {:.4} m; max {:.4} m (W > {} m, E > {} m)\n",
            self.rms_e,
            self.rms_n,
            self.rms,
            self.max,
            self.tolerance.warn_m,
            self.tolerance.error_m
        ));
        for (c, rms) in &self.convention_trials {
            s.push_str(&format!("convention {c}: RMS {rms:.4} m\n"));
        }
        for n in &self.notes {
            s.push_str(n);
            s.push('\n');
        }
        s
    }

    /// CRS-06 findings, one per flagged point (feature key = point name, value = total residual).
    pub fn findings(&self, layer: &str) -> Vec<Finding> {
        self.flagged()
            .map(|r| {
                let (sub, sev, tol) = match r.flag {
                    Some(Severity::E) => ("E01", Severity::E, self.tolerance.error_m),
                    _ => ("W01", Severity::W, self.tolerance.warn_m),
                };
                let mut f = finding(
                    "CRS-06",
                    sub,
                    sev,
                    layer,
                    format!(
                        "控制点 {} 转换残差 {:.3} m 超过 {tol} m (dE {:.3}, dN {:.3})",
                        r.name, r.total, r.de, r.dn
                    ),
                    format!(
                        "control point {} residual {:.3} m exceeds {tol} m (dE {:.3}, dN {:.3})",
                        r.name, r.total, r.de, r.dn
                    ),
                );
                f.feature_key = r.name.clone();
                f.value = Some(r.total);
                f.tolerance = Some(tol);
                f
            })
            .collect()
    }
}

/// Least squares `min |A x − b|` for a small dense system (row-major `m × n`, `n` ≤ 8) by
/// Householder QR with column scaling; `None` when the columns are (nearly) dependent.
fn lstsq(a: &[f64], m: usize, n: usize, b: &[f64]) -> Option<Vec<f64>> {
    if m < n || a.len() != m * n || b.len() != m {
        return None;
    }
    let mut r = a.to_vec();
    let mut y = b.to_vec();
    let mut scale = vec![0.0; n];
    for (j, s) in scale.iter_mut().enumerate() {
        *s = (0..m).map(|i| r[i * n + j].powi(2)).sum::<f64>().sqrt();
        if *s == 0.0 || !s.is_finite() {
            return None;
        }
        for i in 0..m {
            r[i * n + j] /= *s;
        }
    }
    let mut diag = vec![0.0; n];
    for k in 0..n {
        let norm = (k..m).map(|i| r[i * n + k].powi(2)).sum::<f64>().sqrt();
        if norm < 1e-12 {
            return None;
        }
        let alpha = if r[k * n + k] > 0.0 { -norm } else { norm };
        let mut v: Vec<f64> = (k..m).map(|i| r[i * n + k]).collect();
        v[0] -= alpha;
        let vv: f64 = v.iter().map(|x| x * x).sum();
        if vv == 0.0 {
            diag[k] = alpha;
            continue;
        }
        for j in k..n {
            let dot: f64 = (k..m).map(|i| v[i - k] * r[i * n + j]).sum();
            let f = 2.0 * dot / vv;
            for i in k..m {
                r[i * n + j] -= f * v[i - k];
            }
        }
        let dot: f64 = (k..m).map(|i| v[i - k] * y[i]).sum();
        let f = 2.0 * dot / vv;
        for i in k..m {
            y[i] -= f * v[i - k];
        }
        diag[k] = alpha;
    }
    let dmax = diag.iter().fold(0.0f64, |acc, d| acc.max(d.abs()));
    if diag.iter().any(|d| d.abs() < 1e-9 * dmax) {
        return None;
    }
    let mut x = vec![0.0; n];
    for k in (0..n).rev() {
        let s: f64 = ((k + 1)..n).map(|j| r[k * n + j] * x[j]).sum();
        x[k] = (y[k] - s) / r[k * n + k];
    }
    for (xj, s) in x.iter_mut().zip(&scale) {
        *xj /= s;
    }
    Some(x)
}

/// Least squares with iterative refinement (a second solve on the residual).
fn lstsq_refined(a: &[f64], m: usize, n: usize, b: &[f64]) -> Option<Vec<f64>> {
    let mut x = lstsq(a, m, n, b)?;
    for _ in 0..3 {
        let res: Vec<f64> = (0..m)
            .map(|i| b[i] - (0..n).map(|j| a[i * n + j] * x[j]).sum::<f64>())
            .collect();
        let dx = lstsq(a, m, n, &res)?;
        let big = dx
            .iter()
            .zip(&x)
            .any(|(d, v)| d.abs() > 1e-15 * v.abs().max(1.0));
        for (v, d) in x.iter_mut().zip(&dx) {
            *v += d;
        }
        if !big {
            break;
        }
    }
    Some(x)
}

/// Width of the point cloud across its main direction, relative to its length (0 = collinear).
fn flatness(pts: &[Coord<f64>]) -> (f64, f64) {
    let n = pts.len() as f64;
    let (mx, my) = pts
        .iter()
        .fold((0.0, 0.0), |(a, b), c| (a + c.x / n, b + c.y / n));
    let (mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0);
    for c in pts {
        let (dx, dy) = (c.x - mx, c.y - my);
        sxx += dx * dx;
        syy += dy * dy;
        sxy += dx * dy;
    }
    let tr = sxx + syy;
    let det = sxx * syy - sxy * sxy;
    let disc = (tr * tr / 4.0 - det).max(0.0).sqrt();
    let (l1, l2) = (tr / 2.0 + disc, (tr / 2.0 - disc).max(0.0));
    ((l1 / n).sqrt(), (l2 / n).sqrt())
}

fn fit_four(points: &[ControlPoint]) -> Result<FourParams, CrsError> {
    let n = points.len() as f64;
    let mean = |f: &dyn Fn(&ControlPoint) -> f64| points.iter().map(f).sum::<f64>() / n;
    let (se, sn) = (mean(&|p| p.src.x), mean(&|p| p.src.y));
    let (de, dn) = (mean(&|p| p.dst.x), mean(&|p| p.dst.y));
    let (mut num_a, mut num_b, mut den) = (0.0, 0.0, 0.0);
    for p in points {
        let (u, v) = (p.src.x - se, p.src.y - sn);
        let (uu, vv) = (p.dst.x - de, p.dst.y - dn);
        num_a += u * uu + v * vv;
        num_b += v * uu - u * vv;
        den += u * u + v * v;
    }
    if den < 1e-6 {
        return Err(CrsError::DegenerateGeometry {
            model: "4p",
            reason: "all control points coincide in the source grid".into(),
        });
    }
    let (a, b) = (num_a / den, num_b / den);
    Ok(FourParams {
        dx: de - a * se - b * sn,
        dy: dn + b * se - a * sn,
        scale: a.hypot(b),
        rotation: b.atan2(a) * ARCSEC_PER_RAD,
    })
}

/// Plane (E, N, h) → geocentric (X, Y, Z) of a grid, through PROJ.
fn to_geocentric(
    info: &CrsInfo,
    pts: impl Iterator<Item = (Coord<f64>, f64)>,
) -> Result<Vec<[f64; 3]>, CrsError> {
    let def = format!(
        "+proj=pipeline +step +inv {} +step +proj=cart {}",
        info.projection_step(),
        info.ellipsoid_tokens()
    );
    let pj = Pj::from_definition(&def).map_err(|e| CrsError::Proj {
        what: format!("the geocentric conversion of EPSG:{}", info.epsg),
        message: e.0,
    })?;
    let (mut x, mut y, mut z) = (Vec::new(), Vec::new(), Vec::new());
    for (c, h) in pts {
        x.push(c.x);
        y.push(c.y);
        z.push(h);
    }
    pj.trans_xyz(&mut x, &mut y, &mut z, Direction::Forward)
        .map_err(|f| CrsError::DegenerateGeometry {
            model: "7p",
            reason: format!(
                "control point #{} cannot be converted: {}",
                f.index + 1,
                f.message
            ),
        })?;
    Ok((0..x.len()).map(|i| [x[i], y[i], z[i]]).collect())
}

fn heights(
    points: &[ControlPoint],
    side: &str,
    get: fn(&ControlPoint) -> Option<f64>,
) -> Result<Vec<f64>, CrsError> {
    let some = points.iter().filter(|p| get(p).is_some()).count();
    if some != 0 && some != points.len() {
        let p = points.iter().find(|p| get(p).is_none());
        return Err(CrsError::ControlPoints {
            file: "control points".into(),
            line: p.map(|p| p.line).unwrap_or(0),
            reason: format!(
                "point {:?} has no {side} height while others have one",
                p.map(|p| p.name.as_str()).unwrap_or("")
            ),
        });
    }
    Ok(points.iter().map(|p| get(p).unwrap_or(0.0)).collect())
}

fn fit_seven(
    points: &[ControlPoint],
    src: &CrsInfo,
    dst: &CrsInfo,
) -> Result<SevenParams, CrsError> {
    let hs = heights(points, "source", |p| p.src_h)?;
    let hd = heights(points, "target", |p| p.dst_h)?;
    let xs = to_geocentric(src, points.iter().map(|p| p.src).zip(hs))?;
    let xd = to_geocentric(dst, points.iter().map(|p| p.dst).zip(hd))?;
    let n = xs.len();
    let mut c0 = [0.0; 3];
    let mut c1 = [0.0; 3];
    for i in 0..n {
        for k in 0..3 {
            c0[k] += xs[i][k] / n as f64;
            c1[k] += xd[i][k] / n as f64;
        }
    }
    // unknowns: t' (3), mu, q (3); X'_i - c1 = t' + mu d_i + q × d_i, d_i = X_i - c0
    let (m, cols) = (3 * n, 7);
    let mut a = vec![0.0; m * cols];
    let mut b = vec![0.0; m];
    for i in 0..n {
        let d = [xs[i][0] - c0[0], xs[i][1] - c0[1], xs[i][2] - c0[2]];
        // q × d = (qy dz − qz dy, qz dx − qx dz, qx dy − qy dx)
        let rows = [
            [1.0, 0.0, 0.0, d[0], 0.0, d[2], -d[1]],
            [0.0, 1.0, 0.0, d[1], -d[2], 0.0, d[0]],
            [0.0, 0.0, 1.0, d[2], d[1], -d[0], 0.0],
        ];
        for (k, row) in rows.iter().enumerate() {
            a[(3 * i + k) * cols..(3 * i + k + 1) * cols].copy_from_slice(row);
            b[3 * i + k] = xd[i][k] - c1[k];
        }
    }
    let x = lstsq_refined(&a, m, cols, &b).ok_or_else(|| CrsError::DegenerateGeometry {
        model: "7p",
        reason: "the control points do not determine 7 parameters (collinear or too concentrated)"
            .into(),
    })?;
    let (tp, mu, q) = ([x[0], x[1], x[2]], x[3], [x[4], x[5], x[6]]);
    // T = c1 + t' − mu c0 − q × c0
    let qxc = [
        q[1] * c0[2] - q[2] * c0[1],
        q[2] * c0[0] - q[0] * c0[2],
        q[0] * c0[1] - q[1] * c0[0],
    ];
    let t: Vec<f64> = (0..3)
        .map(|k| c1[k] + tp[k] - mu * c0[k] - qxc[k])
        .collect();
    // position-vector rotations
    Ok(SevenParams {
        tx: t[0],
        ty: t[1],
        tz: t[2],
        rx: q[0] / mu * ARCSEC_PER_RAD,
        ry: q[1] / mu * ARCSEC_PER_RAD,
        rz: q[2] / mu * ARCSEC_PER_RAD,
        ds: (mu - 1.0) * 1e6,
    })
}

/// The same physical transformation expressed in `conv` (rotations flip sign for coordinate frame).
fn in_convention(pv: SevenParams, conv: Convention) -> SevenParams {
    match conv {
        Convention::PositionVector => pv,
        Convention::CoordinateFrame => SevenParams {
            rx: -pv.rx,
            ry: -pv.ry,
            rz: -pv.rz,
            ..pv
        },
    }
}

/// Residuals of `params` on `points`, through the PROJ pipeline a run uses.
fn residuals(
    params: &OperatorParams,
    points: &[ControlPoint],
    tol: Tolerance,
) -> Result<Vec<Residual>, CrsError> {
    let op = Operation::new(
        params.source(),
        params.target(),
        Some(params),
        OperationOptions::default(),
    )?;
    let t = op.transformer()?;
    let mut x: Vec<f64> = points.iter().map(|p| p.src.x).collect();
    let mut y: Vec<f64> = points.iter().map(|p| p.src.y).collect();
    let mut z: Vec<f64> = points.iter().map(|p| p.src_h.unwrap_or(0.0)).collect();
    t.trans_xyz(&mut x, &mut y, &mut z)
        .map_err(|f| CrsError::Transform {
            item: "control point",
            index: f.index,
            reason: f.message,
        })?;
    Ok(points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let (de, dn) = (p.dst.x - x[i], p.dst.y - y[i]);
            let total = de.hypot(dn);
            let flag = if total > tol.error_m {
                Some(Severity::E)
            } else if total > tol.warn_m {
                Some(Severity::W)
            } else {
                None
            };
            Residual {
                name: p.name.clone(),
                line: p.line,
                de,
                dn,
                total,
                flag,
            }
        })
        .collect())
}

fn rms(res: &[Residual]) -> (f64, f64, f64, f64) {
    let n = res.len().max(1) as f64;
    let e = (res.iter().map(|r| r.de * r.de).sum::<f64>() / n).sqrt();
    let nn = (res.iter().map(|r| r.dn * r.dn).sum::<f64>() / n).sqrt();
    let t = (res.iter().map(|r| r.total * r.total).sum::<f64>() / n).sqrt();
    let max = res.iter().fold(0.0f64, |a, r| a.max(r.total));
    (e, nn, t, max)
}

/// Fit a 4- or 7-parameter transformation from control points.
///
/// Errors: too few points (4p: 2, 7p: 3), duplicate names, coincident (4p) or collinear (7p)
/// points, a 7p fit with a local grid, unknown CRSs.
pub fn fit(points: &[ControlPoint], spec: &FitSpec) -> Result<FitReport, CrsError> {
    let (need, unknowns, obs_per_point) = match spec.model {
        Model::FourParam => (2, 4, 2),
        Model::SevenParam => (3, 7, 3),
    };
    let model_name = spec.model.as_str();
    if points.len() < need {
        return Err(CrsError::TooFewPoints {
            model: model_name,
            need,
            got: points.len(),
        });
    }
    let mut seen: HashMap<&str, u64> = HashMap::new();
    for p in points {
        if let Some(first) = seen.insert(&p.name, p.line) {
            return Err(CrsError::DuplicatePoint {
                name: p.name.clone(),
                first,
                second: p.line,
            });
        }
    }
    let src_plane: Vec<Coord<f64>> = points.iter().map(|p| p.src).collect();
    let (length, width) = flatness(&src_plane);
    let mut notes = Vec::new();
    let mut trials = Vec::new();
    let (params, convention) = match spec.model {
        Model::FourParam => {
            if width < 1e-3 * length {
                notes.push("control points are (nearly) collinear: the fit holds along their line; check it across".into());
            }
            let p = fit_four(points)?;
            (
                OperatorParams::four(spec.source.clone(), spec.target.clone(), p),
                None,
            )
        }
        Model::SevenParam => {
            let (CrsRef::Epsg(s), CrsRef::Epsg(t)) = (&spec.source, &spec.target) else {
                return Err(CrsError::DegenerateGeometry {
                    model: "7p",
                    reason:
                        "a 7-parameter fit needs EPSG grids on both sides (local grids: use 4p)"
                            .into(),
                });
            };
            if length < 1.0 || width < 1e-3 * length {
                return Err(CrsError::DegenerateGeometry {
                    model: "7p",
                    reason: format!(
                        "control points are collinear or coincide (spread {length:.1} m by {width:.1} m): rotations about their line are undetermined"
                    ),
                });
            }
            let (si, ti) = (crs_info(*s)?, crs_info(*t)?);
            let pv = fit_seven(points, &si, &ti)?;
            let make = |c: Convention| {
                OperatorParams::seven(
                    spec.source.clone(),
                    spec.target.clone(),
                    c,
                    in_convention(pv, c),
                )
            };
            let chosen = match spec.convention {
                Some(c) => c,
                None => {
                    // fit in both conventions and keep the one with smaller residuals; for a free
                    // fit they agree (the conventions differ only in the sign of the rotations)
                    let mut best = (Convention::PositionVector, f64::INFINITY);
                    for c in [Convention::PositionVector, Convention::CoordinateFrame] {
                        let r = rms(&residuals(&make(c), points, spec.tolerance)?).2;
                        trials.push((c, r));
                        if r < best.1 - 1e-6 {
                            best = (c, r);
                        }
                    }
                    notes.push(format!(
                        "no convention stated: fitted both, kept {} (a free fit expresses the same transformation in either convention, with rotations of opposite sign; the choice matters for parameter sheets, see choose_convention)",
                        best.0
                    ));
                    best.0
                }
            };
            (make(chosen), Some(chosen))
        }
    };
    let residuals = residuals(&params, points, spec.tolerance)?;
    let (rms_e, rms_n, rms_t, max) = rms(&residuals);
    let redundancy = (obs_per_point * points.len()).saturating_sub(unknowns);
    if redundancy == 0 {
        notes.push("no redundancy: residuals are zero by construction and prove nothing".into());
    }
    if spec.model == Model::SevenParam && points.iter().all(|p| p.dst_h.is_none()) {
        notes.push("no heights given: both sides taken at height 0 (horizontal results are what a run does; the parameters absorb the height difference)".into());
    }
    Ok(FitReport {
        model: spec.model,
        convention,
        source: spec.source.clone(),
        target: spec.target.clone(),
        residuals,
        rms_e,
        rms_n,
        rms: rms_t,
        max,
        redundancy,
        convention_trials: trials,
        tolerance: spec.tolerance,
        notes,
        params,
    })
}

/// Which convention a 7-parameter sheet follows, judged on control points.
#[derive(Debug, Clone, PartialEq)]
pub struct ConventionCheck {
    /// total RMS with the sheet read as position vector / coordinate frame, metres
    pub rms_position_vector: f64,
    pub rms_coordinate_frame: f64,
    pub recommended: Convention,
}

/// Apply a 7-parameter sheet of unknown convention under both conventions to control points and
/// recommend the one with smaller residuals (domain-brief §5.3).
pub fn choose_convention(
    params: &OperatorParams,
    points: &[ControlPoint],
) -> Result<ConventionCheck, CrsError> {
    if params.model() != Model::SevenParam {
        return Err(CrsError::DegenerateGeometry {
            model: "4p",
            reason: "a 4-parameter set has no rotation convention".into(),
        });
    }
    if points.is_empty() {
        return Err(CrsError::TooFewPoints {
            model: "7p",
            need: 1,
            got: 0,
        });
    }
    let tol = Tolerance::default();
    let pv = rms(&residuals(
        &params.with_convention(Convention::PositionVector),
        points,
        tol,
    )?)
    .2;
    let cf = rms(&residuals(
        &params.with_convention(Convention::CoordinateFrame),
        points,
        tol,
    )?)
    .2;
    Ok(ConventionCheck {
        rms_position_vector: pv,
        rms_coordinate_frame: cf,
        recommended: if cf < pv {
            Convention::CoordinateFrame
        } else {
            Convention::PositionVector
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    const BJ54: CrsRef = CrsRef::Epsg(2436);
    const CGCS: CrsRef = CrsRef::Epsg(4548);

    const P7: SevenParams = SevenParams {
        tx: 24.815,
        ty: -131.207,
        tz: -83.694,
        rx: 1.2431,
        ry: -0.9127,
        rz: 2.1345,
        ds: 3.417,
    };

    const P4: FourParams = FourParams {
        dx: 480_113.274,
        dy: 3_950_212.918,
        scale: 1.000_021_37,
        rotation: -27.815,
    };

    /// Control-point positions spread over Laiwu (source grid), with names.
    fn sites(n: usize, rng: &mut ChaCha8Rng) -> Vec<(String, Coord<f64>, f64)> {
        (0..n)
            .map(|i| {
                let c = Coord {
                    x: 527_000.0 + rng.random::<f64>() * 58_000.0,
                    y: 3_990_000.0 + rng.random::<f64>() * 60_000.0,
                };
                (
                    format!("GP{:02}", i + 1),
                    c,
                    150.0 + rng.random::<f64>() * 700.0,
                )
            })
            .collect()
    }

    fn gauss(rng: &mut ChaCha8Rng, sigma: f64) -> f64 {
        let (u1, u2): (f64, f64) = (rng.random::<f64>().max(1e-12), rng.random());
        sigma * (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// Noise-free 4p control points from the survey formula (independent of PROJ).
    fn four_points(n: usize, seed: u64) -> Vec<ControlPoint> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let a = P4.rotation / ARCSEC_PER_RAD;
        sites(n, &mut rng)
            .into_iter()
            .map(|(name, s, _)| {
                // local grid: a city grid roughly 480 km / 3950 km off the national one
                let src = Coord {
                    x: s.x - 480_000.0,
                    y: s.y - 3_950_000.0,
                };
                let (x, y) = (src.y, src.x); // survey X north, Y east
                let dst = Coord {
                    x: P4.dx + P4.scale * (x * a.sin() + y * a.cos()),
                    y: P4.dy + P4.scale * (x * a.cos() - y * a.sin()),
                };
                ControlPoint::new(&name, src, dst)
            })
            .collect()
    }

    /// Noise-free 7p control points: source plane + ellipsoidal height through the known
    /// pipeline; the target height is kept (a geocentric fit needs it to be exact).
    fn seven_points(n: usize, seed: u64, conv: Convention) -> Vec<ControlPoint> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let sites = sites(n, &mut rng);
        let op = Operation::from_params(&OperatorParams::seven(BJ54, CGCS, conv, P7)).unwrap();
        let t = op.transformer().unwrap();
        let mut x: Vec<f64> = sites.iter().map(|s| s.1.x).collect();
        let mut y: Vec<f64> = sites.iter().map(|s| s.1.y).collect();
        let mut z: Vec<f64> = sites.iter().map(|s| s.2).collect();
        t.trans_xyz(&mut x, &mut y, &mut z).unwrap();
        sites
            .iter()
            .enumerate()
            .map(|(i, (name, src, h))| ControlPoint {
                src_h: Some(*h),
                dst_h: Some(z[i]),
                line: i as u64 + 2,
                ..ControlPoint::new(name, *src, Coord { x: x[i], y: y[i] })
            })
            .collect()
    }

    fn spec(model: Model, src: CrsRef) -> FitSpec {
        FitSpec::new(model, src, CGCS)
    }

    #[test]
    fn four_parameters_recovered_from_noise_free_points() {
        let pts = four_points(12, 1);
        let local = CrsRef::Local("laiwu-city".into());
        let r = fit(&pts, &spec(Model::FourParam, local)).unwrap();
        let crate::params::Values::Four(p) = r.params().values else {
            panic!("4p")
        };
        assert!((p.scale - P4.scale).abs() < 1e-7, "scale");
        assert!((p.rotation - P4.rotation).abs() < 0.01, "rotation");
        assert!(
            (p.dx - P4.dx).abs() < 0.001 && (p.dy - P4.dy).abs() < 0.001,
            "shifts"
        );
        assert!(
            r.max < 0.001 && r.flagged().count() == 0,
            "{}",
            r.residual_table()
        );
        assert_eq!(r.redundancy, 20);
    }

    #[test]
    fn seven_parameters_recovered_in_both_conventions() {
        for conv in [Convention::PositionVector, Convention::CoordinateFrame] {
            let pts = seven_points(15, 2, conv);
            let mut s = spec(Model::SevenParam, BJ54);
            s.convention = Some(conv);
            let r = fit(&pts, &s).unwrap();
            assert_eq!(r.convention, Some(conv));
            let crate::params::Values::Seven(c, p) = r.params().values else {
                panic!("7p")
            };
            assert_eq!(c, conv);
            assert!((p.ds - P7.ds).abs() < 0.1, "{conv}: scale within 1e-7");
            for (got, want) in [(p.rx, P7.rx), (p.ry, P7.ry), (p.rz, P7.rz)] {
                assert!(
                    (got - want).abs() < 0.01,
                    "{conv}: rotation {got} vs {want}"
                );
            }
            for (got, want) in [(p.tx, P7.tx), (p.ty, P7.ty), (p.tz, P7.tz)] {
                assert!((got - want).abs() < 0.001, "{conv}: shift {got} vs {want}");
            }
            assert!(r.max < 0.001, "{}", r.residual_table());
        }
    }

    #[test]
    fn seven_parameters_without_a_convention_fit_both_and_say_why_they_tie() {
        let pts = seven_points(10, 3, Convention::CoordinateFrame);
        let r = fit(&pts, &spec(Model::SevenParam, BJ54)).unwrap();
        assert_eq!(r.convention_trials.len(), 2);
        let (a, b) = (r.convention_trials[0].1, r.convention_trials[1].1);
        assert!((a - b).abs() < 1e-6 && a < 0.001);
        assert_eq!(r.convention, Some(Convention::PositionVector));
        assert!(r.notes.iter().any(|n| n.contains("opposite sign")));
        // expressed in position vector, the coordinate-frame truth has negated rotations
        let crate::params::Values::Seven(_, p) = r.params().values else {
            panic!("7p")
        };
        assert!((p.rx + P7.rx).abs() < 0.01 && (p.rz + P7.rz).abs() < 0.01);
    }

    #[test]
    fn noise_is_reported_and_a_planted_outlier_flagged() {
        // 4p, 5 mm noise, one point 0.25 m off in easting
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let mut pts = four_points(20, 4);
        for p in &mut pts {
            p.dst.x += gauss(&mut rng, 0.005);
            p.dst.y += gauss(&mut rng, 0.005);
        }
        pts[7].dst.x += 0.25;
        let r = fit(&pts, &spec(Model::FourParam, CrsRef::Local(String::new()))).unwrap();
        let flagged: Vec<_> = r.flagged().map(|x| (x.name.as_str(), x.flag)).collect();
        assert_eq!(
            flagged,
            [("GP08", Some(Severity::E))],
            "{}",
            r.residual_table()
        );
        assert!(r.rms > 0.003 && r.rms < 0.1);
        let f = r.findings("control");
        assert_eq!(
            (f[0].code(), f[0].feature_key.as_str()),
            ("CRS-06-E01".into(), "GP08")
        );
        assert!(f[0].value.unwrap() > 0.1);

        // 7p without heights, 5 mm noise, one point 0.07 m off: a warning
        let mut pts = seven_points(20, 5, Convention::PositionVector);
        for p in &mut pts {
            p.src_h = None;
            p.dst_h = None;
            p.dst.x += gauss(&mut rng, 0.005);
            p.dst.y += gauss(&mut rng, 0.005);
        }
        pts[3].dst.y -= 0.08;
        let r = fit(&pts, &spec(Model::SevenParam, BJ54)).unwrap();
        let flagged: Vec<_> = r.flagged().map(|x| (x.name.as_str(), x.flag)).collect();
        assert_eq!(
            flagged,
            [("GP04", Some(Severity::W))],
            "{}",
            r.residual_table()
        );
        assert!(r.notes.iter().any(|n| n.contains("no heights")));
        let table = r.residual_table();
        assert!(
            table.contains("GP04") && table.contains("CRS-06 W"),
            "{table}"
        );
    }

    #[test]
    fn reports_never_show_parameters_and_the_file_reproduces_the_fit() {
        let pts = seven_points(8, 6, Convention::PositionVector);
        let mut s = spec(Model::SevenParam, BJ54);
        s.convention = Some(Convention::PositionVector);
        let r = fit(&pts, &s).unwrap();
        let shown = format!("{}\n{r:?}\n{:?}", r.residual_table(), pts);
        for v in ["24.81", "131.2", "83.69", "1.243", "0.912", "2.134", "3.41"] {
            assert!(!shown.contains(v), "{v} leaked:\n{shown}");
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fitted.toml");
        r.write_params(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("tx = 24.81") && text.contains("fitted by cadastra from 8"),
            "{text}"
        );
        let back = OperatorParams::load(&path).unwrap();
        let again = residuals(&back, &pts, Tolerance::default()).unwrap();
        assert_eq!(again, r.residuals);
    }

    #[test]
    fn a_sheet_of_unknown_convention_is_judged_on_control_points() {
        let pts = seven_points(6, 7, Convention::CoordinateFrame);
        // the sheet is read as position vector, but the truth is coordinate frame
        let sheet = OperatorParams::seven(BJ54, CGCS, Convention::PositionVector, P7);
        let c = choose_convention(&sheet, &pts).unwrap();
        assert_eq!(c.recommended, Convention::CoordinateFrame);
        assert!(
            c.rms_coordinate_frame < 0.001 && c.rms_position_vector > 1.0,
            "{c:?}"
        );
    }

    #[test]
    fn bad_point_sets_are_refused_with_reasons() {
        let pts = four_points(5, 8);
        let e = fit(&pts[..1], &spec(Model::FourParam, BJ54)).unwrap_err();
        assert!(
            matches!(
                e,
                CrsError::TooFewPoints {
                    need: 2,
                    got: 1,
                    ..
                }
            ),
            "{e}"
        );
        let e = fit(
            &seven_points(2, 8, Convention::PositionVector),
            &spec(Model::SevenParam, BJ54),
        )
        .unwrap_err();
        assert!(
            matches!(
                e,
                CrsError::TooFewPoints {
                    need: 3,
                    got: 2,
                    ..
                }
            ),
            "{e}"
        );
        let mut dup = pts.clone();
        dup[3].name = dup[1].name.clone();
        let e = fit(&dup, &spec(Model::FourParam, BJ54)).unwrap_err();
        assert!(
            e.to_string().contains("GP02") && e.to_string().contains("twice"),
            "{e}"
        );
        // all points on one line: 7p impossible
        let mut line = seven_points(6, 8, Convention::PositionVector);
        for (i, p) in line.iter_mut().enumerate() {
            p.src = Coord {
                x: 530_000.0 + 5_000.0 * i as f64,
                y: 4_000_000.0 + 3_000.0 * i as f64,
            };
        }
        let e = fit(&line, &spec(Model::SevenParam, BJ54)).unwrap_err();
        assert!(
            matches!(e, CrsError::DegenerateGeometry { model: "7p", .. }),
            "{e}"
        );
        assert!(e.to_string().contains("collinear"), "{e}");
        // all points in one place: 4p impossible
        let mut same = pts.clone();
        for p in &mut same {
            p.src = Coord { x: 1.0, y: 2.0 };
        }
        let e = fit(&same, &spec(Model::FourParam, BJ54)).unwrap_err();
        assert!(e.to_string().contains("coincide"), "{e}");
        // 7p with a local grid
        let e = fit(&pts, &spec(Model::SevenParam, CrsRef::Local(String::new()))).unwrap_err();
        assert!(e.to_string().contains("4p"), "{e}");
    }

    #[test]
    fn csv_headers_axes_encodings_and_errors() {
        let en = b"name,src_e,src_n,dst_e,dst_n,remark\nA,530000.1,4000000.2,530010.1,4000020.2,x\n\nB,531000,4001000,531010,4001020,\n";
        let p = parse_control_points(en, "cp.csv", None).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(
            (p[0].src.x, p[0].dst.y, p[1].line),
            (530000.1, 4000020.2, 4)
        );
        // survey headers: refused unless the caller says which axis is north
        let xy = "\u{feff}name,src_x,src_y,dst_x,dst_y\n点1,4000000,530000,4000020,530010\n";
        let e = parse_control_points(xy.as_bytes(), "cp.csv", None).unwrap_err();
        assert!(matches!(e, CrsError::AmbiguousAxes { .. }), "{e}");
        let p = parse_control_points(xy.as_bytes(), "cp.csv", Some(SurveyAxes::XNorth)).unwrap();
        assert_eq!(
            (p[0].name.as_str(), p[0].src.x, p[0].src.y),
            ("点1", 530000.0, 4000000.0)
        );
        let p = parse_control_points(xy.as_bytes(), "cp.csv", Some(SurveyAxes::XEast)).unwrap();
        assert_eq!((p[0].src.x, p[0].dst.y), (4000000.0, 530010.0));
        // GBK (Excel on a Chinese Windows) point names
        let (gbk, _, _) =
            encoding_rs::GBK.encode("name,src_e,src_n,dst_e,dst_n\n控制点7,1,2,3,4\n");
        let p = parse_control_points(&gbk, "cp.csv", None).unwrap();
        assert_eq!(p[0].name, "控制点7");
        // errors name the line and column, not the value
        let bad = b"name,src_e,src_n,dst_e,dst_n\nA,1,2,3,4\nB,1,2,3.4.5,4\n";
        let e = parse_control_points(bad, "cp.csv", None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 3")
                && e.contains("`dst_e`")
                && e.contains("\"B\"")
                && !e.contains("3.4.5"),
            "{e}"
        );
        let e = parse_control_points(b"name,src_e,src_n,dst_e\nA,1,2,3\n", "cp.csv", None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("missing column `dst_n`") && e.contains("line 1"),
            "{e}"
        );
        let e = parse_control_points(
            b"name,src_e,src_n,dst_e,dst_n\nA,1,2,3,4\nA,5,6,7,8\n",
            "cp.csv",
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("\"A\"") && e.contains("lines 2 and 3"), "{e}");
        let e = parse_control_points(b"name,src_e,src_n,dst_e,dst_n\n,1,2,3,4\n", "cp.csv", None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("empty point name"), "{e}");
        // heights: all or none on a side
        let h = b"name,src_e,src_n,dst_e,dst_n,src_h\nA,530000,4000000,530010,4000020,100\nB,540000,4010000,540010,4010020,\nC,535000,4020000,535010,4020020,90\n";
        let pts = parse_control_points(h, "cp.csv", None).unwrap();
        let e = fit(&pts, &spec(Model::SevenParam, BJ54))
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"B\"") && e.contains("height"), "{e}");
        // from a file
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cp.csv");
        std::fs::write(&path, en).unwrap();
        assert_eq!(read_control_points(&path, None).unwrap().len(), 2);
        let e = read_control_points(&dir.path().join("none.csv"), None).unwrap_err();
        assert!(e.to_string().contains("none.csv"));
    }

    #[test]
    fn least_squares_solver_detects_rank_deficiency() {
        // x + y over four rows with the second column a copy of the first
        let a = [1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0];
        assert!(lstsq(&a, 4, 2, &[1.0, 2.0, 3.0, 4.0]).is_none());
        let a = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0];
        let x = lstsq_refined(&a, 3, 2, &[1.0, 2.0, 3.0]).unwrap();
        assert!((x[0] - 1.0).abs() < 1e-12 && (x[1] - 2.0).abs() < 1e-12);
    }
}
