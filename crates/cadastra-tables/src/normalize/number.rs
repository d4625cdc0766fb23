//! FMT-04 numbers: reals and integers from text, areas with units to m², code values, and
//! share fractions (QLBL, for LINK-05).
//!
//! All of them first turn full-width characters into ASCII and trim, so `１，２３４．５` reads
//! as 1234.5. Thousands separators must group by three (`1,234.5`); `1,5` is an error rather
//! than a guess between 1.5 and 15.

use super::{chinese_number, fullwidth_to_ascii};
use std::borrow::Cow;
use std::fmt;

/// Why a value is not the number asked for.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NumberError {
    #[error("empty value")]
    Empty,
    #[error("not a number: {0:?}")]
    NotANumber(String),
    #[error("thousands separators not in groups of three: {0:?}")]
    BadGrouping(String),
    #[error("not a whole number: {0:?}")]
    NotInteger(String),
    #[error("out of range: {0:?}")]
    OutOfRange(String),
    #[error("negative area {0}")]
    NegativeArea(f64),
    #[error("unknown area unit {0:?}")]
    UnknownUnit(String),
    #[error("unknown area unit code (MJDW) {0:?}; expected 1 (m²), 2 (亩) or 3 (公顷)")]
    UnknownUnitCode(String),
    #[error("the value says {text} but the unit code says {code}")]
    UnitConflict { text: AreaUnit, code: AreaUnit },
    #[error("share with a zero denominator: {0:?}")]
    ZeroDenominator(String),
    #[error("share {0} outside (0, 1]")]
    ShareOutOfRange(f64),
}

fn prep(s: &str) -> Cow<'_, str> {
    match fullwidth_to_ascii(s) {
        Cow::Borrowed(b) => Cow::Borrowed(b.trim()),
        Cow::Owned(o) => Cow::Owned(o.trim().to_string()),
    }
}

/// Check `1,234,567.5`-style grouping and return the number without separators.
fn ungroup(t: &str) -> Result<Cow<'_, str>, NumberError> {
    if !t.contains(',') {
        return Ok(Cow::Borrowed(t));
    }
    let bad = || NumberError::BadGrouping(t.to_string());
    let body = t.strip_prefix(['-', '+']).unwrap_or(t);
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    let groups: Vec<&str> = int.split(',').collect();
    let digits = |g: &str| g.bytes().all(|b| b.is_ascii_digit());
    let first_ok = (1..=3).contains(&groups[0].len()) && digits(groups[0]);
    let rest_ok = groups[1..].iter().all(|g| g.len() == 3 && digits(g));
    if !first_ok || !rest_ok || frac.is_some_and(|f| f.contains(',')) {
        return Err(bad());
    }
    Ok(Cow::Owned(t.replace(',', "")))
}

/// Only digits, one sign, one point and an exponent: refuses `inf`, `NaN`, hex and the like
/// that `f64::from_str` would take.
fn plain_number(t: &str) -> bool {
    let b = t.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let (mut digits, mut point) = (0, false);
    while i < b.len() {
        match b[i] {
            b'0'..=b'9' => digits += 1,
            b'.' if !point => point = true,
            b'e' | b'E' if digits > 0 => {
                let exp = &t[i + 1..];
                let exp = exp.strip_prefix(['+', '-']).unwrap_or(exp);
                return !exp.is_empty() && exp.bytes().all(|c| c.is_ascii_digit());
            }
            _ => return false,
        }
        i += 1;
    }
    digits > 0
}

/// A real number from text.
///
/// ```
/// use cadastra_tables::normalize::parse_real;
/// assert_eq!(parse_real("１，２３４．５"), Ok(1234.5));
/// assert!(parse_real("1,5").is_err());
/// ```
pub fn parse_real(s: &str) -> Result<f64, NumberError> {
    let t = prep(s);
    if t.is_empty() {
        return Err(NumberError::Empty);
    }
    let u = ungroup(&t)?;
    if !plain_number(&u) {
        return Err(NumberError::NotANumber(s.to_string()));
    }
    match u.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(NumberError::OutOfRange(s.to_string())),
        Err(_) => Err(NumberError::NotANumber(s.to_string())),
    }
}

/// An integer from text; Excel-ified `12.0` and `1.2E+3` are accepted when they are whole
/// and below 2^53.
pub fn parse_int(s: &str) -> Result<i64, NumberError> {
    let t = prep(s);
    if t.is_empty() {
        return Err(NumberError::Empty);
    }
    let u = ungroup(&t)?;
    let body = u.strip_prefix('+').unwrap_or(&u);
    if let Ok(v) = body.parse::<i64>() {
        return Ok(v);
    }
    if body
        .strip_prefix('-')
        .unwrap_or(body)
        .bytes()
        .all(|b| b.is_ascii_digit())
        && !body.is_empty()
    {
        return Err(NumberError::OutOfRange(s.to_string()));
    }
    let v = parse_real(s)?;
    if v.fract() != 0.0 {
        return Err(NumberError::NotInteger(s.to_string()));
    }
    if v.abs() >= 9_007_199_254_740_992.0 {
        return Err(NumberError::OutOfRange(s.to_string()));
    }
    Ok(v as i64)
}

/// Area units of MJDW 面积单位.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AreaUnit {
    /// 平方米, MJDW 1
    SquareMetre,
    /// 亩 = 10000/15 m², MJDW 2
    Mu,
    /// 公顷, MJDW 3
    Hectare,
}

impl AreaUnit {
    /// Square metres in one unit.
    pub fn to_m2(self) -> f64 {
        match self {
            AreaUnit::SquareMetre => 1.0,
            AreaUnit::Mu => 10_000.0 / 15.0,
            AreaUnit::Hectare => 10_000.0,
        }
    }
    /// The MJDW code.
    pub fn code(self) -> &'static str {
        match self {
            AreaUnit::SquareMetre => "1",
            AreaUnit::Mu => "2",
            AreaUnit::Hectare => "3",
        }
    }
    /// The unit of an MJDW code (`1`, `2`, `3`, also `01`, `2.0`, full-width).
    pub fn from_code(code: &str) -> Option<AreaUnit> {
        match parse_int(code).ok()? {
            1 => Some(AreaUnit::SquareMetre),
            2 => Some(AreaUnit::Mu),
            3 => Some(AreaUnit::Hectare),
            _ => None,
        }
    }
}

impl fmt::Display for AreaUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AreaUnit::SquareMetre => "m²",
            AreaUnit::Mu => "亩",
            AreaUnit::Hectare => "公顷",
        })
    }
}

/// Unit spellings, longest first within a unit; ASCII compared case-insensitively.
const UNIT_SUFFIXES: &[(&str, AreaUnit)] = &[
    ("平方米", AreaUnit::SquareMetre),
    ("平米", AreaUnit::SquareMetre),
    ("㎡", AreaUnit::SquareMetre),
    ("m²", AreaUnit::SquareMetre),
    ("m2", AreaUnit::SquareMetre),
    ("sqm", AreaUnit::SquareMetre),
    ("亩", AreaUnit::Mu),
    ("公顷", AreaUnit::Hectare),
    ("hm²", AreaUnit::Hectare),
    ("hm2", AreaUnit::Hectare),
    ("ha", AreaUnit::Hectare),
];

/// Split `"1.5 亩"` into 1.5 and the unit named in the text, if any.
pub fn split_area(s: &str) -> Result<(f64, Option<AreaUnit>), NumberError> {
    let t = prep(s);
    if t.is_empty() {
        return Err(NumberError::Empty);
    }
    let lower = t.to_ascii_lowercase();
    // hm² must be tried before m²: both end the same way
    let mut best: Option<(&str, AreaUnit)> = None;
    for &(suf, unit) in UNIT_SUFFIXES {
        if lower.ends_with(suf) && best.is_none_or(|(b, _)| suf.len() > b.len()) {
            best = Some((suf, unit));
        }
    }
    let (num, unit) = match best {
        Some((suf, unit)) => (t[..t.len() - suf.len()].trim_end(), Some(unit)),
        None => (&*t, None),
    };
    match parse_real(num) {
        Ok(v) => Ok((v, unit)),
        Err(e @ NumberError::BadGrouping(_)) => Err(e),
        Err(_) => {
            // a number followed by something that is not a unit we know?
            let split =
                t.find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | ',' | '-' | '+')));
            match split {
                Some(i) if i > 0 && parse_real(&t[..i]).is_ok() => {
                    Err(NumberError::UnknownUnit(t[i..].trim().to_string()))
                }
                _ => Err(NumberError::NotANumber(s.to_string())),
            }
        }
    }
}

/// An area in m²; a value without a unit is in `default_unit`. Negative areas are errors.
///
/// ```
/// use cadastra_tables::normalize::{parse_area, AreaUnit};
/// assert_eq!(parse_area("1.5亩", AreaUnit::SquareMetre), Ok(1000.0));
/// assert_eq!(parse_area("1,234.5", AreaUnit::SquareMetre), Ok(1234.5));
/// ```
pub fn parse_area(s: &str, default_unit: AreaUnit) -> Result<f64, NumberError> {
    let (v, unit) = split_area(s)?;
    if v < 0.0 {
        return Err(NumberError::NegativeArea(v));
    }
    Ok(v * unit.unwrap_or(default_unit).to_m2())
}

/// An area in m² given the record's MJDW code (`None` or blank: m²). A unit in the text
/// must agree with the code.
pub fn parse_area_with_code(s: &str, mjdw: Option<&str>) -> Result<f64, NumberError> {
    let code_unit = match mjdw.map(str::trim).filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => Some(
            AreaUnit::from_code(c).ok_or_else(|| NumberError::UnknownUnitCode(c.to_string()))?,
        ),
    };
    let (v, text_unit) = split_area(s)?;
    if let (Some(t), Some(c)) = (text_unit, code_unit) {
        if t != c {
            return Err(NumberError::UnitConflict { text: t, code: c });
        }
    }
    if v < 0.0 {
        return Err(NumberError::NegativeArea(v));
    }
    Ok(v * text_unit
        .or(code_unit)
        .unwrap_or(AreaUnit::SquareMetre)
        .to_m2())
}

/// Why a code value could not be normalised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("empty value")]
    Empty,
    #[error("code in scientific notation, digits may be lost: {0:?}")]
    Scientific(String),
    #[error("code {code:?} longer than its declared width {width}")]
    TooLong { code: String, width: usize },
}

/// A code value: full-width → ASCII, trimmed, the `.0` of an Excel-ified integer dropped
/// (`702.0` → `702`), and, only when `width` is given, a numeric code left-padded with zeros
/// (`702` → `0702` for width 4). Codes with letters are never padded.
///
/// ```
/// use cadastra_tables::normalize::normalize_code;
/// assert_eq!(normalize_code("702.0", Some(4)).unwrap(), "0702");
/// assert_eq!(normalize_code("702", None).unwrap(), "702");
/// ```
pub fn normalize_code(s: &str, width: Option<usize>) -> Result<String, CodeError> {
    let t = prep(s);
    if t.is_empty() {
        return Err(CodeError::Empty);
    }
    let digits = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
    if let Some((mant, exp)) = t.split_once(['e', 'E']) {
        let m_ok = match mant.split_once('.') {
            Some((a, b)) => digits(a) && (b.is_empty() || digits(b)),
            None => digits(mant),
        };
        let exp = exp.strip_prefix(['+', '-']).unwrap_or(exp);
        if m_ok && digits(exp) {
            return Err(CodeError::Scientific(s.to_string()));
        }
    }
    let mut code = t.into_owned();
    if let Some((int, frac)) = code.split_once('.') {
        if digits(int) && digits(frac) && frac.bytes().all(|b| b == b'0') {
            code.truncate(int.len());
        }
    }
    if let Some(w) = width {
        let n = code.chars().count();
        if n > w {
            return Err(CodeError::TooLong { code, width: w });
        }
        if digits(&code) && n < w {
            code = format!("{}{code}", "0".repeat(w - n));
        }
    }
    Ok(code)
}

/// A share (QLBL 权利比例) as a fraction in (0, 1]: `1/2`, `50%`, `0.5`, `50` (a number above 1
/// is a percentage), `二分之一`, `百分之五十`. `1` means the whole, not 1 %.
///
/// ```
/// use cadastra_tables::normalize::parse_share;
/// for s in ["1/2", "50%", "0.5", "50", "二分之一", "５０％"] {
///     assert_eq!(parse_share(s), Ok(0.5), "{s}");
/// }
/// ```
pub fn parse_share(s: &str) -> Result<f64, NumberError> {
    let t = prep(s);
    if t.is_empty() {
        return Err(NumberError::Empty);
    }
    let t: String = t.chars().filter(|c| !c.is_whitespace()).collect();
    let v = if let Some((den, num)) = t.split_once("分之") {
        let n = |x: &str| -> Result<f64, NumberError> {
            match chinese_number(x) {
                Some(v) => Ok(f64::from(v)),
                None => parse_real(x),
            }
        };
        let (den, num) = (n(den)?, n(num)?);
        if den == 0.0 {
            return Err(NumberError::ZeroDenominator(s.to_string()));
        }
        num / den
    } else if let Some((num, den)) = t.split_once('/') {
        let (num, den) = (parse_real(num)?, parse_real(den)?);
        if den == 0.0 {
            return Err(NumberError::ZeroDenominator(s.to_string()));
        }
        num / den
    } else if let Some(p) = t.strip_suffix('%') {
        parse_real(p)? / 100.0
    } else {
        let v = parse_real(&t)?;
        if v > 1.0 {
            v / 100.0
        } else {
            v
        }
    };
    if !(v > 0.0 && v <= 1.0 + 1e-12) {
        return Err(NumberError::ShareOutOfRange(v));
    }
    Ok(v.min(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reals() {
        for (s, v) in [
            ("12", 12.0),
            ("-12.5", -12.5),
            ("+3", 3.0),
            (".5", 0.5),
            ("5.", 5.0),
            ("1,234.5", 1234.5),
            ("1,234,567", 1_234_567.0),
            ("-1,234", -1234.0),
            ("１２３．４５", 123.45),
            ("１，２３４", 1234.0),
            (" 7 ", 7.0),
            ("1.2E+3", 1200.0),
            ("1e-2", 0.01),
        ] {
            assert_eq!(parse_real(s), Ok(v), "{s}");
        }
        assert_eq!(parse_real(""), Err(NumberError::Empty));
        assert_eq!(parse_real("\u{3000}"), Err(NumberError::Empty));
        for s in ["1,5", "12,34.5", "1,2345", ",123", "1,234.5,6"] {
            assert_eq!(
                parse_real(s),
                Err(NumberError::BadGrouping(s.into())),
                "{s}"
            );
        }
        for s in [
            "abc", "inf", "NaN", "0x10", "1.2.3", "1 234", "--1", "e5", "1e", "12亩", ".",
        ] {
            assert_eq!(parse_real(s), Err(NumberError::NotANumber(s.into())), "{s}");
        }
        assert_eq!(
            parse_real("1e999"),
            Err(NumberError::OutOfRange("1e999".into()))
        );
    }

    #[test]
    fn integers() {
        for (s, v) in [
            ("12", 12),
            ("12.0", 12),
            ("1,234", 1234),
            ("-7", -7),
            ("+7", 7),
            ("１２", 12),
            ("1.2E+3", 1200),
        ] {
            assert_eq!(parse_int(s), Ok(v), "{s}");
        }
        assert_eq!(
            parse_int("12.5"),
            Err(NumberError::NotInteger("12.5".into()))
        );
        assert_eq!(
            parse_int("99999999999999999999"),
            Err(NumberError::OutOfRange("99999999999999999999".into()))
        );
        assert_eq!(
            parse_int("1e300"),
            Err(NumberError::OutOfRange("1e300".into()))
        );
        assert_eq!(parse_int("x"), Err(NumberError::NotANumber("x".into())));
        assert_eq!(parse_int(""), Err(NumberError::Empty));
    }

    #[test]
    fn areas_with_units() {
        let m2 = AreaUnit::SquareMetre;
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        for (s, v) in [
            ("120.5", 120.5),
            ("120.5平方米", 120.5),
            ("120.5 平米", 120.5),
            ("120.5㎡", 120.5),
            ("120.5m²", 120.5),
            ("120.5M2", 120.5),
            ("1.5亩", 1000.0),
            ("0.3 亩", 200.0),
            ("2公顷", 20_000.0),
            ("2 ha", 20_000.0),
            ("2hm²", 20_000.0),
            ("1,234.5平方米", 1234.5),
            ("１．５亩", 1000.0),
            ("０", 0.0),
        ] {
            let got = parse_area(s, m2).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert!(close(got, v), "{s}: {got} != {v}");
        }
        assert!(close(parse_area("3", AreaUnit::Mu).unwrap(), 2000.0));
        assert_eq!(
            parse_area("3英亩", m2),
            Err(NumberError::UnknownUnit("英亩".into()))
        );
        assert_eq!(
            parse_area("3 km2", m2),
            Err(NumberError::UnknownUnit("km2".into()))
        );
        assert_eq!(
            parse_area("亩", m2),
            Err(NumberError::NotANumber("亩".into()))
        );
        assert_eq!(parse_area("-5", m2), Err(NumberError::NegativeArea(-5.0)));
        assert_eq!(
            parse_area("1,5亩", m2),
            Err(NumberError::BadGrouping("1,5".into()))
        );
        assert_eq!(parse_area("", m2), Err(NumberError::Empty));
    }

    #[test]
    fn areas_with_unit_codes() {
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        assert!(close(
            parse_area_with_code("1.5", Some("2")).unwrap(),
            1000.0
        ));
        assert!(close(
            parse_area_with_code("1.5", Some("02")).unwrap(),
            1000.0
        ));
        assert!(close(
            parse_area_with_code("1.5", Some("３")).unwrap(),
            15_000.0
        ));
        assert!(close(
            parse_area_with_code("1.5", Some("1.0")).unwrap(),
            1.5
        ));
        assert!(close(parse_area_with_code("1.5", None).unwrap(), 1.5));
        assert!(close(parse_area_with_code("1.5", Some(" ")).unwrap(), 1.5));
        assert!(close(
            parse_area_with_code("1.5亩", Some("2")).unwrap(),
            1000.0
        ));
        assert!(close(parse_area_with_code("1.5亩", None).unwrap(), 1000.0));
        assert_eq!(
            parse_area_with_code("1.5亩", Some("1")),
            Err(NumberError::UnitConflict {
                text: AreaUnit::Mu,
                code: AreaUnit::SquareMetre
            })
        );
        assert_eq!(
            parse_area_with_code("1.5", Some("4")),
            Err(NumberError::UnknownUnitCode("4".into()))
        );
        assert_eq!(
            parse_area_with_code("1.5", Some("亩")),
            Err(NumberError::UnknownUnitCode("亩".into()))
        );
        assert_eq!(AreaUnit::from_code("2").map(AreaUnit::code), Some("2"));
        assert_eq!(AreaUnit::Mu.to_string(), "亩");
    }

    #[test]
    fn codes() {
        let ok = |s: &str, w: Option<usize>, want: &str| {
            assert_eq!(normalize_code(s, w).as_deref(), Ok(want), "{s}")
        };
        ok("702", None, "702");
        ok("702", Some(4), "0702");
        ok("702.0", Some(4), "0702");
        ok("702.00", None, "702");
        ok("0702", Some(4), "0702");
        ok("７０２", Some(4), "0702");
        ok(" 0702 ", None, "0702");
        ok("JC", Some(4), "JC");
        ok("702.5", None, "702.5");
        ok("6", Some(2), "06");
        assert_eq!(normalize_code("", None), Err(CodeError::Empty));
        assert_eq!(normalize_code("  ", Some(2)), Err(CodeError::Empty));
        assert_eq!(
            normalize_code("07021", Some(4)),
            Err(CodeError::TooLong {
                code: "07021".into(),
                width: 4
            })
        );
        assert_eq!(
            normalize_code("3.70116E+17", None),
            Err(CodeError::Scientific("3.70116E+17".into()))
        );
        assert_eq!(
            normalize_code("1e5", Some(6)),
            Err(CodeError::Scientific("1e5".into()))
        );
        ok("E5", None, "E5");
        ok("0E", None, "0E");
    }

    #[test]
    fn shares() {
        let close = |s: &str, v: f64| {
            let got = parse_share(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert!((got - v).abs() < 1e-12, "{s}: {got} != {v}");
        };
        for s in [
            "1/2",
            "50%",
            "0.5",
            "50",
            "二分之一",
            "百分之五十",
            "５０％",
            "1 / 2",
            "50.00%",
            "2/4",
        ] {
            close(s, 0.5);
        }
        close("1/3", 1.0 / 3.0);
        close("三分之一", 1.0 / 3.0);
        close("三分之二", 2.0 / 3.0);
        close("1", 1.0);
        close("100", 1.0);
        close("100%", 1.0);
        close("0.25", 0.25);
        close("25", 0.25);
        close("十分之三", 0.3);
        assert_eq!(
            parse_share("1/0"),
            Err(NumberError::ZeroDenominator("1/0".into()))
        );
        assert_eq!(
            parse_share("零分之一"),
            Err(NumberError::ZeroDenominator("零分之一".into()))
        );
        assert_eq!(parse_share("0"), Err(NumberError::ShareOutOfRange(0.0)));
        assert_eq!(parse_share("150"), Err(NumberError::ShareOutOfRange(1.5)));
        assert_eq!(parse_share("3/2"), Err(NumberError::ShareOutOfRange(1.5)));
        assert_eq!(parse_share("-1/2"), Err(NumberError::ShareOutOfRange(-0.5)));
        assert_eq!(parse_share(""), Err(NumberError::Empty));
        assert_eq!(
            parse_share("一半"),
            Err(NumberError::NotANumber("一半".into()))
        );
        assert_eq!(parse_share("a/2"), Err(NumberError::NotANumber("a".into())));
    }

    fn grouped(n: u64) -> String {
        let d = n.to_string();
        let mut out = String::new();
        for (i, c) in d.chars().enumerate() {
            if i > 0 && (d.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn grouped_and_fullwidth_numbers_read_back(n in 0u64..10_000_000_000, cents in 0u32..100) {
            let plain = format!("{n}.{cents:02}");
            let want: f64 = plain.parse().unwrap();
            proptest::prop_assert_eq!(parse_real(&plain), Ok(want));
            proptest::prop_assert_eq!(parse_real(&format!("{}.{cents:02}", grouped(n))), Ok(want));
            let fw: String = plain.chars().map(|c| char::from_u32(c as u32 + 0xFEE0).unwrap()).collect();
            proptest::prop_assert_eq!(parse_real(&fw), Ok(want));
            proptest::prop_assert_eq!(parse_int(&grouped(n)), Ok(n as i64));
        }

        #[test]
        fn codes_pad_to_their_width(n in 0u32..10_000, w in 4usize..8) {
            let c = normalize_code(&format!("{n}.0"), Some(w)).unwrap();
            proptest::prop_assert_eq!(c.len(), w);
            proptest::prop_assert_eq!(c.parse::<u32>().unwrap(), n);
        }

        #[test]
        fn never_panic(s in "\\PC{0,12}") {
            let _ = parse_real(&s);
            let _ = parse_int(&s);
            let _ = split_area(&s);
            let _ = parse_area_with_code(&s, Some(&s));
            let _ = normalize_code(&s, Some(4));
            if let Ok(v) = parse_share(&s) {
                proptest::prop_assert!(v > 0.0 && v <= 1.0);
            }
        }
    }
}
