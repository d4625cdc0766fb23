//! The one error type of this crate. Every variant names the file, and where it applies the
//! record (0-based, GDAL's FID) and the field.

use std::path::PathBuf;

/// Why a shapefile or DBF could not be read or written.
///
/// Problems in single records that do not stop the read (an undecodable text value, a bad
/// number, a shape record that points past the end of the file) are not errors: they are listed
/// in [`crate::ShpLayer::problems`] and the row is still returned.
#[derive(Debug, thiserror::Error)]
pub enum ShpError {
    /// An operating-system error on a file.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A required companion file is absent (e.g. the .shp of a layer).
    #[error("{path}: file not found")]
    Missing { path: PathBuf },
    /// The .shp or .shx header is not a shapefile header.
    #[error("{path}: not a shapefile: {reason}")]
    NotAShapefile { path: PathBuf, reason: String },
    /// The .dbf header cannot be parsed.
    #[error("{path}: not a readable dbf file: {reason}")]
    BadDbf { path: PathBuf, reason: String },
    /// The file is damaged in a way that makes reading it unsafe or meaningless.
    #[error("{path}: record {record}: {reason}")]
    Corrupt {
        path: PathBuf,
        record: usize,
        reason: String,
    },
    /// A field definition given to the writer is not valid DBF.
    #[error("{path}: field {index} {name:?}: {reason}")]
    FieldSpec {
        path: PathBuf,
        index: usize,
        name: String,
        reason: String,
    },
    /// A value does not fit its DBF field (never truncated silently).
    #[error(
        "{path}: record {record}, field {field:?}: value {value:?} needs {needed} bytes in {encoding} \
         but the field is {width} wide"
    )]
    ValueTooLong {
        path: PathBuf,
        record: usize,
        field: String,
        value: String,
        needed: usize,
        width: usize,
        encoding: &'static str,
    },
    /// A value has characters the chosen encoding cannot represent.
    #[error(
        "{path}: record {record}, field {field:?}: value {value:?} cannot be encoded in {encoding}"
    )]
    Unencodable {
        path: PathBuf,
        record: usize,
        field: String,
        value: String,
        encoding: &'static str,
    },
    /// A value is not acceptable for its field type (e.g. a two-character logical).
    #[error("{path}: record {record}, field {field:?}: value {value:?}: {reason}")]
    BadValue {
        path: PathBuf,
        record: usize,
        field: String,
        value: String,
        reason: String,
    },
    /// A geometry cannot be written (unsupported type, mixed types in one layer).
    #[error("{path}: record {record}: {reason}")]
    Geometry {
        path: PathBuf,
        record: usize,
        reason: String,
    },
    /// The arguments given to the writer do not fit together.
    #[error("{path}: {reason}")]
    Input { path: PathBuf, reason: String },
}

impl ShpError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> ShpError {
        let path = path.into();
        if source.kind() == std::io::ErrorKind::NotFound {
            ShpError::Missing { path }
        } else {
            ShpError::Io { path, source }
        }
    }
}
