//! GEOM-01: OGC validity exactly as GEOS `isValid` decides it.
//!
//! The checks and their order follow GEOS/JTS `IsValidOp` (the 2021 rewrite used by GEOS ≥ 3.10):
//!
//! 1. every coordinate is finite ([`Invalid::InvalidCoordinate`]);
//! 2. rings are closed and have at least 4 points after dropping consecutive repeats
//!    (lines at least 2); repeated points are allowed;
//! 3. no two edges cross or overlap ([`Invalid::SelfIntersection`]); a ring may not touch
//!    itself ([`Invalid::RingSelfIntersection`]: no "inverted" rings); rings of one polygon
//!    may touch each other at points, elements of a multipolygon may touch at points only;
//! 4. holes lie inside their shell, are not nested, shells of a multipolygon are not nested;
//! 5. the interior is connected: two rings may touch at one point only, and touching holes
//!    (with the shell) may not form a cycle ([`Invalid::DisconnectedInterior`]).
//!
//! All decisions use exact predicates ([`crate::predicates`]), so the answer does not depend
//! on coordinate magnitude. The common cadastral case, a polygon with one ring, takes a fast
//! path ([`validate_raw_ring`]) that performs the same checks without building the general
//! structures; the test suite proves both paths agree (GEOS XML suite and a property test).
//!
//! Deliberate difference from GEOS: a polygon with an *empty shell but non-empty holes* (which
//! WKT and WKB cannot express, but `geo_types` can) is reported as
//! [`Invalid::HoleOutsideShell`]; GEOS treats such a polygon as empty and valid.

mod fast;
mod general;

use geo_types::{Coord, Geometry, MultiPolygon, Polygon};

pub use fast::validate_raw_ring;

/// Why a geometry is not valid, with the location GEOS would report where one exists.
///
/// Messages are meant for surveyors: [`Invalid::zh`] and [`Invalid::en`] name the problem and
/// the coordinate (easting, northing) to zoom to.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum Invalid {
    /// a coordinate is NaN or infinite
    #[error("{}", self.en())]
    InvalidCoordinate { at: Coord },
    /// a ring has fewer than 4 points, or a line fewer than 2, after dropping repeated points
    #[error("{}", self.en())]
    TooFewPoints { at: Option<Coord> },
    /// the first and last point of a ring differ
    #[error("{}", self.en())]
    RingNotClosed { at: Coord },
    /// two edges cross or overlap
    #[error("{}", self.en())]
    SelfIntersection { at: Coord },
    /// a ring touches itself (a self-touching, "inverted" ring)
    #[error("{}", self.en())]
    RingSelfIntersection { at: Coord },
    /// a hole lies (partly) outside its shell
    #[error("{}", self.en())]
    HoleOutsideShell { at: Coord },
    /// a hole lies inside another hole
    #[error("{}", self.en())]
    NestedHoles { at: Coord },
    /// holes (and the shell) touch so that they cut the interior into pieces
    #[error("{}", self.en())]
    DisconnectedInterior { at: Coord },
    /// a multipolygon element lies inside another element
    #[error("{}", self.en())]
    NestedShells { at: Coord },
}

fn fmt_at(at: Option<Coord>) -> String {
    match at {
        Some(c) => format!("({:.3}, {:.3})", c.x, c.y),
        None => String::from("(-)"),
    }
}

impl Invalid {
    /// Where the problem is, if it has a location.
    pub fn location(&self) -> Option<Coord> {
        match *self {
            Invalid::TooFewPoints { at } => at,
            Invalid::InvalidCoordinate { at }
            | Invalid::RingNotClosed { at }
            | Invalid::SelfIntersection { at }
            | Invalid::RingSelfIntersection { at }
            | Invalid::HoleOutsideShell { at }
            | Invalid::NestedHoles { at }
            | Invalid::DisconnectedInterior { at }
            | Invalid::NestedShells { at } => Some(at),
        }
    }

    /// Stable kebab-case code, e.g. `ring-self-intersection`.
    pub fn code(&self) -> &'static str {
        match self {
            Invalid::InvalidCoordinate { .. } => "invalid-coordinate",
            Invalid::TooFewPoints { .. } => "too-few-points",
            Invalid::RingNotClosed { .. } => "ring-not-closed",
            Invalid::SelfIntersection { .. } => "self-intersection",
            Invalid::RingSelfIntersection { .. } => "ring-self-intersection",
            Invalid::HoleOutsideShell { .. } => "hole-outside-shell",
            Invalid::NestedHoles { .. } => "nested-holes",
            Invalid::DisconnectedInterior { .. } => "disconnected-interior",
            Invalid::NestedShells { .. } => "nested-shells",
        }
    }

    /// Chinese message for the report.
    pub fn zh(&self) -> String {
        let at = fmt_at(self.location());
        match self {
            Invalid::InvalidCoordinate { .. } => "坐标无效（NaN 或无穷大）".to_string(),
            Invalid::TooFewPoints { .. } => {
                format!("点数不足：环至少需要 4 个不重复的点，线至少 2 个，位于 {at}")
            }
            Invalid::RingNotClosed { .. } => format!("环未闭合：首点与末点不一致，首点 {at}"),
            Invalid::SelfIntersection { .. } => format!("边自相交（线段交叉或重叠），位于 {at}"),
            Invalid::RingSelfIntersection { .. } => {
                format!("环自接触（环在一点上与自身相接），位于 {at}")
            }
            Invalid::HoleOutsideShell { .. } => format!("内环（洞）位于外环之外，位于 {at}"),
            Invalid::NestedHoles { .. } => format!("内环嵌套在另一个内环之中，位于 {at}"),
            Invalid::DisconnectedInterior { .. } => {
                format!("面内部不连通（内环相接将面分割开），位于 {at}")
            }
            Invalid::NestedShells { .. } => {
                format!("多部件面的一个外环嵌套在另一个之内，位于 {at}")
            }
        }
    }

    /// English message for the report (lowercase, no trailing period).
    pub fn en(&self) -> String {
        let at = fmt_at(self.location());
        match self {
            Invalid::InvalidCoordinate { .. } => "invalid coordinate (NaN or infinite)".to_string(),
            Invalid::TooFewPoints { .. } => format!(
                "too few points: a ring needs 4 distinct consecutive points, a line 2, at {at}"
            ),
            Invalid::RingNotClosed { .. } => format!("ring not closed, starting at {at}"),
            Invalid::SelfIntersection { .. } => {
                format!("self-intersection: edges cross or overlap at {at}")
            }
            Invalid::RingSelfIntersection { .. } => format!("ring touches itself at {at}"),
            Invalid::HoleOutsideShell { .. } => format!("hole lies outside its shell at {at}"),
            Invalid::NestedHoles { .. } => format!("hole lies inside another hole at {at}"),
            Invalid::DisconnectedInterior { .. } => {
                format!("interior is disconnected by touching rings at {at}")
            }
            Invalid::NestedShells { .. } => {
                format!("multipolygon element lies inside another element at {at}")
            }
        }
    }
}

/// A polygon given as raw coordinate rings, exactly as read from a source: unlike
/// `geo_types::Polygon::new`, nothing is closed or repaired, so [`Invalid::RingNotClosed`]
/// can be reported. An empty shell means an empty polygon.
#[derive(Debug, Clone, Copy)]
pub struct RawPolygon<'a> {
    pub shell: &'a [Coord],
    pub holes: &'a [&'a [Coord]],
}

/// Validate any geometry with GEOS `isValid` semantics.
///
/// Empty geometries are valid; points need finite coordinates; lines need two distinct points;
/// collection members are validated one by one (they may overlap each other).
///
/// ```
/// use cadastra_geom::valid::{validate, Invalid};
/// let bowtie = geo_types::wkt!(POLYGON((0. 0., 10. 10., 10. 0., 0. 10., 0. 0.)));
/// assert!(matches!(validate(&bowtie.into()), Err(Invalid::SelfIntersection { .. })));
/// ```
pub fn validate(g: &Geometry<f64>) -> Result<(), Invalid> {
    match g {
        Geometry::Point(p) => check_coords(&[p.0]),
        Geometry::Line(l) => validate_raw_line(&[l.start, l.end]),
        Geometry::LineString(ls) => validate_raw_line(&ls.0),
        Geometry::Polygon(p) => validate_polygon(p),
        Geometry::MultiPoint(mp) => {
            for p in &mp.0 {
                check_coords(&[p.0])?;
            }
            Ok(())
        }
        Geometry::MultiLineString(ml) => {
            for l in &ml.0 {
                validate_raw_line(&l.0)?;
            }
            Ok(())
        }
        Geometry::MultiPolygon(mp) => validate_multipolygon(mp),
        Geometry::GeometryCollection(gc) => {
            for g in &gc.0 {
                validate(g)?;
            }
            Ok(())
        }
        Geometry::Rect(r) => validate_polygon(&r.to_polygon()),
        Geometry::Triangle(t) => validate_polygon(&t.to_polygon()),
    }
}

/// Validate a polygon (fast path when it has no holes).
pub fn validate_polygon(p: &Polygon<f64>) -> Result<(), Invalid> {
    if p.interiors().is_empty() {
        return validate_raw_ring(&p.exterior().0);
    }
    let holes: Vec<&[Coord]> = p.interiors().iter().map(|h| h.0.as_slice()).collect();
    general::validate_polygons(
        &[RawPolygon {
            shell: &p.exterior().0,
            holes: &holes,
        }],
        false,
    )
}

/// Validate a multipolygon: the entry point for parcels and buildings. A single polygon without
/// holes (the common case) takes the fast path; everything else the general one.
///
/// ```
/// use cadastra_geom::valid::{validate_multipolygon, Invalid};
/// let ok = geo_types::wkt!(MULTIPOLYGON(((0. 0., 20. 0., 20. 30., 0. 30., 0. 0.))));
/// assert_eq!(validate_multipolygon(&ok), Ok(()));
/// // two parts sharing an edge must be merged into one polygon
/// let shared = geo_types::wkt!(MULTIPOLYGON(((0. 0., 1. 0., 1. 1., 0. 1., 0. 0.)),
///                                           ((1. 0., 2. 0., 2. 1., 1. 1., 1. 0.))));
/// assert!(matches!(validate_multipolygon(&shared), Err(Invalid::SelfIntersection { .. })));
/// ```
pub fn validate_multipolygon(mp: &MultiPolygon<f64>) -> Result<(), Invalid> {
    match mp.0.as_slice() {
        [] => Ok(()),
        [p] if p.interiors().is_empty() => validate_raw_ring(&p.exterior().0),
        polys => {
            let holes: Vec<Vec<&[Coord]>> = polys
                .iter()
                .map(|p| p.interiors().iter().map(|h| h.0.as_slice()).collect())
                .collect();
            let raw: Vec<RawPolygon<'_>> = polys
                .iter()
                .zip(&holes)
                .map(|(p, h)| RawPolygon {
                    shell: &p.exterior().0,
                    holes: h,
                })
                .collect();
            general::validate_polygons(&raw, true)
        }
    }
}

/// Validate raw polygons (one element: a polygon; several: a multipolygon) with the general
/// algorithm, whatever their shape. Rings are taken as given (not closed automatically).
pub fn validate_raw_polygons(polys: &[RawPolygon<'_>]) -> Result<(), Invalid> {
    general::validate_polygons(polys, polys.len() > 1)
}

/// Validate a line string (GEOS `LineString` semantics): finite coordinates and, unless empty,
/// at least two distinct points.
pub fn validate_raw_line(pts: &[Coord]) -> Result<(), Invalid> {
    if pts.is_empty() {
        return Ok(());
    }
    check_coords(pts)?;
    if !non_repeated_at_least(pts, 2) {
        return Err(Invalid::TooFewPoints {
            at: pts.first().copied(),
        });
    }
    Ok(())
}

/// Is the geometry valid? Shorthand for `validate(g).is_ok()`.
pub fn is_valid(g: &Geometry<f64>) -> bool {
    validate(g).is_ok()
}

pub(crate) fn check_coords(pts: &[Coord]) -> Result<(), Invalid> {
    match pts.iter().find(|c| !(c.x.is_finite() && c.y.is_finite())) {
        Some(c) => Err(Invalid::InvalidCoordinate { at: *c }),
        None => Ok(()),
    }
}

/// GEOS `isNonRepeatedSizeAtLeast`.
pub(crate) fn non_repeated_at_least(pts: &[Coord], min: usize) -> bool {
    let mut n = 0;
    let mut prev: Option<Coord> = None;
    for &p in pts {
        if n >= min {
            return true;
        }
        if prev != Some(p) {
            n += 1;
        }
        prev = Some(p);
    }
    n >= min
}

pub(crate) fn check_ring_closed(ring: &[Coord]) -> Result<(), Invalid> {
    match (ring.first(), ring.last()) {
        (Some(a), Some(b)) if a != b => Err(Invalid::RingNotClosed { at: *a }),
        _ => Ok(()),
    }
}

pub(crate) fn check_ring_size(ring: &[Coord]) -> Result<(), Invalid> {
    if ring.is_empty() || non_repeated_at_least(ring, 4) {
        Ok(())
    } else {
        Err(Invalid::TooFewPoints { at: Some(ring[0]) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::wkt;
    use proptest::prelude::*;

    fn check(g: Geometry<f64>, expect: Option<&str>) {
        let got = validate(&g);
        match expect {
            None => assert_eq!(got, Ok(()), "{g:?}"),
            Some(code) => match got {
                Err(e) => assert_eq!(e.code(), code, "{g:?}: {e}"),
                Ok(()) => panic!("expected {code} for {g:?}"),
            },
        }
    }

    #[test]
    fn polygons() {
        check(
            wkt!(POLYGON((0. 0., 20. 0., 20. 30., 0. 30., 0. 0.))).into(),
            None,
        );
        // repeated points are fine
        check(
            wkt!(POLYGON((0. 0., 20. 0., 20. 0., 20. 30., 0. 30., 0. 0.))).into(),
            None,
        );
        check(
            wkt!(POLYGON((0. 0., 10. 10., 10. 0., 0. 10., 0. 0.))).into(),
            Some("self-intersection"),
        );
        // a ring touching itself at a vertex (inverted shell)
        check(
            wkt!(POLYGON((0. 0., 10. 0., 5. 5., 10. 10., 0. 10., 5. 5., 0. 0.))).into(),
            Some("ring-self-intersection"),
        );
        // spike: adjacent edges overlap
        check(
            wkt!(POLYGON((0. 0., 10. 0., 15. 0., 10. 0., 10. 10., 0. 10., 0. 0.))).into(),
            Some("self-intersection"),
        );
        check(
            wkt!(POLYGON((0. 0., 1. 1., 0. 0.))).into(),
            Some("too-few-points"),
        );
        check(
            wkt!(POLYGON((0. 0., 10. 0., 10. 10., 0. 10., 0. 0.),(20. 20., 30. 20., 30. 30., 20. 20.)))
                .into(),
            Some("hole-outside-shell"),
        );
        check(
            wkt!(POLYGON((0. 0., 10. 0., 10. 10., 0. 10., 0. 0.),(1. 1., 9. 1., 9. 9., 1. 9., 1. 1.),(2. 2., 3. 2., 3. 3., 2. 2.)))
                .into(),
            Some("nested-holes"),
        );
        // hole touching the shell at one point is valid
        check(
            wkt!(POLYGON((0. 0., 10. 0., 10. 10., 0. 10., 0. 0.),(0. 5., 5. 2., 5. 8., 0. 5.)))
                .into(),
            None,
        );
        // hole touching the shell at two points cuts the polygon in two
        check(
            wkt!(POLYGON((0. 0., 10. 0., 10. 10., 0. 10., 0. 0.),(0. 5., 5. 0., 10. 5., 5. 8., 0. 5.)))
                .into(),
            Some("disconnected-interior"),
        );
        // three holes touching in a cycle
        check(
            wkt!(POLYGON((0. 0., 10. 0., 10. 10., 0. 10., 0. 0.),(2. 2., 6. 2., 4. 3., 2. 2.),(6. 2., 6. 6., 5. 4., 6. 2.),(6. 6., 2. 2., 3. 5., 6. 6.)))
                .into(),
            Some("disconnected-interior"),
        );
    }

    #[test]
    fn multipolygons() {
        check(
            wkt!(MULTIPOLYGON(((0. 0., 1. 0., 1. 1., 0. 1., 0. 0.)),((1. 1., 2. 1., 2. 2., 1. 2., 1. 1.))))
                .into(),
            None,
        );
        check(
            wkt!(MULTIPOLYGON(((0. 0., 10. 0., 10. 10., 0. 10., 0. 0.)),((1. 1., 2. 1., 2. 2., 1. 2., 1. 1.))))
                .into(),
            Some("nested-shells"),
        );
        // element inside the hole of another element is fine
        check(
            wkt!(MULTIPOLYGON(((0. 0., 10. 0., 10. 10., 0. 10., 0. 0.),(1. 1., 9. 1., 9. 9., 1. 9., 1. 1.)),((2. 2., 3. 2., 3. 3., 2. 3., 2. 2.))))
                .into(),
            None,
        );
    }

    #[test]
    fn other_types_and_coordinates() {
        check(wkt!(POINT(1. 2.)).into(), None);
        check(
            Geometry::Point(geo_types::Point::new(f64::NAN, 1.0)),
            Some("invalid-coordinate"),
        );
        check(
            wkt!(LINESTRING(0. 0., 0. 0.)).into(),
            Some("too-few-points"),
        );
        check(wkt!(LINESTRING(0. 0., 0. 0., 1. 0.)).into(), None);
        let open = [
            Coord { x: 0., y: 0. },
            Coord { x: 1., y: 0. },
            Coord { x: 1., y: 1. },
        ];
        assert!(matches!(
            validate_raw_ring(&open),
            Err(Invalid::RingNotClosed { .. })
        ));
        let holes: [&[Coord]; 0] = [];
        assert!(matches!(
            validate_raw_polygons(&[RawPolygon {
                shell: &open,
                holes: &holes
            }]),
            Err(Invalid::RingNotClosed { .. })
        ));
    }

    #[test]
    fn messages_name_the_location() {
        let e = Invalid::RingSelfIntersection {
            at: Coord {
                x: 39_512_345.0,
                y: 4_012_345.5,
            },
        };
        assert_eq!(e.en(), "ring touches itself at (39512345.000, 4012345.500)");
        assert!(e.zh().contains("环自接触"));
        assert_eq!(e.to_string(), e.en());
    }

    /// Random small rings on a coarse grid: many coincident vertices, collinear edges,
    /// touches and spikes, the cases where fast and general paths could disagree.
    fn small_ring() -> impl Strategy<Value = Vec<Coord>> {
        prop::collection::vec((0i32..5, 0i32..5), 3..9).prop_map(|pts| {
            let mut r: Vec<Coord> = pts
                .into_iter()
                .map(|(x, y)| Coord {
                    x: x as f64,
                    y: y as f64,
                })
                .collect();
            r.push(r[0]);
            r
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]
        #[test]
        fn fast_path_equals_general_path(ring in small_ring()) {
            let holes: [&[Coord]; 0] = [];
            let fast = validate_raw_ring(&ring);
            let general = general::validate_polygons(&[RawPolygon { shell: &ring, holes: &holes }], false);
            prop_assert_eq!(fast.is_ok(), general.is_ok(), "fast {:?} general {:?} ring {:?}", fast, general, ring);
        }

        #[test]
        fn fast_path_equals_general_path_continuous(
            pts in prop::collection::vec((-1.0f64..1.0, -1.0f64..1.0), 3..12)
        ) {
            let mut ring: Vec<Coord> = pts.into_iter().map(|(x, y)| Coord { x, y }).collect();
            ring.push(ring[0]);
            let holes: [&[Coord]; 0] = [];
            let fast = validate_raw_ring(&ring);
            let general = general::validate_polygons(&[RawPolygon { shell: &ring, holes: &holes }], false);
            prop_assert_eq!(fast.is_ok(), general.is_ok());
        }
    }
}
