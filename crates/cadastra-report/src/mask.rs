//! Masking of personal data in review copies: names (`张*`), ID numbers (`3701**********1234`),
//! phone numbers and addresses. Free text (messages, conflict details) is scanned for ID-number
//! shaped runs, which are masked wherever they appear.

use cadastra_model::ids::{mask_id, mask_name, mask_other};

/// Mask 15- and 18-character ID numbers (digits, the 18th may be X) inside free text. Runs that
/// are part of a longer alphanumeric token (unit numbers, parcel codes) are left alone.
pub fn mask_text(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let word = |c: char| c.is_ascii_alphanumeric();
    while i < chars.len() {
        let starts = chars[i].is_ascii_digit() && (i == 0 || !word(chars[i - 1]));
        if starts {
            let mut j = i;
            while j < chars.len() && word(chars[j]) {
                j += 1;
            }
            let tok: String = chars[i..j].iter().collect();
            if looks_like_id(&tok) {
                out.push_str(&mask_id(&tok));
            } else {
                out.push_str(&tok);
            }
            i = j;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

fn looks_like_id(t: &str) -> bool {
    let b = t.as_bytes();
    match b.len() {
        15 => b.iter().all(u8::is_ascii_digit),
        18 => {
            b[..17].iter().all(u8::is_ascii_digit)
                && (b[17].is_ascii_digit() || b[17] == b'X' || b[17] == b'x')
        }
        _ => false,
    }
}

/// Mask one value of a personal field of the schema (QLRMC, ZJH, DH, DZ).
pub fn mask_field(field: &str, v: &str) -> String {
    match field {
        "QLRMC" => mask_name(v),
        "ZJH" => mask_id(v),
        _ => mask_other(v),
    }
}

/// `mask_text` unless unmasked.
pub fn text(s: &str, unmask: bool) -> String {
    if unmask {
        s.to_string()
    } else {
        mask_text(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_in_text_are_masked_unit_numbers_are_not() {
        assert_eq!(
            mask_text("身份证号 37120219800101123X 校验位错误"),
            "身份证号 3712**********123X 校验位错误"
        );
        assert_eq!(mask_text("id 371202800101123."), "id 3712*******1123.");
        let unit = "370116001002JC00015W00000000";
        assert_eq!(mask_text(unit), unit);
        assert_eq!(mask_text("ZDDM 370116001002 ok"), "ZDDM 370116001002 ok");
        assert_eq!(mask_text(""), "");
        assert_eq!(mask_field("QLRMC", "张三"), "张*");
        assert_eq!(text("37120219800101123X", true), "37120219800101123X");
    }
}
