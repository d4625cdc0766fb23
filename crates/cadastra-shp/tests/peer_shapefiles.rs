//! Data-driven test over every dataset of ../shared/peer-tests/shapefiles (106 datasets, read
//! by their MANIFEST.md) plus the real Swiss coverage. The expectations live in
//! `tests/data/peer_shapefiles.toml`; `check` is the only caller of the reader API.
//!
//! Per case: no panic; the row count GDAL 3.6.2 returns (or a documented difference), or a
//! clean refusal naming the file; the encoding decision; decoded values; problems; warnings;
//! and the 2D geometry signature of every feature compared with GDAL's (structure, vertex
//! counts and the exact bit patterns of coordinate sums).
//!
//! A second test compares against mbostock/shapefile's expected GeoJSON (an independent oracle
//! for geometry coordinates, nulls, booleans, dates).

use cadastra_model::StrColumn;
use cadastra_shp::{
    read_dbf, read_shapefile, EncodingDecision, ReadOptions, RecordProblem, ShapeType, ShpError,
    TextEncoding,
};
use geo_types::{Coord, Geometry};
use serde::Deserialize;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const PEER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/peer-tests/shapefiles"
);
const CASES: &str = include_str!("data/peer_shapefiles.toml");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Cases {
    case: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    path: String,
    reader: Option<String>,
    gdal: Option<usize>,
    rows: Option<usize>,
    why: Option<String>,
    #[allow(dead_code)] // documentation for the reader of the table
    note: Option<String>,
    refuse: Option<String>,
    #[serde(rename = "override")]
    override_encoding: Option<String>,
    #[serde(default)]
    chinese: bool,
    encoding: Option<String>,
    source: Option<String>,
    confident: Option<bool>,
    shape_type: Option<String>,
    prj: Option<bool>,
    deleted: Option<usize>,
    min_problems: Option<usize>,
    fields: Option<Vec<String>>,
    null_geoms: Option<Vec<usize>>,
    gdal_sig: Option<String>,
    no_sig: Option<String>,
    #[serde(default)]
    warnings: Vec<String>,
    #[serde(default)]
    values: Vec<Val>,
    #[serde(default)]
    problems: Vec<Prob>,
    find: Option<Find>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Val {
    row: usize,
    field: String,
    value: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Prob {
    row: usize,
    field: Option<String>,
    kind: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Find {
    field: String,
    value: String,
}

/// What a read produced, whichever reader ran.
struct Outcome {
    rows: usize,
    fields: Vec<String>,
    columns: Vec<StrColumn>,
    geoms: Option<Vec<Option<Geometry<f64>>>>,
    encoding: Option<EncodingDecision>,
    warnings: Vec<String>,
    problems: Vec<RecordProblem>,
    deleted: usize,
    shape_type: Option<ShapeType>,
    prj: Option<bool>,
}

fn peer_dir() -> PathBuf {
    let dir = PathBuf::from(PEER);
    assert!(
        dir.join("MANIFEST.md").is_file(),
        "peer test material missing: {} (the shared folder must be mounted)",
        dir.display()
    );
    dir
}

fn read(path: &Path, case: &Case) -> Result<Outcome, ShpError> {
    let opts = ReadOptions {
        encoding: case.override_encoding.as_deref().map(|l| {
            TextEncoding::from_cpg(l).unwrap_or_else(|| panic!("unknown override label {l:?}"))
        }),
        chinese: case.chinese,
        threads: None,
        refuse_missing_shx: false,
        no_mmap: false,
    };
    let dbf = match case.reader.as_deref() {
        Some("dbf") => true,
        Some("shp") => false,
        _ => path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("dbf")),
    };
    if dbf {
        let t = read_dbf(path, &opts)?;
        Ok(Outcome {
            rows: t.len(),
            fields: t.fields.iter().map(|f| f.name.clone()).collect(),
            deleted: t.deleted_skipped(),
            columns: t.columns,
            geoms: None,
            encoding: Some(t.encoding),
            warnings: t.warnings,
            problems: t.problems,
            shape_type: None,
            prj: None,
        })
    } else {
        let l = read_shapefile(path, &opts)?;
        assert_eq!(l.geoms.len(), l.len(), "geometries and rows must align");
        for c in &l.columns {
            assert_eq!(c.len(), l.len(), "every column has one value per row");
        }
        Ok(Outcome {
            rows: l.len(),
            fields: l.fields.iter().map(|f| f.name.clone()).collect(),
            deleted: l.deleted_skipped(),
            columns: l.columns,
            geoms: Some(l.geoms),
            encoding: l.encoding,
            warnings: l.warnings,
            problems: l.problems,
            shape_type: Some(l.shape_type),
            prj: Some(l.prj.is_some()),
        })
    }
}

/// The per-feature signature of tests/data/gdal_signatures.py.
fn signature(g: &Option<Geometry<f64>>) -> String {
    let Some(g) = g else { return "null".into() };
    let mut coords: Vec<Coord<f64>> = Vec::new();
    let shape = match g {
        Geometry::Polygon(p) => {
            coords.extend(
                p.exterior()
                    .0
                    .iter()
                    .chain(p.interiors().iter().flat_map(|r| &r.0)),
            );
            format!("Polygon[{}]", 1 + p.interiors().len())
        }
        Geometry::MultiPolygon(m) => {
            for p in &m.0 {
                coords.extend(
                    p.exterior()
                        .0
                        .iter()
                        .chain(p.interiors().iter().flat_map(|r| &r.0)),
                );
            }
            let rings: Vec<String> =
                m.0.iter()
                    .map(|p| (1 + p.interiors().len()).to_string())
                    .collect();
            format!("MultiPolygon[{}]", rings.join(","))
        }
        Geometry::LineString(l) => {
            coords.extend(&l.0);
            "LineString".into()
        }
        Geometry::MultiLineString(m) => {
            coords.extend(m.0.iter().flat_map(|l| &l.0));
            format!("MultiLineString[{}]", m.0.len())
        }
        Geometry::Point(p) => {
            coords.push(p.0);
            "Point".into()
        }
        Geometry::MultiPoint(m) => {
            coords.extend(m.0.iter().map(|p| p.0));
            "MultiPoint".into()
        }
        other => format!("{other:?}"),
    };
    let (mut sx, mut sy) = (0.0f64, 0.0f64);
    for c in &coords {
        sx += c.x;
        sy += c.y;
    }
    format!(
        "{shape}:{}@{:016x},{:016x}",
        coords.len(),
        sx.to_bits(),
        sy.to_bits()
    )
}

fn fnv(text: &str) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

/// Check one case; returns the failures.
fn check(case: &Case) -> Vec<String> {
    let path = peer_dir().join(&case.path);
    let mut fail = Vec::new();
    let mut bad = |m: String| fail.push(format!("{}: {m}", case.path));
    let result = std::panic::catch_unwind(|| read(&path, case));
    let outcome = match result {
        Err(_) => {
            bad("PANICKED".into());
            return fail;
        }
        Ok(Err(e)) => {
            let msg = e.to_string();
            match &case.refuse {
                Some(want) => {
                    let stem = path
                        .file_stem()
                        .map(|s| s.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    if !msg.contains(want.as_str()) || !msg.contains(&stem) {
                        bad(format!(
                            "refused with {msg:?}, want {want:?} naming {stem:?}"
                        ));
                    }
                }
                None => bad(format!("refused: {msg}")),
            }
            return fail;
        }
        Ok(Ok(o)) => o,
    };
    if let Some(r) = &case.refuse {
        bad(format!("read {} rows, want a refusal {r:?}", outcome.rows));
        return fail;
    }
    let want_rows = case.rows.or(case.gdal);
    match (want_rows, case.gdal, case.rows) {
        (None, _, _) => bad("case gives neither gdal nor rows".into()),
        (Some(w), _, _) if w != outcome.rows => bad(format!("{} rows, want {w}", outcome.rows)),
        _ => {}
    }
    if case.rows.is_some() && case.rows != case.gdal && case.why.is_none() {
        bad("rows differ from GDAL without a `why`".into());
    }
    if let Some(want) = &case.encoding {
        match &outcome.encoding {
            Some(d) if d.encoding.name() == want => {}
            Some(d) => bad(format!(
                "encoding {} ({:?}), want {want}; evidence {:?}",
                d.encoding, d.source, d.evidence
            )),
            None => bad(format!("no encoding decision, want {want}")),
        }
    }
    if let (Some(want), Some(d)) = (&case.source, &outcome.encoding) {
        if format!("{:?}", d.source) != *want {
            bad(format!("encoding source {:?}, want {want}", d.source));
        }
    }
    if let (Some(want), Some(d)) = (case.confident, &outcome.encoding) {
        if d.confident != want {
            bad(format!(
                "confident {}, want {want}; evidence {:?}",
                d.confident, d.evidence
            ));
        }
        if d.evidence.is_empty() {
            bad("encoding decision without evidence".into());
        }
    }
    if let Some(want) = &case.shape_type {
        let got = outcome
            .shape_type
            .map(|t| format!("{t:?}"))
            .unwrap_or_default();
        if got != *want {
            bad(format!("shape type {got}, want {want}"));
        }
    }
    if case.prj.is_some() && outcome.prj != case.prj {
        bad(format!(
            "prj present {:?}, want {:?}",
            outcome.prj, case.prj
        ));
    }
    if let Some(d) = case.deleted {
        if outcome.deleted != d {
            bad(format!(
                "{} deleted records skipped, want {d}",
                outcome.deleted
            ));
        }
    }
    if let Some(f) = &case.fields {
        if outcome.fields != *f {
            bad(format!("fields {:?}, want {f:?}", outcome.fields));
        }
    }
    for v in &case.values {
        let Some(i) = outcome.fields.iter().position(|f| *f == v.field) else {
            bad(format!(
                "no field {:?} (fields {:?})",
                v.field, outcome.fields
            ));
            continue;
        };
        let col = &outcome.columns[i];
        if v.row >= col.len() {
            bad(format!("row {} out of range", v.row));
            continue;
        }
        if col.get(v.row) != v.value.as_deref() {
            bad(format!(
                "row {} {:?} = {:?}, want {:?}",
                v.row,
                v.field,
                col.get(v.row),
                v.value
            ));
        }
    }
    for p in &case.problems {
        let found = outcome.problems.iter().any(|q| {
            q.row == p.row
                && q.field.as_deref() == p.field.as_deref()
                && format!("{:?}", q.kind) == p.kind
        });
        if !found {
            bad(format!(
                "no problem {:?} at row {} field {:?}; problems {:?}",
                p.kind, p.row, p.field, outcome.problems
            ));
        }
    }
    if let Some(n) = case.min_problems {
        if outcome.problems.len() < n {
            bad(format!(
                "{} problems, want at least {n}",
                outcome.problems.len()
            ));
        }
    }
    for p in &outcome.problems {
        if p.row >= outcome.rows {
            bad(format!(
                "problem for row {} beyond {} rows",
                p.row, outcome.rows
            ));
        }
    }
    for w in &case.warnings {
        if !outcome.warnings.iter().any(|x| x.contains(w.as_str())) {
            bad(format!(
                "no warning containing {w:?}; warnings {:?}",
                outcome.warnings
            ));
        }
    }
    if let Some(nulls) = &case.null_geoms {
        let got: Vec<usize> = outcome
            .geoms
            .iter()
            .flatten()
            .enumerate()
            .filter(|(_, g)| g.is_none())
            .map(|(i, _)| i)
            .collect();
        if got != *nulls {
            bad(format!("null geometries at {got:?}, want {nulls:?}"));
        }
    }
    if let Some(f) = &case.find {
        let found = outcome
            .fields
            .iter()
            .position(|n| *n == f.field)
            .is_some_and(|i| {
                outcome.columns[i]
                    .iter()
                    .any(|v| v == Some(f.value.as_str()))
            });
        if !found {
            bad(format!("no row with {:?} = {:?}", f.field, f.value));
        }
    }
    match (&case.gdal_sig, &outcome.geoms) {
        (Some(want), Some(geoms)) => {
            let sigs: Vec<String> = geoms.iter().map(signature).collect();
            let got = format!("{:016x}:{}", fnv(&sigs.join("\n")), sigs.len());
            if got != *want {
                bad(format!(
                    "geometry signature {got}, GDAL {want}; ours:\n  {}",
                    sigs.join("\n  ")
                ));
            }
        }
        (None, Some(g)) if case.no_sig.is_none() && !g.is_empty() => {
            bad("a shapefile case needs gdal_sig or no_sig".into())
        }
        _ => {}
    }
    fail
}

fn manifest_datasets(dir: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(dir.join("MANIFEST.md")).expect("MANIFEST.md readable");
    text.lines()
        .filter(|l| l.starts_with("| `"))
        .filter_map(|l| l.split('|').nth(1))
        .map(|c| c.trim().trim_matches('`').to_string())
        .collect()
}

#[test]
fn every_peer_dataset_reads_as_expected() {
    let dir = peer_dir();
    let cases: Cases = toml::from_str(CASES).expect("peer_shapefiles.toml parses");
    let datasets = manifest_datasets(&dir);
    assert_eq!(datasets.len(), 106, "the manifest lists 106 datasets");
    let covered: BTreeSet<String> = cases.case.iter().map(|c| c.path.clone()).collect();
    let missing: Vec<&String> = datasets.iter().filter(|d| !covered.contains(*d)).collect();
    assert!(missing.is_empty(), "datasets without a case: {missing:?}");
    let unknown: Vec<&String> = covered
        .iter()
        .filter(|c| !datasets.contains(*c) && !c.starts_with("../"))
        .collect();
    assert!(
        unknown.is_empty(),
        "cases for datasets not in the manifest: {unknown:?}"
    );

    let failures: Vec<String> = cases.case.iter().flat_map(check).collect();
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// ------------------------------------------------------------------------------------------
// mbostock/shapefile expected GeoJSON

fn coords_of(v: &serde_json::Value) -> Vec<(f64, f64)> {
    match v {
        serde_json::Value::Array(a) if a.first().is_some_and(|x| x.is_number()) => {
            vec![(
                a[0].as_f64().unwrap_or(f64::NAN),
                a[1].as_f64().unwrap_or(f64::NAN),
            )]
        }
        serde_json::Value::Array(a) => a.iter().flat_map(coords_of).collect(),
        _ => Vec::new(),
    }
}

fn our_coords(g: &Geometry<f64>) -> (&'static str, Vec<(f64, f64)>) {
    let ring = |r: &geo_types::LineString<f64>| r.0.iter().map(|c| (c.x, c.y)).collect::<Vec<_>>();
    match g {
        Geometry::Point(p) => ("Point", vec![(p.x(), p.y())]),
        Geometry::MultiPoint(m) => ("MultiPoint", m.0.iter().map(|p| (p.x(), p.y())).collect()),
        Geometry::LineString(l) => ("LineString", ring(l)),
        Geometry::MultiLineString(m) => ("MultiLineString", m.0.iter().flat_map(ring).collect()),
        Geometry::Polygon(p) => (
            "Polygon",
            std::iter::once(p.exterior())
                .chain(p.interiors())
                .flat_map(ring)
                .collect(),
        ),
        Geometry::MultiPolygon(m) => (
            "MultiPolygon",
            m.0.iter()
                .flat_map(|p| {
                    std::iter::once(p.exterior())
                        .chain(p.interiors())
                        .flat_map(ring)
                        .collect::<Vec<_>>()
                })
                .collect(),
        ),
        _ => ("other", Vec::new()),
    }
}

#[test]
fn mbostock_expected_geojson_agrees() {
    let dir = peer_dir().join("mbostock-shapefile");
    let mut failures = Vec::new();
    let mut checked = 0;
    for entry in std::fs::read_dir(dir.join("expected-geojson")).expect("expected-geojson folder") {
        let json_path = entry.expect("dir entry").path();
        let stem = json_path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let expected: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json_path).expect("json readable"))
                .expect("json");
        let layer = match read_shapefile(&dir.join(format!("{stem}.shp")), &ReadOptions::default())
        {
            Ok(l) => l,
            Err(e) => {
                failures.push(format!("{stem}: {e}"));
                continue;
            }
        };
        let features = expected["features"].as_array().cloned().unwrap_or_default();
        if features.len() != layer.len() {
            failures.push(format!(
                "{stem}: {} rows, expected {}",
                layer.len(),
                features.len()
            ));
            continue;
        }
        // fields the oracle exports: those named in at least one feature
        let exported: BTreeSet<String> = features
            .iter()
            .filter_map(|f| f["properties"].as_object())
            .flat_map(|p| p.keys().cloned())
            .collect();
        for (i, f) in features.iter().enumerate() {
            match (&f["geometry"], &layer.geoms[i]) {
                (serde_json::Value::Null, None) => {}
                (g, Some(ours)) if !g.is_null() => {
                    let (kind, pts) = our_coords(ours);
                    let want_kind = g["type"].as_str().unwrap_or("");
                    let want = coords_of(&g["coordinates"]);
                    // the expected files were written by JavaScript: allow a few ULPs
                    let close = pts.len() == want.len()
                        && pts.iter().zip(&want).all(|(a, b)| {
                            (a.0 - b.0).abs() <= 1e-12 * a.0.abs().max(1.0)
                                && (a.1 - b.1).abs() <= 1e-12 * a.1.abs().max(1.0)
                        });
                    if kind != want_kind || !close {
                        failures.push(format!(
                            "{stem} #{i}: {kind} {pts:?}, expected {want_kind} {want:?}"
                        ));
                    }
                }
                (g, ours) => failures.push(format!("{stem} #{i}: geometry {ours:?}, expected {g}")),
            }
            let props = f["properties"].as_object().cloned().unwrap_or_default();
            for (field, col) in layer.fields.iter().zip(&layer.columns) {
                if !exported.contains(&field.name) {
                    continue;
                }
                let ours = col.get(i);
                let ok = match props.get(&field.name) {
                    None | Some(serde_json::Value::Null) => ours.is_none(),
                    Some(serde_json::Value::Bool(b)) => ours == Some(if *b { "T" } else { "F" }),
                    Some(serde_json::Value::Number(n)) => {
                        ours.and_then(|s| s.parse::<f64>().ok()) == n.as_f64()
                    }
                    Some(serde_json::Value::String(s)) => ours == Some(s.as_str()),
                    Some(_) => false,
                };
                if !ok {
                    failures.push(format!(
                        "{stem} #{i} {}: {ours:?}, expected {:?}",
                        field.name,
                        props.get(&field.name)
                    ));
                }
            }
        }
        checked += 1;
    }
    assert!(
        checked >= 12,
        "only {checked} expected-geojson files checked"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
