//! Small helpers of the attribute rules: text, dates, area units, land-use codes, shares.

use cadastra_model::codelist::codelists;

/// Full-width ASCII to half-width, ideographic space to space.
pub fn half_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .collect()
}

/// An address for comparison: half-width, no blanks or punctuation, upper-case ASCII.
pub fn norm_address(s: &str) -> String {
    half_width(s)
        .chars()
        .filter(|c| {
            !c.is_whitespace()
                && !matches!(
                    c,
                    '-' | '—' | '、' | ',' | '，' | '.' | '。' | '(' | ')' | '（' | '）'
                )
        })
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Does a right status mean "current"? QSZT 1; a missing status counts as current (legacy
/// deliveries often hold only the current register; ATTR-01 reports the missing value).
pub fn is_current(qszt: Option<&str>) -> bool {
    match qszt.map(str::trim) {
        None | Some("") => true,
        Some(s) => s == "1",
    }
}

/// Days since 1970-01-01 of a civil date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn month_days(y: i64, m: u32) -> u32 {
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A date as the registry holds it (`YYYY-MM-DD`, also `YYYYMMDD` and a trailing time), as
/// (year, month, day).
pub fn parse_ymd(s: &str) -> Option<(i64, u32, u32)> {
    let s = s.trim();
    let (y, m, d) = if s.len() >= 10 && s.as_bytes()[4] == b'-' && s.as_bytes()[7] == b'-' {
        (s.get(0..4)?, s.get(5..7)?, s.get(8..10)?)
    } else if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        (&s[0..4], &s[4..6], &s[6..8])
    } else {
        return None;
    };
    let (y, m, d): (i64, u32, u32) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    ((1..=12).contains(&m) && d >= 1 && d <= month_days(y, m)).then_some((y, m, d))
}

/// Days since 1970-01-01 of a registry date.
pub fn parse_date(s: &str) -> Option<i64> {
    parse_ymd(s).map(|(y, m, d)| days_from_civil(y, m, d))
}

/// The date `years` after a date (29 February falls back to 28 February).
pub fn add_years(ymd: (i64, u32, u32), years: i64) -> i64 {
    let (y, m, d) = ymd;
    let y2 = y + years;
    days_from_civil(y2, m, d.min(month_days(y2, m)))
}

/// Today (UTC) in days since 1970-01-01.
pub fn today() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| (d.as_secs() / 86_400) as i64)
        .unwrap_or(0)
}

/// ISO text of a day number.
pub fn iso(days: i64) -> String {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    format!("{:04}-{:02}-{:02}", if m <= 2 { y + 1 } else { y }, m, d)
}

/// m² per unit of an area-unit code (MJDW: 1 m², 2 亩, 3 公顷).
pub fn unit_factor(mjdw: Option<&str>) -> Option<f64> {
    match mjdw.map(str::trim) {
        None | Some("") | Some("1") => Some(1.0),
        Some("2") => Some(10_000.0 / 15.0),
        Some("3") => Some(10_000.0),
        _ => None,
    }
}

/// Chinese / English name of an area-unit code.
pub fn unit_name(mjdw: &str) -> (&'static str, &'static str) {
    match mjdw {
        "2" => ("亩", "mu"),
        "3" => ("公顷", "ha"),
        _ => ("平方米", "m²"),
    }
}

/// Half the last decimal place of a stored value (the rounding it carries), for values stored
/// with 2 to 6 decimals (registry areas are stored with at least 2: `100.00` reads back as 100);
/// 0 for values that look unrounded.
pub fn stored_rounding(v: f64) -> f64 {
    for dec in 2..=6 {
        let s = 10f64.powi(dec);
        if ((v * s).round() - v * s).abs() < 1e-6 * (1.0 + (v * s).abs()) * 1e-3 {
            return 0.5 / s;
        }
    }
    0.0
}

/// A land-use code in the 2017 classification (legacy 3-digit 2007 codes through the crosswalk),
/// or `None` if it is neither.
pub fn land_use_2017(yt: &str) -> Option<&'static str> {
    let cl = codelists();
    let yt = yt.trim();
    if let Some((k, _)) = cl
        .land_use("GB/T 21010-2017")
        .and_then(|l| l.codes.get_key_value(yt))
    {
        return Some(k.as_str());
    }
    cl.crosswalk("YT2007_TO_2017")
        .and_then(|c| c.codes.get(yt))
        .map(String::as_str)
}

/// A share (QLBL): `1/2`, `50%`, `0.5`, `1`; numbers above 1 without a sign are percentages.
pub fn parse_share(s: &str) -> Option<f64> {
    let t = half_width(s);
    let t = t.trim().trim_end_matches(['。', '.']);
    if t.is_empty() {
        return None;
    }
    let v = if let Some(p) = t.strip_suffix('%') {
        p.trim().parse::<f64>().ok()? / 100.0
    } else if let Some((a, b)) = t.split_once('/') {
        let (a, b): (f64, f64) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
        if b == 0.0 {
            return None;
        }
        a / b
    } else {
        let v: f64 = t.parse().ok()?;
        if v > 1.0 {
            v / 100.0
        } else {
            v
        }
    };
    (v.is_finite() && (0.0..=1.0 + 1e-9).contains(&v)).then_some(v)
}

/// Join with the Chinese enumeration comma.
pub fn zh_list(items: &[&str]) -> String {
    items.join("、")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(iso(parse_date("2018-12-31").unwrap()), "2018-12-31");
        assert_eq!(parse_date("20000229"), parse_date("2000-02-29"));
        assert_eq!(parse_date("2001-02-29"), None);
        assert_eq!(parse_date("2001-13-01"), None);
        assert_eq!(iso(add_years((2001, 7, 5), 40)), "2041-07-05");
        assert_eq!(iso(add_years((2000, 2, 29), 1)), "2001-02-28");
    }

    #[test]
    fn shares_and_units() {
        assert_eq!(parse_share("1/2"), Some(0.5));
        assert_eq!(parse_share("50%"), Some(0.5));
        assert_eq!(parse_share("0.25"), Some(0.25));
        assert_eq!(parse_share("１/３").map(|v| (v * 3.0).round()), Some(1.0));
        assert_eq!(parse_share("100"), Some(1.0));
        assert_eq!(parse_share("abc"), None);
        assert_eq!(parse_share("3/2"), None);
        assert_eq!(
            unit_factor(Some("2")).map(|f| (f * 100.0).round()),
            Some(66667.0)
        );
        assert_eq!(stored_rounding(12.34), 0.005);
        assert_eq!(stored_rounding(12.0), 0.005);
        assert_eq!(stored_rounding(1.123456), 0.000_000_5);
    }

    #[test]
    fn land_use() {
        assert_eq!(land_use_2017("072"), Some("0702"));
        assert_eq!(land_use_2017("0702"), Some("0702"));
        assert_eq!(land_use_2017("9999"), None);
        assert_eq!(norm_address("莱城区 杨庄镇（东）"), "莱城区杨庄镇东");
    }
}
