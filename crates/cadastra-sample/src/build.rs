//! Everything inside one 地籍子区: parcels with codes, addresses, uses and areas; buildings
//! (自然幢) inset in their parcel; house units (户); rights (current and historical) with their
//! holders; planted defects and their ground-truth rows. Output is vendor-neutral: the sinks
//! turn it into each vendor's fields. Global numbers (身份证, 业务号, certificate numbers) are
//! handed out later by the single writer, so sub-zones can be built in parallel.

use crate::coverage::{self, bowtie_bottom, pull_right_edge, push_right_mid, ring_area, snap};
use crate::crs::{Similarity, Xian80, ZONE39};
use crate::ident::Date;
use crate::names::{self, pick};
use crate::plan::{mix, Defect, Kind, Role, Source, Subzone};
use crate::SampleError;
use geo_types::Coord;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// 1 亩 in m².
pub const MU: f64 = 10_000.0 / 15.0;
/// The world's reference date: nothing is registered after it.
pub const REFERENCE: Date = Date::new(2018, 12, 31);
/// Start of unified real-estate registration (certificate numbers change format).
const UNIFIED: Date = Date::new(2015, 3, 1);

pub fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}
pub fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

/// A parcel as delivered, vendor-neutral.
#[derive(Debug, Clone)]
pub struct ParcelOut {
    /// normalised key (ASCII, legacy admin code)
    pub zddm: String,
    pub zddm_raw: String,
    pub bdcdyh_raw: String,
    pub zdtzm: &'static str,
    pub zl: String,
    /// registered value as written (m², or 亩 when `mu`)
    pub zdmj: f64,
    pub mu: bool,
    pub yt07: &'static str,
    pub yt17: &'static str,
    pub qllx: &'static str,
    pub qlxz: &'static str,
    pub djh: String,
    pub tfh: String,
    pub djzqdm: String,
    /// closed, clockwise (the order the shapefile stores)
    pub true_ring: Vec<Coord<f64>>,
    pub legacy_ring: Vec<Coord<f64>>,
}

/// A building (自然幢).
#[derive(Debug, Clone)]
pub struct BuildingOut {
    pub zrzh: String,
    pub zddm: String,
    pub jzwmc: String,
    pub zl: String,
    pub zcs: u32,
    pub fwjg: &'static str,
    pub ghyt: &'static str,
    pub jgrq: Date,
    pub zzdmj: f64,
    pub scjzmj: f64,
    pub legacy_ring: Vec<Coord<f64>>,
    /// CGCS2000 ring (used for the Jinan registry, which is already in EPSG:4548)
    pub true_ring: Vec<Coord<f64>>,
}

/// A house unit (户).
#[derive(Debug, Clone)]
pub struct UnitOut {
    pub bdcdyh: String,
    pub zrzh: String,
    pub ch: u32,
    pub hh: u32,
    pub shbw: String,
    pub fwyt: &'static str,
    pub scjzmj: f64,
    pub sctn: f64,
    pub scft: f64,
    pub zl: String,
}

/// Which certificate series a right's number comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CertKind {
    Unified,
    StateLand,
    CollectiveLand,
    House,
    Farm,
    Forest,
}

/// House fields of a FDCQ2 right.
#[derive(Debug, Clone)]
pub struct HouseOut {
    pub fdzl: String,
    pub fwjg: &'static str,
    pub ghyt: &'static str,
    pub jzmj: f64,
    pub szc: u32,
    pub zcs: u32,
}

/// One right holder of a current right.
#[derive(Debug, Clone)]
pub struct HolderOut {
    pub person: usize,
    pub gyfs: &'static str,
    /// share as (numerator, denominator) for 按份共有 and sole owners
    pub share: Option<(u32, u32)>,
}

/// A right row.
#[derive(Debug, Clone)]
pub struct RightOut {
    pub bdcdyh: String,
    pub qllx: &'static str,
    pub djlx: &'static str,
    pub djyy: &'static str,
    pub qlxz: &'static str,
    /// land area as registered (same unit as the parcel's, `mu` = 亩)
    pub syqmj: Option<f64>,
    pub mu: bool,
    pub qssj: Option<Date>,
    pub jssj: Option<Date>,
    pub cert: CertKind,
    pub djsj: Date,
    pub dbr: &'static str,
    pub qszt: &'static str,
    pub house: Option<HouseOut>,
    pub holders: Vec<HolderOut>,
}

/// A person or company before it gets its global identifier.
#[derive(Debug, Clone)]
pub struct PersonDraft {
    pub name: String,
    pub male: bool,
    /// of age at the registration that made them a holder
    pub birth: Date,
    pub region: &'static str,
    pub phone: String,
    pub address: String,
    pub company: bool,
    /// ATTR-04: written with a wrong check character
    pub bad_check: bool,
}

/// A ground-truth row; `right` points at a right whose 业务号 is the feature key (LINK-03).
#[derive(Debug, Clone)]
pub struct TruthRow {
    pub rule: &'static str,
    pub layer: &'static str,
    pub feature_key: String,
    pub other_key: String,
    pub note: String,
    pub right: Option<usize>,
}

/// Everything one sub-zone contributes.
#[derive(Debug, Clone, Default)]
pub struct ZoneOut {
    pub parcels: Vec<ParcelOut>,
    pub buildings: Vec<BuildingOut>,
    pub units: Vec<UnitOut>,
    pub rights: Vec<RightOut>,
    pub persons: Vec<PersonDraft>,
    pub truth: Vec<TruthRow>,
    /// (parcel above, lower-left, lower-right) keys
    pub tjunctions: Vec<(String, String, String)>,
}

/// Coordinate conversion for one sub-zone's deliverable.
pub enum Legacy<'a> {
    /// Xi'an 80 GK CM 117E; `zone_prefix` adds 39 000 000 to eastings (EPSG:2363)
    Xian80 { op: &'a Xian80, zone_prefix: bool },
    /// local grid of the 房地一体 survey
    Local(&'a Similarity),
    /// already CGCS2000 (Jinan)
    None,
}

impl Legacy<'_> {
    fn apply(&self, pts: &mut [Coord<f64>]) -> Result<(), SampleError> {
        match self {
            Legacy::Xian80 { op, zone_prefix } => {
                op.to_legacy(pts)?;
                if *zone_prefix {
                    for p in pts {
                        p.x += ZONE39;
                    }
                }
            }
            Legacy::Local(s) => {
                for p in pts {
                    *p = s.inverse(*p);
                }
            }
            Legacy::None => {}
        }
        Ok(())
    }
}

fn district(src: Source) -> &'static str {
    match src {
        Source::Laiwu => "莱城区",
        Source::Gangcheng => "钢城区",
        Source::Jinan => "章丘区",
    }
}

fn roads(src: Source) -> &'static [&'static str] {
    match src {
        Source::Laiwu => names::LAIWU_ROADS,
        Source::Gangcheng => names::GANGCHENG_ROADS,
        Source::Jinan => names::ZHANGQIU_ROADS,
    }
}

fn registrars(src: Source) -> &'static [&'static str] {
    match src {
        Source::Laiwu => names::REGISTRARS_LAIWU,
        Source::Gangcheng => names::REGISTRARS_GANGCHENG,
        Source::Jinan => names::REGISTRARS_ZHANGQIU,
    }
}

fn rand_date(rng: &mut ChaCha8Rng, from: Date, to: Date) -> Date {
    let (a, b) = (from.days(), to.days().max(from.days()));
    Date::from_days(rng.random_range(a..=b))
}

/// Closed clockwise copy of a counter-clockwise open ring (shapefile order).
fn closed_cw(ccw: &[Coord<f64>]) -> Vec<Coord<f64>> {
    let mut r: Vec<Coord<f64>> = ccw.iter().rev().copied().collect();
    if let Some(&f) = r.first() {
        r.push(f);
    }
    r
}

/// The use a town parcel is given.
#[derive(Clone, Copy)]
struct TownUse {
    yt07: &'static str,
    yt17: &'static str,
    ghyt: &'static str,
    years: i32,
    company: f64,
    residential: bool,
    name: &'static [&'static str],
}

const TOWN_USES: &[(f64, TownUse)] = &[
    (
        0.55,
        TownUse {
            yt07: "071",
            yt17: "0701",
            ghyt: "11",
            years: 70,
            company: 0.0,
            residential: true,
            name: &["住宅楼", "1号楼", "2号楼", "单元楼"],
        },
    ),
    (
        0.12,
        TownUse {
            yt07: "051",
            yt17: "0501",
            ghyt: "31",
            years: 40,
            company: 0.7,
            residential: false,
            name: &["商业楼", "门头房", "综合楼"],
        },
    ),
    (
        0.05,
        TownUse {
            yt07: "053",
            yt17: "0505",
            ghyt: "34",
            years: 40,
            company: 0.9,
            residential: false,
            name: &["综合楼", "办公楼"],
        },
    ),
    (
        0.15,
        TownUse {
            yt07: "061",
            yt17: "0601",
            ghyt: "21",
            years: 50,
            company: 1.0,
            residential: false,
            name: &["厂房", "车间", "1号车间"],
        },
    ),
    (
        0.05,
        TownUse {
            yt07: "063",
            yt17: "0604",
            ghyt: "27",
            years: 50,
            company: 1.0,
            residential: false,
            name: &["仓库", "库房"],
        },
    ),
    (
        0.05,
        TownUse {
            yt07: "081",
            yt17: "0801",
            ghyt: "60",
            years: 50,
            company: 1.0,
            residential: false,
            name: &["办公楼"],
        },
    ),
    (
        0.03,
        TownUse {
            yt07: "083",
            yt17: "0803",
            ghyt: "41",
            years: 50,
            company: 1.0,
            residential: false,
            name: &["教学楼"],
        },
    ),
];

/// Per-parcel land facts decided before buildings and rights.
struct Land {
    zdtzm: &'static str,
    yt07: &'static str,
    yt17: &'static str,
    qlxz: &'static str,
    /// (right type without house, with house)
    qllx: (&'static str, &'static str),
    /// fixture of the land unit ('W' or 'L')
    fixture: char,
    town_use: Option<TownUse>,
    company: bool,
}

fn land(kind: Kind, src: Source, rng: &mut ChaCha8Rng) -> Land {
    match kind {
        Kind::Town => {
            let mut r: f64 = rng.random();
            let mut u = TOWN_USES[0].1;
            for (w, tu) in TOWN_USES {
                if r < *w {
                    u = *tu;
                    break;
                }
                r -= w;
            }
            let hb = u.yt07 == "081" || u.yt07 == "083" || rng.random_bool(0.15);
            let company = rng.random_bool(u.company);
            Land {
                zdtzm: "GB",
                yt07: u.yt07,
                yt17: u.yt17,
                qlxz: if hb { "101" } else { "102" },
                qllx: ("3", "4"),
                fixture: 'W',
                town_use: Some(u),
                company,
            }
        }
        Kind::Village => {
            if src != Source::Jinan && rng.random_bool(0.06) {
                Land {
                    zdtzm: "JB",
                    yt07: "061",
                    yt17: "0601",
                    qlxz: "203",
                    qllx: ("7", "8"),
                    fixture: 'W',
                    town_use: None,
                    company: true,
                }
            } else {
                Land {
                    zdtzm: "JC",
                    yt07: "072",
                    yt17: "0702",
                    qlxz: "203",
                    qllx: ("5", "6"),
                    fixture: 'W',
                    town_use: None,
                    company: false,
                }
            }
        }
        Kind::Farm => {
            let (a, b) = match rng.random_range(0..10) {
                0 => ("011", "0101"),
                1..=3 => ("012", "0102"),
                _ => ("013", "0103"),
            };
            Land {
                zdtzm: "JD",
                yt07: a,
                yt17: b,
                qlxz: "201",
                qllx: ("9", "9"),
                fixture: 'W',
                town_use: None,
                company: false,
            }
        }
        Kind::Forest => {
            let (a, b) = match rng.random_range(0..10) {
                0..=6 => ("031", "0301"),
                7 => ("032", "0305"),
                _ => ("033", "0307"),
            };
            let company = rng.random_bool(0.15);
            match rng.random_range(0..10) {
                0..=5 => Land {
                    zdtzm: "JE",
                    yt07: a,
                    yt17: b,
                    qlxz: "201",
                    qllx: ("10", "10"),
                    fixture: 'L',
                    town_use: None,
                    company,
                },
                6..=8 => Land {
                    zdtzm: "JL",
                    yt07: a,
                    yt17: b,
                    qlxz: "202",
                    qllx: ("12", "12"),
                    fixture: 'L',
                    town_use: None,
                    company,
                },
                _ => Land {
                    zdtzm: "JL",
                    yt07: a,
                    yt17: b,
                    qlxz: "202",
                    qllx: ("11", "11"),
                    fixture: 'W',
                    town_use: None,
                    company,
                },
            }
        }
    }
}

fn table_of(qllx: &str) -> &'static str {
    match qllx {
        "3" | "5" | "7" => "JSYDSYQ",
        "4" | "6" | "8" => "FDCQ2",
        "9" => "NYDSYQ",
        _ => "LQ",
    }
}

fn full_width(s: &str, positions: &[usize]) -> String {
    s.chars()
        .enumerate()
        .map(|(i, c)| {
            if positions.contains(&i) && c.is_ascii_alphanumeric() {
                char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap_or(c)
            } else {
                c
            }
        })
        .collect()
}

struct People<'a> {
    rng: ChaCha8Rng,
    list: Vec<PersonDraft>,
    src: Source,
    town: &'a str,
    reusable: Vec<usize>,
}

impl People<'_> {
    fn region(&mut self) -> &'static str {
        let r: f64 = self.rng.random();
        match self.src {
            Source::Laiwu => {
                ["371202", "371203", "370114"][usize::from(r > 0.85) + usize::from(r > 0.93)]
            }
            Source::Gangcheng => {
                ["371203", "371202", "370114"][usize::from(r > 0.85) + usize::from(r > 0.95)]
            }
            Source::Jinan => {
                ["370114", "371202", "371203"][usize::from(r > 0.9) + usize::from(r > 0.97)]
            }
        }
    }
    fn phone(&mut self) -> String {
        let rng = &mut self.rng;
        if rng.random_bool(0.15) {
            format!(
                "0634-{}{:06}",
                rng.random_range(5..9),
                rng.random_range(0..1_000_000)
            )
        } else {
            let p = ["13", "15", "18", "17"][rng.random_range(0..4)];
            format!(
                "{p}{}{:08}",
                rng.random_range(0..10),
                rng.random_range(0..100_000_000)
            )
        }
    }
    /// A new natural person, of age when registered on `djsj`; `address` is where they live.
    fn person(&mut self, male: bool, address: &str, reusable: bool, djsj: Date) -> usize {
        let from = djsj.plus_years(-75).max(Date::new(1930, 1, 1));
        let to = djsj.plus_years(-20).min(Date::new(1998, 12, 31));
        let birth = rand_date(&mut self.rng, from, to);
        let name = format!(
            "{}{}",
            names::surname(&mut self.rng),
            names::given_name(&mut self.rng, male, birth.y < 1970)
        );
        let region = self.region();
        let phone = self.phone();
        self.list.push(PersonDraft {
            name,
            male,
            birth,
            region,
            phone,
            address: address.to_string(),
            company: false,
            bad_check: false,
        });
        let i = self.list.len() - 1;
        if reusable {
            self.reusable.push(i);
        }
        i
    }
    /// A person, sometimes one who already holds another unit here (and was of age then).
    fn holder(&mut self, address: &str, djsj: Date) -> usize {
        if !self.reusable.is_empty() && self.rng.random_bool(0.04) {
            let k = self.rng.random_range(0..self.reusable.len());
            let p = self.reusable[k];
            if self.list[p].birth.plus_years(18) <= djsj {
                return p;
            }
        }
        let male = self.rng.random_bool(0.6);
        self.person(male, address, true, djsj)
    }
    fn company(&mut self, address: &str) -> usize {
        let name = names::company(&mut self.rng);
        let region = match self.src {
            Source::Laiwu => "371202",
            Source::Gangcheng => "371203",
            Source::Jinan => "370114",
        };
        let phone = format!(
            "0634-{}{:06}",
            self.rng.random_range(5..9),
            self.rng.random_range(0..1_000_000)
        );
        let _ = self.town;
        self.list.push(PersonDraft {
            name,
            male: false,
            birth: Date::new(1990, 1, 1),
            region,
            phone,
            address: address.to_string(),
            company: true,
            bad_check: false,
        });
        self.list.len() - 1
    }
}

/// Holders of a unit: one person, a couple (共同共有) or shares (按份共有).
fn holders_for(
    people: &mut People<'_>,
    address: &str,
    company: bool,
    djsj: Date,
) -> Vec<HolderOut> {
    if company {
        let c = people.company(address);
        return vec![HolderOut {
            person: c,
            gyfs: "0",
            share: Some((1, 1)),
        }];
    }
    let r: f64 = people.rng.random();
    if r < 0.55 {
        let p = people.holder(address, djsj);
        vec![HolderOut {
            person: p,
            gyfs: "0",
            share: Some((1, 1)),
        }]
    } else if r < 0.85 {
        let a = people.person(true, address, true, djsj);
        let b = people.person(false, address, true, djsj);
        vec![
            HolderOut {
                person: a,
                gyfs: "1",
                share: None,
            },
            HolderOut {
                person: b,
                gyfs: "1",
                share: None,
            },
        ]
    } else {
        let shares: &[(u32, u32)] = match people.rng.random_range(0..5) {
            0 | 1 => &[(1, 2), (1, 2)],
            2 => &[(3, 5), (2, 5)],
            3 => &[(1, 4), (3, 4)],
            _ => &[(1, 2), (1, 4), (1, 4)],
        };
        shares
            .iter()
            .map(|&s| {
                let male = people.rng.random_bool(0.5);
                HolderOut {
                    person: people.person(male, address, true, djsj),
                    gyfs: "2",
                    share: Some(s),
                }
            })
            .collect()
    }
}

/// Build one sub-zone. `legacy` converts the true coordinates into what the vendor delivers.
pub fn build(sz: &Subzone, legacy: &Legacy<'_>) -> Result<ZoneOut, SampleError> {
    let cov = coverage::coverage(sz);
    let mut geo = cov.parcels;
    let mut rng = ChaCha8Rng::seed_from_u64(mix(sz.seed, 2));
    let src = sz.source;
    let dist = district(src);
    let djzqdm = sz.djzqdm();
    let n = geo.len();
    let mut out = ZoneOut::default();
    let mut people = People {
        rng: ChaCha8Rng::seed_from_u64(mix(sz.seed, 3)),
        list: Vec::new(),
        src,
        town: sz.town,
        reusable: Vec::new(),
    };
    let village = names::village(&mut rng);
    let road_a = pick(&mut rng, roads(src));
    let road_b = pick(&mut rng, roads(src));
    let regs = registrars(src);
    let zddm_of = |seq: usize, zdtzm: &str| format!("{djzqdm}{zdtzm}{seq:05}");
    // land facts first: the pair defects need the partner's code
    let lands: Vec<Land> = (0..n).map(|_| land(sz.kind, src, &mut rng)).collect();
    let keys: Vec<String> = (0..n).map(|i| zddm_of(i + 1, lands[i].zdtzm)).collect();
    for (a, b, c) in &cov.tjunctions {
        out.tjunctions
            .push((keys[*a].clone(), keys[*b].clone(), keys[*c].clone()));
    }
    let layer_zd = "ZDJBXX";
    let m = coverage::margin(sz.scale);
    let mut house_no = rng.random_range(1..40u32);
    for i in 0..n {
        let role = sz.roles[i];
        // the UNIT-07 copy carries its neighbour's codes (ZDTZM, use, right type) with its number
        let l = if role == Role::Defect(Defect::Unit07) {
            &lands[i + 1]
        } else {
            &lands[i]
        };
        let key = keys[i].clone();
        let mut truth =
            |rule: &'static str, layer: &'static str, fk: String, ok: String, note: String| {
                out.truth.push(TruthRow {
                    rule,
                    layer,
                    feature_key: fk,
                    other_key: ok,
                    note,
                    right: None,
                });
            };
        // ---- geometry defects
        let (r, _c) = sz.rc(i);
        match role {
            Role::Defect(Defect::Topo01) => {
                debug_assert!(geo[i].right_mid, "TOPO-01 needs a shared middle vertex");
                let ov = push_right_mid(&mut geo[i], rng.random_range(0.8..3.0));
                truth(
                    "TOPO-01",
                    layer_zd,
                    key.clone(),
                    keys[i + 1].clone(),
                    format!("shared vertex pushed into the neighbour: overlap {ov:.2} m2"),
                );
            }
            Role::Defect(Defect::Topo02) => {
                let g = rng.random_range(0.3..1.0f64).min(m - 0.2);
                pull_right_edge(&mut geo[i], g);
                truth(
                    "TOPO-02",
                    layer_zd,
                    key.clone(),
                    keys[i + 1].clone(),
                    format!("edge pulled back {g:.2} m: gap inside the sub-zone"),
                );
            }
            Role::Defect(Defect::Geom01) => {
                debug_assert_eq!(r, 0);
                let h = rng.random_range(0.3..1.0);
                bowtie_bottom(&mut geo[i], h);
                truth(
                    "GEOM-01",
                    layer_zd,
                    key.clone(),
                    String::new(),
                    "bow-tie (self-intersecting) ring on the road side".into(),
                );
            }
            _ => {}
        }
        let pg = &geo[i];
        let area_m2 = round2(ring_area(&pg.drawn).abs());
        // ---- codes
        let seq = i + 1;
        let mut zddm = key.clone();
        let mut n_build = match sz.kind {
            Kind::Town => [0, 1, 1, 1, 1, 2, 2, 3][rng.random_range(0..8)],
            Kind::Village if l.zdtzm == "JC" => usize::from(rng.random_bool(0.85)),
            Kind::Village => rng.random_range(1..=2),
            _ => 0,
        };
        if role == Role::Defect(Defect::Topo04) {
            n_build = n_build.max(1);
        }
        if role == Role::Defect(Defect::Unit07) {
            zddm = keys[i + 1].clone();
            n_build = 0;
        }
        if pg.inner.is_none() {
            n_build = 0;
        }
        let land_bdcdyh = if l.fixture == 'L' {
            format!("{zddm}L00000001")
        } else {
            format!("{zddm}W00000000")
        };
        let mut zddm_raw = zddm.clone();
        let mut bdcdyh_raw = land_bdcdyh.clone();
        match role {
            Role::Defect(Defect::Unit07) => truth("UNIT-07", layer_zd, zddm.clone(), String::new(), format!("BDCDYH {land_bdcdyh} also on parcel {seq:05} of the sub-zone (its own number is lost)")),
            Role::Defect(Defect::Unit01) => {
                bdcdyh_raw.pop();
                truth("UNIT-01", layer_zd, zddm.clone(), String::new(), format!("BDCDYH has 27 characters: {bdcdyh_raw}"));
            }
            Role::Defect(Defect::Unit02) => {
                let p = rng.random_range(21..28);
                bdcdyh_raw.replace_range(p..p + 1, "O");
                truth("UNIT-02", layer_zd, zddm.clone(), String::new(), format!("letter O where a digit belongs (position {}): {bdcdyh_raw}", p + 1));
            }
            Role::Defect(Defect::Fmt05) => {
                let a = rng.random_range(12..14);
                let b = rng.random_range(14..19);
                zddm_raw = full_width(&zddm, &[a, b]);
                bdcdyh_raw = full_width(&land_bdcdyh, &[a, b]);
                truth("FMT-05", layer_zd, zddm.clone(), String::new(), format!("full-width characters in ZDDM/BDCDYH: {zddm_raw}"));
            }
            _ => {}
        }
        // ---- address
        let zl = match sz.kind {
            Kind::Town => {
                house_no += rng.random_range(1..5);
                let road = if r % 2 == 0 { road_a } else { road_b };
                format!("{dist}{}{road}{house_no}号", sz.town)
            }
            Kind::Village => {
                house_no += rng.random_range(1..3);
                format!("{dist}{}{village}{house_no}号", sz.town)
            }
            _ => format!(
                "{dist}{}{village}{}",
                sz.town,
                pick(&mut rng, names::FIELD_NAMES)
            ),
        };
        // ---- registered area
        let mu =
            src == Source::Gangcheng && !sz.zjd && matches!(sz.kind, Kind::Farm | Kind::Forest);
        let as_unit = |v: f64| if mu { round6(v / MU) } else { v };
        let mut zdmj = as_unit(area_m2);
        match role {
            Role::Defect(Defect::Area01) => {
                let f =
                    rng.random_range(0.03..0.10) * if rng.random_bool(0.5) { 1.0 } else { -1.0 };
                zdmj = as_unit(round2(area_m2 * (1.0 + f)));
                truth(
                    "AREA-01",
                    layer_zd,
                    zddm.clone(),
                    String::new(),
                    format!(
                        "registered area off by {:+.1}% of the drawn area {area_m2:.2} m2",
                        f * 100.0
                    ),
                );
            }
            Role::Defect(Defect::Area06) => {
                zdmj = round2(area_m2 / MU);
                truth(
                    "AREA-06",
                    layer_zd,
                    zddm.clone(),
                    String::new(),
                    format!("ZDMJ {zdmj} is in mu (drawn area {area_m2:.2} m2) while MJDW says m2"),
                );
            }
            _ => {}
        }
        // ---- dates and land right period
        let tu = l.town_use;
        let qssj = match sz.kind {
            Kind::Town => rand_date(&mut rng, Date::new(1992, 1, 1), Date::new(2016, 12, 31)),
            Kind::Village => rand_date(&mut rng, Date::new(1985, 1, 1), Date::new(2015, 12, 31)),
            Kind::Farm => Date::new(1998, 1, 1),
            Kind::Forest => rand_date(&mut rng, Date::new(2006, 1, 1), Date::new(2012, 12, 31)),
        };
        let jssj = match sz.kind {
            Kind::Town if l.qlxz == "101" => None,
            Kind::Town => Some(qssj.plus_years(tu.map_or(70, |t| t.years)).plus_days(-1)),
            Kind::Village => None,
            Kind::Farm => Some(Date::new(2027, 12, 31)),
            Kind::Forest => Some(qssj.plus_years(50).plus_days(-1)),
        };
        // ---- buildings and units
        let ghyt = tu.map_or(if l.zdtzm == "JB" { "21" } else { "12" }, |t| t.ghyt);
        let residential = tu.is_none_or(|t| t.residential) && l.zdtzm != "JB";
        let mut unit_keys: Vec<(usize, usize)> = Vec::new(); // (first unit, count) per building
        let first_building = out.buildings.len();
        if let Some(inner) = pg.inner.filter(|_| n_build > 0) {
            let gap = 2.0;
            let w = inner[2] - inner[0];
            let k = n_build.min(((w + gap) / (3.0 + gap)).floor().max(1.0) as usize);
            let slot = (w - gap * (k - 1) as f64) / k as f64;
            let hh = inner[3] - inner[1];
            for b in 0..k {
                let bw = slot * rng.random_range(0.6..0.95);
                let bh = hh * rng.random_range(0.5..0.9);
                let sx = inner[0]
                    + b as f64 * (slot + gap)
                    + rng.random_range(0.0..(slot - bw).max(1e-9));
                let sy = inner[1] + rng.random_range(0.0..(hh - bh).max(1e-9));
                let mut rect = [snap(sx), snap(sy), snap(sx + bw), snap(sy + bh)];
                let zrzh = format!("{zddm}F{:04}", b + 1);
                if b == 0 && role == Role::Defect(Defect::Topo04) {
                    // shift left out of the parcel, across the sub-zone's road-side edge
                    let e = rng.random_range(0.5..2.0f64);
                    let dx = rect[0] - sz.rect[0] + e;
                    rect[0] = snap(rect[0] - dx);
                    rect[2] = snap(rect[2] - dx);
                    truth(
                        "TOPO-04",
                        "ZRZ",
                        zrzh.clone(),
                        zddm.clone(),
                        format!("building shifted: {e:.2} m of it lies outside its parcel"),
                    );
                }
                let ccw = vec![
                    Coord {
                        x: rect[0],
                        y: rect[1],
                    },
                    Coord {
                        x: rect[2],
                        y: rect[1],
                    },
                    Coord {
                        x: rect[2],
                        y: rect[3],
                    },
                    Coord {
                        x: rect[0],
                        y: rect[3],
                    },
                ];
                let foot = round2((rect[2] - rect[0]) * (rect[3] - rect[1]));
                let (zcs, n_units) = if residential && l.zdtzm == "GB" {
                    let u: u32 = [1, 1, 1, 2, 2, 3, 4, 4, 6, 6, 8, 12][rng.random_range(0..12)];
                    (if u <= 2 { u } else { u.div_ceil(2) }, u)
                } else if l.zdtzm == "GB" {
                    (rng.random_range(1..=5), 1)
                } else {
                    (rng.random_range(1..=2), 1)
                };
                let fwjg = match l.zdtzm {
                    "GB" if zcs >= 4 => "3",
                    "GB" => ["3", "4"][rng.random_range(0..2)],
                    _ => ["4", "5"][rng.random_range(0..2)],
                };
                let jgrq = rand_date(
                    &mut rng,
                    qssj.max(Date::new(1985, 1, 1)),
                    Date::new(2017, 12, 31),
                );
                let name = match (l.zdtzm, tu) {
                    ("GB", Some(t)) => pick(&mut rng, t.name).to_string(),
                    ("JB", _) => "厂房".to_string(),
                    _ => ["正房", "住宅"][b % 2].to_string(),
                };
                let first_unit = out.units.len();
                let per_floor = n_units.div_ceil(zcs).max(1);
                let mut total = 0.0;
                for u in 0..n_units {
                    let sc =
                        round2(foot * zcs as f64 / n_units as f64 * rng.random_range(0.85..0.97));
                    let tn = round2(sc * rng.random_range(0.8..0.9));
                    let ft = round2(sc - tn);
                    let sc = round2(tn + ft);
                    total += sc;
                    let ch = u / per_floor + 1;
                    let shbw = if n_units == 1 {
                        "整幢".to_string()
                    } else {
                        format!("{}{:02}室", ch, u % per_floor + 1)
                    };
                    let uzl = if n_units == 1 {
                        zl.clone()
                    } else {
                        format!("{zl}{}号楼{shbw}", b + 1)
                    };
                    out.units.push(UnitOut {
                        bdcdyh: format!("{zrzh}{:04}", u + 1),
                        zrzh: zrzh.clone(),
                        ch,
                        hh: u + 1,
                        shbw,
                        fwyt: ghyt,
                        scjzmj: sc,
                        sctn: tn,
                        scft: ft,
                        zl: uzl,
                    });
                }
                unit_keys.push((first_unit, n_units as usize));
                let true_ring = closed_cw(&ccw);
                let legacy_ring = true_ring.clone(); // converted for the whole zone below
                out.buildings.push(BuildingOut {
                    zrzh,
                    zddm: zddm.clone(),
                    jzwmc: name,
                    zl: zl.clone(),
                    zcs,
                    fwjg,
                    ghyt,
                    jgrq,
                    zzdmj: foot,
                    scjzmj: round2(total),
                    legacy_ring,
                    true_ring,
                });
            }
        }
        let has_house = !unit_keys.is_empty() && src != Source::Jinan && !sz.zjd;
        let qllx = if has_house { l.qllx.1 } else { l.qllx.0 };
        // ---- rights
        let register = role != Role::Defect(Defect::Unit07);
        let no_current = role == Role::Defect(Defect::Link01);
        if no_current {
            truth(
                "LINK-01",
                layer_zd,
                zddm.clone(),
                String::new(),
                "parcel with no current right (宗地无登记)".into(),
            );
        }
        let dbr = pick(&mut rng, regs);
        // (unit bdcdyh, house info)
        let mut reg_units: Vec<(String, Option<HouseOut>)> = Vec::new();
        if has_house {
            for (bi, &(fu, nu)) in unit_keys.iter().enumerate() {
                let bld = &out.buildings[first_building + bi];
                for u in &out.units[fu..fu + nu] {
                    reg_units.push((
                        u.bdcdyh.clone(),
                        Some(HouseOut {
                            fdzl: u.zl.clone(),
                            fwjg: bld.fwjg,
                            ghyt: bld.ghyt,
                            jzmj: u.scjzmj,
                            szc: u.ch,
                            zcs: bld.zcs,
                        }),
                    ));
                }
            }
        } else {
            reg_units.push((land_bdcdyh.clone(), None));
        }
        let mut attr04_done = role != Role::Defect(Defect::Attr04);
        if register {
            for (ui, (bdcdyh, house)) in reg_units.into_iter().enumerate() {
                let jgrq = house.as_ref().map(|_| out.buildings[first_building].jgrq);
                let earliest = qssj.max(jgrq.unwrap_or(qssj)).max(Date::new(1990, 1, 1));
                let djsj = match sz.kind {
                    Kind::Farm => rand_date(&mut rng, Date::new(2016, 3, 1), REFERENCE),
                    _ => rand_date(&mut rng, earliest, REFERENCE),
                };
                let history =
                    rng.random_bool(0.15) || (no_current && ui == 0 && rng.random_bool(0.5));
                let is_house = house.is_some();
                let cert_of = |d: Date| {
                    if d >= UNIFIED {
                        CertKind::Unified
                    } else {
                        match (sz.kind, is_house) {
                            (_, true) => CertKind::House,
                            (Kind::Town, _) => CertKind::StateLand,
                            (Kind::Village, _) => CertKind::CollectiveLand,
                            (Kind::Farm, _) => CertKind::Farm,
                            (Kind::Forest, _) => CertKind::Forest,
                        }
                    }
                };
                let syqmj = if house.is_some() && qllx == "4" {
                    None
                } else {
                    Some(zdmj)
                };
                let base = RightOut {
                    bdcdyh: bdcdyh.clone(),
                    qllx,
                    djlx: "100",
                    djyy: match qllx {
                        "3" | "4" if l.qlxz == "102" => "出让",
                        "3" | "4" => "划拨",
                        "9" | "10" => "家庭承包",
                        "11" | "12" => "林地流转",
                        _ => "首次登记",
                    },
                    qlxz: l.qlxz,
                    syqmj,
                    mu,
                    qssj: Some(qssj),
                    jssj,
                    cert: cert_of(djsj),
                    djsj,
                    dbr,
                    qszt: "1",
                    house,
                    holders: Vec::new(),
                };
                let addr = match (&base.house, sz.kind) {
                    (Some(h), _) => h.fdzl.clone(),
                    // farmers live in the village, not on the plot
                    (None, Kind::Farm | Kind::Forest) => format!("{dist}{}{village}", sz.town),
                    (None, _) => zl.clone(),
                };
                let mut current = base.clone();
                if history && djsj > earliest.plus_years(1) {
                    let old_djsj = rand_date(&mut rng, earliest, djsj.plus_years(-1));
                    let mut old = base.clone();
                    old.djsj = old_djsj;
                    old.cert = cert_of(old_djsj);
                    old.qszt = "2";
                    out.rights.push(old);
                    current.djlx = "200";
                    current.djyy = ["买卖", "继承", "赠与", "买卖"][rng.random_range(0..4)];
                }
                if no_current {
                    continue;
                }
                let company = l.company;
                current.holders = holders_for(&mut people, &addr, company, current.djsj);
                if !attr04_done {
                    // a fresh person with a wrong check character, used nowhere else
                    let p = people.person(true, &addr, false, current.djsj);
                    people.list[p].bad_check = true;
                    current.holders = vec![HolderOut {
                        person: p,
                        gyfs: "0",
                        share: Some((1, 1)),
                    }];
                    out.truth.push(TruthRow {
                        rule: "ATTR-04",
                        layer: "QLR",
                        feature_key: bdcdyh.clone(),
                        other_key: String::new(),
                        note: "身份证 number of holder SXH 1 has a wrong check character".into(),
                        right: None,
                    });
                    attr04_done = true;
                }
                out.rights.push(current);
            }
        }
        // ---- geometry out
        let true_ring = closed_cw(&geo[i].drawn);
        let legacy_ring = true_ring.clone(); // converted for the whole zone below
        let djh = match src {
            Source::Laiwu => format!("{:02}-{:03}-{:04}", sz.djq % 100, sz.djzq, seq),
            _ => format!("{:02}{:03}{:04}", sz.djq % 100, sz.djzq, seq),
        };
        out.parcels.push(ParcelOut {
            zddm,
            zddm_raw,
            bdcdyh_raw,
            zdtzm: l.zdtzm,
            zl,
            zdmj,
            mu,
            yt07: l.yt07,
            yt17: l.yt17,
            qllx,
            qlxz: l.qlxz,
            djh,
            tfh: String::new(),
            djzqdm: djzqdm.clone(),
            true_ring,
            legacy_ring,
        });
    }
    // ---- LINK-03: rights on parcels that do not exist (sequence numbers past the last one)
    for k in 0..sz.link03 {
        let (zdtzm, qllx, qlxz) = match sz.kind {
            Kind::Town => ("GB", "3", "102"),
            Kind::Village => ("JC", "5", "203"),
            Kind::Farm => ("JD", "9", "201"),
            Kind::Forest => ("JL", "11", "202"),
        };
        let zddm = zddm_of(n + 1 + k as usize, zdtzm);
        let bdcdyh = format!("{zddm}W00000000");
        let djsj = rand_date(&mut rng, Date::new(2005, 1, 1), REFERENCE);
        let zl = format!("{dist}{}{village}", sz.town);
        let holders = holders_for(&mut people, &zl, false, djsj);
        out.rights.push(RightOut {
            bdcdyh: bdcdyh.clone(),
            qllx,
            djlx: "100",
            djyy: "首次登记",
            qlxz,
            syqmj: Some(round2(rng.random_range(150.0..900.0))),
            mu: false,
            qssj: Some(djsj.plus_years(-1)),
            jssj: None,
            cert: if djsj >= UNIFIED {
                CertKind::Unified
            } else {
                CertKind::StateLand
            },
            djsj,
            dbr: pick(&mut rng, regs),
            qszt: "1",
            house: None,
            holders,
        });
        out.truth.push(TruthRow {
            rule: "LINK-03",
            layer: table_of(qllx),
            feature_key: String::new(),
            other_key: bdcdyh,
            note: "current right whose BDCDYH has no parcel (有证无图)".into(),
            right: Some(out.rights.len() - 1),
        });
    }
    out.persons = people.list;
    convert_zone(&mut out, legacy)?;
    Ok(out)
}

/// Convert every ring of the zone to the delivered coordinates, each distinct vertex once (in
/// one batch), so shared vertices stay bit-identical; then the map sheet numbers (1:500, from
/// the delivered coordinates of the first vertex).
fn convert_zone(out: &mut ZoneOut, legacy: &Legacy<'_>) -> Result<(), SampleError> {
    let key = |c: &Coord<f64>| (c.x.to_bits(), c.y.to_bits());
    let mut keys: Vec<(u64, u64)> = out
        .parcels
        .iter()
        .flat_map(|p| p.legacy_ring.iter())
        .chain(out.buildings.iter().flat_map(|b| b.legacy_ring.iter()))
        .map(key)
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let mut pts: Vec<Coord<f64>> = keys
        .iter()
        .map(|&(x, y)| Coord {
            x: f64::from_bits(x),
            y: f64::from_bits(y),
        })
        .collect();
    legacy.apply(&mut pts)?;
    let rings = out
        .parcels
        .iter_mut()
        .map(|p| &mut p.legacy_ring)
        .chain(out.buildings.iter_mut().map(|b| &mut b.legacy_ring));
    for ring in rings {
        for c in ring.iter_mut() {
            // every vertex is in `keys` by construction
            if let Ok(i) = keys.binary_search(&key(c)) {
                *c = pts[i];
            }
        }
    }
    for p in &mut out.parcels {
        let c = p.legacy_ring[0];
        p.tfh = format!(
            "{:.2}-{:.2}",
            (c.y / 250.0).floor() * 0.25,
            ((c.x % 1_000_000.0) / 250.0).floor() * 0.25
        );
    }
    Ok(())
}

trait PlusDays {
    fn plus_days(self, d: i64) -> Date;
}

impl PlusDays for Date {
    fn plus_days(self, d: i64) -> Date {
        Date::from_days(self.days() + d)
    }
}
