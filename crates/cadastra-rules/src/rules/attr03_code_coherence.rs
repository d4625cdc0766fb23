//! ATTR-03 code-coherence: a parcel's 宗地特征码 (ZDTZM; else BDCDYH/ZDDM positions 13-14), right
//! type QLLX, right nature QLXZ and land use YT tell the same story — W (the pairings are the
//! brief's [I] reading of the standard, so they are review items, not blockers).
//!
//! - W01 ZDTZM ↔ QLLX: A ⇒ 1; B/S/X ⇒ 3, 4, 7, 8; C ⇒ 5, 6; D ⇒ 9; E ⇒ 9, 10; F ⇒ 9, 13;
//!   L ⇒ 11, 12; N ⇒ 9, 13, 14; H ⇒ 15, 16; G (second character) ⇒ 17, 18; W, Y: any.
//!   Ownership: QLLX 2, 3, 4 need G (state land); 1, 5, 6, 7, 8 need J (collective land).
//! - W02 ZDTZM ↔ YT: C ⇒ 0702 农村宅基地; D ⇒ 01 耕地; E and L ⇒ 03 林地; F ⇒ 04 草地;
//!   N ⇒ farmland (01-04, 1104, 1202, 1203); B/S/X ⇒ construction land (05-10, 1109, 1201).
//! - W03 QLLX ↔ YT: 5, 6 ⇒ 0702; 9 ⇒ farmland; 10, 11, 12 ⇒ 03; 13 ⇒ 04; 3, 4, 7, 8 ⇒ not farmland.
//! - W04 ownership ↔ QLXZ: G ⇒ 1xx (state land), J ⇒ 2xx (collective; 106/107 accepted).
//!
//! Legacy 2007 land-use codes are compared through the 2007→2017 crosswalk; unknown codes are
//! ATTR-02's. One finding per row and sub-code.
//!
//! Options: none.

use crate::util::land_use_2017;
use crate::{Rule, RuleContext, RuleError, RuleFinding, Scope, SubCode};
use cadastra_model::{RuleId, Severity};

pub(crate) struct CodeCoherence;
const ID: RuleId = RuleId("ATTR-03");

const FARMLAND: &[&str] = &["01", "02", "03", "04", "1104", "1202", "1203"];
const CONSTRUCTION: &[&str] = &["05", "06", "07", "08", "09", "10", "1109", "1201"];

fn yt_in(yt: &str, classes: &[&str]) -> bool {
    classes.iter().any(|c| yt.starts_with(c))
}

/// Allowed QLLX per parcel type (second ZDTZM character); `None` = any.
fn qllx_for(kind: char) -> Option<&'static [&'static str]> {
    Some(match kind {
        'A' => &["1"],
        'B' | 'S' | 'X' => &["3", "4", "7", "8"],
        'C' => &["5", "6"],
        'D' => &["9"],
        'E' => &["9", "10"],
        'F' => &["9", "13"],
        'L' => &["11", "12"],
        'N' => &["9", "13", "14"],
        'H' => &["15", "16"],
        'G' => &["17", "18"],
        _ => return None,
    })
}

/// Allowed land-use classes per parcel type; `None` = any.
fn yt_for(kind: char) -> Option<&'static [&'static str]> {
    Some(match kind {
        'C' => &["0702"],
        'D' => &["01"],
        'E' | 'L' => &["03"],
        'F' => &["04"],
        'N' => FARMLAND,
        'B' | 'S' | 'X' => CONSTRUCTION,
        _ => return None,
    })
}

/// Does land use `yt` (2017 code) fit right type `qllx`? `None` = no rule.
fn yt_fits_qllx(qllx: &str, yt: &str) -> Option<bool> {
    Some(match qllx {
        "5" | "6" => yt == "0702",
        "9" => yt_in(yt, FARMLAND),
        "10" | "11" | "12" => yt.starts_with("03"),
        "13" => yt.starts_with("04"),
        "3" | "4" | "7" | "8" => !yt_in(yt, &["01", "02", "03", "04"]),
        _ => return None,
    })
}

impl Rule for CodeCoherence {
    fn id(&self) -> RuleId {
        ID
    }
    fn name(&self) -> &'static str {
        "code-coherence"
    }
    fn severity(&self) -> Severity {
        Severity::W
    }
    fn scope(&self) -> Scope {
        Scope::Feature
    }
    fn describe(&self) -> (&'static str, &'static str) {
        (
            "宗地特征码、权利类型、权利性质与土地用途相互一致(如JC ⇒ QLLX 5/6且YT 0702; JD ⇒ 耕地)",
            "parcel feature code, right type, right nature and land use agree (e.g. JC ⇒ QLLX 5/6 and YT 0702; JD ⇒ cultivated land)",
        )
    }
    fn codes(&self) -> &'static [SubCode] {
        &[
            SubCode {
                code: "W01",
                zh: "宗地特征码与权利类型不一致",
                en: "feature code and right type disagree",
            },
            SubCode {
                code: "W02",
                zh: "宗地特征码与土地用途不一致",
                en: "feature code and land use disagree",
            },
            SubCode {
                code: "W03",
                zh: "权利类型与土地用途不一致",
                en: "right type and land use disagree",
            },
            SubCode {
                code: "W04",
                zh: "土地所有权与权利性质不一致",
                en: "land ownership and right nature disagree",
            },
        ]
    }
    fn needs(&self) -> &'static str {
        "parcels (ZDJBXX)"
    }
    fn applies(&self, cx: &RuleContext<'_>) -> bool {
        cx.has("ZDJBXX")
    }
    fn check(
        &self,
        cx: &RuleContext<'_>,
        emit: &mut dyn FnMut(RuleFinding),
    ) -> Result<(), RuleError> {
        for (li, l) in cx.layers_of("ZDJBXX") {
            let (zdtzm, bdcdyh, zddm) = (l.field("ZDTZM"), l.field("BDCDYH"), l.field("ZDDM"));
            let (qllx_f, qlxz_f, yt_f) = (l.field("QLLX"), l.field("QLXZ"), l.field("YT"));
            // land-use codes seen so far, in the 2017 classification (few distinct values)
            let mut seen: Vec<(&str, Option<&str>)> = Vec::new();
            for r in 0..l.len() {
                let tzm: Option<(char, char)> = zdtzm
                    .value(r)
                    .filter(|t| t.len() == 2)
                    .or_else(|| bdcdyh.value(r).and_then(|b| b.get(12..14)))
                    .or_else(|| zddm.value(r).and_then(|b| b.get(12..14)))
                    .and_then(|t| {
                        let mut c = t.chars();
                        Some((c.next()?, c.next()?))
                    })
                    .filter(|(a, b)| a.is_ascii_uppercase() && b.is_ascii_uppercase());
                let qllx = qllx_f.value(r);
                let qlxz = qlxz_f.value(r);
                let yt_raw = yt_f.value(r);
                let yt: Option<&str> =
                    yt_raw.and_then(|y| match seen.iter().find(|(k, _)| *k == y) {
                        Some((_, v)) => *v,
                        None => {
                            let v = land_use_2017(y);
                            seen.push((y, v));
                            v
                        }
                    });
                let tz = tzm.map(|(a, b)| format!("{a}{b}")).unwrap_or_default();
                if let (Some((own, kind)), Some(q)) = (tzm, qllx) {
                    let by_kind = qllx_for(kind).is_none_or(|ok| ok.contains(&q));
                    let by_owner = match q {
                        "2" | "3" | "4" => own == 'G',
                        "1" | "5" | "6" | "7" | "8" => own == 'J',
                        _ => true,
                    } || own == 'Z';
                    if !by_kind || !by_owner {
                        emit(cx.at(
                            ID,
                            "W01",
                            li,
                            r,
                            format!("宗地特征码{tz}与权利类型QLLX={q}不一致"),
                            format!("feature code {tz} and right type QLLX={q} disagree"),
                        ));
                    }
                }
                if let (Some((_, kind)), Some(y)) = (tzm, yt) {
                    if yt_for(kind).is_some_and(|ok| !yt_in(y, ok)) {
                        let raw = yt_raw.unwrap_or_default();
                        emit(cx.at(
                            ID,
                            "W02",
                            li,
                            r,
                            format!("宗地特征码{tz}与土地用途YT={raw}不一致"),
                            format!("feature code {tz} and land use YT={raw} disagree"),
                        ));
                    }
                }
                if let (Some(q), Some(y)) = (qllx, yt) {
                    if yt_fits_qllx(q, y) == Some(false) {
                        let raw = yt_raw.unwrap_or_default();
                        emit(cx.at(
                            ID,
                            "W03",
                            li,
                            r,
                            format!("权利类型QLLX={q}与土地用途YT={raw}不一致"),
                            format!("right type QLLX={q} and land use YT={raw} disagree"),
                        ));
                    }
                }
                if let (Some((own, _)), Some(x)) = (tzm, qlxz) {
                    let ok = match own {
                        'G' => x.starts_with('1'),
                        'J' => x.starts_with('2') || x == "106" || x == "107",
                        _ => true,
                    };
                    if !ok {
                        emit(cx.at(
                            ID,
                            "W04",
                            li,
                            r,
                            format!("土地所有权{own}与权利性质QLXZ={x}不一致"),
                            format!("land ownership {own} and right nature QLXZ={x} disagree"),
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::testkit::*;

    #[test]
    fn coherent_and_incoherent_parcels() {
        let l = layer("ZDJBXX", "laiwu")
            .row(
                &[
                    ("ZDDM", "371202001002JC00001"),
                    ("ZDTZM", "JC"),
                    ("QLLX", "6"),
                    ("QLXZ", "203"),
                    ("YT", "072"),
                ],
                None,
            )
            .row(
                &[
                    ("ZDDM", "371202001002GB00002"),
                    ("ZDTZM", "GB"),
                    ("QLLX", "4"),
                    ("QLXZ", "102"),
                    ("YT", "0501"),
                ],
                None,
            )
            .row(
                &[
                    ("ZDDM", "371202001002JD00003"),
                    ("QLLX", "9"),
                    ("QLXZ", "201"),
                    ("YT", "013"),
                ],
                None,
            )
            .row(
                &[
                    ("ZDDM", "371202001002JL00004"),
                    ("QLLX", "12"),
                    ("QLXZ", "202"),
                    ("YT", "0307"),
                ],
                None,
            );
        check(&[l], "ATTR-03", &[]);
        let l = layer("ZDJBXX", "laiwu")
            .row(
                &[
                    ("ZDDM", "371202001002JC00001"),
                    ("ZDTZM", "JC"),
                    ("QLLX", "4"),
                    ("QLXZ", "203"),
                    ("YT", "0701"),
                ],
                None,
            )
            .row(
                &[
                    ("ZDDM", "371202001002JD00003"),
                    ("QLLX", "9"),
                    ("QLXZ", "102"),
                    ("YT", "0702"),
                ],
                None,
            );
        check(
            &[l],
            "ATTR-03",
            &[
                "ATTR-03-W01 371202001002JC00001",
                "ATTR-03-W02 371202001002JC00001",
                "ATTR-03-W02 371202001002JD00003",
                "ATTR-03-W03 371202001002JD00003",
                "ATTR-03-W04 371202001002JD00003",
            ],
        );
    }
}
