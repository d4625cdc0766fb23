//! `cadastra validate FILE... --as parcel|building`: a plan for plain files without a pipeline file.
//! Fields that carry the registry's names (ZDDM, BDCDYH, ZL, ZDMJ, ...) are mapped as they are; the
//! geometry stays in the file's own CRS (no reprojection), so GEOM and TOPO rules run on any
//! projected data; the rules that need other fields or tables say "not applicable".

use crate::compile::{CrsRef, Plan, SourcePlan, TargetPlan};
use crate::sources::SOURCES;
use crate::spec::{FieldMap, MergeSpec, ValidationSpec};
use cadastra_model::registry;
use std::path::PathBuf;

/// The pseudo key field meaning "the record number".
pub const ROW_KEY: &str = "#row";

pub fn plan_for_files(
    inputs: &[PathBuf],
    as_layer: &str,
    key: Option<&str>,
) -> Result<Plan, String> {
    let table = match as_layer {
        "parcel" => "ZDJBXX",
        "building" => "ZRZ",
        other => return Err(format!("--as {other}: expected parcel or building")),
    };
    let def = registry().table(table).ok_or("registry table")?;
    let mut sources = Vec::new();
    for (i, path) in inputs.iter().enumerate() {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        let kind = SOURCES
            .iter()
            .find(|d| d.extensions().contains(&ext.as_str()))
            .map(|d| d.kind())
            .unwrap_or("gdal");
        if !matches!(kind, "shapefile" | "gdal") {
            return Err(format!(
                "{}: a {kind} file has no geometry to validate",
                path.display()
            ));
        }
        let mut plan = SourcePlan {
            name: format!("file{}", i + 1),
            system: path
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default(),
            kind: kind.into(),
            path: path.clone(),
            display_path: path.display().to_string(),
            layer: None,
            sheet: None,
            encoding: None,
            chinese: true,
            restore_shx: true,
            strict: false,
            delimiter: b',',
            crs: Some(CrsRef::AsRead),
            key: vec![],
            targets: vec![],
            has_geometry_target: true,
        };
        // field names present in the file
        let fields = crate::sources::driver(kind)
            .ok_or("driver")?
            .fields(&plan)
            .map_err(|e| e.to_string())?;
        let mapped: Vec<(usize, FieldMap)> = def
            .fields
            .iter()
            .enumerate()
            .filter(|(_, f)| !registry().provenance.iter().any(|p| p.name == f.name))
            .filter(|(_, f)| fields.contains(&f.name))
            .map(|(i, f)| {
                (
                    i,
                    FieldMap {
                        from: Some(f.name.clone()),
                        ..Default::default()
                    },
                )
            })
            .collect();
        let key_field = match key {
            Some(k) if fields.iter().any(|f| f == k) => k.to_string(),
            Some(k) => {
                return Err(format!(
                    "{}: no field {k} (fields: {})",
                    path.display(),
                    fields.join(", ")
                ))
            }
            None => ["ZDDM", "ZRZH", "BDCDYH"]
                .iter()
                .find(|k| fields.iter().any(|f| f == *k))
                .map_or(ROW_KEY.to_string(), |k| k.to_string()),
        };
        plan.key = vec![key_field];
        plan.targets = vec![TargetPlan {
            table: table.into(),
            when: None,
            fields: mapped,
        }];
        sources.push(plan);
    }
    Ok(Plan {
        file: PathBuf::from("(plain files)"),
        name: "validate".into(),
        batch: "validate".into(),
        crs: Default::default(),
        sources,
        validation: ValidationSpec::default(),
        merge: MergeSpec::default(),
        joins: vec![],
        sha256: String::new(),
    })
}
