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
//! ```
//! use cadastra_shp::{read_shapefile, write_shapefile, DbfField, ReadOptions, WriteSpec};
//! use geo_types::{polygon, Geometry};
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("zd.shp");
//! // a legacy delivery: GBK text, LDID 0, no .cpg
//! let fields = [DbfField::text("QLRMC", 20)];
//! let geom = Geometry::Polygon(polygon![(x: 0., y: 0.), (x: 0., y: 1.), (x: 1., y: 1.)]);
//! write_shapefile(&path, &WriteSpec::gbk_undeclared(), &fields,
//!     &[vec![Some("莱芜区国有资产管理局".into())]], &[Some(geom)]).unwrap();
//! // the data is known to be Chinese: detection only considers GBK/GB18030 and Big5
//! let layer = read_shapefile(&path, &ReadOptions { chinese: true, ..Default::default() }).unwrap();
//! assert_eq!(layer.column("QLRMC").unwrap().get(0), Some("莱芜区国有资产管理局"));
//! let decision = layer.encoding.as_ref().unwrap();
//! assert_eq!(decision.encoding, encoding_rs::GBK);
//! println!("{:?}", decision.evidence); // why: LDID 0, not UTF-8, GBK decodes to common Han
//! assert!(layer.multipolygon(0).is_some());
//! ```
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
