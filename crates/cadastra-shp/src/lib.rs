//! Shapefile and DBF reading with decided encodings, and a legacy-style writer.
//!
//! Map of the crate:
//! - [`write`]: [`write_shapefile`] / [`write_dbf`] fake vendor deliveries: .shp/.shx by hand,
//!   a .dbf in any encoding with any code-page byte (LDID), optional .cpg and .prj.
//! - [`field`]: [`DbfField`] and [`FieldKind`], the DBF column descriptors.
//! - [`shape_type`]: [`ShapeType`] codes (with Z/M variants).
//! - [`error`]: [`ShpError`], naming file, record and field.

pub mod error;
pub mod field;
pub mod shape_type;
pub mod write;

pub use error::ShpError;
pub use field::{DbfField, FieldKind};
pub use shape_type::{ShapeFamily, ShapeType};
pub use write::{write_dbf, write_shapefile, WriteSpec};
