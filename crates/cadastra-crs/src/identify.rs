//! CRS-01: which EPSG CRS does a `.prj` declare? PROJ's `proj_identify` against the EPSG
//! database, trusted only at ≥ 70 % confidence (a local TM definition gets 25 % false matches).
//! HTML, garbage or empty text is "unknown", not an error.

use crate::finding;
use crate::pj::Candidate;
use cadastra_model::{Finding, Severity};
use std::path::Path;

/// Minimum PROJ confidence (percent) for an EPSG match to be trusted.
pub const TRUST_CONFIDENCE: u8 = 70;

/// The outcome of identifying a `.prj`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identification {
    /// the EPSG code, only when PROJ's confidence is at least [`TRUST_CONFIDENCE`]
    pub epsg: Option<u32>,
    /// PROJ's confidence in the best EPSG candidate, 0-100 (0: nothing parsed or matched)
    pub confidence: u8,
    /// the CRS name written in the file (e.g. `Xian_1980_3_Degree_GK_CM_117E`); empty if unparsable
    pub name: String,
    /// the best EPSG candidate even below the threshold, for messages
    pub candidate: Option<u32>,
    /// the candidate's EPSG name
    pub candidate_name: Option<String>,
    /// false when the text is not a CRS definition PROJ can read
    pub parsed: bool,
}

impl Identification {
    fn unknown(parsed: bool, name: String) -> Identification {
        Identification {
            epsg: None,
            confidence: 0,
            name,
            candidate: None,
            candidate_name: None,
            parsed,
        }
    }

    /// CRS-01-E01 when the declared CRS is not identified (the operator must declare one).
    pub fn finding(&self, layer: &str) -> Option<Finding> {
        if self.epsg.is_some() {
            return None;
        }
        let (zh, en) = if !self.parsed {
            (
                ".prj 无法解析为坐标系定义, 请操作员声明坐标系".to_string(),
                ".prj is not a readable CRS definition: the operator must declare the CRS"
                    .to_string(),
            )
        } else {
            let cand = match (self.candidate, &self.candidate_name) {
                (Some(c), Some(n)) => format!("EPSG:{c} {n}"),
                (Some(c), None) => format!("EPSG:{c}"),
                _ => "none".to_string(),
            };
            (
                format!(
                    ".prj 坐标系 \"{}\" 无法可靠识别 (最佳候选 {cand}, 置信度 {}% < {TRUST_CONFIDENCE}%), 请操作员声明坐标系",
                    self.name, self.confidence
                ),
                format!(
                    ".prj CRS \"{}\" not identified reliably (best candidate {cand} at {}% < {TRUST_CONFIDENCE}%): the operator must declare the CRS",
                    self.name, self.confidence
                ),
            )
        };
        Some(finding("CRS-01", "E01", Severity::E, layer, zh, en))
    }
}

/// Confidence given to a candidate that matches except for the axis order (PROJ's own scale:
/// 100 same name and definition, 90 same definition, 70 equivalent ignoring names, 25 similar name).
const AXIS_ORDER_ONLY: i32 = 90;

/// The name written in the text: the first quoted string of a WKT (`PROJCS["Xian_1980_..."`),
/// kept as written (PROJ replaces ESRI names by EPSG ones when it parses them).
fn declared_name(text: &str) -> Option<String> {
    let head = text.split('"').next()?;
    if !head.trim_end().ends_with('[') {
        return None;
    }
    text.split('"').nth(1).map(str::to_string)
}

/// Identify the EPSG CRS of `.prj` / WKT text (ESRI WKT1, OGC WKT1/WKT2, PROJ strings).
pub fn identify_prj(wkt: &str) -> Identification {
    let text = wkt.trim_start_matches('\u{feff}').trim();
    if text.is_empty() || text.starts_with('<') || text.contains('\0') {
        return Identification::unknown(false, String::new());
    }
    let Ok(ctx) = crate::pj::Context::new() else {
        return Identification::unknown(false, String::new());
    };
    let Ok(obj) = ctx.create(text) else {
        return Identification::unknown(false, String::new());
    };
    if !obj.is_crs() {
        return Identification::unknown(false, obj.name().unwrap_or_default());
    }
    let name = declared_name(text)
        .or_else(|| obj.name())
        .unwrap_or_default();
    let candidates: Vec<(u32, Candidate)> = obj
        .identify()
        .into_iter()
        .filter(|c| c.auth == "EPSG")
        .filter_map(|c| c.code.parse::<u32>().ok().map(|code| (code, c)))
        .collect();
    let mut best = candidates.first().cloned();
    if best
        .as_ref()
        .is_some_and(|(_, c)| c.confidence < TRUST_CONFIDENCE as i32)
    {
        // WKT1 without AXIS means easting first, while EPSG lists northing first for these grids:
        // PROJ then scores the exact definition 25 %. Compare with axis order normalised.
        if let Some(mine) = obj.normalized() {
            let hit = candidates.iter().take(8).find(|(code, _)| {
                ctx.create(&format!("EPSG:{code}"))
                    .ok()
                    .and_then(|o| o.normalized().map(|n| n.equivalent(&mine)))
                    .unwrap_or(false)
            });
            if let Some((code, c)) = hit {
                let mut c = c.clone();
                c.confidence = AXIS_ORDER_ONLY;
                best = Some((*code, c));
            }
        }
    }
    match best {
        None => Identification::unknown(true, name),
        Some((code, c)) => {
            let confidence = c.confidence.clamp(0, 100) as u8;
            Identification {
                epsg: (confidence >= TRUST_CONFIDENCE).then_some(code),
                confidence,
                name,
                candidate: Some(code),
                candidate_name: Some(c.name),
                parsed: true,
            }
        }
    }
}

/// Read and identify a `.prj` file (any encoding; invalid bytes are replaced).
pub fn identify_prj_file(path: &Path) -> std::io::Result<Identification> {
    let bytes = std::fs::read(path)?;
    Ok(identify_prj(&String::from_utf8_lossy(&bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    // ESRI WKT1 as ArcGIS and GDAL write it (`projinfo EPSG:<code> -o WKT1_ESRI`)
    const XIAN80_117: &str = r#"PROJCS["Xian_1980_3_Degree_GK_CM_117E",GEOGCS["GCS_Xian_1980",DATUM["D_Xian_1980",SPHEROID["Xian_1980",6378140.0,298.257]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",117.0],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#;
    const CGCS_117: &str = r#"PROJCS["CGCS2000_3_Degree_GK_CM_117E",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",117.0],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#;
    const BJ54_Z39: &str = r#"PROJCS["Beijing_1954_3_Degree_GK_Zone_39",GEOGCS["GCS_Beijing_1954",DATUM["D_Beijing_1954",SPHEROID["Krasovsky_1940",6378245.0,298.3]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",39500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",117.0],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#;
    const XIAN80_Z39: &str = r#"PROJCS["Xian_1980_3_Degree_GK_Zone_39",GEOGCS["GCS_Xian_1980",DATUM["D_Xian_1980",SPHEROID["Xian_1980",6378140.0,298.257]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",39500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",117.0],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#;
    // a city grid: Xian 1980 ellipsoid, CM 117.5, false easting 50 km (no EPSG code)
    const LOCAL_TM: &str = r#"PROJCS["Laiwu_City",GEOGCS["GCS_Xian_1980",DATUM["D_Xian_1980",SPHEROID["Xian_1980",6378140.0,298.257]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",50000.0],PARAMETER["False_Northing",-3900000.0],PARAMETER["Central_Meridian",117.5],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#;

    #[test]
    fn esri_names_of_the_jinan_table_are_identified() {
        for (wkt, code, name) in [
            (XIAN80_117, 2384, "Xian_1980_3_Degree_GK_CM_117E"),
            (CGCS_117, 4548, "CGCS2000_3_Degree_GK_CM_117E"),
            (BJ54_Z39, 2415, "Beijing_1954_3_Degree_GK_Zone_39"),
            (XIAN80_Z39, 2363, "Xian_1980_3_Degree_GK_Zone_39"),
        ] {
            let id = identify_prj(wkt);
            assert_eq!(id.epsg, Some(code), "{name}: {id:?}");
            assert!(id.confidence >= TRUST_CONFIDENCE, "{id:?}");
            assert_eq!(id.name, name);
            assert!(id.finding("parcels").is_none());
        }
    }

    #[test]
    fn epsg_wkt_from_gdal_is_identified() {
        // OGC WKT1 with AUTHORITY, as GDAL writes into gpkg_spatial_ref_sys
        let out = std::process::Command::new("projinfo")
            .args(["EPSG:2436", "-o", "WKT1_GDAL", "-q"])
            .output()
            .expect("projinfo (proj-bin) is installed");
        let wkt = String::from_utf8(out.stdout).unwrap();
        let id = identify_prj(&wkt);
        assert_eq!(id.epsg, Some(2436), "{id:?}");
        assert!(id.confidence >= TRUST_CONFIDENCE);
        assert_eq!(id.name, "Beijing 1954 / 3-degree Gauss-Kruger CM 117E");
    }

    #[test]
    fn local_grid_is_not_trusted() {
        let id = identify_prj(LOCAL_TM);
        assert!(id.parsed);
        assert_eq!(id.epsg, None, "{id:?}");
        assert!(id.confidence < TRUST_CONFIDENCE);
        assert_eq!(id.name, "Laiwu_City");
        let f = id.finding("parcels").unwrap();
        assert_eq!(f.code(), "CRS-01-E01");
        assert!(f.message_en.contains("Laiwu_City"), "{}", f.message_en);
    }

    #[test]
    fn html_garbage_and_empty_are_unknown() {
        let peer = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/peer-tests/shapefiles/shapefile-js/htmlprj.prj");
        let id = identify_prj_file(&peer).expect("peer-test file present");
        assert_eq!((id.epsg, id.parsed, id.confidence), (None, false, 0));
        assert_eq!(id.finding("x").unwrap().code(), "CRS-01-E01");
        for junk in [
            "",
            "   ",
            "\u{feff}",
            "PROJCS[",
            "hello world",
            "a\0b",
            "\u{fffd}\u{fffd}",
        ] {
            let id = identify_prj(junk);
            assert_eq!((id.epsg, id.parsed), (None, false), "{junk:?}");
        }
    }

    #[test]
    fn peer_test_wgs84_prj_is_identified() {
        // geotools chinese_poly.prj: ESRI GCS_WGS_1984 with explicit lon/lat axes
        let peer = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/peer-tests/shapefiles/geotools/sample-data/chinese_poly.prj");
        let id = identify_prj_file(&peer).expect("peer-test file present");
        assert!(id.parsed);
        assert_eq!(id.candidate, Some(4326), "{id:?}");
    }
}
