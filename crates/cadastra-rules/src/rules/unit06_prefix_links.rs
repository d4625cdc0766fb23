//! UNIT-06 prefix-links: unit numbers agree with the codes they are built from — E.
//!
//! - E01 a parcel's BDCDYH positions 1-19 differ from its ZDDM;
//! - E02 a parcel's ZDTZM differs from positions 13-14 of its BDCDYH (of its ZDDM when the
//!   BDCDYH is malformed);
//! - E03 a building's ZRZH positions 1-19 differ from its ZDDM;
//! - E04 a house unit's BDCDYH positions 1-24 differ from its ZRZH;
//! - E05 a right's BDCDYH positions 1-19 differ from its ZDDM field (JSYDSYQ).
//!
//! Only structurally sound values are compared (a value with a UNIT-01/-02 problem is not, so
//! that one typo is reported once). Whether the parcel, building or unit exists is LINK-03/-04's.
//!
//! Options: none.

use crate::{Rule, RuleContext, RuleError, RuleFinding, Scope, SubCode};
use cadastra_model::{RuleId, Severity};

pub(crate) struct PrefixLinks;
const ID: RuleId = RuleId("UNIT-06");

/// Structurally sound code of `len` characters: ASCII, no blanks, no lower case, digits where
/// digits belong (positions 1-12, 15-19, 21-28; letters at 13, 14, 20).
pub(crate) fn sound(s: &str, len: usize) -> bool {
    let b = s.as_bytes();
    b.len() == len
        && b.iter().enumerate().all(|(i, c)| match i {
            12 | 13 | 19 => c.is_ascii_uppercase(),
            _ => c.is_ascii_digit(),
        })
}

impl Rule for PrefixLinks {
    fn id(&self) -> RuleId {
        ID
    }
    fn name(&self) -> &'static str {
        "prefix-links"
    }
    fn severity(&self) -> Severity {
        Severity::E
    }
    fn scope(&self) -> Scope {
        Scope::Feature
    }
    fn describe(&self) -> (&'static str, &'static str) {
        (
            "单元号前19位等于宗地代码, 户的前24位等于自然幢号, 宗地特征码等于第13-14位",
            "BDCDYH positions 1-19 = the parcel's ZDDM, a house unit's positions 1-24 = its ZRZH, ZDTZM = positions 13-14",
        )
    }
    fn codes(&self) -> &'static [SubCode] {
        &[
            SubCode {
                code: "E01",
                zh: "宗地单元号前19位与宗地代码不符",
                en: "parcel BDCDYH positions 1-19 differ from ZDDM",
            },
            SubCode {
                code: "E02",
                zh: "宗地特征码与单元号第13-14位不符",
                en: "ZDTZM differs from positions 13-14",
            },
            SubCode {
                code: "E03",
                zh: "自然幢号前19位与宗地代码不符",
                en: "ZRZH positions 1-19 differ from ZDDM",
            },
            SubCode {
                code: "E04",
                zh: "户单元号前24位与自然幢号不符",
                en: "house unit positions 1-24 differ from ZRZH",
            },
            SubCode {
                code: "E05",
                zh: "权利单元号前19位与宗地代码不符",
                en: "right's BDCDYH positions 1-19 differ from its ZDDM",
            },
        ]
    }
    fn needs(&self) -> &'static str {
        "ZDJBXX, ZRZ, H or JSYDSYQ rows"
    }
    fn applies(&self, cx: &RuleContext<'_>) -> bool {
        ["ZDJBXX", "ZRZ", "H", "JSYDSYQ"].iter().any(|t| cx.has(t))
    }
    fn check(
        &self,
        cx: &RuleContext<'_>,
        emit: &mut dyn FnMut(RuleFinding),
    ) -> Result<(), RuleError> {
        for (li, l) in cx.layers.iter().enumerate() {
            let (zddm, bdcdyh, zrzh, zdtzm) = (
                l.field("ZDDM"),
                l.field("BDCDYH"),
                l.field("ZRZH"),
                l.field("ZDTZM"),
            );
            for r in 0..l.len() {
                let (zd, dy, zr) = (zddm.value(r), bdcdyh.value(r), zrzh.value(r));
                let dy_ok = dy.filter(|d| sound(d, 28));
                let zd_ok = zd.filter(|z| sound(z, 19));
                match l.table {
                    "ZDJBXX" => {
                        if let (Some(d), Some(z)) = (dy_ok, zd_ok) {
                            if &d[..19] != z {
                                emit(cx.at(
                                    ID,
                                    "E01",
                                    li,
                                    r,
                                    format!("不动产单元号{d}前19位与宗地代码{z}不符"),
                                    format!("BDCDYH {d} does not start with the ZDDM {z}"),
                                ));
                            }
                        }
                        let from = dy_ok.map(|d| &d[12..14]).or(zd_ok.map(|z| &z[12..14]));
                        if let (Some(t), Some(from)) = (zdtzm.value(r), from) {
                            if t != from {
                                emit(cx.at(
                                    ID,
                                    "E02",
                                    li,
                                    r,
                                    format!("宗地特征码{t}与单元号第13-14位{from}不符"),
                                    format!("ZDTZM {t} differs from positions 13-14 ({from}) of the unit number"),
                                ));
                            }
                        }
                    }
                    "ZRZ" => {
                        if let (Some(h), Some(z)) = (zr.filter(|h| sound(h, 24)), zd_ok) {
                            if &h[..19] != z {
                                emit(cx.at(
                                    ID,
                                    "E03",
                                    li,
                                    r,
                                    format!("自然幢号{h}前19位与宗地代码{z}不符"),
                                    format!("ZRZH {h} does not start with the ZDDM {z}"),
                                ));
                            }
                        }
                    }
                    "H" => {
                        if let (Some(d), Some(h)) = (dy_ok, zr.filter(|h| sound(h, 24))) {
                            if d.as_bytes()[19] == b'F' && &d[..24] != h {
                                emit(cx.at(
                                    ID,
                                    "E04",
                                    li,
                                    r,
                                    format!("户不动产单元号{d}前24位与自然幢号{h}不符"),
                                    format!("house unit {d} does not start with its ZRZH {h}"),
                                ));
                            }
                        }
                    }
                    _ if l.def().right => {
                        if let (Some(d), Some(z)) = (dy_ok, zd_ok) {
                            if &d[..19] != z {
                                emit(cx.at(
                                    ID,
                                    "E05",
                                    li,
                                    r,
                                    format!("不动产单元号{d}前19位与宗地代码{z}不符"),
                                    format!("BDCDYH {d} does not start with the ZDDM {z}"),
                                ));
                            }
                        }
                    }
                    _ => {}
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
    fn links() {
        let zd = layer("ZDJBXX", "laiwu")
            .row(
                &[
                    ("ZDDM", "371202001002JC00015"),
                    ("BDCDYH", "371202001002JC00015W00000000"),
                    ("ZDTZM", "JC"),
                ],
                None,
            )
            .row(
                &[
                    ("ZDDM", "371202001002JC00016"),
                    ("BDCDYH", "371202001002JC00017W00000000"),
                    ("ZDTZM", "JB"),
                ],
                None,
            )
            // malformed BDCDYH: not compared (UNIT-01 reports it); ZDTZM from the ZDDM
            .row(
                &[
                    ("ZDDM", "371202001002JC00018"),
                    ("BDCDYH", "371202001002JC00099W0000000"),
                    ("ZDTZM", "JC"),
                ],
                None,
            );
        check(
            &[zd],
            "UNIT-06",
            &[
                "UNIT-06-E01 371202001002JC00016",
                "UNIT-06-E02 371202001002JC00016",
            ],
        );
        let zrz = layer("ZRZ", "laiwu")
            .row(
                &[
                    ("ZRZH", "371202001002GB00015F0001"),
                    ("ZDDM", "371202001002GB00015"),
                ],
                None,
            )
            .row(
                &[
                    ("ZRZH", "371202001002GB00016F0001"),
                    ("ZDDM", "371202001002GB00015"),
                ],
                None,
            );
        let h = layer("H", "laiwu")
            .row(
                &[
                    ("BDCDYH", "371202001002GB00015F00010001"),
                    ("ZRZH", "371202001002GB00015F0001"),
                ],
                None,
            )
            .row(
                &[
                    ("BDCDYH", "371202001002GB00015F00020001"),
                    ("ZRZH", "371202001002GB00015F0001"),
                ],
                None,
            );
        let r = layer("JSYDSYQ", "laiwu").row(
            &[
                ("YWH", "Y1"),
                ("BDCDYH", "371202001002GB00015W00000000"),
                ("ZDDM", "371202001002GB00014"),
            ],
            None,
        );
        check(
            &[zrz, h, r],
            "UNIT-06",
            &[
                "UNIT-06-E03 371202001002GB00016F0001",
                "UNIT-06-E04 371202001002GB00015F00020001",
                "UNIT-06-E05 Y1",
            ],
        );
    }
}
