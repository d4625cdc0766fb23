//! Shapefile and DBF reading with decided encodings, and a legacy-style writer.
//!
//! Map of the crate:
//! - [`read`]: [`read_shapefile`] reads a whole shapefile set in parallel into a [`ShpLayer`]
//!   (geometries, text columns, source record numbers, encoding decision, .prj, problems).
//! - [`dbf`]: [`read_dbf`] / [`DbfTable`] for a .dbf alone; the value rules (trimming, numbers,
//!   dates, logicals) are documented there.
//! - [`encoding`]: [`TextEncoding`] and the per-file [`EncodingDecision`] (rule FMT-02:
//!   override > .cpg > .cst > LDID > content evidence).
//! - `shp` (private): .shp/.shx index (or rebuilt by scanning) and record parsing with
//!   shapelib's checks; `rings` (private): GDAL's shell/hole assembly.
//! - [`mod@write`]: [`write_shapefile`] / [`write_dbf`] fake vendor deliveries: .shp/.shx by hand,
//!   a .dbf in any encoding with any code-page byte (LDID), optional .cpg and .prj.
//! - [`field`], [`shape_type`], [`problem`], [`error`]: shared descriptors, per-record
//!   problems and [`ShpError`].
//!
//! Invariants: the reader never panics on bad input and never silently drops a record (deleted
//! DBF records are skipped and listed); a value that cannot be read is null and listed in
//! `problems` with its raw bytes. The writer never truncates text.

pub mod dbf;
mod dos_tables;
pub mod encoding;
pub mod error;
pub mod field;
pub mod problem;
pub mod read;
mod rings;
pub mod shape_type;
mod shp;
pub mod write;

pub use dbf::{read_dbf, DbfTable, FieldRename};
pub use encoding::{EncodingDecision, EncodingSource, TextEncoding};
pub use error::ShpError;
pub use field::{DbfField, FieldKind};
pub use problem::{ProblemKind, RecordProblem};
pub use read::{read_shapefile, ReadOptions, ShpLayer};
pub use shape_type::{ShapeFamily, ShapeType};
pub use write::{write_dbf, write_shapefile, WriteSpec};
