//! FMT-04 dates: mixed legacy formats to ISO `YYYY-MM-DD`.
//!
//! Accepted (after full-width → ASCII and trimming):
//!
//! | form | example |
//! |---|---|
//! | `YYYYMMDD` | `20030501` |
//! | `YYYY-M-D`, `YYYY/M/D`, `YYYY.M.D` (one separator kind) | `2003-5-1`, `2003/05/01` |
//! | any of those plus a time, which is dropped | `2003-05-01 12:30:00`, `2003-05-01T12:30` |
//! | Chinese, Arabic or Chinese numerals | `2003年5月1日`, `２００３年５月１日`, `二〇〇三年五月一日` |
//! | Excel serial, 1900 date system, within `serial_range` | `37742`, `37742.5` |
//!
//! Impossible dates (`2003-02-30`) are errors, never moved to a neighbouring day; so is Excel's
//! serial 60, the 1900-02-29 that never was. A bare 4-digit year, a year and month, or day-month
//! orders (`1/5/2003`) are errors with their own reasons.

use super::{chinese_number, fullwidth_to_ascii};
use std::fmt;
use std::ops::RangeInclusive;

/// A calendar date (proleptic Gregorian).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

/// Why a value is not a date.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DateError {
    #[error("empty value")]
    Empty,
    #[error("not a recognised date format: {0:?}")]
    Unrecognised(String),
    #[error("impossible date {year:04}-{month:02}-{day:02}")]
    Impossible { year: i32, month: u32, day: u32 },
    #[error("year {0} outside the plausible range")]
    YearOutOfRange(i32),
    #[error("a year only ({0}), no month and day")]
    YearOnly(i32),
    #[error("a year and month only, no day: {0:?}")]
    Incomplete(String),
    #[error("Excel serial {0} outside the plausible range")]
    SerialOutOfRange(f64),
    #[error("Excel serial 60 is 1900-02-29, a day that did not exist (Excel's leap-year bug)")]
    ExcelLeapBug,
    #[error("bad time of day after the date: {0:?}")]
    BadTime(String),
}

/// Plausibility limits.
#[derive(Debug, Clone, PartialEq)]
pub struct DateOptions {
    /// Excel serial numbers accepted (1 = 1900-01-01, 80000 = 2119-01-11)
    pub serial_range: RangeInclusive<f64>,
    /// years accepted in any form
    pub years: RangeInclusive<i32>,
}

impl Default for DateOptions {
    fn default() -> Self {
        DateOptions {
            serial_range: 1.0..=80000.0,
            years: 1900..=2199,
        }
    }
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 0,
    }
}

impl Date {
    /// A date if it exists.
    pub fn new(year: i32, month: u32, day: u32) -> Result<Date, DateError> {
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return Err(DateError::Impossible { year, month, day });
        }
        Ok(Date { year, month, day })
    }

    /// Days since 1970-01-01 (negative before).
    pub fn days_since_epoch(self) -> i64 {
        // Howard Hinnant's days_from_civil
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date `days` after 1970-01-01.
    pub fn from_days_since_epoch(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }

    /// The date of an Excel serial number in the 1900 date system (time of day ignored).
    /// Serial 1 is 1900-01-01; Excel counts a 1900-02-29 as serial 60, which is an error here.
    pub fn from_excel_serial(serial: f64) -> Result<Date, DateError> {
        if !serial.is_finite() || serial < 1.0 {
            return Err(DateError::SerialOutOfRange(serial));
        }
        let n = serial.floor() as i64;
        // 1899-12-31 is day -25568 since the epoch
        let base = Date {
            year: 1899,
            month: 12,
            day: 31,
        }
        .days_since_epoch();
        match n {
            60 => Err(DateError::ExcelLeapBug),
            1..=59 => Ok(Date::from_days_since_epoch(base + n)),
            _ => Ok(Date::from_days_since_epoch(base + n - 1)),
        }
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// The ISO form of a date value with the default limits.
///
/// ```
/// use cadastra_tables::normalize::normalize_date;
/// assert_eq!(normalize_date("2003年5月1日").unwrap(), "2003-05-01");
/// assert_eq!(normalize_date("37742").unwrap(), "2003-05-01");
/// assert!(normalize_date("2003-02-30").is_err());
/// ```
pub fn normalize_date(s: &str) -> Result<String, DateError> {
    parse_date(s, &DateOptions::default()).map(|d| d.to_string())
}

/// Parse a date value; see the [module docs](self) for the forms.
pub fn parse_date(s: &str, opts: &DateOptions) -> Result<Date, DateError> {
    let t = fullwidth_to_ascii(s);
    let t = t.trim();
    if t.is_empty() {
        return Err(DateError::Empty);
    }
    let unrecognised = || DateError::Unrecognised(s.to_string());
    let date = if t.contains('年') {
        chinese_date(t, s)?
    } else {
        let (date_part, time_part) = match t.find([' ', 'T']) {
            Some(i) => (&t[..i], Some(t[i + 1..].trim())),
            None => (t, None),
        };
        let all_digits = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
        let d = if all_digits(date_part) {
            match date_part.len() {
                8 => ymd(&date_part[..4], &date_part[4..6], &date_part[6..], s)?,
                4 => {
                    let y: i32 = date_part.parse().map_err(|_| unrecognised())?;
                    if opts.years.contains(&y) {
                        return Err(DateError::YearOnly(y));
                    }
                    serial(date_part, opts, time_part.is_some(), s)?
                }
                6 => {
                    let y: i32 = date_part[..4].parse().map_err(|_| unrecognised())?;
                    let m: u32 = date_part[4..].parse().map_err(|_| unrecognised())?;
                    if opts.years.contains(&y) && (1..=12).contains(&m) {
                        return Err(DateError::Incomplete(s.to_string()));
                    }
                    return Err(unrecognised());
                }
                _ => serial(date_part, opts, time_part.is_some(), s)?,
            }
        } else {
            let sep = date_part
                .bytes()
                .find(|b| matches!(b, b'-' | b'/' | b'.'))
                .ok_or_else(unrecognised)?;
            let parts: Vec<&str> = date_part.split(sep as char).collect();
            if !parts.iter().all(|p| all_digits(p)) {
                return Err(unrecognised());
            }
            match parts.as_slice() {
                [y, m, d] if y.len() == 4 && m.len() <= 2 && d.len() <= 2 => ymd(y, m, d, s)?,
                [int, _frac] if sep == b'.' && int.len() == 4 && date_part.len() <= 7 => {
                    // 2003.5 is a year and month, 37742.5 a serial with a time of day
                    let y: i32 = int.parse().map_err(|_| unrecognised())?;
                    if opts.years.contains(&y) {
                        return Err(DateError::Incomplete(s.to_string()));
                    }
                    serial(date_part, opts, false, s)?
                }
                [int, _frac] if sep == b'.' && int.len() <= 5 && time_part.is_none() => {
                    serial(date_part, opts, false, s)?
                }
                [y, m] if y.len() == 4 && m.len() <= 2 => {
                    return Err(DateError::Incomplete(s.to_string()))
                }
                _ => return Err(unrecognised()),
            }
        };
        if let Some(tp) = time_part {
            check_time(tp)?;
        }
        d
    };
    if !opts.years.contains(&date.year) {
        return Err(DateError::YearOutOfRange(date.year));
    }
    Ok(date)
}

fn ymd(y: &str, m: &str, d: &str, orig: &str) -> Result<Date, DateError> {
    let bad = || DateError::Unrecognised(orig.to_string());
    let y: i32 = y.parse().map_err(|_| bad())?;
    let m: u32 = m.parse().map_err(|_| bad())?;
    let d: u32 = d.parse().map_err(|_| bad())?;
    Date::new(y, m, d)
}

fn serial(text: &str, opts: &DateOptions, has_time: bool, orig: &str) -> Result<Date, DateError> {
    if has_time {
        return Err(DateError::Unrecognised(orig.to_string()));
    }
    let v: f64 = text
        .parse()
        .map_err(|_| DateError::Unrecognised(orig.to_string()))?;
    if !opts.serial_range.contains(&v) {
        return Err(DateError::SerialOutOfRange(v));
    }
    Date::from_excel_serial(v)
}

/// `H:MM`, `H:MM:SS`, `H:MM:SS.fff`, optionally followed by `Z` or `±HH:MM`.
fn check_time(t: &str) -> Result<(), DateError> {
    let bad = || DateError::BadTime(t.to_string());
    let core = t.trim_end_matches('Z');
    let core = match core.rfind(['+', '-']) {
        Some(i) if i > 0 => &core[..i],
        _ => core,
    };
    let parts: Vec<&str> = core.split(':').collect();
    if !(2..=3).contains(&parts.len()) {
        return Err(bad());
    }
    let num = |p: &str, max: u32| -> Result<(), DateError> {
        let ok = !p.is_empty() && p.len() <= 2 && p.bytes().all(|b| b.is_ascii_digit());
        match p.parse::<u32>() {
            Ok(v) if ok && v <= max => Ok(()),
            _ => Err(bad()),
        }
    };
    num(parts[0], 23)?;
    num(parts[1], 59)?;
    if let Some(sec) = parts.get(2) {
        let (whole, frac) = sec.split_once('.').unwrap_or((sec, "0"));
        num(whole, 60)?;
        if frac.is_empty() || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
    }
    Ok(())
}

/// `2003年5月1日`, `二〇〇三年五月一日`, `2003年05月01号 12:00`.
fn chinese_date(t: &str, orig: &str) -> Result<Date, DateError> {
    let bad = || DateError::Unrecognised(orig.to_string());
    let squeeze = |x: &str| -> String { x.chars().filter(|c| !c.is_whitespace()).collect() };
    let (y, rest) = t.split_once('年').ok_or_else(bad)?;
    let year = chinese_number(&squeeze(y)).ok_or_else(bad)?;
    let Some((m, rest)) = rest.split_once('月') else {
        return if rest.trim().is_empty() {
            Err(DateError::YearOnly(year as i32))
        } else {
            Err(bad())
        };
    };
    let month = chinese_number(&squeeze(m)).ok_or_else(bad)?;
    let (d, tail) = match rest.find(['日', '号']) {
        Some(i) => {
            let mark = rest[i..].chars().next().map_or(0, char::len_utf8);
            (&rest[..i], rest[i + mark..].trim())
        }
        None => (rest, ""),
    };
    let d = squeeze(d);
    if d.is_empty() {
        return Err(DateError::Incomplete(orig.to_string()));
    }
    let day = chinese_number(&d).ok_or_else(bad)?;
    if !tail.is_empty() {
        check_time(tail)?;
    }
    Date::new(year as i32, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, want: Result<&str, DateError>) {
        let got = normalize_date(input);
        assert_eq!(got.as_deref().map_err(Clone::clone), want, "{input:?}");
    }

    fn ok(input: &str, want: &str) {
        check(input, Ok(want));
    }

    fn unrec(input: &str) {
        check(input, Err(DateError::Unrecognised(input.to_string())));
    }

    #[test]
    fn compact_and_separated_forms() {
        ok("20030501", "2003-05-01");
        ok("2003-5-1", "2003-05-01");
        ok("2003-05-01", "2003-05-01");
        ok("2003/5/1", "2003-05-01");
        ok("2003.5.1", "2003-05-01");
        ok("2003.12.31", "2003-12-31");
        ok("  2003-05-01 ", "2003-05-01");
        ok("２００３－０５－０１", "2003-05-01");
        ok("2000-02-29", "2000-02-29");
    }

    #[test]
    fn times_are_dropped_but_must_be_times() {
        ok("2003-05-01 12:30:00", "2003-05-01");
        ok("2003/5/1 8:05", "2003-05-01");
        ok("2003-05-01T23:59:59.123Z", "2003-05-01");
        ok("2003-05-01T08:00:00+08:00", "2003-05-01");
        ok("20030501 00:00:00", "2003-05-01");
        check("2003-05-01 25:00", Err(DateError::BadTime("25:00".into())));
        check("2003-05-01 noon", Err(DateError::BadTime("noon".into())));
        check("2003-05-01 12:60", Err(DateError::BadTime("12:60".into())));
    }

    #[test]
    fn chinese_forms() {
        ok("2003年5月1日", "2003-05-01");
        ok("2003年05月01日", "2003-05-01");
        ok("２００３年５月１日", "2003-05-01");
        ok("2003 年 5 月 1 日", "2003-05-01");
        ok("2003年5月1号", "2003-05-01");
        ok("2003年5月1", "2003-05-01");
        ok("二〇〇三年五月一日", "2003-05-01");
        ok("二零零三年十二月二十一日", "2003-12-21");
        ok("一九九九年十月三十一日", "1999-10-31");
        ok("2003年5月1日 12:00", "2003-05-01");
        check("2003年", Err(DateError::YearOnly(2003)));
        check("2003年5月", Err(DateError::Incomplete("2003年5月".into())));
        check(
            "2003年2月30日",
            Err(DateError::Impossible {
                year: 2003,
                month: 2,
                day: 30,
            }),
        );
        unrec("2003年五月某日");
        unrec("公元2003年5月1日");
    }

    #[test]
    fn excel_serials_in_the_1900_system() {
        ok("1", "1900-01-01");
        ok("59", "1900-02-28");
        check("60", Err(DateError::ExcelLeapBug));
        ok("61", "1900-03-01");
        ok("36892", "2001-01-01");
        ok("37742", "2003-05-01");
        ok("37742.75", "2003-05-01");
        ok("45658", "2025-01-01");
        ok("80000", "2119-01-11");
        check("80001", Err(DateError::SerialOutOfRange(80001.0)));
        check("0", Err(DateError::SerialOutOfRange(0.0)));
        let narrow = DateOptions {
            serial_range: 18_264.0..=55_000.0,
            ..DateOptions::default()
        };
        assert_eq!(
            parse_date("100", &narrow),
            Err(DateError::SerialOutOfRange(100.0))
        );
        assert_eq!(
            parse_date("37742", &narrow).unwrap().to_string(),
            "2003-05-01"
        );
    }

    #[test]
    fn impossible_dates_are_errors() {
        for (s, y, m, d) in [
            ("2003-02-30", 2003, 2, 30),
            ("20030230", 2003, 2, 30),
            ("2003-13-01", 2003, 13, 1),
            ("2003-04-31", 2003, 4, 31),
            ("1900-02-29", 1900, 2, 29),
            ("2003-00-10", 2003, 0, 10),
            ("2003/1/0", 2003, 1, 0),
        ] {
            check(
                s,
                Err(DateError::Impossible {
                    year: y,
                    month: m,
                    day: d,
                }),
            );
        }
    }

    #[test]
    fn partial_ambiguous_and_odd_values() {
        check("", Err(DateError::Empty));
        check("  ", Err(DateError::Empty));
        check("2003", Err(DateError::YearOnly(2003)));
        check("200305", Err(DateError::Incomplete("200305".into())));
        check("2003-05", Err(DateError::Incomplete("2003-05".into())));
        check("2003.5", Err(DateError::Incomplete("2003.5".into())));
        check("1850-01-01", Err(DateError::YearOutOfRange(1850)));
        check("0203-05-01", Err(DateError::YearOutOfRange(203)));
        unrec("1/5/2003");
        unrec("05-01-2003");
        unrec("2003-5/1");
        unrec("2003-05-01-07");
        unrec("May 1, 2003");
        unrec("2003-0x-01");
        check("123456789", Err(DateError::SerialOutOfRange(123456789.0)));
        unrec("37742 12:00");
    }

    #[test]
    fn day_numbers_round_trip() {
        for days in [-800_000i64, -25_568, -1, 0, 1, 11_077, 12_173, 60_000] {
            let d = Date::from_days_since_epoch(days);
            assert_eq!(d.days_since_epoch(), days, "{d}");
            assert!(Date::new(d.year, d.month, d.day).is_ok(), "{d}");
        }
        assert_eq!(
            Date {
                year: 1970,
                month: 1,
                day: 1
            }
            .days_since_epoch(),
            0
        );
        assert_eq!(
            Date {
                year: 2000,
                month: 3,
                day: 1
            }
            .days_since_epoch(),
            11_017
        );
    }

    proptest::proptest! {
        #[test]
        fn every_real_date_reads_back_in_every_form(days in -25_000i64..80_000) {
            let d = Date::from_days_since_epoch(days);
            let iso = d.to_string();
            let (y, m, dd) = (d.year, d.month, d.day);
            for form in [
                iso.clone(),
                format!("{y}{m:02}{dd:02}"),
                format!("{y}-{m}-{dd}"),
                format!("{y}/{m}/{dd}"),
                format!("{y}.{m}.{dd}"),
                format!("{y}年{m}月{dd}日"),
                format!("{iso} 08:30:00"),
            ] {
                proptest::prop_assert_eq!(normalize_date(&form), Ok(iso.clone()), "{}", form);
            }
            // Excel serial of the same day (after 1900-02-28); a bare number that could be a
            // year is read as one (YearOnly), by design
            let serial = days - Date { year: 1899, month: 12, day: 30 }.days_since_epoch();
            if (61..=80_000).contains(&serial) && !(1900..=2199).contains(&serial) {
                proptest::prop_assert_eq!(normalize_date(&serial.to_string()), Ok(iso));
            }
        }

        #[test]
        fn never_panics(s in "\\PC{0,16}") {
            let _ = normalize_date(&s);
        }
    }
}
