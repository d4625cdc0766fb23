//! Identifier parsers and masking (`cadastra_model::ids`): unit numbers (GB/T 37346), 身份证
//! (GB 11643), USCC (GB 32100), organisation codes (GB 11714).
//! Beyond "never panics": a split unit number re-assembles to itself, an upgraded 15-digit ID
//! has a valid check character, masks keep the length and hide the middle.
#![no_main]

use cadastra_model::ids::{
    check_unit_number, id_card_15_to_18, id_card_check, id_card_check_char, mask_id, mask_name,
    mask_other, org_code_check, uscc_check, IdProblem, UnitNumber,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let s = s.as_ref();

    let problems = check_unit_number(s);
    for p in &problems {
        assert!(p.rule.starts_with("UNIT-"), "{}", p.rule);
    }
    if let Some(u) = UnitNumber::split(s) {
        let whole = format!("{}{}{}", u.zddm(), u.fixture, u.fixture_no);
        assert_eq!(whole, s, "the parts make the number");
        assert_eq!(u.zdtzm().len(), 2);
    }

    match id_card_check(s) {
        Ok(()) => {
            assert_eq!(s.len(), 18);
            assert_eq!(id_card_check_char(&s.as_bytes()[..17]), s.as_bytes()[17] as char);
        }
        Err(IdProblem::Legacy15) => {
            let up = id_card_15_to_18(s).expect("a valid legacy number upgrades");
            assert_eq!(id_card_check(&up), Ok(()), "{s} -> {up}");
        }
        Err(_) => {}
    }
    if let Some(up) = id_card_15_to_18(s) {
        assert_eq!(up.len(), 18);
        assert!(matches!(id_card_check(&up), Ok(()) | Err(IdProblem::BirthDate)));
    }
    if s.len() >= 17 && s.as_bytes()[..17].iter().all(u8::is_ascii_digit) {
        let c = id_card_check_char(&s.as_bytes()[..17]);
        assert!(c.is_ascii_digit() || c == 'X');
    }
    let _ = uscc_check(s);
    let _ = org_code_check(s);

    let n = s.chars().count();
    let m = mask_id(s);
    assert_eq!(m.chars().count(), n, "mask_id keeps the length");
    let chars: Vec<char> = s.chars().collect();
    if n > 8 && chars[4..n - 4].iter().any(|&c| c != '*') {
        assert_ne!(m, s, "mask_id hides the middle");
    }
    let mn = mask_name(s);
    if chars.iter().skip(1).any(|&c| c != '*') {
        assert!(!mn.contains(s), "mask_name hides all but the first character");
    }
    assert_eq!(mask_other(s).chars().count(), n);
});
