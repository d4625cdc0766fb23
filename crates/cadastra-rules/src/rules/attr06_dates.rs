//! ATTR-06 dates: start ≤ end, registration dates not in the future, use terms within the legal
//! maximum — W.
//!
//! - W01 a right's term starts after it ends (SYQQSSJ/SYQJSSJ, TDSYQSSJ/TDSYJSSJ, CBQSSJ/CBJSSJ,
//!   LDSYQSSJ/LDSYQJSSJ);
//! - W02 DJSJ after `today`;
//! - W03 the term is longer than the legal maximum for the land use (城镇国有土地使用权出让和转让
//!   暂行条例 art. 12: residential 70 y, industrial 50 y, education/science/culture/health/sport
//!   50 y, commercial/tourism/recreation 40 y, mixed or other 50 y; 农村土地承包法: farmland 30 y,
//!   grassland 30-50 y, forest land 30-70 y). The use comes from the parcel's YT (JSYDSYQ, by ZDDM
//!   or BDCDYH positions 1-19), the house's GHYT (FDCQ2), the right type (NYDSYQ: farmland,
//!   grassland for QLLX 13 or parcel type F, forest for E; LQ: forest). 划拨 (QLXZ 101) and
//!   homestead rights (QLLX 5/6) have no term (QLXZ of the
//!   right, else of its parcel) and are not checked. `slack_days` allows an end date
//!   that is the anniversary itself or a day later;
//! - W04 a completion date (ZRZ.JGRQ, FDCQ2.JGSJ) after `today`.
//!
//! Options: `today` (ISO date, default: the system date), `residential_years` (70),
//! `industrial_years` (50), `commercial_years` (40), `other_years` (50), `farmland_years` (30),
//! `grassland_years` (50), `forest_years` (70), `slack_days` (1). The year limits are [I]: the
//! brief gives residential 70 y "etc."; the others are the statutory maxima as remembered.

use crate::util::{add_years, iso, land_use_2017, parse_date, parse_ymd, today};
use crate::{Opt, OptValue, Rule, RuleContext, RuleError, RuleFinding, Scope, SubCode};
use cadastra_model::{RuleId, Severity};

pub(crate) struct Dates;
const ID: RuleId = RuleId("ATTR-06");
const TODAY: Opt = Opt {
    key: "today",
    default: OptValue::Str(""),
    inferred: false,
    doc: "reference date (YYYY-MM-DD) for \"in the future\"; empty = the system date",
};
const RESIDENTIAL: Opt = Opt {
    key: "residential_years",
    default: OptValue::F64(70.0),
    inferred: false,
    doc: "legal maximum term of residential land (years)",
};
const INDUSTRIAL: Opt = Opt {
    key: "industrial_years",
    default: OptValue::F64(50.0),
    inferred: true,
    doc: "industrial, storage and mining land (years)",
};
const COMMERCIAL: Opt = Opt {
    key: "commercial_years",
    default: OptValue::F64(40.0),
    inferred: true,
    doc: "commercial, tourism and recreation land (years)",
};
const OTHER: Opt = Opt {
    key: "other_years",
    default: OptValue::F64(50.0),
    inferred: true,
    doc: "education, science, culture, health, sport, mixed and other land (years)",
};
const FARMLAND: Opt = Opt {
    key: "farmland_years",
    default: OptValue::F64(30.0),
    inferred: true,
    doc: "contracted farmland (years)",
};
const GRASSLAND: Opt = Opt {
    key: "grassland_years",
    default: OptValue::F64(50.0),
    inferred: true,
    doc: "contracted grassland (years)",
};
const FOREST: Opt = Opt {
    key: "forest_years",
    default: OptValue::F64(70.0),
    inferred: true,
    doc: "forest land (years)",
};
const SLACK: Opt = Opt {
    key: "slack_days",
    default: OptValue::F64(1.0),
    inferred: false,
    doc: "days an end date may pass the term's anniversary",
};

/// The use category of a term: (limit option, Chinese, English).
type Category = (&'static Opt, &'static str, &'static str);
const C_RES: Category = (&RESIDENTIAL, "住宅用地", "residential land");
const C_IND: Category = (&INDUSTRIAL, "工业用地", "industrial land");
const C_COM: Category = (&COMMERCIAL, "商业用地", "commercial land");
const C_OTHER: Category = (&OTHER, "综合或其他用地", "mixed or other land");
const C_FARM: Category = (&FARMLAND, "耕地承包", "contracted farmland");
const C_GRASS: Category = (&GRASSLAND, "草地承包", "contracted grassland");
const C_FOREST: Category = (&FOREST, "林地", "forest land");

fn by_land_use(yt: &str) -> Category {
    match yt.get(0..2) {
        Some("07") => C_RES,
        Some("06") => C_IND,
        Some("05") => C_COM,
        Some("01") | Some("02") => C_FARM,
        Some("03") => C_FOREST,
        Some("04") => C_GRASS,
        _ => C_OTHER,
    }
}

fn by_house_use(ghyt: &str) -> Category {
    match ghyt.as_bytes().first() {
        Some(b'1') => C_RES,
        Some(b'2') => C_IND,
        Some(b'3') => C_COM,
        _ => C_OTHER,
    }
}

/// (start field, end field) of each rights table.
fn term_fields(table: &str) -> Option<(&'static str, &'static str)> {
    Some(match table {
        "JSYDSYQ" => ("SYQQSSJ", "SYQJSSJ"),
        "FDCQ2" => ("TDSYQSSJ", "TDSYJSSJ"),
        "NYDSYQ" => ("CBQSSJ", "CBJSSJ"),
        "LQ" => ("LDSYQSSJ", "LDSYQJSSJ"),
        _ => return None,
    })
}

impl Rule for Dates {
    fn id(&self) -> RuleId {
        ID
    }
    fn name(&self) -> &'static str {
        "dates"
    }
    fn severity(&self) -> Severity {
        Severity::W
    }
    fn scope(&self) -> Scope {
        Scope::Feature
    }
    fn describe(&self) -> (&'static str, &'static str) {
        ("日期: 起始不晚于结束, 登记时间不在未来, 使用期限不超过法定最高年限(住宅70年等)", "dates: start ≤ end, registration date not in the future, terms within the legal maximum (residential 70 years, ...)")
    }
    fn codes(&self) -> &'static [SubCode] {
        &[
            SubCode {
                code: "W01",
                zh: "起始时间晚于结束时间",
                en: "term starts after it ends",
            },
            SubCode {
                code: "W02",
                zh: "登记时间在未来",
                en: "registration date in the future",
            },
            SubCode {
                code: "W03",
                zh: "使用期限超过法定最高年限",
                en: "term longer than the legal maximum",
            },
            SubCode {
                code: "W04",
                zh: "竣工日期在未来",
                en: "completion date in the future",
            },
        ]
    }
    fn options(&self) -> &'static [Opt] {
        &[
            TODAY,
            RESIDENTIAL,
            INDUSTRIAL,
            COMMERCIAL,
            OTHER,
            FARMLAND,
            GRASSLAND,
            FOREST,
            SLACK,
        ]
    }
    fn needs(&self) -> &'static str {
        "rights tables or buildings (ZRZ)"
    }
    fn applies(&self, cx: &RuleContext<'_>) -> bool {
        cx.has_rights() || cx.has("ZRZ")
    }
    fn prepare(&self, cx: &RuleContext<'_>) {
        cx.parcel_keys();
    }
    fn check(
        &self,
        cx: &RuleContext<'_>,
        emit: &mut dyn FnMut(RuleFinding),
    ) -> Result<(), RuleError> {
        let t = cx.opt_str(ID, &TODAY);
        let today = if t.is_empty() {
            today()
        } else {
            parse_date(&t).ok_or_else(|| {
                RuleError(format!(
                    "ATTR-06: option today = {t:?} is not a date (YYYY-MM-DD)"
                ))
            })?
        };
        let slack = cx.opt_f64(ID, &SLACK) as i64;
        let keys = cx.parcel_keys();
        let parcel_yt = |zddm: &str| -> Option<&str> {
            keys.get(zddm).find_map(|i| {
                let (l, r) = cx.table_item("ZDJBXX", i)?;
                cx.layers[l].field("YT").value(r).and_then(land_use_2017)
            })
        };
        let parcel_qlxz = |zddm: &str| -> Option<&str> {
            keys.get(zddm).find_map(|i| {
                let (l, r) = cx.table_item("ZDJBXX", i)?;
                cx.layers[l].field("QLXZ").value(r)
            })
        };
        let parcel_kind = |zddm: &str| zddm.as_bytes().get(13).map(|&b| b as char);
        for (li, l) in cx.layers.iter().enumerate() {
            if l.table == "ZRZ" || l.table == "FDCQ2" {
                let f = l.field(if l.table == "ZRZ" { "JGRQ" } else { "JGSJ" });
                for r in 0..l.len() {
                    if let Some(d) = f.value(r).and_then(parse_date).filter(|&d| d > today) {
                        let s = iso(d);
                        emit(cx.at(
                            ID,
                            "W04",
                            li,
                            r,
                            format!("竣工日期{s}在未来"),
                            format!("completion date {s} is in the future"),
                        ));
                    }
                }
            }
            if !l.def().right {
                continue;
            }
            let djsj = l.field("DJSJ");
            let (qllx, qlxz, ghyt, bdcdyh, zddm) = (
                l.field("QLLX"),
                l.field("QLXZ"),
                l.field("GHYT"),
                l.field("BDCDYH"),
                l.field("ZDDM"),
            );
            let term = term_fields(l.table).map(|(a, b)| (l.field(a), l.field(b), a, b));
            for r in 0..l.len() {
                if let Some(d) = djsj.value(r).and_then(parse_date).filter(|&d| d > today) {
                    let s = iso(d);
                    emit(cx.at(
                        ID,
                        "W02",
                        li,
                        r,
                        format!("登记时间{s}在未来"),
                        format!("registration date {s} is in the future"),
                    ));
                }
                let Some((fs, fe, ns, ne)) = term else {
                    continue;
                };
                let (Some(s), Some(e)) = (
                    fs.value(r).and_then(parse_ymd),
                    fe.value(r).and_then(parse_date),
                ) else {
                    continue;
                };
                let start = crate::util::days_from_civil(s.0, s.1, s.2);
                if start > e {
                    let (a, b) = (iso(start), iso(e));
                    emit(cx.at(
                        ID,
                        "W01",
                        li,
                        r,
                        format!("{ns} {a}晚于{ne} {b}"),
                        format!("{ns} {a} is after {ne} {b}"),
                    ));
                    continue;
                }
                let q = qllx.value(r).unwrap_or("");
                let zd = zddm
                    .value(r)
                    .or_else(|| bdcdyh.value(r).and_then(|b| b.get(0..19)));
                let nature = qlxz.value(r).or_else(|| zd.and_then(parcel_qlxz));
                if nature == Some("101") || q == "5" || q == "6" {
                    continue; // allocated land and homesteads have no term
                }
                let cat: Category = match l.table {
                    "JSYDSYQ" => zd.and_then(parcel_yt).map_or(C_RES, by_land_use),
                    "FDCQ2" => ghyt.value(r).map_or(C_RES, by_house_use),
                    "NYDSYQ" => {
                        let kind = zd.and_then(parcel_kind);
                        if q == "13" || kind == Some('F') {
                            C_GRASS
                        } else if kind == Some('E') || kind == Some('L') {
                            C_FOREST
                        } else {
                            C_FARM
                        }
                    }
                    "LQ" => C_FOREST,
                    _ => C_OTHER,
                };
                let years = cx.opt_f64(ID, cat.0).clamp(0.0, 1000.0);
                let limit = add_years(s, years as i64) + slack;
                if e > limit {
                    let (a, b) = (iso(start), iso(e));
                    let got = (e - start) as f64 / 365.2425;
                    emit(
                        cx.at(
                            ID,
                            "W03",
                            li,
                            r,
                            format!("使用期限{a}至{b}约{got:.1}年, 超过{}法定最高{years}年", cat.1),
                            format!("term {a} to {b} is about {got:.1} years, longer than the legal maximum of {years} years for {}", cat.2),
                        )
                        .value(got, Some(years)),
                    );
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::testkit::*;

    const OPTS: &str = "[rules.\"ATTR-06\"]\ntoday = \"2018-12-31\"";

    #[test]
    fn terms_and_future_dates() {
        let zd = layer("ZDJBXX", "laiwu")
            .row(
                &[
                    ("ZDDM", "371202001001GB00001"),
                    ("YT", "0501"),
                    ("QLXZ", "102"),
                ],
                None,
            )
            .row(
                &[
                    ("ZDDM", "371202001001GB00002"),
                    ("YT", "071"),
                    ("QLXZ", "102"),
                ],
                None,
            )
            .row(
                &[
                    ("ZDDM", "371202001001GB00003"),
                    ("YT", "0501"),
                    ("QLXZ", "101"),
                ],
                None,
            );
        let r = layer("JSYDSYQ", "laiwu")
            // commercial 40 years ending the day before the anniversary: fine
            .row(
                &[
                    ("YWH", "Y1"),
                    ("ZDDM", "371202001001GB00001"),
                    ("SYQQSSJ", "2001-07-05"),
                    ("SYQJSSJ", "2041-07-04"),
                    ("DJSJ", "2014-09-30"),
                ],
                None,
            )
            // commercial 50 years: too long
            .row(
                &[
                    ("YWH", "Y2"),
                    ("ZDDM", "371202001001GB00001"),
                    ("SYQQSSJ", "2001-07-05"),
                    ("SYQJSSJ", "2051-07-04"),
                ],
                None,
            )
            // residential 70 years via the 2007 code: fine; registered in the future
            .row(
                &[
                    ("YWH", "Y3"),
                    ("ZDDM", "371202001001GB00002"),
                    ("SYQQSSJ", "2001-07-05"),
                    ("SYQJSSJ", "2071-07-05"),
                    ("DJSJ", "2019-01-02"),
                ],
                None,
            )
            // start after end
            .row(
                &[
                    ("YWH", "Y4"),
                    ("SYQQSSJ", "2010-01-01"),
                    ("SYQJSSJ", "2009-01-01"),
                ],
                None,
            )
            // allocated land: no term
            .row(
                &[
                    ("YWH", "Y5"),
                    ("ZDDM", "371202001001GB00003"),
                    ("SYQQSSJ", "2001-07-05"),
                    ("SYQJSSJ", "2101-07-04"),
                ],
                None,
            );
        let n = layer("NYDSYQ", "laiwu")
            .row(
                &[
                    ("YWH", "N1"),
                    ("BDCDYH", "371202001003JD00001W00000000"),
                    ("QLLX", "9"),
                    ("CBQSSJ", "1998-01-01"),
                    ("CBJSSJ", "2027-12-31"),
                ],
                None,
            )
            .row(
                &[
                    ("YWH", "N2"),
                    ("BDCDYH", "371202001003JD00002W00000000"),
                    ("QLLX", "9"),
                    ("CBQSSJ", "1998-01-01"),
                    ("CBJSSJ", "2048-12-31"),
                ],
                None,
            );
        let z = layer("ZRZ", "laiwu").row(&[("ZRZH", "B1"), ("JGRQ", "2020-05-01")], None);
        let f = check_with(
            &[zd, r, n, z],
            OPTS,
            "ATTR-06",
            &[
                "ATTR-06-W01 Y4",
                "ATTR-06-W02 Y3",
                "ATTR-06-W03 Y2",
                "ATTR-06-W03 N2",
                "ATTR-06-W04 B1",
            ],
        );
        assert_eq!(f[2].finding.tolerance, Some(40.0));
        assert_eq!(f[3].finding.tolerance, Some(30.0));
        let bad = layer("ZRZ", "laiwu").row(&[("ZRZH", "B1")], None);
        assert!(matches!(
            outcome(&[bad], "[rules.\"ATTR-06\"]\ntoday = \"soon\"", "ATTR-06"),
            crate::RuleOutcome::CouldNotRun(_)
        ));
    }
}
