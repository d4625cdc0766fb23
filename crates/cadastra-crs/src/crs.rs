//! CRS references (`EPSG:4548`, `local:<name>`) and facts about projected CRSs, read from PROJ's
//! database (projection, ellipsoid, datum), so any projected metre-based EPSG CRS works, not only
//! the Jinan table of domain-brief §5.1.

use crate::error::CrsError;
use crate::pj::Context;
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Mutex, OnceLock};

/// CGCS2000 / 3-degree Gauss-Kruger CM 117E, the registry's CRS.
pub const EPSG_CGCS2000_GK117: u32 = 4548;
/// CGCS2000 / 3-degree Gauss-Kruger zone 39 (false easting 39 500 000).
pub const EPSG_CGCS2000_ZONE39: u32 = 4527;
/// Xian 1980 / 3-degree Gauss-Kruger CM 117E.
pub const EPSG_XIAN80_GK117: u32 = 2384;
/// Xian 1980 / 3-degree Gauss-Kruger zone 39.
pub const EPSG_XIAN80_ZONE39: u32 = 2363;
/// Beijing 1954 / 3-degree Gauss-Kruger CM 117E.
pub const EPSG_BEIJING54_GK117: u32 = 2436;
/// Beijing 1954 / 3-degree Gauss-Kruger zone 39.
pub const EPSG_BEIJING54_ZONE39: u32 = 2415;

/// A coordinate reference system as a pipeline or parameter file names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CrsRef {
    /// An EPSG code from PROJ's database.
    Epsg(u32),
    /// A local (independent / assumed) plane grid with no EPSG code, e.g. a city grid; the
    /// string is its name (`local:laiwu-city`), empty for plain `local`. Only 4-parameter plane
    /// transformations can leave it.
    Local(String),
}

impl CrsRef {
    pub fn epsg(&self) -> Option<u32> {
        match self {
            CrsRef::Epsg(c) => Some(*c),
            CrsRef::Local(_) => None,
        }
    }
}

impl fmt::Display for CrsRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CrsRef::Epsg(c) => write!(f, "EPSG:{c}"),
            CrsRef::Local(n) if n.is_empty() => f.write_str("local"),
            CrsRef::Local(n) => write!(f, "local:{n}"),
        }
    }
}

impl FromStr for CrsRef {
    type Err = CrsError;
    /// `EPSG:4548` (any case, blanks ignored), `local`, `local:<name>`.
    fn from_str(s: &str) -> Result<CrsRef, CrsError> {
        let t = s.trim();
        let bad = || CrsError::BadCrsRef {
            text: s.to_string(),
        };
        if let Some((auth, rest)) = t.split_once(':') {
            let auth = auth.trim();
            if auth.eq_ignore_ascii_case("epsg") {
                let code: u32 = rest.trim().parse().map_err(|_| bad())?;
                return Ok(CrsRef::Epsg(code));
            }
            if auth.eq_ignore_ascii_case("local") {
                let name = rest.trim();
                if name.is_empty() {
                    return Err(bad());
                }
                return Ok(CrsRef::Local(name.to_string()));
            }
            return Err(bad());
        }
        if t.eq_ignore_ascii_case("local") {
            return Ok(CrsRef::Local(String::new()));
        }
        Err(bad())
    }
}

/// Facts about a projected EPSG CRS, from PROJ's database.
#[derive(Debug, Clone, PartialEq)]
pub struct CrsInfo {
    pub epsg: u32,
    /// e.g. "Beijing 1954 / 3-degree Gauss-Kruger CM 117E"
    pub name: String,
    /// the datum name, e.g. "Beijing 1954"
    pub datum: String,
    /// the base geographic CRS, e.g. "EPSG:4214"; CRSs with the same one share a datum
    pub geodetic: String,
    pub semi_major: f64,
    /// inverse flattening, 0 for a sphere
    pub inv_flattening: f64,
    pub central_meridian: f64,
    pub false_easting: f64,
    pub false_northing: f64,
    /// projection tokens without ellipsoid/datum (e.g. `+proj=tmerc +lat_0=0 ...`)
    projection: String,
}

impl CrsInfo {
    /// True when both CRSs are on the same geodetic datum (no datum change between them).
    pub fn same_datum(&self, other: &CrsInfo) -> bool {
        self.geodetic == other.geodetic
    }

    /// Whether the false easting carries a zone number (e.g. 39 500 000 for 3-degree zone 39).
    pub fn has_zone_prefix(&self) -> bool {
        self.false_easting >= 1_000_000.0
    }

    /// PROJ ellipsoid tokens, e.g. `+a=6378245 +rf=298.3`.
    pub(crate) fn ellipsoid_tokens(&self) -> String {
        if self.inv_flattening == 0.0 {
            format!("+R={}", self.semi_major)
        } else {
            format!("+a={} +rf={}", self.semi_major, self.inv_flattening)
        }
    }

    /// The projection as one PROJ step body (projection plus ellipsoid), easting first.
    pub(crate) fn projection_step(&self) -> String {
        format!("{} {}", self.projection, self.ellipsoid_tokens())
    }
}

/// Tokens of a CRS PROJ string that do not belong in a pipeline step.
fn keep_token(tok: &str) -> bool {
    let key = tok.split('=').next().unwrap_or(tok);
    !matches!(
        key,
        "+type"
            | "+no_defs"
            | "+wktext"
            | "+towgs84"
            | "+nadgrids"
            | "+geoidgrids"
            | "+ellps"
            | "+a"
            | "+b"
            | "+rf"
            | "+f"
            | "+R"
            | "+datum"
    )
}

fn param(tokens: &[&str], key: &str) -> Option<f64> {
    tokens
        .iter()
        .find_map(|t| t.strip_prefix(key)?.strip_prefix('=')?.parse().ok())
}

fn lookup(epsg: u32) -> Result<CrsInfo, CrsError> {
    let crs = format!("EPSG:{epsg}");
    let unsupported = |reason: &str| CrsError::UnsupportedCrs {
        crs: crs.clone(),
        reason: reason.to_string(),
    };
    let ctx = Context::new().map_err(|e| CrsError::Proj {
        what: "a context".into(),
        message: e.0,
    })?;
    let obj = ctx.create(&crs).map_err(|e| CrsError::UnknownCrs {
        crs: crs.clone(),
        reason: format!("not in the PROJ database ({})", e.0),
    })?;
    if !obj.is_crs() {
        return Err(CrsError::UnknownCrs {
            crs,
            reason: "not a coordinate reference system".into(),
        });
    }
    if !obj.is_projected() {
        return Err(unsupported(
            "only projected CRSs in metres can be transformed here",
        ));
    }
    let ps = obj
        .proj_string()
        .ok_or_else(|| unsupported("PROJ cannot express it as a PROJ string"))?;
    let tokens: Vec<&str> = ps.split_whitespace().collect();
    if !tokens.contains(&"+units=m") {
        return Err(unsupported("its unit is not the metre"));
    }
    if tokens
        .iter()
        .any(|t| t.starts_with("+axis=") || t.starts_with("+pm="))
    {
        return Err(unsupported("unusual axis order or prime meridian"));
    }
    let (semi_major, inv_flattening) =
        obj.ellipsoid().ok_or_else(|| unsupported("no ellipsoid"))?;
    let geod = obj.geodetic_crs();
    let geodetic = geod
        .as_ref()
        .and_then(|g| g.id().map(|(a, c)| format!("{a}:{c}")).or_else(|| g.name()))
        .unwrap_or_default();
    let datum = obj.datum().and_then(|d| d.name()).unwrap_or_default();
    Ok(CrsInfo {
        epsg,
        name: obj.name().unwrap_or_default(),
        datum,
        geodetic,
        semi_major,
        inv_flattening,
        central_meridian: param(&tokens, "+lon_0").unwrap_or(0.0),
        false_easting: param(&tokens, "+x_0").unwrap_or(0.0),
        false_northing: param(&tokens, "+y_0").unwrap_or(0.0),
        projection: tokens
            .iter()
            .copied()
            .filter(|t| keep_token(t))
            .collect::<Vec<_>>()
            .join(" "),
    })
}

/// Facts about a projected EPSG CRS (cached; PROJ's database is read once per code).
pub fn crs_info(epsg: u32) -> Result<CrsInfo, CrsError> {
    static CACHE: OnceLock<Mutex<HashMap<u32, CrsInfo>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Ok(map) = cache.lock() {
        if let Some(i) = map.get(&epsg) {
            return Ok(i.clone());
        }
    }
    let info = lookup(epsg)?;
    if let Ok(mut map) = cache.lock() {
        map.insert(epsg, info.clone());
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crs_refs_parse_and_print() {
        assert_eq!("EPSG:4548".parse::<CrsRef>().unwrap(), CrsRef::Epsg(4548));
        assert_eq!(
            " epsg : 2436 ".parse::<CrsRef>().unwrap(),
            CrsRef::Epsg(2436)
        );
        assert_eq!(
            "local".parse::<CrsRef>().unwrap(),
            CrsRef::Local(String::new())
        );
        let l: CrsRef = "local:laiwu-city".parse().unwrap();
        assert_eq!(l.to_string(), "local:laiwu-city");
        for bad in ["4548", "EPSG:", "EPSG:x", "ESRI:102100", "local:", ""] {
            assert!(bad.parse::<CrsRef>().is_err(), "{bad}");
        }
    }

    #[test]
    fn jinan_table_facts() {
        let bj = crs_info(EPSG_BEIJING54_GK117).unwrap();
        let bj39 = crs_info(EPSG_BEIJING54_ZONE39).unwrap();
        let xa = crs_info(EPSG_XIAN80_GK117).unwrap();
        let cg = crs_info(EPSG_CGCS2000_GK117).unwrap();
        let cg39 = crs_info(EPSG_CGCS2000_ZONE39).unwrap();
        assert_eq!((bj.semi_major, bj.inv_flattening), (6378245.0, 298.3));
        assert_eq!((xa.semi_major, xa.inv_flattening), (6378140.0, 298.257));
        assert_eq!(
            (cg.semi_major, cg.inv_flattening),
            (6378137.0, 298.257222101)
        );
        assert!(bj.same_datum(&bj39) && cg.same_datum(&cg39));
        assert!(!bj.same_datum(&cg) && !xa.same_datum(&cg) && !xa.same_datum(&bj));
        assert_eq!(bj39.false_easting, 39_500_000.0);
        assert!(bj39.has_zone_prefix() && !bj.has_zone_prefix());
        assert_eq!(cg.central_meridian, 117.0);
        assert_eq!(cg.geodetic, "EPSG:4490");
        assert_eq!(
            cg.projection_step(),
            "+proj=tmerc +lat_0=0 +lon_0=117 +k=1 +x_0=500000 +y_0=0 +units=m +a=6378137 +rf=298.257222101"
        );
    }

    #[test]
    fn unknown_and_unsupported_codes() {
        let e = crs_info(999_999).unwrap_err();
        assert!(matches!(e, CrsError::UnknownCrs { .. }), "{e}");
        assert!(e.to_string().contains("EPSG:999999"));
        let e = crs_info(4490).unwrap_err(); // geographic
        assert!(matches!(e, CrsError::UnsupportedCrs { .. }), "{e}");
        let e = crs_info(2230).unwrap_err(); // US feet
        assert!(matches!(e, CrsError::UnsupportedCrs { .. }), "{e}");
    }
}
