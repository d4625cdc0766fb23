//! Legacy Chinese grids (Xi'an 1980, Beijing 1954, local city grids) to CGCS2000 / 3-degree
//! Gauss-Krüger CM 117E (EPSG:4548), exactly and safely.
//!
//! # Map of the crate
//! - [`operation`]: [`Operation`], one explicit, checked operation between two plane grids,
//!   built as a PROJ pipeline; datum changes without parameters are refused (rule CRS-05) unless
//!   a ballpark is explicitly allowed; [`Operation::inverse`]; parallel in-place transformation
//!   of coordinates, points, multipolygons and any geometry ([`TransformStats`]).
//! - [`params`]: [`OperatorParams`], the secret operator parameter file (format below).
//! - [`fit`](mod@fit): least-squares 4- and 7-parameter fitting from control points ([`fit()`]),
//!   residuals with CRS-06 flags ([`FitReport`]), and [`choose_convention`] for parameter sheets
//!   that do not say which rotation convention they use.
//! - [`identify`]: [`identify_prj`], which EPSG CRS an ESRI `.prj` (or any WKT) is (CRS-01).
//! - [`sniff`](mod@sniff): [`sniff()`], CRS evidence from the coordinates themselves: Jinan windows, zone
//!   prefix (CRS-04), X/Y swap (CRS-03), out of the declared CRS's window (CRS-02).
//! - [`crs`]: [`CrsRef`] (`EPSG:4548`, `local:<name>`) and [`crs_info`], facts from PROJ's database.
//! - `pj` (private): the only `unsafe` code, a small wrapper over PROJ's C API (proj-sys).
//! - `native` (private): a native port of PROJ's `tmerc` (Poder/Engsager), `cart` and `helmert`
//!   for the pipelines above. An [`Operation`] uses it only after it agreed with PROJ to 1e-6 m
//!   (in practice ~1e-8 m) on grids over both sides' Jinan windows ([`Operation::evaluator`]);
//!   coordinates outside its conservative domain still go to PROJ. `CADASTRA_PROJ_ONLY=1`
//!   ([`PROJ_ONLY_ENV`]) switches it off for operations built afterwards.
//!
//! # Invariants
//! - Parameter values and pipeline definitions are never printed, logged or returned: `Debug`
//!   impls redact them, there is no `Display`, errors name the file and key but not the value,
//!   PROJ's own logging is switched off. The parameter file is the only place they are written.
//! - A datum change is either an explicit pipeline with a Helmert step, a non-ballpark operation
//!   from PROJ's database, or an explicitly allowed ballpark that the report flags. After
//!   building, the operation PROJ actually instantiated is inspected (`proj_pj_info`).
//! - Coordinates are easting first everywhere (GeoPackage/Shapefile order). Survey X (north) /
//!   Y (east) only appears when reading control-point files that say so.
//! - One PROJ object per worker thread; results do not depend on the thread count.
//!
//! # Operator parameter file (TOML)
//! Named by the pipeline, or by the environment variable `CADASTRA_CRS_PARAMS`. Keep it on the
//! isolated network, mode 0600 (files written by [`FitReport::write_params`] are).
//!
//! ```toml
//! # 7-parameter Bursa-Wolf (geocentric)
//! model = "7p"
//! convention = "coordinate_frame"   # or "position_vector": sign of the rotations
//! source = "EPSG:2436"              # Beijing 1954 / 3-degree GK CM 117E
//! target = "EPSG:4548"              # CGCS2000 / 3-degree GK CM 117E
//! tx = 0.0   # metres
//! ty = 0.0
//! tz = 0.0
//! rx = 0.0   # arc-seconds
//! ry = 0.0
//! rz = 0.0
//! ds = 0.0   # ppm (scale factor 1 + ds·10⁻⁶)
//! ```
//!
//! ```toml
//! # 4-parameter plane similarity (平面四参数), applied in the projected plane
//! model = "4p"
//! source = "local:laiwu-city"  # or an EPSG code; "local" for an unnamed local grid
//! target = "EPSG:4548"
//! dx = 0.0          # metres, easting shift (survey ΔY)
//! dy = 0.0          # metres, northing shift (survey ΔX)
//! scale = 1.0       # the factor itself (1 + m), NOT ppm
//! rotation = 0.0    # arc-seconds, α in X' = ΔX + k(X cos α − Y sin α), Y' = ΔY + k(X sin α + Y cos α)
//! ```
//!
//! An optional `description` string is allowed. Unknown keys are errors. A 7p file serves any
//! grid on its source/target datums (e.g. with or without zone prefix); a 4p file serves its
//! grids and grids on the same datums (the plane change is added around the similarity). Both
//! also serve the reverse direction.
//!
//! The pipelines built (easting first, heights taken as 0):
//! - 7p: `inv tmerc (source grid, source ellipsoid)` → `cart (source ellipsoid)` →
//!   `helmert x y z rx ry rz s convention` → `inv cart (target ellipsoid)` → `tmerc (target grid)`;
//! - 4p: `helmert +x=dx +y=dy +s=scale +theta=rotation` (with `+theta`, PROJ reads `+s` as the
//!   factor), between the parameters' planes;
//! - same datum: `inv tmerc (source)` → `tmerc (target)`, exact.
//!
//! # Example
//! ```
//! use cadastra_crs::{CrsRef, Operation, OperationOptions, CrsError};
//! use geo_types::Coord;
//! // same datum: the zone prefix goes away exactly, no parameters needed
//! let op = Operation::new(&CrsRef::Epsg(2363), &CrsRef::Epsg(2384), None, OperationOptions::default())?;
//! let mut c = [Coord { x: 39_550_000.0, y: 4_010_000.0 }];
//! op.transform_coords(&mut c)?;
//! assert!((c[0].x - 550_000.0).abs() < 1e-6 && (c[0].y - 4_010_000.0).abs() < 1e-6);
//! // a datum change without parameters is refused (CRS-05)
//! let err = Operation::new(&CrsRef::Epsg(2436), &CrsRef::Epsg(4548), None, OperationOptions::default())
//!     .unwrap_err();
//! assert_eq!(err.rule_id().map(|r| r.0), Some("CRS-05"));
//! # Ok::<(), CrsError>(())
//! ```

pub mod crs;
pub mod error;
pub mod fit;
pub mod identify;
mod native;
pub mod operation;
pub mod params;
mod pj;
pub mod sniff;
pub mod transform;

pub use crs::{crs_info, CrsInfo, CrsRef};
pub use error::CrsError;
pub use fit::{
    choose_convention, fit, parse_control_points, read_control_points, ControlPoint,
    ConventionCheck, FitReport, FitSpec, Residual, SurveyAxes, Tolerance,
};
pub use identify::{identify_prj, identify_prj_file, Identification, TRUST_CONFIDENCE};
pub use operation::{
    Evaluator, Operation, OperationKind, OperationOptions, OperationReport, Transformer,
    PROJ_ONLY_ENV,
};
pub use params::{Convention, FourParams, Model, OperatorParams, SevenParams, PARAMS_ENV};
pub use sniff::{
    expected_window, sample_multipolygons, sniff, Extent, PrefixState, Sniff, SniffIssue, Window,
};
pub use transform::TransformStats;

use cadastra_model::{Finding, RuleId, Severity};

/// `feature_key` of findings about a whole dataset rather than one feature.
pub const DATASET_KEY: &str = "*";

/// A dataset-level finding.
pub(crate) fn finding(
    rule: &'static str,
    sub: &str,
    severity: Severity,
    layer: &str,
    zh: String,
    en: String,
) -> Finding {
    Finding {
        rule_id: RuleId(rule),
        sub_code: sub.to_string(),
        severity,
        layer: layer.to_string(),
        feature_key: DATASET_KEY.to_string(),
        other_key: None,
        x: None,
        y: None,
        geom: None,
        value: None,
        tolerance: None,
        message_zh: zh,
        message_en: en,
    }
}
