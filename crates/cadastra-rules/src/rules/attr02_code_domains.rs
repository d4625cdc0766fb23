//! ATTR-02 code-domain: coded fields hold a code of their domain (codelists.toml, the registry
//! schema's `domain` of each field), the land use YT a code of the classification declared in YTBB
//! (`codelists().land_use(version)`: GB/T 21010-2007 or -2017).
//!
//! Out-of-domain codes of the fields that decide what a row means — QLLX, QLXZ, QSZT, MJDW, YT,
//! QLSDFS, ZJZL — are E01 (the row cannot be interpreted); of descriptive fields (FWYT, FWJG,
//! FWXZ, FWLX, DJLX, GYFS, QLRLX, LZ, QY) W01. A YT without a declared or known classification
//! version is checked against the edition its shape suggests (3 digits: 2007, 4 digits: 2017)
//! and counted once per layer (W02; a bare 4-digit code is ambiguous with the 2023 用地用海
//! classification). One finding per row and sub-code, naming the field and the code.
//!
//! Sub-codes: E01 code outside its domain (key field), W01 code outside its domain (descriptive
//! field), W02 land-use classification version missing or unknown (per layer).
//!
//! Options: `key_domains` (the domains whose violations are E01, comma-separated; default
//! `QLLX,QLXZ,QSZT,MJDW,YT,QLSDFS,ZJZL`).

use crate::{Opt, OptValue, Rule, RuleContext, RuleError, RuleFinding, Scope, SubCode};
use cadastra_model::codelist::{codelists, CodeList};
use cadastra_model::{RuleId, Severity};
use std::collections::BTreeMap;

pub(crate) struct CodeDomains;
const ID: RuleId = RuleId("ATTR-02");
const KEY_DOMAINS: Opt = Opt {
    key: "key_domains",
    default: OptValue::Str("QLLX,QLXZ,QSZT,MJDW,YT,QLSDFS,ZJZL"),
    inferred: false,
    doc:
        "domains whose out-of-domain codes are E01 (the row cannot be interpreted); others are W01",
};

impl Rule for CodeDomains {
    fn id(&self) -> RuleId {
        ID
    }
    fn name(&self) -> &'static str {
        "code-domain"
    }
    fn severity(&self) -> Severity {
        Severity::E
    }
    fn scope(&self) -> Scope {
        Scope::Feature
    }
    fn describe(&self) -> (&'static str, &'static str) {
        ("代码字段值在字典值域内(含用途分类版本YTBB)", "coded fields hold codes of their domain (incl. the land-use classification version declared in YTBB)")
    }
    fn codes(&self) -> &'static [SubCode] {
        &[
            SubCode {
                code: "E01",
                zh: "关键代码不在值域内",
                en: "key code outside its domain",
            },
            SubCode {
                code: "W01",
                zh: "描述性代码不在值域内",
                en: "descriptive code outside its domain",
            },
            SubCode {
                code: "W02",
                zh: "未声明或未知的土地用途分类版本",
                en: "land-use classification version missing or unknown",
            },
        ]
    }
    fn options(&self) -> &'static [Opt] {
        &[KEY_DOMAINS]
    }
    fn needs(&self) -> &'static str {
        "a layer with coded fields"
    }
    fn applies(&self, cx: &RuleContext<'_>) -> bool {
        cx.layers
            .iter()
            .any(|l| !l.is_empty() && l.def().fields.iter().any(|f| f.domain.is_some()))
    }
    fn check(
        &self,
        cx: &RuleContext<'_>,
        emit: &mut dyn FnMut(RuleFinding),
    ) -> Result<(), RuleError> {
        let key_domains: Vec<String> = cx
            .opt_str(ID, &KEY_DOMAINS)
            .split(',')
            .map(|d| d.trim().to_string())
            .collect();
        let cl = codelists();
        for (li, l) in cx.layers.iter().enumerate() {
            let fields: Vec<(&str, &str, crate::context::Field<'_>)> = l
                .def()
                .fields
                .iter()
                .filter_map(|f| {
                    f.domain
                        .as_deref()
                        .map(|d| (f.name.as_str(), d, l.field(&f.name)))
                })
                .collect();
            if fields.is_empty() {
                continue;
            }
            let ytbb = l.field("YTBB");
            let lists: Vec<Option<&CodeList>> = fields.iter().map(|(_, d, _)| cl.list(d)).collect();
            let (y07, y17) = (
                cl.land_use("GB/T 21010-2007"),
                cl.land_use("GB/T 21010-2017"),
            );
            // declared classification versions seen so far (few distinct values)
            let mut versions: Vec<(&str, Option<&CodeList>)> = Vec::new();
            let mut undeclared: BTreeMap<String, usize> = BTreeMap::new();
            for r in 0..l.len() {
                let (mut key, mut desc) = (Vec::new(), Vec::new());
                for ((name, domain, f), dl) in fields.iter().zip(&lists) {
                    let Some(v) = f.value(r) else { continue };
                    let list: Option<&CodeList> = if *domain == "YT" {
                        let b = ytbb.value(r);
                        let declared =
                            b.and_then(|b| match versions.iter().find(|(x, _)| *x == b) {
                                Some((_, l)) => *l,
                                None => {
                                    let l = cl.land_use(b);
                                    versions.push((b, l));
                                    l
                                }
                            });
                        match declared {
                            Some(list) => Some(list),
                            None => {
                                *undeclared.entry(b.unwrap_or("").to_string()).or_default() += 1;
                                if v.len() == 3 {
                                    y07
                                } else {
                                    y17
                                }
                            }
                        }
                    } else {
                        *dl
                    };
                    let Some(list) = list else { continue };
                    if !list.contains(v) {
                        let item = format!("{name}={v}");
                        if key_domains.iter().any(|k| k == domain) {
                            key.push(item);
                        } else {
                            desc.push(item);
                        }
                    }
                }
                for (sub, items) in [("E01", key), ("W01", desc)] {
                    if items.is_empty() {
                        continue;
                    }
                    let list = items.join(", ");
                    emit(cx.at(
                        ID,
                        sub,
                        li,
                        r,
                        format!("代码不在值域内: {list}"),
                        format!("codes outside their domain: {list}"),
                    ));
                }
            }
            for (v, n) in undeclared {
                let (zh, en) = if v.is_empty() {
                    (format!("{n}条记录未声明土地用途分类版本(YTBB), 按代码位数推断"), format!("{n} rows declare no land-use classification (YTBB): edition guessed from the code length"))
                } else {
                    (format!("{n}条记录的土地用途分类版本{v:?}未知, 按代码位数推断"), format!("{n} rows declare an unknown land-use classification {v:?}: edition guessed from the code length"))
                };
                emit(
                    cx.general(ID, "W02", l.table, l.source, zh, en)
                        .value(n as f64, None),
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::testkit::*;

    #[test]
    fn domains_and_land_use_versions() {
        let l = layer("ZDJBXX", "laiwu")
            .row(
                &[
                    ("ZDDM", "A"),
                    ("QLLX", "6"),
                    ("QLXZ", "203"),
                    ("YT", "0702"),
                    ("YTBB", "GB/T 21010-2017"),
                    ("MJDW", "1"),
                ],
                None,
            )
            .row(
                &[
                    ("ZDDM", "B"),
                    ("QLLX", "66"),
                    ("YT", "072"),
                    ("YTBB", "GB/T 21010-2017"),
                ],
                None,
            )
            .row(
                &[("ZDDM", "C"), ("YT", "072"), ("YTBB", "GB/T 21010-2007")],
                None,
            );
        check(&[l], "ATTR-02", &["ATTR-02-E01 B"]);
        let f = check(
            &[layer("ZDJBXX", "laiwu").row(&[("ZDDM", "B")], None)],
            "ATTR-02",
            &[],
        );
        assert!(f.is_empty());
        let l = layer("ZDJBXX", "laiwu")
            .row(&[("ZDDM", "D"), ("YT", "072")], None)
            .row(&[("ZDDM", "E"), ("YT", "0799")], None);
        let f = check(
            &[l],
            "ATTR-02",
            &["ATTR-02-E01 E", "ATTR-02-W02 laiwu_zdjbxx"],
        );
        assert_eq!(f[1].finding.value, Some(2.0));
        let h = layer("H", "laiwu").row(&[("BDCDYH", "X"), ("FWYT1", "99")], None);
        check(&[h], "ATTR-02", &["ATTR-02-W01 X"]);
    }
}
