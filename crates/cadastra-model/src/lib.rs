//! Plain data shared by every cadastra crate. No I/O, no threads.
//!
//! - [`schema`]: the registry schema (tables, fields, types) loaded from `schemas/registry.toml`,
//!   the single definition both the GeoPackage and PostGIS registries are created from.
//! - [`codelist`]: value domains from `schemas/codelists.toml` and the admin-code crosswalk.
//! - [`table`]: compact columnar storage for source records and mapped registry rows.
//! - [`finding`]: validation findings, severities and rule ids.
//! - [`summary`]: the run summary (sources, reconciliation, findings by rule, timings).
//! - [`ids`]: real-estate unit numbers (GB/T 37346), 身份证 (GB 11643), USCC (GB 32100) and
//!   organisation codes (GB 11714), and masking of personal data for review copies.

pub mod codelist;
pub mod finding;
pub mod ids;
pub mod schema;
pub mod summary;
pub mod table;

pub use finding::{Finding, Outcome, RuleId, Severity};
pub use schema::{
    registry, FieldDef, FieldType, GeometryType, RegistrySchema, TableDef, TableKind,
};
pub use table::{Cell, Column, Geom, RawTable, Rows, StrColumn};
