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
//! Options — the pairings above, as editable tables (all [I]): `qllx_by_type`, `yt_by_type`,
//! `yt_by_qllx`, `ownership_by_qllx`, `qlxz_by_ownership`. A table is `key:values` entries
//! separated by `;`; keys and values are comma-separated (parcel-type keys may be written as one
//! run of letters, `BSX`); land-use and QLXZ values match as prefixes (`01` = every 01xx code),
//! right types exactly; `!` before the values negates them (`3,4,7,8:!01,02,03,04` = not
//! farmland). Keys not in a table are not checked. A table that does not parse stops the rule.

use crate::util::land_use_2017;
use crate::{Opt, OptValue, Rule, RuleContext, RuleError, RuleFinding, Scope, SubCode};
use cadastra_model::{RuleId, Severity};

pub(crate) struct CodeCoherence;
const ID: RuleId = RuleId("ATTR-03");

const QLLX_BY_TYPE: Opt = Opt {
    key: "qllx_by_type",
    default: OptValue::Str(
        "A:1; BSX:3,4,7,8; C:5,6; D:9; E:9,10; F:9,13; L:11,12; N:9,13,14; H:15,16; G:17,18",
    ),
    inferred: true,
    doc: "right types allowed per parcel type (second ZDTZM character)",
};
const YT_BY_TYPE: Opt = Opt {
    key: "yt_by_type",
    default: OptValue::Str(
        "C:0702; D:01; EL:03; F:04; N:01,02,03,04,1104,1202,1203; BSX:05,06,07,08,09,10,1109,1201",
    ),
    inferred: true,
    doc: "land-use classes (2017 prefixes) allowed per parcel type",
};
const YT_BY_QLLX: Opt = Opt {
    key: "yt_by_qllx",
    default: OptValue::Str(
        "5,6:0702; 9:01,02,03,04,1104,1202,1203; 10,11,12:03; 13:04; 3,4,7,8:!01,02,03,04",
    ),
    inferred: true,
    doc: "land-use classes (2017 prefixes) allowed per right type",
};
const OWNERSHIP_BY_QLLX: Opt = Opt {
    key: "ownership_by_qllx",
    default: OptValue::Str("2,3,4:G; 1,5,6,7,8:J"),
    inferred: true,
    doc: "land ownership (first ZDTZM character; Z always passes) required per right type",
};
const QLXZ_BY_OWNERSHIP: Opt = Opt {
    key: "qlxz_by_ownership",
    default: OptValue::Str("G:1; J:2,106,107"),
    inferred: true,
    doc: "right natures (QLXZ prefixes) allowed per land ownership",
};

/// A pairing table: key → (negated, values).
struct Table(Vec<(String, bool, Vec<String>)>);

impl Table {
    fn parse(text: &str, letter_keys: bool) -> Result<Table, String> {
        let mut out = Vec::new();
        for entry in text.split(';').map(str::trim).filter(|e| !e.is_empty()) {
            let (keys, values) = entry
                .split_once(':')
                .ok_or_else(|| format!("entry {entry:?} has no ':'"))?;
            let values = values.trim();
            let (neg, values) = match values.strip_prefix('!') {
                Some(v) => (true, v),
                None => (false, values),
            };
            let values: Vec<String> = values
                .split(',')
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .collect();
            if values.is_empty() {
                return Err(format!("entry {entry:?} has no values"));
            }
            let keys: Vec<String> = if letter_keys && !keys.contains(',') {
                keys.trim().chars().map(String::from).collect()
            } else {
                keys.split(',')
                    .map(|k| k.trim().to_string())
                    .filter(|k| !k.is_empty())
                    .collect()
            };
            if keys.is_empty() {
                return Err(format!("entry {entry:?} has no keys"));
            }
            for k in keys {
                out.push((k, neg, values.clone()));
            }
        }
        Ok(Table(out))
    }
    /// Does `value` pass for `key`? `None` when the table has no rule for the key.
    fn allows(&self, key: &str, value: &str, prefix: bool) -> Option<bool> {
        let (_, neg, values) = self.0.iter().find(|(k, _, _)| k == key)?;
        let hit = values.iter().any(|v| {
            if prefix {
                value.starts_with(v.as_str())
            } else {
                value == v
            }
        });
        Some(hit != *neg)
    }
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
    fn options(&self) -> &'static [Opt] {
        &[
            QLLX_BY_TYPE,
            YT_BY_TYPE,
            YT_BY_QLLX,
            OWNERSHIP_BY_QLLX,
            QLXZ_BY_OWNERSHIP,
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
        let table = |o: &Opt, letters: bool| {
            Table::parse(&cx.opt_str(ID, o), letters)
                .map_err(|e| RuleError(format!("ATTR-03 option {}: {e}", o.key)))
        };
        let qllx_by_type = table(&QLLX_BY_TYPE, true)?;
        let yt_by_type = table(&YT_BY_TYPE, true)?;
        let yt_by_qllx = table(&YT_BY_QLLX, false)?;
        let owner_by_qllx = table(&OWNERSHIP_BY_QLLX, false)?;
        let qlxz_by_owner = table(&QLXZ_BY_OWNERSHIP, true)?;
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
                    let (kind, own) = (kind.to_string(), own.to_string());
                    let by_kind = qllx_by_type.allows(&kind, q, false) != Some(false);
                    let by_owner =
                        own == "Z" || owner_by_qllx.allows(q, &own, false) != Some(false);
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
                    if yt_by_type.allows(&kind.to_string(), y, true) == Some(false) {
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
                    if yt_by_qllx.allows(q, y, true) == Some(false) {
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
                    let ok = qlxz_by_owner.allows(&own.to_string(), x, true) != Some(false);
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

    #[test]
    fn tables_are_options() {
        let orchard = || {
            layer("ZDJBXX", "laiwu").row(
                &[
                    ("ZDDM", "371202001002JD00003"),
                    ("QLLX", "9"),
                    ("QLXZ", "201"),
                    ("YT", "0201"),
                ],
                None,
            )
        };
        check(
            &[orchard()],
            "ATTR-03",
            &["ATTR-03-W02 371202001002JD00003"],
        );
        check_with(
            &[orchard()],
            "[rules.\"ATTR-03\"]\nyt_by_type = \"C:0702; D:01,02\"",
            "ATTR-03",
            &[],
        );
        assert!(matches!(
            outcome(
                &[orchard()],
                "[rules.\"ATTR-03\"]\nyt_by_qllx = \"9 01\"",
                "ATTR-03"
            ),
            crate::RuleOutcome::CouldNotRun(_)
        ));
    }
}
