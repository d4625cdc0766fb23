//! Identifier generation: 18-digit 身份证 numbers (GB 11643) that are unique by construction,
//! and unified social credit codes (GB 32100) with a valid embedded organisation code (GB 11714).

use cadastra_model::ids::id_card_check_char;
use std::collections::HashMap;

/// The 3-digit 顺序码 is `2 × k + sex bit` with k in `SEQ_LO..SEQ_LO + SEQ_N`.
const SEQ_LO: u16 = 5;
const SEQ_N: u16 = 495;

/// A civil date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    pub y: i32,
    pub m: u32,
    pub d: u32,
}

impl Date {
    pub const fn new(y: i32, m: u32, d: u32) -> Date {
        Date { y, m, d }
    }
    /// Days since 1970-01-01 (proleptic Gregorian).
    pub fn days(self) -> i64 {
        let (y, m) = if self.m <= 2 {
            (self.y - 1, self.m + 9)
        } else {
            (self.y, self.m - 3)
        };
        let era = y.div_euclid(400);
        let yoe = (y - era * 400) as i64;
        let doy = (153 * m as i64 + 2) / 5 + self.d as i64 - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era as i64 * 146_097 + doe - 719_468
    }
    /// The date of a day number (inverse of [`Date::days`]).
    pub fn from_days(z: i64) -> Date {
        let z = z + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let y = yoe + era * 400;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        Date {
            y: (y + i64::from(m <= 2)) as i32,
            m,
            d,
        }
    }
    /// `YYYY-MM-DD`.
    pub fn iso(self) -> String {
        format!("{:04}-{:02}-{:02}", self.y, self.m, self.d)
    }
    /// `YYYYMMDD`.
    pub fn compact(self) -> String {
        format!("{:04}{:02}{:02}", self.y, self.m, self.d)
    }
    /// `2003年5月1日`.
    pub fn chinese(self) -> String {
        format!("{}年{}月{}日", self.y, self.m, self.d)
    }
    /// `2003-5-1`.
    pub fn loose(self) -> String {
        format!("{}-{}-{}", self.y, self.m, self.d)
    }
    /// Excel's 1900 date serial (valid after 1900-03-01).
    pub fn excel_serial(self) -> f64 {
        (self.days() - Date::new(1899, 12, 30).days()) as f64
    }
    /// The same day `years` later (29 February becomes 28 February).
    pub fn plus_years(self, years: i32) -> Date {
        let d = if self.m == 2 && self.d == 29 {
            28
        } else {
            self.d
        };
        Date {
            y: self.y + years,
            m: self.m,
            d,
        }
    }
}

/// Hands out 身份证 numbers for given birth dates: the 顺序码 counts up per (region, birth
/// day, sex), from the bottom of its range or, for a second independent registry (章丘区, built
/// in parallel), from the top, so numbers never repeat across the world.
#[derive(Debug, Clone, Default)]
pub struct IdRegistry {
    // only looked up, never iterated: its order cannot leak into the output
    used: HashMap<(&'static str, i64, bool), u16>,
    from_top: bool,
}

impl IdRegistry {
    pub fn new(from_top: bool) -> IdRegistry {
        IdRegistry {
            used: HashMap::new(),
            from_top,
        }
    }
    /// The next 身份证 number of a person born on `birth`; `None` when the day is full.
    /// `wrong_check` replaces the check character by a wrong one (defect ATTR-04).
    pub fn id_card(
        &mut self,
        region: &'static str,
        birth: Date,
        male: bool,
        wrong_check: bool,
    ) -> Option<String> {
        let n = self.used.entry((region, birth.days(), male)).or_insert(0);
        if *n >= SEQ_N / 2 {
            return None;
        }
        let k = if self.from_top {
            SEQ_LO + SEQ_N - 1 - *n
        } else {
            SEQ_LO + *n
        };
        *n += 1;
        let seq = k * 2 + u16::from(male);
        let first17 = format!("{region}{}{:03}", birth.compact(), seq);
        let good = id_card_check_char(first17.as_bytes());
        let c = if wrong_check { wrong_char(good) } else { good };
        Some(format!("{first17}{c}"))
    }
}

fn wrong_char(good: char) -> char {
    const C: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
    let i = C.iter().position(|&c| c == good).unwrap_or(0);
    C[(i + 3) % 11]
}

const USCC_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// A unified social credit code for company number `k`: `91` (industry and commerce,
/// enterprise) + registering authority's region + a GB 11714 organisation code + check.
pub fn uscc(k: u64, region: &str) -> String {
    // body: 8 characters from the USCC alphabet, base 31 of a scrambled k
    let mut v = k.wrapping_mul(2_654_435_761) % 31u64.pow(7) + 31u64.pow(7) * (3 + k % 20);
    let mut body = [0u8; 8];
    for b in body.iter_mut().rev() {
        *b = USCC_ALPHABET[(v % 31) as usize];
        v /= 31;
    }
    // organisation-code check character (GB 11714)
    const OW: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .iter()
        .zip(OW)
        .map(|(&c, w)| {
            let v = if c.is_ascii_digit() {
                c - b'0'
            } else {
                c - b'A' + 10
            };
            u32::from(v) * w
        })
        .sum();
    let oc = match 11 - sum % 11 {
        10 => b'X',
        11 => b'0',
        d => b'0' + d as u8,
    };
    let mut s: Vec<u8> = Vec::with_capacity(18);
    s.extend_from_slice(b"91");
    s.extend_from_slice(region.as_bytes());
    s.extend_from_slice(&body);
    s.push(oc);
    const W: [usize; 17] = [
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    ];
    let sum: usize = s
        .iter()
        .zip(W)
        .map(|(c, w)| USCC_ALPHABET.iter().position(|a| a == c).unwrap_or(0) * w)
        .sum();
    s.push(USCC_ALPHABET[(31 - sum % 31) % 31]);
    String::from_utf8_lossy(&s).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use cadastra_model::ids::{id_card_check, org_code_check, uscc_check, IdProblem};
    use std::collections::BTreeSet;

    #[test]
    fn dates_round_trip() {
        for d in [
            Date::new(1970, 1, 1),
            Date::new(2000, 2, 29),
            Date::new(1940, 12, 31),
        ] {
            assert_eq!(Date::from_days(d.days()), d);
        }
        assert_eq!(Date::new(1970, 1, 2).days(), 1);
        assert_eq!(Date::new(2003, 5, 1).excel_serial(), 37742.0);
    }

    #[test]
    fn id_cards_are_valid_and_unique() {
        let mut a = IdRegistry::new(false);
        let mut b = IdRegistry::new(true);
        let mut seen = BTreeSet::new();
        for p in 0..20_000i64 {
            let male = p % 3 == 0;
            let birth = Date::from_days(Date::new(1950, 1, 1).days() + p % 97);
            for r in [&mut a, &mut b] {
                let id = r.id_card("371202", birth, male, false).unwrap();
                assert_eq!(id_card_check(&id), Ok(()), "{id}");
                assert_eq!((id.as_bytes()[16] - b'0') % 2 == 1, male, "{id}");
                assert_eq!(&id[6..14], birth.compact());
                assert!(seen.insert(id.clone()), "duplicate {id}");
            }
        }
        let bad = a
            .id_card("371203", Date::new(1960, 2, 29), true, true)
            .unwrap();
        assert_eq!(id_card_check(&bad), Err(IdProblem::CheckDigit));
    }

    #[test]
    fn uscc_codes_check() {
        let mut seen = BTreeSet::new();
        for k in 0..5_000 {
            let c = uscc(k, "371202");
            assert_eq!(uscc_check(&c), Ok(()), "{c}");
            assert_eq!(org_code_check(&c[8..17]), Ok(()), "{c}");
            assert!(seen.insert(c));
        }
    }
}
