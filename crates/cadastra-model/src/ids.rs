//! Identifiers: the 28-character real-estate unit number (不动产单元号, GB/T 37346-2019), citizen
//! ID numbers (身份证, GB 11643-1999), unified social credit codes (GB 32100-2015), organisation
//! codes (GB 11714), and masking of personal data for review copies.
//!
//! ```
//! use cadastra_model::ids::{check_unit_number, id_card_check};
//! let problems = check_unit_number("370116001002JC00015W00000000");
//! assert!(problems.is_empty());
//! assert!(id_card_check("11010519491231002X").is_ok());
//! ```

/// A problem found in a unit number: rule id (UNIT-01..05, UNIT-08), sub-code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitProblem {
    pub rule: &'static str,
    pub sub: &'static str,
    pub zh: String,
    pub en: String,
}

fn up(rule: &'static str, sub: &'static str, zh: String, en: String) -> UnitProblem {
    UnitProblem { rule, sub, zh, en }
}

/// Parts of a well-formed unit number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitNumber<'a> {
    pub county: &'a str,
    pub djq: &'a str,
    pub djzq: &'a str,
    pub ownership: char,
    pub parcel_type: char,
    pub seq: &'a str,
    pub fixture: char,
    pub fixture_no: &'a str,
}

impl<'a> UnitNumber<'a> {
    /// Split a 28-char ASCII unit number into its parts without judging the values.
    pub fn split(s: &'a str) -> Option<UnitNumber<'a>> {
        if s.len() != 28 || !s.is_ascii() {
            return None;
        }
        let b = s.as_bytes();
        Some(UnitNumber {
            county: &s[0..6],
            djq: &s[6..9],
            djzq: &s[9..12],
            ownership: b[12] as char,
            parcel_type: b[13] as char,
            seq: &s[14..19],
            fixture: b[19] as char,
            fixture_no: &s[20..28],
        })
    }
    /// 宗地代码: the first 19 characters.
    pub fn zddm(&self) -> String {
        format!(
            "{}{}{}{}{}{}",
            self.county, self.djq, self.djzq, self.ownership, self.parcel_type, self.seq
        )
    }
    /// 宗地特征码 (positions 13-14).
    pub fn zdtzm(&self) -> String {
        format!("{}{}", self.ownership, self.parcel_type)
    }
    /// Virtual numbers carry `000000` in positions 7-12 (UNIT-08).
    pub fn is_virtual(&self) -> bool {
        self.djq == "000" && self.djzq == "000"
    }
}

const OWNERSHIP: &str = "GJZ";
const PARCEL_TYPES: &str = "ABSXCDEFLNHGWY";
const FIXTURES: &str = "FLQW";

/// Structural checks UNIT-01, -02, -04, -05 and -08 of domain-brief §3.2. UNIT-03 (county code
/// for the location), -06 (prefix links) and -07 (uniqueness) need context and live in the rules.
pub fn check_unit_number(s: &str) -> Vec<UnitProblem> {
    let mut out = Vec::new();
    if s.chars().any(|c| c.is_whitespace())
        || s.chars().any(|c| ('\u{FF01}'..='\u{FF5E}').contains(&c))
    {
        out.push(up(
            "UNIT-01",
            "E02",
            format!("不动产单元号含空格或全角字符: {s:?}"),
            format!("unit number contains blanks or full-width characters: {s:?}"),
        ));
        return out;
    }
    let n = s.chars().count();
    if n != 28 {
        out.push(up(
            "UNIT-01",
            "E01",
            format!("不动产单元号长度为{n}, 应为28位"),
            format!("unit number has {n} characters, expected 28"),
        ));
        return out;
    }
    if s.chars().any(|c| c.is_ascii_lowercase()) {
        out.push(up(
            "UNIT-01",
            "E03",
            "不动产单元号含小写字母".into(),
            "unit number contains lower-case letters".into(),
        ));
    }
    let Some(u) = UnitNumber::split(s) else {
        return out;
    };
    let digits = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
    let mut pos = Vec::new();
    if !digits(u.county) {
        pos.push("1-6");
    }
    if !digits(u.djq) {
        pos.push("7-9");
    }
    if !digits(u.djzq) {
        pos.push("10-12");
    }
    if !OWNERSHIP.contains(u.ownership) {
        pos.push("13");
    }
    if !PARCEL_TYPES.contains(u.parcel_type) {
        pos.push("14");
    }
    if !digits(u.seq) || u.seq == "00000" {
        pos.push("15-19");
    }
    if !FIXTURES.contains(u.fixture) {
        pos.push("20");
    }
    if !digits(u.fixture_no) {
        pos.push("21-28");
    }
    if !pos.is_empty() {
        out.push(up(
            "UNIT-02",
            "E01",
            format!("不动产单元号第{}位字符不符合编码规则", pos.join("、")),
            format!(
                "unit number positions {} break the coding rules",
                pos.join(", ")
            ),
        ));
        return out;
    }
    let pair_ok = match u.parcel_type {
        'A' | 'C' => u.ownership == 'J',
        'H' | 'G' => u.ownership == 'G',
        _ => true,
    };
    let combo = format!("{}{}", u.parcel_type, u.fixture);
    let combo_ok = crate::codelist::codelists()
        .list("ZDTZM2_DZW")
        .is_none_or(|l| l.contains(&combo));
    if !pair_ok || !combo_ok {
        out.push(up(
            "UNIT-04",
            "E01",
            format!(
                "宗地特征码与定着物特征码组合不允许: {}{}{}",
                u.ownership, u.parcel_type, u.fixture
            ),
            format!(
                "feature-code combination not allowed: {}{} with fixture {}",
                u.ownership, u.parcel_type, u.fixture
            ),
        ));
    }
    match u.fixture {
        'W' if u.fixture_no != "00000000" => out.push(up(
            "UNIT-05",
            "E01",
            "定着物特征码为W时第21-28位应全为0".into(),
            "fixture code W requires positions 21-28 to be zero".into(),
        )),
        'F' if &u.fixture_no[0..4] == "0000" => out.push(up(
            "UNIT-05",
            "E02",
            "定着物特征码为F时幢号应不小于0001".into(),
            "fixture code F requires a building number of at least 0001".into(),
        )),
        _ => {}
    }
    if u.is_virtual() {
        out.push(up(
            "UNIT-08",
            "W01",
            "虚拟不动产单元号(地籍区、子区为000000), 有证无图".into(),
            "virtual unit number (cadastral zone 000000): registration without a parcel".into(),
        ));
    }
    out
}

/// Why an ID number fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdProblem {
    /// wrong length or characters
    Shape,
    /// the check character does not match (E)
    CheckDigit,
    /// birth date impossible
    BirthDate,
    /// 15-digit pre-1999 number: valid shape, no check character (flagged, not wrong)
    Legacy15,
}

fn valid_date(y: u32, m: u32, d: u32) -> bool {
    if !(1..=12).contains(&m) || d == 0 {
        return false;
    }
    let leap = (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
    let days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    d <= days[(m - 1) as usize]
}

/// The GB 11643 check character for the first 17 digits.
pub fn id_card_check_char(first17: &[u8]) -> char {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const C: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
    let sum: u32 = first17
        .iter()
        .zip(W)
        .map(|(b, w)| (b - b'0') as u32 * w)
        .sum();
    C[(sum % 11) as usize]
}

/// Check a 身份证 number (GB 11643-1999). 18 digits (last may be X), or a legacy 15-digit number.
pub fn id_card_check(s: &str) -> Result<(), IdProblem> {
    let b = s.as_bytes();
    match b.len() {
        18 => {
            if !b[..17].iter().all(u8::is_ascii_digit) || !(b[17].is_ascii_digit() || b[17] == b'X')
            {
                return Err(IdProblem::Shape);
            }
            let y: u32 = s[6..10].parse().map_err(|_| IdProblem::Shape)?;
            let m: u32 = s[10..12].parse().map_err(|_| IdProblem::Shape)?;
            let d: u32 = s[12..14].parse().map_err(|_| IdProblem::Shape)?;
            if !(1880..=2100).contains(&y) || !valid_date(y, m, d) {
                return Err(IdProblem::BirthDate);
            }
            if id_card_check_char(&b[..17]) != b[17] as char {
                return Err(IdProblem::CheckDigit);
            }
            Ok(())
        }
        15 => {
            if !b.iter().all(u8::is_ascii_digit) {
                return Err(IdProblem::Shape);
            }
            let y: u32 = 1900 + s[6..8].parse::<u32>().map_err(|_| IdProblem::Shape)?;
            let m: u32 = s[8..10].parse().map_err(|_| IdProblem::Shape)?;
            let d: u32 = s[10..12].parse().map_err(|_| IdProblem::Shape)?;
            if !valid_date(y, m, d) {
                return Err(IdProblem::BirthDate);
            }
            Err(IdProblem::Legacy15)
        }
        _ => Err(IdProblem::Shape),
    }
}

/// Upgrade a legacy 15-digit number to 18 digits (19 inserted before the 2-digit year).
pub fn id_card_15_to_18(s: &str) -> Option<String> {
    if s.len() != 15 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let first17 = format!("{}19{}", &s[..6], &s[6..]);
    let c = id_card_check_char(first17.as_bytes());
    Some(format!("{first17}{c}"))
}

const USCC_ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Check a unified social credit code (GB 32100-2015).
pub fn uscc_check(s: &str) -> Result<(), IdProblem> {
    const W: [usize; 17] = [
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    ];
    if s.len() != 18 {
        return Err(IdProblem::Shape);
    }
    let mut vals = Vec::with_capacity(18);
    for c in s.chars() {
        vals.push(USCC_ALPHABET.find(c).ok_or(IdProblem::Shape)?);
    }
    let sum: usize = vals[..17].iter().zip(W).map(|(v, w)| v * w).sum();
    let check = (31 - sum % 31) % 31;
    if vals[17] == check {
        Ok(())
    } else {
        Err(IdProblem::CheckDigit)
    }
}

/// Check a 9-character organisation code (GB 11714), with or without the hyphen.
pub fn org_code_check(s: &str) -> Result<(), IdProblem> {
    const W: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];
    let s: String = s.chars().filter(|&c| c != '-').collect();
    if s.len() != 9 {
        return Err(IdProblem::Shape);
    }
    let mut sum = 0;
    for (c, w) in s.chars().take(8).zip(W) {
        let v = match c {
            '0'..='9' => c as u32 - '0' as u32,
            'A'..='Z' => c as u32 - 'A' as u32 + 10,
            _ => return Err(IdProblem::Shape),
        };
        sum += v * w;
    }
    let expect = match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        v => char::from_digit(v, 10).unwrap_or('?'),
    };
    if s.ends_with(expect) {
        Ok(())
    } else {
        Err(IdProblem::CheckDigit)
    }
}

/// Mask a person's name for review copies: first character kept (`张三` → `张*`).
pub fn mask_name(name: &str) -> String {
    let mut it = name.chars();
    match it.next() {
        None => String::new(),
        Some(first) => {
            let rest = it.count().max(1);
            format!("{first}{}", "*".repeat(rest))
        }
    }
}

/// Mask an ID number: first 4 and last 4 characters kept (`3701**********1234`).
pub fn mask_id(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let n = chars.len();
    let mut s: String = chars[..4].iter().collect();
    s.push_str(&"*".repeat(n - 8));
    s.extend(&chars[n - 4..]);
    s
}

/// Mask a phone number or address-like value: keep the first 3 characters.
pub fn mask_other(v: &str) -> String {
    let chars: Vec<char> = v.chars().collect();
    if chars.len() <= 3 {
        return "*".repeat(chars.len());
    }
    let mut s: String = chars[..3].iter().collect();
    s.push_str(&"*".repeat(chars.len() - 3));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(s: &str) -> Vec<String> {
        check_unit_number(s)
            .iter()
            .map(|p| format!("{}-{}", p.rule, p.sub))
            .collect()
    }

    #[test]
    fn unit_numbers() {
        assert!(rules("370116001002JC00015W00000000").is_empty());
        assert!(rules("370116001002GB00015F00010001").is_empty());
        assert_eq!(rules("370116001002JC00015W0000000"), ["UNIT-01-E01"]);
        assert_eq!(rules("370116001002JC00015W0000000 "), ["UNIT-01-E02"]);
        assert_eq!(rules("370116001002GC00015W00000000"), ["UNIT-04-E01"]);
        assert_eq!(rules("370116001002JC00015W00010000"), ["UNIT-05-E01"]);
        assert_eq!(rules("370116001002GB00015F00000001"), ["UNIT-05-E02"]);
        assert_eq!(rules("370116000000GB00015F00010001"), ["UNIT-08-W01"]);
        assert_eq!(rules("37011600100QGB00015F00010001"), ["UNIT-02-E01"]);
        assert_eq!(rules("370116001002GD00015F00010001"), ["UNIT-04-E01"]);
        let u = UnitNumber::split("370116001002JC00015W00000000").unwrap();
        assert_eq!(u.zddm(), "370116001002JC00015");
        assert_eq!(u.zdtzm(), "JC");
    }

    #[test]
    fn id_cards() {
        assert_eq!(id_card_check("11010519491231002X"), Ok(()));
        assert_eq!(
            id_card_check("110105194912310021"),
            Err(IdProblem::CheckDigit)
        );
        assert_eq!(
            id_card_check("110105194913310021"),
            Err(IdProblem::BirthDate)
        );
        assert_eq!(id_card_check("110105491231002"), Err(IdProblem::Legacy15));
        assert_eq!(
            id_card_15_to_18("110105491231002").as_deref(),
            Some("11010519491231002X")
        );
        assert_eq!(id_card_check("11010519491231002"), Err(IdProblem::Shape));
    }

    #[test]
    fn organisation_codes() {
        assert_eq!(uscc_check("91350100M000100Y43"), Ok(()));
        assert_eq!(uscc_check("91350100M000100Y44"), Err(IdProblem::CheckDigit));
        assert_eq!(org_code_check("D2143569-X"), Ok(()));
        assert_eq!(org_code_check("D2143569-8"), Err(IdProblem::CheckDigit));
    }

    #[test]
    fn masking() {
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("欧阳修文"), "欧***");
        assert_eq!(mask_id("370102198001011234"), "3701**********1234");
    }
}
