//! Property: the mapping stage always balances. For generated raw tables (duplicate, empty,
//! full-width and placeholder keys, routing values no target takes, unparseable dates and
//! numbers, geometry of the wrong kind, records the reader could not decode), per target table
//! `rows + quarantined = read`, and every record read is counted exactly once: it is either a
//! mapped row or a quarantine entry, never both, never twice, never lost.

use cadastra_model::{RawTable, StrColumn};
use cadastra_pipeline::mapping::{map_source, MapResult};
use cadastra_pipeline::sources::{RecordProblem, SourceData};
use cadastra_pipeline::{compile, spec, Plan};
use geo_types::{coord, Geometry, LineString, Point, Polygon};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

/// Two sources: rights routed by QLLX to two tables (and to none), parcels with geometry.
const PIPELINE: &str = r#"
[pipeline]
name = "prop"
batch = "prop-1"

[[source]]
name = "rights"
system = "laiwu"
type = "csv"
path = "rights.csv"
key = "YWH"
[[source.target]]
table = "JSYDSYQ"
when = { field = "QLLX", in = ["3", "5"] }
[source.target.fields]
YWH = "YWH"
BDCDYH = "BDCDYH"
QLLX = "QLLX"
SYQMJ = "SYQMJ"
SYQQSSJ = "QSSJ"
QXDM = { from = "BDCDYH", slice = [0, 6] }
[[source.target]]
table = "NYDSYQ"
when = { field = "QLLX", in = ["9"] }
[source.target.fields]
YWH = "YWH"
BDCDYH = "BDCDYH"
QLLX = "QLLX"
CBMJ = { from = "SYQMJ", unit = "mu" }

[[source]]
name = "parcels"
system = "laiwu"
type = "shapefile"
path = "ZD.shp"
crs = "EPSG:4548"
key = "ZDDM"
[[source.target]]
table = "ZDJBXX"
[source.target.fields]
ZDDM = "ZDDM"
BDCDYH = "BDCDYH"
ZDMJ = "ZDMJ"
QLLX = "QLLX"
"#;

fn plan() -> Plan {
    let file = spec::parse(Path::new("/nonexistent/prop.toml"), PIPELINE.to_string())
        .unwrap_or_else(|e| panic!("pipeline parses: {e:?}"));
    compile(&file).unwrap_or_else(|e| panic!("pipeline compiles: {e:?}"))
}

fn key() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        3 => (0u8..6).prop_map(|i| Some(format!("371202001001GB0000{i}"))),
        1 => Just(None),
        1 => Just(Some("  ".to_string())),
        1 => Just(Some("无".to_string())),
        1 => Just(Some("３71202001001GB00001".to_string())),
        1 => Just(Some(" 371202001001GB00002 ".to_string())),
    ]
}

fn pick(options: &'static [&'static str]) -> impl Strategy<Value = Option<String>> {
    prop::sample::select(options).prop_map(|s| (!s.is_empty()).then(|| s.to_string()))
}

#[derive(Debug, Clone)]
struct Row {
    cells: Vec<Option<String>>,
    geom: u8,
    /// how many fields the reader could not decode (0 = none)
    problems: u8,
}

fn rights_row() -> impl Strategy<Value = Row> {
    (
        key(),
        key(),
        pick(&["3", "5", "9", "4", "", "３", "x"]),
        pick(&["12.5", "abc", "", "1,234.5", "1e309", "-0"]),
        pick(&[
            "2003-05-01",
            "2003年5月1日",
            "20030501",
            "bad",
            "",
            "2003-02-30",
        ]),
        prop_oneof![6 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8)],
    )
        .prop_map(|(ywh, unit, qllx, area, date, problems)| Row {
            cells: vec![ywh, unit, qllx, area, date],
            geom: 0,
            problems,
        })
}

fn parcel_row() -> impl Strategy<Value = Row> {
    (
        key(),
        key(),
        pick(&["100.5", "", "abc", "-3"]),
        pick(&["3", "4", ""]),
        0u8..4,
        prop_oneof![6 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8)],
    )
        .prop_map(|(zddm, unit, area, qllx, geom, problems)| Row {
            cells: vec![zddm, unit, area, qllx],
            geom,
            problems,
        })
}

fn geometry(kind: u8, i: usize) -> Option<Geometry<f64>> {
    let x = 550_000.0 + 10.0 * i as f64;
    let y = 4_010_000.0;
    match kind {
        0 => None,
        1 | 2 => Some(Geometry::Polygon(Polygon::new(
            LineString(vec![
                coord! {x: x, y: y},
                coord! {x: x, y: y + 5.0},
                coord! {x: x + 5.0, y: y + 5.0},
                coord! {x: x + 5.0, y: y},
                coord! {x: x, y: y},
            ]),
            vec![],
        ))),
        _ => Some(Geometry::Point(Point::new(x, y))),
    }
}

fn data(fields: &[&str], rows: &[Row], with_geoms: bool) -> SourceData {
    let mut columns: Vec<StrColumn> = fields.iter().map(|_| StrColumn::default()).collect();
    let mut problems = Vec::new();
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in columns.iter_mut().zip(&row.cells) {
            c.push(v.as_deref());
        }
        for p in 0..row.problems {
            problems.push(RecordProblem {
                row: r,
                field: fields[usize::from(p) % fields.len()].to_string(),
                reason: "not valid GBK".into(),
                raw: "ff".into(),
            });
        }
    }
    SourceData {
        table: RawTable {
            name: "t".into(),
            fields: fields.iter().map(|f| f.to_string()).collect(),
            columns,
            geoms: with_geoms.then(|| {
                rows.iter()
                    .enumerate()
                    .map(|(i, r)| geometry(r.geom, i))
                    .collect()
            }),
            // 1-based line numbers after a header line, unique per record
            src_rows: (0..rows.len() as u64).map(|r| r + 2).collect(),
        },
        problems,
        ..Default::default()
    }
}

/// The properties, for one source's mapping result over `n` raw records.
fn check_balance(res: &MapResult, raw: &RawTable) {
    let n = raw.len();
    // per target: rows + quarantined = read
    let mut quarantined: BTreeMap<&str, u64> = BTreeMap::new();
    for q in &res.quarantine {
        *quarantined.entry(q.target.as_str()).or_default() += 1;
    }
    let mut tables: Vec<&str> = res.read_per_target.keys().map(String::as_str).collect();
    tables.extend(quarantined.keys());
    tables.extend(res.targets.iter().map(|t| t.table.as_str()));
    tables.sort();
    tables.dedup();
    for t in tables {
        let rows = res
            .targets
            .iter()
            .find(|m| m.table == t)
            .map_or(0, |m| m.rows.len() as u64);
        let q = quarantined.get(t).copied().unwrap_or(0);
        let read = res.read_per_target.get(t).copied().unwrap_or(0);
        assert_eq!(
            rows + q,
            read,
            "target {t}: {rows} rows + {q} quarantined != {read} read"
        );
    }
    // every record exactly once
    let total_read: u64 = res.read_per_target.values().sum();
    assert_eq!(total_read, n as u64, "records counted as read != records");
    let mut seen = vec![0u32; n];
    for m in &res.targets {
        assert_eq!(m.raw_index.len(), m.rows.len());
        for &r in &m.raw_index {
            seen[r] += 1;
        }
    }
    for q in &res.quarantine {
        let r = raw
            .src_rows
            .iter()
            .position(|&s| s == q.src_row)
            .expect("quarantine names a real record");
        seen[r] += 1;
    }
    for (r, &k) in seen.iter().enumerate() {
        assert_eq!(k, 1, "record {r} ended up {k} times (mapped + quarantined)");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn rights_mapping_balances(rows in prop::collection::vec(rights_row(), 0..60)) {
        let plan = plan();
        let src = &plan.sources[0];
        let d = data(&["YWH", "BDCDYH", "QLLX", "SYQMJ", "QSSJ"], &rows, false);
        let res = map_source(src, &d, &plan.batch);
        check_balance(&res, &d.table);
    }

    #[test]
    fn parcel_mapping_balances(rows in prop::collection::vec(parcel_row(), 0..60)) {
        let plan = plan();
        let src = &plan.sources[1];
        let d = data(&["ZDDM", "BDCDYH", "ZDMJ", "QLLX"], &rows, true);
        let res = map_source(src, &d, &plan.batch);
        check_balance(&res, &d.table);
    }
}

/// A record with two undecodable fields is still one record read and one quarantine entry.
#[test]
fn two_undecodable_fields_are_one_quarantined_record() {
    let plan = plan();
    let src = &plan.sources[0];
    let rows = vec![Row {
        cells: vec![
            Some("371202001001GB00001".into()),
            None,
            Some("3".into()),
            None,
            None,
        ],
        geom: 0,
        problems: 2,
    }];
    let d = data(&["YWH", "BDCDYH", "QLLX", "SYQMJ", "QSSJ"], &rows, false);
    let res = map_source(src, &d, &plan.batch);
    check_balance(&res, &d.table);
    assert_eq!(res.quarantine.len(), 1);
    assert!(
        res.quarantine[0].reason.contains("YWH") && res.quarantine[0].reason.contains("BDCDYH")
    );
}
