//! Geometry validity and topology kernels for cadastral layers. Pure computation: features in
//! memory in, values out; no I/O, no global state.
//!
//! Coordinates are projected metres, easting first. Parcels (宗地) and buildings (自然幢) are
//! `geo_types::MultiPolygon<f64>`.
//!
//! - [`predicates`]: exact orientation, segment intersection, point-in-ring, ring orientation
//!   (Shewchuk's adaptive `orient2d`); everything below decides with these.
//! - [`valid`]: GEOM-01 validity with GEOS `isValid` semantics ([`valid::validate`],
//!   [`valid::validate_multipolygon`] with a fast path for single-ring polygons) and the typed,
//!   bilingual [`valid::Invalid`].

pub mod predicates;
pub mod valid;

pub use valid::{validate, validate_multipolygon, Invalid};
