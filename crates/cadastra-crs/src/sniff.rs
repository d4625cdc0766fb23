//! CRS evidence from the coordinates themselves (domain-brief §5.1): Jinan lies at easting
//! 427 900–585 700 m, northing 3 985 800–4 158 000 m in EPSG:4548, ±20 km margin; a zone prefix
//! adds zone × 10⁶ to the easting (39 for 3-degree zone 39, 20 for 6-degree zone 20).
//!
//! Rules: CRS-04 zone prefix present/absent/mixed (E on mixtures), CRS-03 X/Y swap (W), CRS-02
//! outside the window of the declared CRS (E), each with evidence text (counts and ranges).

use crate::crs::{crs_info, CrsRef, EPSG_CGCS2000_GK117};
use crate::error::CrsError;
use crate::finding;
use crate::pj::{Direction, Pj};
use cadastra_model::{Finding, RuleId, Severity};
use geo_types::{Coord, MultiPolygon};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, OnceLock};

/// A rectangle of plausible values, easting (x) and northing (y) in metres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub min_e: f64,
    pub max_e: f64,
    pub min_n: f64,
    pub max_n: f64,
}

impl Window {
    /// Jinan (with former Laiwu) in EPSG:4548, without margin.
    pub const JINAN_4548: Window = Window {
        min_e: 427_900.0,
        max_e: 585_700.0,
        min_n: 3_985_800.0,
        max_n: 4_158_000.0,
    };

    pub fn contains(&self, e: f64, n: f64) -> bool {
        e >= self.min_e && e <= self.max_e && n >= self.min_n && n <= self.max_n
    }

    /// The window grown by `m` metres on every side.
    pub fn grown(&self, m: f64) -> Window {
        Window {
            min_e: self.min_e - m,
            max_e: self.max_e + m,
            min_n: self.min_n - m,
            max_n: self.max_n + m,
        }
    }

    fn shifted_e(&self, de: f64) -> Window {
        Window {
            min_e: self.min_e + de,
            max_e: self.max_e + de,
            ..*self
        }
    }
}

/// Margin around the Jinan window (domain-brief §5.1).
pub const WINDOW_MARGIN_M: f64 = 20_000.0;

/// Zone numbers whose prefix may appear in Jinan eastings: 3-degree zone 39, 6-degree zone 20.
const ZONES: [u32; 2] = [39, 20];

/// The Jinan window (with margin) in the given CRS, or `None` for a local grid.
///
/// Computed by transforming the EPSG:4548 window's densified outline with PROJ (a ballpark
/// between datums is fine here: tens of metres against a 20 km margin).
pub fn expected_window(crs: &CrsRef) -> Result<Option<Window>, CrsError> {
    let code = match crs {
        CrsRef::Local(_) => return Ok(None),
        CrsRef::Epsg(c) => *c,
    };
    let base = Window::JINAN_4548.grown(WINDOW_MARGIN_M);
    if code == EPSG_CGCS2000_GK117 {
        return Ok(Some(base));
    }
    static CACHE: OnceLock<Mutex<HashMap<u32, Window>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(w) = cache.lock().ok().and_then(|m| m.get(&code).copied()) {
        return Ok(Some(w));
    }
    crs_info(code)?; // a clear error for unknown or unsupported codes
    let pj = Pj::crs_to_crs(
        &format!("EPSG:{EPSG_CGCS2000_GK117}"),
        &format!("EPSG:{code}"),
    )
    .map_err(|e| CrsError::Proj {
        what: format!("the Jinan window in EPSG:{code}"),
        message: e.0,
    })?;
    let k = 32;
    let mut ring = Vec::with_capacity(4 * k);
    for i in 0..k {
        let t = i as f64 / k as f64;
        let e = base.min_e + t * (base.max_e - base.min_e);
        let n = base.min_n + t * (base.max_n - base.min_n);
        ring.push(Coord {
            x: e,
            y: base.min_n,
        });
        ring.push(Coord {
            x: e,
            y: base.max_n,
        });
        ring.push(Coord {
            x: base.min_e,
            y: n,
        });
        ring.push(Coord {
            x: base.max_e,
            y: n,
        });
    }
    pj.trans_coords(&mut ring, Direction::Forward)
        .map_err(|f| CrsError::Proj {
            what: format!("the Jinan window in EPSG:{code}"),
            message: f.message,
        })?;
    let mut w = Window {
        min_e: f64::INFINITY,
        max_e: f64::NEG_INFINITY,
        min_n: f64::INFINITY,
        max_n: f64::NEG_INFINITY,
    };
    for c in &ring {
        w.min_e = w.min_e.min(c.x);
        w.max_e = w.max_e.max(c.x);
        w.min_n = w.min_n.min(c.y);
        w.max_n = w.max_n.max(c.y);
    }
    if let Ok(mut m) = cache.lock() {
        m.insert(code, w);
    }
    Ok(Some(w))
}

/// Count and ranges of a class of coordinates (x = first slot, y = second slot, as stored).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Extent {
    pub count: usize,
    pub min_x: f64,
    pub max_x: f64,
    pub min_y: f64,
    pub max_y: f64,
}

impl Default for Extent {
    fn default() -> Extent {
        Extent {
            count: 0,
            min_x: f64::INFINITY,
            max_x: f64::NEG_INFINITY,
            min_y: f64::INFINITY,
            max_y: f64::NEG_INFINITY,
        }
    }
}

impl Extent {
    fn add(&mut self, c: Coord<f64>) {
        self.count += 1;
        self.min_x = self.min_x.min(c.x);
        self.max_x = self.max_x.max(c.x);
        self.min_y = self.min_y.min(c.y);
        self.max_y = self.max_y.max(c.y);
    }

    fn ranges(&self) -> String {
        if self.count == 0 {
            return "-".into();
        }
        format!(
            "x {:.0}–{:.0}, y {:.0}–{:.0}",
            self.min_x, self.max_x, self.min_y, self.max_y
        )
    }
}

/// Whether eastings carry a zone prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrefixState {
    /// every Jinan-like coordinate has the prefix (e.g. 39 5xx xxx)
    Present,
    /// none has it (5xx xxx)
    Absent,
    /// both occur in one dataset (CRS-04, E)
    Mixed,
    /// no coordinate matched a Jinan window
    Unknown,
}

/// One problem found by [`sniff`], with evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct SniffIssue {
    pub rule: RuleId,
    pub sub_code: &'static str,
    pub severity: Severity,
    pub evidence_en: String,
    pub evidence_zh: String,
}

/// What the coordinates say about their CRS.
#[derive(Debug, Clone, PartialEq)]
pub struct Sniff {
    /// coordinates examined (finite ones)
    pub total: usize,
    /// NaN/infinite coordinates ignored
    pub non_finite: usize,
    /// in the Jinan window without prefix
    pub plain: Extent,
    /// in the Jinan window with a zone prefix
    pub prefixed: Extent,
    /// zone numbers seen in prefixes
    pub zones: BTreeSet<u32>,
    /// northing-like value in the easting slot (either prefix state)
    pub swapped: Extent,
    /// in no Jinan window in either axis order
    pub outside: Extent,
    pub prefix: PrefixState,
    pub declared: Option<CrsRef>,
    /// the declared CRS's window (with margin), `None` for local grids or nothing declared
    pub declared_window: Option<Window>,
    /// outside the declared CRS's window
    pub outside_declared: Extent,
    pub issues: Vec<SniffIssue>,
}

impl Sniff {
    /// EPSG codes compatible with the coordinates (the datum cannot be told from them).
    pub fn candidates(&self) -> Vec<u32> {
        match self.prefix {
            PrefixState::Absent => vec![4548, 2384, 2436],
            PrefixState::Present if self.zones.len() == 1 && self.zones.contains(&39) => {
                vec![4527, 2363, 2415]
            }
            PrefixState::Present if self.zones.len() == 1 && self.zones.contains(&20) => {
                vec![4498, 2334, 21420]
            }
            _ => Vec::new(),
        }
    }

    /// The issues as findings of `layer` (dataset level, feature key `*`).
    pub fn findings(&self, layer: &str) -> Vec<Finding> {
        self.issues
            .iter()
            .map(|i| {
                let mut f = finding(
                    i.rule.0,
                    i.sub_code,
                    i.severity,
                    layer,
                    i.evidence_zh.clone(),
                    i.evidence_en.clone(),
                );
                f.value = Some(match i.rule.0 {
                    "CRS-03" => self.swapped.count as f64,
                    "CRS-02" if i.sub_code == "E01" => self.outside_declared.count as f64,
                    "CRS-02" => self.outside.count as f64,
                    _ => self.prefixed.count.min(self.plain.count) as f64,
                });
                f
            })
            .collect()
    }
}

/// A sample for [`sniff`]: the first vertex of every polygon of evenly spaced features, at most
/// about `max` coordinates, so every part of a dataset (and every feature's CRS habits) is seen.
pub fn sample_multipolygons(geoms: &[Option<MultiPolygon<f64>>], max: usize) -> Vec<Coord<f64>> {
    let present = geoms.iter().filter(|g| g.is_some()).count();
    let step = present.div_ceil(max.max(1)).max(1);
    geoms
        .iter()
        .flatten()
        .step_by(step)
        .flat_map(|mp| mp.0.iter().filter_map(|p| p.exterior().0.first().copied()))
        .collect()
}

fn zone_of(e: f64, w: &Window) -> Option<u32> {
    ZONES.into_iter().find(|z| {
        w.shifted_e(*z as f64 * 1e6)
            .contains(e, 0.5 * (w.min_n + w.max_n))
    })
}

/// Examine a sample of coordinates (easting first, as stored) against the Jinan windows and,
/// if given, the declared CRS. Errors only for a declared EPSG code PROJ does not know.
pub fn sniff(coords: &[Coord<f64>], declared: Option<&CrsRef>) -> Result<Sniff, CrsError> {
    let declared_window = match declared {
        Some(c) => expected_window(c)?,
        None => None,
    };
    let w = Window::JINAN_4548.grown(WINDOW_MARGIN_M);
    let mut s = Sniff {
        total: 0,
        non_finite: 0,
        plain: Extent::default(),
        prefixed: Extent::default(),
        zones: BTreeSet::new(),
        swapped: Extent::default(),
        outside: Extent::default(),
        prefix: PrefixState::Unknown,
        declared: declared.cloned(),
        declared_window,
        outside_declared: Extent::default(),
        issues: Vec::new(),
    };
    let mut swapped_zones = BTreeSet::new();
    let mut swapped_plain = 0usize;
    for &c in coords {
        if !c.x.is_finite() || !c.y.is_finite() {
            s.non_finite += 1;
            continue;
        }
        s.total += 1;
        if let Some(dw) = &declared_window {
            if !dw.contains(c.x, c.y) {
                s.outside_declared.add(c);
            }
        }
        let in_n = |v: f64| v >= w.min_n && v <= w.max_n;
        if w.contains(c.x, c.y) {
            s.plain.add(c);
        } else if let Some(z) = zone_of(c.x, &w).filter(|_| in_n(c.y)) {
            s.prefixed.add(c);
            s.zones.insert(z);
        } else if w.contains(c.y, c.x) {
            s.swapped.add(c);
            swapped_plain += 1;
        } else if let Some(z) = zone_of(c.y, &w).filter(|_| in_n(c.x)) {
            s.swapped.add(c);
            swapped_zones.insert(z);
        } else {
            s.outside.add(c);
        }
    }
    let with_prefix = s.prefixed.count + s.swapped.count - swapped_plain;
    let without = s.plain.count + swapped_plain;
    s.prefix = match (with_prefix > 0, without > 0) {
        (true, true) => PrefixState::Mixed,
        (true, false) => PrefixState::Present,
        (false, true) => PrefixState::Absent,
        (false, false) => PrefixState::Unknown,
    };
    let zones: BTreeSet<u32> = s.zones.union(&swapped_zones).copied().collect();
    let zone_list = zones
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join("/");
    let t = s.total;
    let mut issues = Vec::new();
    if s.prefix == PrefixState::Mixed || zones.len() > 1 {
        issues.push(SniffIssue {
            rule: RuleId("CRS-04"),
            sub_code: "E01",
            severity: Severity::E,
            evidence_en: format!(
                "zone prefix mixed within the dataset: {with_prefix} of {t} coordinates carry zone prefix {zone_list} ({}), {without} do not ({})",
                s.prefixed.ranges(),
                s.plain.ranges()
            ),
            evidence_zh: format!(
                "同一数据集中带号前缀不一致: {t} 个坐标中 {with_prefix} 个带 {zone_list} 带号 ({}), {without} 个不带 ({})",
                s.prefixed.ranges(),
                s.plain.ranges()
            ),
        });
    } else if s.declared.is_none() && s.prefix != PrefixState::Unknown {
        let (en, zh) = match s.prefix {
            PrefixState::Present => (
                format!("zone prefix {zone_list} present on all {with_prefix} Jinan-like coordinates: candidates EPSG {:?}", s.candidates()),
                format!("全部 {with_prefix} 个坐标带 {zone_list} 带号前缀: 候选坐标系 EPSG {:?}", s.candidates()),
            ),
            _ => (
                format!("no zone prefix on all {without} Jinan-like coordinates: candidates EPSG {:?} (the datum cannot be told from coordinates)", s.candidates()),
                format!("全部 {without} 个坐标不带带号前缀: 候选坐标系 EPSG {:?} (坐标无法区分基准)", s.candidates()),
            ),
        };
        issues.push(SniffIssue {
            rule: RuleId("CRS-04"),
            sub_code: "I01",
            severity: Severity::I,
            evidence_en: en,
            evidence_zh: zh,
        });
    }
    if s.swapped.count > 0 {
        issues.push(SniffIssue {
            rule: RuleId("CRS-03"),
            sub_code: "W01",
            severity: Severity::W,
            evidence_en: format!(
                "X/Y swapped: {} of {t} coordinates have northing-like values in the easting slot ({}); survey X is north, stored geometry is easting first",
                s.swapped.count,
                s.swapped.ranges()
            ),
            evidence_zh: format!(
                "X/Y 颠倒: {t} 个坐标中 {} 个在东坐标位置上是北坐标量级的值 ({}); 测量坐标 X 为北, 几何存储为东坐标在前",
                s.swapped.count,
                s.swapped.ranges()
            ),
        });
    }
    if let (Some(dw), Some(d)) = (&s.declared_window, &s.declared) {
        if s.outside_declared.count > 0 {
            issues.push(SniffIssue {
                rule: RuleId("CRS-02"),
                sub_code: "E01",
                severity: Severity::E,
                evidence_en: format!(
                    "{} of {t} coordinates lie outside the window of the declared {d} (easting {:.0}–{:.0}, northing {:.0}–{:.0}, margin included): {}",
                    s.outside_declared.count, dw.min_e, dw.max_e, dw.min_n, dw.max_n,
                    s.outside_declared.ranges()
                ),
                evidence_zh: format!(
                    "{t} 个坐标中 {} 个超出声明坐标系 {d} 的范围 (东 {:.0}–{:.0}, 北 {:.0}–{:.0}, 含缓冲): {}",
                    s.outside_declared.count, dw.min_e, dw.max_e, dw.min_n, dw.max_n,
                    s.outside_declared.ranges()
                ),
            });
        }
    } else if s.declared.is_none() && s.outside.count > 0 {
        issues.push(SniffIssue {
            rule: RuleId("CRS-02"),
            sub_code: "E02",
            severity: Severity::E,
            evidence_en: format!(
                "{} of {t} coordinates lie in no Jinan window (plain, zone-prefixed or swapped): {}; a local grid or other units? declare the CRS",
                s.outside.count,
                s.outside.ranges()
            ),
            evidence_zh: format!(
                "{t} 个坐标中 {} 个不在济南范围内 (无论是否带号或颠倒): {}; 可能为独立坐标系或单位错误, 请声明坐标系",
                s.outside.count,
                s.outside.ranges()
            ),
        });
    }
    s.issues = issues;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::polygon;

    /// A grid of points across Laiwu (EPSG:4548 values), `n` per side.
    fn laiwu(n: usize) -> Vec<Coord<f64>> {
        let mut v = Vec::new();
        for i in 0..n {
            for j in 0..n {
                v.push(Coord {
                    x: 527_000.0 + 58_000.0 * i as f64 / n as f64,
                    y: 3_990_000.0 + 60_000.0 * j as f64 / n as f64,
                });
            }
        }
        v
    }

    fn codes(s: &Sniff) -> Vec<String> {
        s.issues
            .iter()
            .map(|i| format!("{}-{}", i.rule, i.sub_code))
            .collect()
    }

    #[test]
    fn plain_coordinates_without_declaration() {
        let s = sniff(&laiwu(10), None).unwrap();
        assert_eq!(s.prefix, PrefixState::Absent);
        assert_eq!(
            (s.plain.count, s.prefixed.count, s.swapped.count),
            (100, 0, 0)
        );
        assert_eq!(codes(&s), ["CRS-04-I01"]);
        assert_eq!(s.candidates(), [4548, 2384, 2436]);
    }

    #[test]
    fn zone_prefix_present() {
        let c: Vec<_> = laiwu(5)
            .into_iter()
            .map(|c| Coord {
                x: c.x + 39e6,
                y: c.y,
            })
            .collect();
        let s = sniff(&c, None).unwrap();
        assert_eq!(s.prefix, PrefixState::Present);
        assert_eq!(s.zones.iter().copied().collect::<Vec<_>>(), [39]);
        assert_eq!(s.candidates(), [4527, 2363, 2415]);
        assert_eq!(codes(&s), ["CRS-04-I01"]);
        // declared with prefix: in window, no issue
        let s = sniff(&c, Some(&CrsRef::Epsg(2363))).unwrap();
        assert!(s.issues.is_empty(), "{:?}", s.issues);
        // declared without prefix: all outside (CRS-02)
        let s = sniff(&c, Some(&CrsRef::Epsg(4548))).unwrap();
        assert_eq!(codes(&s), ["CRS-02-E01"]);
        assert_eq!(s.outside_declared.count, 25);
        assert!(s.issues[0].evidence_en.contains("25 of 25"));
    }

    #[test]
    fn mixed_prefix_is_an_error_with_evidence() {
        let mut c = laiwu(10);
        for p in c.iter_mut().take(7) {
            p.x += 39e6;
        }
        let s = sniff(&c, None).unwrap();
        assert_eq!(s.prefix, PrefixState::Mixed);
        assert_eq!(codes(&s), ["CRS-04-E01"]);
        let ev = &s.issues[0].evidence_en;
        assert!(
            ev.contains("7 of 100") && ev.contains("93 do not") && ev.contains("39"),
            "{ev}"
        );
        let f = s.findings("parcels");
        assert_eq!(
            (f[0].code(), f[0].severity, f[0].value),
            ("CRS-04-E01".into(), Severity::E, Some(7.0))
        );
        assert_eq!(f[0].feature_key, crate::DATASET_KEY);
    }

    #[test]
    fn swapped_axes_are_detected() {
        let mut c = laiwu(10);
        for p in c.iter_mut().skip(60) {
            std::mem::swap(&mut p.x, &mut p.y);
        }
        let s = sniff(&c, None).unwrap();
        assert_eq!(s.swapped.count, 40);
        assert!(
            codes(&s).contains(&"CRS-03-W01".to_string()),
            "{:?}",
            codes(&s)
        );
        let ev = &s
            .issues
            .iter()
            .find(|i| i.rule.0 == "CRS-03")
            .unwrap()
            .evidence_en;
        assert!(ev.contains("40 of 100") && ev.contains("x 3990000"), "{ev}");
        // swapped zone-prefixed values (northing first, 39-prefixed easting second)
        let c: Vec<_> = laiwu(4)
            .into_iter()
            .map(|c| Coord {
                x: c.y,
                y: c.x + 39e6,
            })
            .collect();
        let s = sniff(&c, Some(&CrsRef::Epsg(2363))).unwrap();
        assert_eq!(s.swapped.count, 16);
        assert_eq!(s.prefix, PrefixState::Present);
        assert_eq!(codes(&s), ["CRS-03-W01", "CRS-02-E01"]);
    }

    #[test]
    fn out_of_window_for_declared_and_undeclared() {
        // a local city grid: small numbers
        let c: Vec<_> = (0..50)
            .map(|i| Coord {
                x: 30_000.0 + i as f64 * 10.0,
                y: 45_000.0,
            })
            .collect();
        let s = sniff(&c, None).unwrap();
        assert_eq!(s.prefix, PrefixState::Unknown);
        assert_eq!(codes(&s), ["CRS-02-E02"]);
        assert!(s.issues[0].evidence_en.contains("50 of 50"));
        // declared as a local grid: nothing to check against
        let s = sniff(&c, Some(&CrsRef::Local("laiwu-city".into()))).unwrap();
        assert!(s.issues.is_empty());
        // some points beyond the margin of the declared CGCS2000 grid
        let mut c = laiwu(10);
        c[3].x = 700_000.0;
        c[4].y = 3_900_000.0;
        c.push(Coord {
            x: f64::NAN,
            y: 1.0,
        });
        let s = sniff(&c, Some(&CrsRef::Epsg(4548))).unwrap();
        assert_eq!(s.non_finite, 1);
        assert_eq!(s.outside_declared.count, 2);
        assert_eq!(codes(&s), ["CRS-02-E01"]);
        assert!(
            s.issues[0].evidence_en.contains("2 of 100"),
            "{}",
            s.issues[0].evidence_en
        );
    }

    #[test]
    fn samples_cover_the_whole_dataset() {
        let mp = |x: f64| {
            Some(MultiPolygon(vec![polygon![
                (x: x, y: 4_000_000.0), (x: x + 10.0, y: 4_000_000.0), (x: x, y: 4_000_010.0)
            ]]))
        };
        let mut g: Vec<_> = (0..1000).map(|i| mp(530_000.0 + i as f64)).collect();
        g[999] = mp(39_530_999.0); // the last feature carries the prefix
        g[10] = None;
        let s = sample_multipolygons(&g, 100);
        assert!(s.len() <= 100 && s.len() >= 90, "{}", s.len());
        let all = sample_multipolygons(&g, 10_000);
        assert_eq!(all.len(), 999);
        assert_eq!(sniff(&all, None).unwrap().prefix, PrefixState::Mixed);
    }

    #[test]
    fn windows_follow_the_declared_crs() {
        let w = expected_window(&CrsRef::Epsg(2415)).unwrap().unwrap();
        assert!((w.min_e - (39e6 + 407_900.0)).abs() < 2_000.0, "{w:?}");
        assert!((w.min_n - 3_965_800.0).abs() < 2_000.0, "{w:?}");
        let w = expected_window(&CrsRef::Epsg(2384)).unwrap().unwrap();
        assert!(w.contains(550_000.0, 4_020_000.0));
        assert!(expected_window(&CrsRef::Local(String::new()))
            .unwrap()
            .is_none());
        assert!(sniff(&laiwu(2), Some(&CrsRef::Epsg(999_999))).is_err());
    }
}
