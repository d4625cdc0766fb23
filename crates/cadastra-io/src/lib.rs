//! Sources and sinks of cadastra.
//!
//! - [`wkb`]: WKB and GeoPackage geometry blobs (encode/decode) for (multi)polygons and points.
//! - [`ddl`]: SQL types and DDL generated from the registry schema, for SQLite/GeoPackage and PostGIS.
//! - [`gpkg`]: the GeoPackage registry: create (spec-valid, R-tree indexed), open (refusing foreign
//!   files), write in one transaction, read back. Built on rusqlite over Debian's libsqlite3.
//! - [`postgis`]: the same registry in PostgreSQL + PostGIS, loaded with COPY in one transaction.
//! - [`registry`]: the backend-neutral `Registry` trait both implement, and the run lock.
//! - [`ogr`]: every other vector format through GDAL (FileGDB, MapInfo, DXF, GeoJSON, GeoPackage, CSV).
//!
//! **Invariant:** a registry is changed only inside one transaction (or built aside and renamed), so a
//! failed or killed run leaves it exactly as it was.

pub mod ddl;
pub mod gpkg;
pub mod ogr;
pub mod postgis;
pub mod registry;
pub mod wkb;

pub use registry::{ExistingRow, Registry, RegistryError};
