//! QGIS-ready registry: default styles in `layer_styles` exactly as QGIS looks them up
//! (delivery-conventions §1.1), run metadata (§1.4), and a `.qgz` project next to the registry
//! with relative paths, the CGCS2000 project CRS and the relations 宗地 → 自然幢 → 户 and
//! unit → 权利人 (§1.3, §1.5).

use crate::html::esc;
use crate::ReportError;
use cadastra_model::summary::RunSummary;
use rusqlite::{params, Connection, OpenFlags};
use std::fmt::Write;
use std::io::Write as _;
use std::path::{Component, Path, PathBuf};

/// Name of the styles cadastra writes (a user's own styles keep theirs).
pub const STYLE_NAME: &str = "cadastra";
/// EPSG code of the registry layers.
pub const EPSG: u32 = 4548;
const PROJ4: &str =
    "+proj=tmerc +lat_0=0 +lon_0=117 +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 +units=m +no_defs";
const CRS_NAME: &str = "CGCS2000 / 3-degree Gauss-Kruger CM 117E";

const LAYER_STYLES_DDL: &str = "CREATE TABLE IF NOT EXISTS layer_styles (
  id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  f_table_catalog TEXT(256),
  f_table_schema TEXT(256),
  f_table_name TEXT(256),
  f_geometry_column TEXT(256),
  styleName TEXT(30),
  styleQML TEXT,
  styleSLD TEXT,
  useAsDefault BOOLEAN,
  description TEXT,
  owner TEXT(30),
  ui TEXT(30),
  update_time DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
)";

// --------------------------------------------------------------------------------- QML

fn rgba(c: (u8, u8, u8, u8)) -> String {
    format!("{},{},{},{}", c.0, c.1, c.2, c.3)
}

fn options(kv: &[(&str, String)]) -> String {
    let mut s = String::from(r#"<Option type="Map">"#);
    for (k, v) in kv {
        let _ = write!(
            s,
            r#"<Option name="{k}" value="{}" type="QString"/>"#,
            esc(v)
        );
    }
    s.push_str("</Option>");
    for (k, v) in kv {
        let _ = write!(s, r#"<prop k="{k}" v="{}"/>"#, esc(v));
    }
    s
}

fn fill_symbol(
    name: &str,
    fill: (u8, u8, u8, u8),
    line: (u8, u8, u8, u8),
    w: f64,
    style: &str,
) -> String {
    format!(
        r#"<symbol type="fill" name="{name}" alpha="1" clip_to_extent="1" force_rhr="0"><layer class="SimpleFill" enabled="1" locked="0" pass="0">{}</layer></symbol>"#,
        options(&[
            ("color", rgba(fill)),
            ("outline_color", rgba(line)),
            ("outline_style", "solid".into()),
            ("outline_width", format!("{w}")),
            ("outline_width_unit", "MM".into()),
            ("style", style.into()),
            ("joinstyle", "miter".into()),
        ])
    )
}

fn marker_symbol(name: &str, fill: (u8, u8, u8, u8), shape: &str, size: f64) -> String {
    format!(
        r#"<symbol type="marker" name="{name}" alpha="1" clip_to_extent="1" force_rhr="0"><layer class="SimpleMarker" enabled="1" locked="0" pass="0">{}</layer></symbol>"#,
        options(&[
            ("name", shape.into()),
            ("color", rgba(fill)),
            ("outline_color", "255,255,255,255".into()),
            ("outline_style", "solid".into()),
            ("outline_width", "0.3".into()),
            ("outline_width_unit", "MM".into()),
            ("size", format!("{size}")),
            ("size_unit", "MM".into()),
            ("angle", "0".into()),
        ])
    )
}

fn categorized(attr: &str, cats: &[(&str, String)], symbols: &[String]) -> String {
    let mut s = format!(
        r#"<renderer-v2 type="categorizedSymbol" attr="{}" symbollevels="0" enableorderby="0" forceraster="0"><categories>"#,
        esc(attr)
    );
    for (i, (v, label)) in cats.iter().enumerate() {
        let _ = write!(
            s,
            r#"<category value="{}" symbol="{i}" label="{}" render="true"/>"#,
            esc(v),
            esc(label)
        );
    }
    s.push_str("</categories><symbols>");
    for sym in symbols {
        s.push_str(sym);
    }
    s.push_str("</symbols></renderer-v2>");
    s
}

fn single(symbol: String) -> String {
    format!(
        r#"<renderer-v2 type="singleSymbol" symbollevels="0" enableorderby="0" forceraster="0"><symbols>{symbol}</symbols></renderer-v2>"#
    )
}

fn labeling(
    field: &str,
    is_expr: bool,
    size: f64,
    max_scale_denominator: u32,
    placement: u8,
) -> String {
    format!(
        r#"<labeling type="simple"><settings calloutType="simple"><text-style fieldName="{}" isExpression="{}" fontSize="{size}" fontSizeUnit="Point" textColor="20,20,20,255" fontFamily="Noto Sans CJK SC" namedStyle="Regular" fontWeight="50" fontItalic="0" textOpacity="1" multilineHeight="1"><text-buffer bufferDraw="1" bufferSize="0.7" bufferSizeUnits="MM" bufferColor="255,255,255,255" bufferOpacity="1"/></text-style><text-format wrapChar="" autoWrapLength="0" multilineAlign="3"/><placement placement="{placement}" dist="0" priority="5" fitInPolygonOnly="0" centroidInside="1"/><rendering scaleVisibility="1" scaleMin="{max_scale_denominator}" scaleMax="1" obstacle="1" limitNumLabels="0" drawLabels="1" upsidedownLabels="0" displayAll="0"/></settings></labeling>"#,
        esc(field),
        if is_expr { 1 } else { 0 }
    )
}

type Rgba = (u8, u8, u8, u8);

const SEV_COLORS: [(&str, &str, Rgba); 3] = [
    ("E", "E 错误 error", (198, 40, 40, 255)),
    ("W", "W 警告 warning", (239, 143, 0, 255)),
    ("I", "I 提示 info", (30, 111, 184, 255)),
];

/// Renderer and labelling of a layer (the body of its QML), or `None` for layers without a style.
pub fn style_body(table: &str) -> Option<String> {
    match table {
        "ZDJBXX" => {
            let palette: [(u8, u8, u8); 12] = [
                (141, 211, 199),
                (255, 255, 179),
                (190, 186, 218),
                (251, 128, 114),
                (128, 177, 211),
                (253, 180, 98),
                (179, 222, 105),
                (252, 205, 229),
                (217, 217, 217),
                (188, 128, 189),
                (204, 235, 197),
                (255, 237, 111),
            ];
            let list = cadastra_model::codelist::codelists().list("QLLX");
            let mut codes: Vec<(String, String)> = list
                .map(|l| {
                    l.codes
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                })
                .unwrap_or_default();
            codes.sort_by_key(|(k, _)| k.parse::<u32>().unwrap_or(u32::MAX));
            let mut cats: Vec<(&str, String)> = Vec::new();
            let mut syms = Vec::new();
            for (i, (k, v)) in codes.iter().enumerate() {
                let c = palette[i % palette.len()];
                cats.push((k.as_str(), format!("{k} {v}")));
                syms.push(fill_symbol(
                    &i.to_string(),
                    (c.0, c.1, c.2, 170),
                    (90, 80, 60, 255),
                    0.26,
                    "solid",
                ));
            }
            let n = cats.len();
            cats.push(("", "其他 other / 空 empty".into()));
            syms.push(fill_symbol(
                &n.to_string(),
                (235, 235, 235, 150),
                (90, 80, 60, 255),
                0.26,
                "solid",
            ));
            Some(format!(
                "{}{}",
                categorized("QLLX", &cats, &syms),
                labeling("BDCDYH", false, 7.0, 5000, 1)
            ))
        }
        "ZRZ" => Some(format!(
            "{}{}",
            single(fill_symbol(
                "0",
                (160, 150, 135, 200),
                (60, 55, 48, 255),
                0.3,
                "solid"
            )),
            labeling("right(\"ZRZH\", 5)", true, 6.5, 2000, 1)
        )),
        "findings" => {
            let cats: Vec<(&str, String)> = SEV_COLORS
                .iter()
                .map(|(k, l, _)| (*k, l.to_string()))
                .collect();
            let syms: Vec<String> = SEV_COLORS
                .iter()
                .enumerate()
                .map(|(i, (_, _, c))| {
                    marker_symbol(
                        &i.to_string(),
                        *c,
                        if i == 0 { "star" } else { "circle" },
                        3.2,
                    )
                })
                .collect();
            Some(format!(
                "{}{}",
                categorized("severity", &cats, &syms),
                labeling("\"rule_id\" || '-' || \"sub_code\"", true, 7.0, 2500, 0)
            ))
        }
        "finding_areas" => {
            let cats: Vec<(&str, String)> = SEV_COLORS
                .iter()
                .map(|(k, l, _)| (*k, l.to_string()))
                .collect();
            let syms: Vec<String> = SEV_COLORS
                .iter()
                .enumerate()
                .map(|(i, (_, _, c))| {
                    fill_symbol(&i.to_string(), (c.0, c.1, c.2, 110), *c, 0.5, "solid")
                })
                .collect();
            Some(categorized("severity", &cats, &syms))
        }
        _ => None,
    }
}

/// The full QML document QGIS stores in `layer_styles.styleQML`.
pub fn qml(table: &str) -> Option<String> {
    let body = style_body(table)?;
    Some(format!(
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n<qgis version=\"3.22.16-Białowieża\" styleCategories=\"Symbology|Labeling\" labelsEnabled=\"{}\">{body}<blendMode>0</blendMode><featureBlendMode>0</featureBlendMode><layerOpacity>1</layerOpacity><layerGeometryType>{}</layerGeometryType></qgis>\n",
        if body.contains("<labeling") { 1 } else { 0 },
        if table == "findings" { 0 } else { 2 }
    ))
}

/// The layers cadastra styles.
pub const STYLED: [&str; 4] = ["ZDJBXX", "ZRZ", "findings", "finding_areas"];

fn sld(table: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><StyledLayerDescriptor xmlns="http://www.opengis.net/sld" version="1.1.0"><NamedLayer><se:Name xmlns:se="http://www.opengis.net/se">{table}</se:Name></NamedLayer></StyledLayerDescriptor>"#
    )
}

fn open_rw(path: &Path) -> Result<Connection, ReportError> {
    if !path.is_file() {
        return Err(ReportError::io(path, "no such registry file"));
    }
    let c = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE)
        .map_err(ReportError::sqlite(path))?;
    c.execute_batch("PRAGMA busy_timeout = 30000") // not busy_timeout(): needs SQLite 3.44, Debian 12 has 3.40
        .map_err(ReportError::sqlite(path))?;
    let app: i32 = c
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(ReportError::sqlite(path))?;
    if app != 0x4750_4B47 {
        return Err(ReportError::io(path, "not a GeoPackage (application_id)"));
    }
    Ok(c)
}

fn has_table(c: &Connection, t: &str) -> rusqlite::Result<bool> {
    c.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [t],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
}

/// Write cadastra's default QGIS styles into the GeoPackage's `layer_styles` table for every
/// styled layer present (宗地 by 权利类型 QLLX labelled with BDCDYH, 自然幢, findings and
/// finding_areas by severity), in one transaction. Re-running replaces cadastra's rows; a style a
/// user saved as default in QGIS stays the default. Returns the layers styled.
pub fn style_registry(path: &Path) -> Result<Vec<String>, ReportError> {
    let mut c = open_rw(path)?;
    let e = ReportError::sqlite;
    let tx = c
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(e(path))?;
    tx.execute_batch(LAYER_STYLES_DDL).map_err(e(path))?;
    tx.execute(
        "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description, last_change) \
         VALUES ('layer_styles', 'attributes', 'layer_styles', 'QGIS 图层样式 layer styles', strftime('%Y-%m-%dT%H:%M:%fZ','now'))",
        [],
    )
    .map_err(e(path))?;
    let mut styled = Vec::new();
    for table in STYLED {
        let geom: Option<String> = tx
            .query_row(
                "SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?1",
                [table],
                |r| r.get(0),
            )
            .ok();
        let (Some(geom), Some(qml)) = (geom, qml(table)) else {
            continue;
        };
        let user_default: i64 = tx
            .query_row(
                "SELECT count(*) FROM layer_styles WHERE f_table_schema = '' AND f_table_name = ?1 \
                 AND f_geometry_column = ?2 AND useAsDefault AND styleName <> ?3",
                params![table, geom, STYLE_NAME],
                |r| r.get(0),
            )
            .map_err(e(path))?;
        tx.execute(
            "DELETE FROM layer_styles WHERE f_table_name = ?1 AND styleName = ?2",
            params![table, STYLE_NAME],
        )
        .map_err(e(path))?;
        let zh = cadastra_model::registry()
            .table(table)
            .map(|t| format!("{} {}", t.zh, t.en))
            .unwrap_or_default();
        tx.execute(
            "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, \
             styleName, styleQML, styleSLD, useAsDefault, description, owner, ui, update_time) \
             VALUES ('', '', ?1, ?2, ?3, ?4, ?5, ?6, ?7, '', NULL, strftime('%Y-%m-%dT%H:%M:%fZ','now'))",
            params![
                table,
                geom,
                STYLE_NAME,
                qml,
                sld(table),
                user_default == 0,
                format!("cadastra 默认样式 default style: {zh}")
            ],
        )
        .map_err(e(path))?;
        styled.push(table.to_string());
    }
    tx.execute(
        "UPDATE gpkg_contents SET last_change = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE table_name = 'layer_styles'",
        [],
    )
    .map_err(e(path))?;
    tx.commit().map_err(e(path))?;
    Ok(styled)
}

// ----------------------------------------------------------------------------- metadata

const METADATA_DDL: &str = "CREATE TABLE IF NOT EXISTS gpkg_metadata (
  id INTEGER CONSTRAINT m_pk PRIMARY KEY ASC NOT NULL,
  md_scope TEXT NOT NULL DEFAULT 'dataset',
  md_standard_uri TEXT NOT NULL,
  mime_type TEXT NOT NULL DEFAULT 'text/xml',
  metadata TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS gpkg_metadata_reference (
  reference_scope TEXT NOT NULL,
  table_name TEXT,
  column_name TEXT,
  row_id_value INTEGER,
  timestamp DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  md_file_id INTEGER NOT NULL,
  md_parent_id INTEGER,
  CONSTRAINT crmr_mfi_fk FOREIGN KEY (md_file_id) REFERENCES gpkg_metadata(id),
  CONSTRAINT crmr_mpi_fk FOREIGN KEY (md_parent_id) REFERENCES gpkg_metadata(id)
);
INSERT OR IGNORE INTO gpkg_extensions (table_name, column_name, extension_name, definition, scope)
  VALUES ('gpkg_metadata', NULL, 'gpkg_metadata', 'http://www.geopackage.org/spec120/#extension_metadata', 'read-write');
INSERT OR IGNORE INTO gpkg_extensions (table_name, column_name, extension_name, definition, scope)
  VALUES ('gpkg_metadata_reference', NULL, 'gpkg_metadata', 'http://www.geopackage.org/spec120/#extension_metadata', 'read-write');";

/// Describe the run in the GeoPackage: dataset metadata GDAL shows (`ogrinfo` "Metadata:" with
/// CADASTRA_* items, `gpkg_metadata` scope geopackage) and each registry layer's
/// `gpkg_contents.description`. Never holds personal data or transformation parameters.
pub fn write_run_metadata(path: &Path, s: &RunSummary) -> Result<(), ReportError> {
    let mut c = open_rw(path)?;
    let e = ReportError::sqlite;
    let tx = c
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(e(path))?;
    tx.execute_batch(METADATA_DDL).map_err(e(path))?;
    let ids: Vec<i64> = {
        let mut st = tx
            .prepare("SELECT id FROM gpkg_metadata WHERE md_standard_uri = 'http://gdal.org' AND metadata LIKE '%CADASTRA_RUN_ID%'")
            .map_err(e(path))?;
        let v = st
            .query_map([], |r| r.get(0))
            .map_err(e(path))?
            .collect::<Result<Vec<i64>, _>>()
            .map_err(e(path))?;
        v
    };
    for id in ids {
        tx.execute(
            "DELETE FROM gpkg_metadata_reference WHERE md_file_id = ?1",
            [id],
        )
        .map_err(e(path))?;
        tx.execute("DELETE FROM gpkg_metadata WHERE id = ?1", [id])
            .map_err(e(path))?;
    }
    let items: Vec<(&str, String)> = vec![
        ("CADASTRA_RUN_ID", s.run_id.clone()),
        ("CADASTRA_PIPELINE", s.pipeline.clone()),
        ("CADASTRA_BATCH", s.batch.clone()),
        ("CADASTRA_STATUS", s.status.clone()),
        ("CADASTRA_STARTED", s.started_at.clone()),
        ("CADASTRA_FINISHED", s.finished_at.clone()),
        ("CADASTRA_VERSION", env!("CARGO_PKG_VERSION").to_string()),
        ("CADASTRA_CRS", format!("EPSG:{EPSG} {CRS_NAME}")),
        (
            "CADASTRA_RECONCILIATION",
            format!(
                "read {} = loaded {} + unchanged {} + held {} + quarantined {}",
                s.total(|r| r.read),
                s.total(|r| r.loaded),
                s.total(|r| r.unchanged),
                s.total(|r| r.held),
                s.total(|r| r.quarantined)
            ),
        ),
        (
            "CADASTRA_FINDINGS",
            s.findings_by_rule
                .iter()
                .map(|(k, v)| format!("{k} E{} W{} I{}", v.e, v.w, v.i))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        (
            "DESCRIPTION",
            format!(
                "济南市不动产登记库 (原莱芜市迁移) Jinan registry, cadastra run {}",
                s.run_id
            ),
        ),
    ];
    let mut xml = String::from("<GDALMultiDomainMetadata><Metadata>");
    for (k, v) in &items {
        let _ = write!(xml, r#"<MDI key="{k}">{}</MDI>"#, esc(v));
    }
    xml.push_str("</Metadata></GDALMultiDomainMetadata>");
    tx.execute(
        "INSERT INTO gpkg_metadata (md_scope, md_standard_uri, mime_type, metadata) VALUES ('dataset', 'http://gdal.org', 'text/xml', ?1)",
        [xml],
    )
    .map_err(e(path))?;
    let id = tx.last_insert_rowid();
    tx.execute(
        "INSERT INTO gpkg_metadata_reference (reference_scope, table_name, column_name, row_id_value, timestamp, md_file_id, md_parent_id) \
         VALUES ('geopackage', NULL, NULL, NULL, strftime('%Y-%m-%dT%H:%M:%fZ','now'), ?1, NULL)",
        [id],
    )
    .map_err(e(path))?;
    for t in &cadastra_model::registry().tables {
        if !has_table(&tx, &t.name).map_err(e(path))? {
            continue;
        }
        tx.execute(
            "UPDATE gpkg_contents SET description = ?2 WHERE table_name = ?1",
            params![
                t.name,
                format!(
                    "{} {} — cadastra 运行 run {} (批次 batch {}, {}), EPSG:{EPSG}",
                    t.zh, t.en, s.run_id, s.batch, s.finished_at
                )
            ],
        )
        .map_err(e(path))?;
    }
    tx.commit().map_err(e(path))
}

// ------------------------------------------------------------------------------ project

/// `to` relative to the folder `from`, written the way QGIS stores relative paths (`./x`, `../x`).
pub fn relative_path(from_dir: &Path, to: &Path) -> Option<String> {
    let a: Vec<Component> = from_dir.components().collect();
    let b: Vec<Component> = to.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    if common == 0 {
        return None;
    }
    let mut parts: Vec<String> = Vec::new();
    for _ in common..a.len() {
        parts.push("..".into());
    }
    for c in &b[common..] {
        parts.push(c.as_os_str().to_str()?.to_string());
    }
    let s = parts.join("/");
    Some(if s.starts_with("..") {
        s
    } else {
        format!("./{s}")
    })
}

fn abs(p: &Path) -> Result<PathBuf, ReportError> {
    if let Ok(c) = p.canonicalize() {
        return Ok(c);
    }
    // the file may not exist yet: canonicalise its folder
    let dir = p
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let dir = dir.canonicalize().map_err(|e| ReportError::io(dir, e))?;
    Ok(dir.join(p.file_name().unwrap_or_default()))
}

fn srs_xml() -> String {
    let wkt = cadastra_io::gpkg::srs_wkt(EPSG as i32)
        .map(|(_, w)| w)
        .unwrap_or_default();
    format!(
        "<spatialrefsys nativeFormat=\"Wkt\"><wkt>{}</wkt><proj4>{PROJ4}</proj4><srsid>3344</srsid><srid>{EPSG}</srid><authid>EPSG:{EPSG}</authid><description>{CRS_NAME}</description><projectionacronym>tmerc</projectionacronym><ellipsoidacronym>EPSG:1024</ellipsoidacronym><geographicflag>false</geographicflag></spatialrefsys>",
        esc(&wkt)
    )
}

struct ProjLayer {
    table: &'static str,
    title: String,
    geometry: &'static str,
    wkb: &'static str,
}

/// Write a QGIS project (`.qgz`) at `project` opening the registry at `registry` through a
/// relative path (`./registry.gpkg|layername=ZDJBXX`), with the CGCS2000 project CRS (EPSG:4548,
/// ProjectionsEnabled), cadastra's styles, and the relations 宗地 → 自然幢 (ZDDM), 自然幢 → 户
/// (ZRZH), 户/宗地 → 权利人 (BDCDYH). `extent` ([minx, miny, maxx, maxy]) sets the initial view.
pub fn write_project(
    registry: &Path,
    project: &Path,
    title: &str,
    extent: Option<[f64; 4]>,
) -> Result<PathBuf, ReportError> {
    let reg_abs = abs(registry)?;
    let proj_abs = abs(project)?;
    let proj_dir = proj_abs.parent().unwrap_or(Path::new("/"));
    let rel = relative_path(proj_dir, &reg_abs).ok_or_else(|| {
        ReportError::io(
            project,
            format!(
                "the registry {} shares no folder with the project, no relative path possible",
                registry.display()
            ),
        )
    })?;
    let extent = match extent {
        Some(e) => Some(e),
        None => crate::registry_read::RegistryReader::open(registry)
            .ok()
            .and_then(|r| r.extent("ZDJBXX").ok().flatten()),
    };
    let schema = cadastra_model::registry();
    let name_of = |t: &str| {
        schema
            .table(t)
            .map(|d| format!("{} {}", d.zh, t))
            .unwrap_or_else(|| t.to_string())
    };
    let layers = vec![
        ProjLayer {
            table: "findings",
            title: name_of("findings"),
            geometry: "Point",
            wkb: "Point",
        },
        ProjLayer {
            table: "finding_areas",
            title: name_of("finding_areas"),
            geometry: "Polygon",
            wkb: "MultiPolygon",
        },
        ProjLayer {
            table: "ZRZ",
            title: name_of("ZRZ"),
            geometry: "Polygon",
            wkb: "MultiPolygon",
        },
        ProjLayer {
            table: "ZDJBXX",
            title: name_of("ZDJBXX"),
            geometry: "Polygon",
            wkb: "MultiPolygon",
        },
        ProjLayer {
            table: "H",
            title: name_of("H"),
            geometry: "No geometry",
            wkb: "NoGeometry",
        },
        ProjLayer {
            table: "QLR",
            title: name_of("QLR"),
            geometry: "No geometry",
            wkb: "NoGeometry",
        },
    ];
    // only the layers the file holds (an export may carry a few)
    let present: Vec<String> = match crate::registry_read::RegistryReader::open(registry) {
        Ok(r) => layers
            .iter()
            .filter(|l| r.has(l.table))
            .map(|l| l.table.to_string())
            .collect(),
        Err(_) => layers.iter().map(|l| l.table.to_string()).collect(),
    };
    let layers: Vec<ProjLayer> = layers
        .into_iter()
        .filter(|l| present.iter().any(|p| p == l.table))
        .collect();
    // QGIS keeps a layer id only when it is longer than 10 characters (QgsMapLayer::readLayerXml)
    let id = |t: &str| format!("cadastra_layer_{t}");
    let srs = srs_xml();
    let mut x = String::with_capacity(64 * 1024);
    let _ = write!(
        x,
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n<qgis projectname=\"{t}\" version=\"3.22.16-Białowieża\" saveUserFull=\"cadastra\" saveUser=\"cadastra\">\n<homePath path=\"\"/>\n<title>{t}</title>\n<autotransaction active=\"0\"/>\n<evaluateDefaultValues active=\"0\"/>\n<trust active=\"0\"/>\n<projectFlags set=\"\"/>\n<projectCrs>{srs}</projectCrs>\n<layer-tree-group><customproperties/>\n",
        t = esc(title)
    );
    for l in &layers {
        let _ = writeln!(
            x,
            "<layer-tree-layer id=\"{}\" name=\"{}\" source=\"{}|layername={}\" providerKey=\"ogr\" checked=\"Qt::Checked\" expanded=\"0\" legend_exp=\"\"><customproperties/></layer-tree-layer>",
            id(l.table),
            esc(&l.title),
            esc(&rel),
            l.table
        );
    }
    x.push_str("<custom-order enabled=\"0\"/></layer-tree-group>\n");
    // relations: referencing (child) → referenced (parent)
    let rels = [
        (
            "rel_zd_zrz",
            "宗地 → 自然幢 parcel → buildings",
            "ZRZ",
            "ZDJBXX",
            "ZDDM",
            "ZDDM",
        ),
        (
            "rel_zrz_h",
            "自然幢 → 户 building → units",
            "H",
            "ZRZ",
            "ZRZH",
            "ZRZH",
        ),
        (
            "rel_h_qlr",
            "户 → 权利人 unit → right holders",
            "QLR",
            "H",
            "BDCDYH",
            "BDCDYH",
        ),
        (
            "rel_zd_qlr",
            "宗地 → 权利人 parcel unit → right holders",
            "QLR",
            "ZDJBXX",
            "BDCDYH",
            "BDCDYH",
        ),
    ];
    x.push_str("<relations>\n");
    for (rid, name, child, parent, cf, pf) in rels {
        if !present.iter().any(|p| p == child) || !present.iter().any(|p| p == parent) {
            continue;
        }
        let _ = writeln!(
            x,
            "<relation id=\"{rid}\" name=\"{}\" referencingLayer=\"{}\" referencedLayer=\"{}\" strength=\"Association\" providerKey=\"ogr\" dataSource=\"{}|layername={child}\" layerName=\"{child}\" referencedLayerDataSource=\"{}|layername={parent}\" referencedLayerName=\"{parent}\" referencedLayerProviderKey=\"ogr\" layerId=\"{}\" referencedLayer2=\"\"><fieldRef referencingField=\"{cf}\" referencedField=\"{pf}\"/></relation>",
            esc(name),
            id(child),
            id(parent),
            esc(&rel),
            esc(&rel),
            id(child)
        );
    }
    x.push_str("</relations>\n");
    let ext = extent.unwrap_or([500_000.0, 4_000_000.0, 600_000.0, 4_100_000.0]);
    let _ = write!(
        x,
        "<mapcanvas annotationsVisible=\"1\" name=\"theMapCanvas\"><units>meters</units><extent><xmin>{}</xmin><ymin>{}</ymin><xmax>{}</xmax><ymax>{}</ymax></extent><rotation>0</rotation><destinationsrs>{srs}</destinationsrs><rendermaptile>0</rendermaptile></mapcanvas>\n<projectlayers>\n",
        ext[0], ext[1], ext[2], ext[3]
    );
    for l in &layers {
        let body = style_body(l.table).unwrap_or_default();
        let has_geom = l.geometry != "No geometry";
        let _ = write!(
            x,
            "<maplayer type=\"vector\" geometry=\"{}\" wkbType=\"{}\" labelsEnabled=\"{}\" readOnly=\"0\" autoRefreshEnabled=\"0\" refreshOnNotifyEnabled=\"0\" simplifyDrawingHints=\"1\" simplifyLocal=\"1\" simplifyMaxScale=\"1\" simplifyAlgorithm=\"0\" simplifyDrawingTol=\"1\" styleCategories=\"AllStyleCategories\" hasScaleBasedVisibilityFlag=\"0\" minScale=\"100000000\" maxScale=\"0\">\n<id>{}</id>\n<datasource>{}|layername={}</datasource>\n<keywordList><value></value></keywordList>\n<layername>{}</layername>\n{}<provider encoding=\"UTF-8\">ogr</provider>\n{}\n</maplayer>\n",
            l.geometry,
            l.wkb,
            if body.contains("<labeling") { 1 } else { 0 },
            id(l.table),
            esc(&rel),
            l.table,
            esc(&l.title),
            if has_geom { format!("<srs>{srs}</srs>\n") } else { String::new() },
            body
        );
    }
    x.push_str("</projectlayers>\n<layerorder>");
    for l in &layers {
        let _ = write!(x, "<layer id=\"{}\"/>", id(l.table));
    }
    x.push_str("</layerorder>\n<properties><Paths><Absolute type=\"bool\">false</Absolute></Paths><SpatialRefSys><ProjectionsEnabled type=\"int\">1</ProjectionsEnabled></SpatialRefSys><Measurement><DistanceUnits type=\"QString\">meters</DistanceUnits><AreaUnits type=\"QString\">m2</AreaUnits></Measurement></properties>\n</qgis>\n");

    let stem = project
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("registry")
        .to_string();
    let tmp = project.with_extension("qgz.partial");
    let write = || -> Result<(), String> {
        let f = std::fs::File::create(&tmp).map_err(|e| e.to_string())?;
        let mut z = zip::ZipWriter::new(f);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        z.start_file(format!("{stem}.qgs"), opts)
            .map_err(|e| e.to_string())?;
        z.write_all(x.as_bytes()).map_err(|e| e.to_string())?;
        z.finish().map_err(|e| e.to_string())?;
        Ok(())
    };
    if let Err(m) = write() {
        let _ = std::fs::remove_file(&tmp);
        return Err(ReportError::io(project, m));
    }
    std::fs::rename(&tmp, project).map_err(|e| ReportError::io(project, e))?;
    Ok(project.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_start_with_dot() {
        assert_eq!(
            relative_path(Path::new("/a/out"), Path::new("/a/out/registry.gpkg")).as_deref(),
            Some("./registry.gpkg")
        );
        assert_eq!(
            relative_path(Path::new("/a/proj"), Path::new("/a/out/r.gpkg")).as_deref(),
            Some("../out/r.gpkg")
        );
    }

    #[test]
    fn qml_is_well_formed_enough() {
        for t in STYLED {
            let q = qml(t).unwrap();
            assert!(q.contains("<renderer-v2"), "{t}");
            assert_eq!(
                q.matches("<symbol ").count(),
                q.matches("</symbol>").count()
            );
        }
        assert!(qml("ZDJBXX").unwrap().contains(r#"attr="QLLX""#));
        assert!(qml("ZDJBXX").unwrap().contains(r#"fieldName="BDCDYH""#));
        assert!(qml("findings").unwrap().contains(r#"attr="severity""#));
        assert!(qml("H").is_none());
    }
}
