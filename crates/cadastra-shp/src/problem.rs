//! Per-record problems: what could not be read as it stands. The row is still returned (the
//! value null, or normalised as the kind says) so the caller can quarantine it.

/// What is wrong with one value or one shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProblemKind {
    /// Text bytes malformed in the decided encoding: value null.
    Undecodable,
    /// Number field filled with `*` (overflow marker): value null.
    NumberOverflow,
    /// Number written with a decimal comma (`64,300` in an N(6,3) field): value kept as
    /// `64.300`. Only when the field has decimals; otherwise the value is null and
    /// the kind is [`ProblemKind::BadNumber`].
    DecimalComma,
    /// Number field text that is not a number: value null.
    BadNumber,
    /// Date field that is not `YYYYMMDD` with a valid month and day: value null.
    BadDate,
    /// Logical field byte other than `T F Y N ? ` (any case): value null.
    BadLogical,
    /// The shape record cannot be read (offset or length past the end of the .shp, corrupt
    /// counts, unknown shape type): geometry null.
    BadShape,
    /// The record's shape type is not the layer's (e.g. a polygon in a point file): read as
    /// its own type, as GDAL does.
    ShapeTypeMismatch,
    /// The polygon's rings could not be organised into valid shells and holes (GDAL: "cannot
    /// be translated to Simple Geometry"): all rings returned as separate polygons.
    RingsNotOrganised,
    /// Coordinates that are NaN, infinite or a no-data sentinel (|v| >= 1e300), kept as read.
    NoDataCoordinates,
    /// A .dbf record without a shape record (the .shp holds fewer records): geometry null.
    NoShapeRecord,
    /// A shape record without a .dbf record (the .dbf holds fewer records): attributes null.
    NoDbfRecord,
}

/// One problem in one record.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordProblem {
    /// Row in the returned columns/geometries.
    pub row: usize,
    /// Record number in the source files (0-based, GDAL's FID).
    pub record: usize,
    /// The field, `None` for shape problems.
    pub field: Option<String>,
    /// What is wrong.
    pub kind: ProblemKind,
    /// Human-readable detail, lowercase.
    pub reason: String,
    /// The raw bytes concerned (field bytes, or the start of the shape record).
    pub raw: Vec<u8>,
}

impl std::fmt::Display for RecordProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(
                f,
                "record {}, field {field:?}: {}",
                self.record, self.reason
            ),
            None => write!(f, "record {}: {}", self.record, self.reason),
        }
    }
}
