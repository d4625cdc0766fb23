//! The registry schema, parsed from `schemas/registry.toml` (embedded at build time).
//!
//! ```
//! let reg = cadastra_model::registry();
//! let zd = reg.table("ZDJBXX").unwrap();
//! assert_eq!(zd.key.as_deref(), Some("ZDDM"));
//! assert!(zd.field("src_key").is_some()); // provenance columns are added to every data table
//! ```

use serde::Deserialize;
use std::sync::OnceLock;

/// The schema text, embedded so that the binary needs no data files at run time.
pub const REGISTRY_TOML: &str = include_str!("../../../schemas/registry.toml");

/// Field types of the registry. Dates are ISO 8601 text in GeoPackage and `date` in PostGIS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    Text,
    Int,
    Real,
    Date,
}

impl FieldType {
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::Int => "int",
            FieldType::Real => "real",
            FieldType::Date => "date",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum GeometryType {
    Point,
    Multipolygon,
}

impl GeometryType {
    pub fn as_str(self) -> &'static str {
        match self {
            GeometryType::Point => "POINT",
            GeometryType::Multipolygon => "MULTIPOLYGON",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TableKind {
    /// registry data with geometry
    Feature,
    /// registry data without geometry
    Attributes,
    /// cadastra's own bookkeeping tables (crosswalk, quarantine, runs, ...)
    System,
    /// validation output layers
    Findings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldDef {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: FieldType,
    #[serde(default)]
    pub len: Option<u32>,
    #[serde(default)]
    pub domain: Option<String>,
    #[serde(default)]
    pub required: bool,
    pub zh: String,
    pub en: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableDef {
    pub name: String,
    pub zh: String,
    pub en: String,
    pub kind: TableKind,
    #[serde(default)]
    pub geometry: Option<GeometryType>,
    /// business key field (unit number, parcel code, business number)
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub ysdm: Option<String>,
    /// true for the rights tables (common right fields, QSZT)
    #[serde(default)]
    pub right: bool,
    /// fields holding personal data, masked in review outputs
    #[serde(default)]
    pub personal: Vec<String>,
    pub fields: Vec<FieldDef>,
}

impl TableDef {
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.name == name)
    }
    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }
    /// Registry data (feature or attribute tables), which carry provenance columns.
    pub fn is_data(&self) -> bool {
        matches!(self.kind, TableKind::Feature | TableKind::Attributes)
    }
    pub fn is_personal(&self, field: &str) -> bool {
        self.personal.iter().any(|p| p == field)
    }
}

#[derive(Debug, Deserialize)]
struct RawProvenance {
    fields: Vec<FieldDef>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchema {
    version: String,
    provenance: RawProvenance,
    table: Vec<TableDef>,
}

/// The whole registry schema. Data tables already include the provenance columns at their end.
#[derive(Debug, Clone)]
pub struct RegistrySchema {
    pub version: String,
    pub tables: Vec<TableDef>,
    pub provenance: Vec<FieldDef>,
}

impl RegistrySchema {
    pub fn parse(text: &str) -> Result<Self, toml::de::Error> {
        let raw: RawSchema = toml::from_str(text)?;
        let mut tables = raw.table;
        for t in &mut tables {
            if t.is_data() {
                t.fields.extend(raw.provenance.fields.iter().cloned());
            }
        }
        Ok(RegistrySchema {
            version: raw.version,
            tables,
            provenance: raw.provenance.fields,
        })
    }
    pub fn table(&self, name: &str) -> Option<&TableDef> {
        self.tables.iter().find(|t| t.name == name)
    }
    pub fn data_tables(&self) -> impl Iterator<Item = &TableDef> {
        self.tables.iter().filter(|t| t.is_data())
    }
}

/// The registry schema compiled into this binary.
pub fn registry() -> &'static RegistrySchema {
    static REG: OnceLock<RegistrySchema> = OnceLock::new();
    // The embedded file is checked by the unit test below; failing here is a build defect.
    REG.get_or_init(|| RegistrySchema::parse(REGISTRY_TOML).expect("schemas/registry.toml parses"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn embedded_schema_has_the_standard_tables() {
        let reg = registry();
        for t in [
            "ZDJBXX", "ZRZ", "H", "QLR", "JSYDSYQ", "FDCQ2", "NYDSYQ", "LQ",
        ] {
            let def = reg.table(t).unwrap_or_else(|| panic!("table {t}"));
            assert!(def.is_data());
            for p in [
                "src_system",
                "src_file",
                "src_row",
                "src_key",
                "batch_id",
                "record_hash",
            ] {
                assert!(def.field(p).is_some(), "{t}.{p}");
            }
            let names: HashSet<_> = def.fields.iter().map(|f| &f.name).collect();
            assert_eq!(names.len(), def.fields.len(), "duplicate field in {t}");
        }
        for t in [
            "key_crosswalk",
            "quarantine",
            "cadastra_runs",
            "reconciliation",
        ] {
            assert!(reg.table(t).is_some(), "{t}");
        }
        assert_eq!(
            reg.table("ZDJBXX").unwrap().geometry,
            Some(GeometryType::Multipolygon)
        );
    }

    #[test]
    fn every_domain_names_a_code_list() {
        let lists = crate::codelist::codelists();
        for t in &registry().tables {
            for f in &t.fields {
                if let Some(d) = &f.domain {
                    assert!(lists.list(d).is_some(), "{}.{} -> {d}", t.name, f.name);
                }
            }
        }
    }
}
