//! AREA-05 house-areas: house areas add up — W.
//!
//! - W01 a house unit's surveyed floor area SCJZMJ ≠ internal SCTNJZMJ + shared SCFTJZMJ;
//! - W02 the surveyed floor areas of a building's house units do not add up to the building's
//!   SCJZMJ (tolerance `sum_tolerance` per unit);
//! - W03 the share coefficient FTXS ≠ SCFTJZMJ / SCTNJZMJ;
//! - W04 forecast YCJZMJ and surveyed SCJZMJ differ by more than `forecast_tolerance` (3 %: the
//!   sales-contract settlement threshold), for house units and buildings.
//!
//! Checked where the data has the values; every comparison allows the stored values' rounding
//! on top of the tolerance. `value` = the difference (m², or the ratio for W03/W04).
//!
//! Options: `sum_tolerance` (m² per unit, default 0.01 [I]), `forecast_tolerance` (default 0.03).

use crate::util::stored_rounding;
use crate::{Opt, OptValue, Rule, RuleContext, RuleError, RuleFinding, Scope, SubCode};
use cadastra_model::{RuleId, Severity};
use std::collections::HashMap;

pub(crate) struct HouseAreas;
const ID: RuleId = RuleId("AREA-05");
const SUM: Opt = Opt {
    key: "sum_tolerance",
    default: OptValue::F64(0.01),
    inferred: true,
    doc: "allowed difference of area sums (m² per house unit)",
};
const FORECAST: Opt = Opt {
    key: "forecast_tolerance",
    default: OptValue::F64(0.03),
    inferred: false,
    doc: "allowed relative difference of forecast and surveyed floor area",
};

impl Rule for HouseAreas {
    fn id(&self) -> RuleId {
        ID
    }
    fn name(&self) -> &'static str {
        "house-areas"
    }
    fn severity(&self) -> Severity {
        Severity::W
    }
    fn scope(&self) -> Scope {
        Scope::Layer
    }
    fn describe(&self) -> (&'static str, &'static str) {
        (
            "房屋面积: 建筑面积=套内+分摊(±0.01), 各户之和=自然幢建筑面积, 分摊系数一致, 预测与实测相差不超过3%",
            "house areas: floor area = internal + shared (± 0.01 m²), units sum to the building, share coefficient coherent, forecast vs surveyed within 3 %",
        )
    }
    fn codes(&self) -> &'static [SubCode] {
        &[
            SubCode {
                code: "W01",
                zh: "建筑面积不等于套内与分摊之和",
                en: "floor area is not internal + shared",
            },
            SubCode {
                code: "W02",
                zh: "各户建筑面积之和与自然幢不符",
                en: "units do not sum to the building's floor area",
            },
            SubCode {
                code: "W03",
                zh: "分摊系数与面积不符",
                en: "share coefficient does not match the areas",
            },
            SubCode {
                code: "W04",
                zh: "预测与实测建筑面积相差超过3%",
                en: "forecast and surveyed floor area differ by more than 3 %",
            },
        ]
    }
    fn options(&self) -> &'static [Opt] {
        &[SUM, FORECAST]
    }
    fn needs(&self) -> &'static str {
        "house units (H) or buildings (ZRZ) with floor areas"
    }
    fn applies(&self, cx: &RuleContext<'_>) -> bool {
        cx.has("H") || cx.has("ZRZ")
    }
    fn check(
        &self,
        cx: &RuleContext<'_>,
        emit: &mut dyn FnMut(RuleFinding),
    ) -> Result<(), RuleError> {
        let (tol, ftol) = (cx.opt_f64(ID, &SUM), cx.opt_f64(ID, &FORECAST));
        let mut per_building: HashMap<&str, (f64, f64, usize)> = HashMap::new();
        let forecast = |cx: &RuleContext<'_>,
                        li: usize,
                        r: usize,
                        yc: Option<f64>,
                        sc: Option<f64>,
                        emit: &mut dyn FnMut(RuleFinding)| {
            if let (Some(yc), Some(sc)) = (yc.filter(|v| *v > 0.0), sc.filter(|v| *v > 0.0)) {
                let rel = (yc - sc) / sc;
                if rel.abs() > ftol + (stored_rounding(yc) + stored_rounding(sc)) / sc {
                    let pct = rel * 100.0;
                    emit(
                        cx.at(ID, "W04", li, r, format!("预测建筑面积{yc}与实测{sc}相差{pct:+.1}%"), format!("forecast floor area {yc} differs from the surveyed {sc} by {pct:+.1} %"))
                            .value(rel.abs(), Some(ftol)),
                    );
                }
            }
        };
        for (li, l) in cx.layers_of("H") {
            let (sc, tn, ft, ftxs, yc, zrzh) = (
                l.field("SCJZMJ"),
                l.field("SCTNJZMJ"),
                l.field("SCFTJZMJ"),
                l.field("FTXS"),
                l.field("YCJZMJ"),
                l.field("ZRZH"),
            );
            for r in 0..l.len() {
                let (s, t, f) = (sc.f64(r), tn.f64(r), ft.f64(r));
                if let (Some(s), Some(t), Some(f)) = (s, t, f) {
                    let d = s - (t + f);
                    if d.abs() > tol + stored_rounding(s) + stored_rounding(t) + stored_rounding(f)
                    {
                        emit(
                            cx.at(ID, "W01", li, r, format!("建筑面积{s}不等于套内{t}与分摊{f}之和(差{d:+.2})"), format!("floor area {s} is not internal {t} + shared {f} (off by {d:+.2})"))
                                .value(d.abs(), Some(tol)),
                        );
                    }
                }
                if let (Some(x), Some(t), Some(f)) = (ftxs.f64(r), t.filter(|v| *v > 0.0), f) {
                    let want = f / t;
                    if (x - want).abs()
                        > 1e-4
                            + stored_rounding(x)
                            + (stored_rounding(f) + stored_rounding(t) * want) / t
                    {
                        emit(
                            cx.at(ID, "W03", li, r, format!("分摊系数{x}与分摊/套内面积之比{want:.4}不符"), format!("share coefficient {x} does not match shared / internal area {want:.4}"))
                                .value((x - want).abs(), Some(1e-4)),
                        );
                    }
                }
                forecast(cx, li, r, yc.f64(r), s, emit);
                if let (Some(z), Some(s)) = (zrzh.value(r), s) {
                    let e = per_building.entry(z).or_default();
                    e.0 += s;
                    e.1 += stored_rounding(s);
                    e.2 += 1;
                }
            }
        }
        for (li, l) in cx.layers_of("ZRZ") {
            let (sc, yc, zrzh) = (l.field("SCJZMJ"), l.field("YCJZMJ"), l.field("ZRZH"));
            for r in 0..l.len() {
                forecast(cx, li, r, yc.f64(r), sc.f64(r), emit);
                let (Some(z), Some(s)) = (zrzh.value(r), sc.f64(r)) else {
                    continue;
                };
                let Some(&(sum, rounding, n)) = per_building.get(z) else {
                    continue;
                };
                let d = sum - s;
                if d.abs() > tol * n as f64 + rounding + stored_rounding(s) {
                    emit(
                        cx.at(ID, "W02", li, r, format!("{n}户建筑面积之和{sum:.2}与自然幢建筑面积{s}不符(差{d:+.2})"), format!("the {n} house units sum to {sum:.2}, the building has {s} (off by {d:+.2})"))
                            .value(d.abs(), Some(tol * n as f64)),
                    );
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
    fn sums_coefficients_forecasts() {
        let zrz = layer("ZRZ", "laiwu")
            .row(&[("ZRZH", "B1"), ("SCJZMJ", "200.00")], None)
            .row(
                &[("ZRZH", "B2"), ("SCJZMJ", "150.00"), ("YCJZMJ", "160.00")],
                None,
            );
        let h = layer("H", "laiwu")
            .row(
                &[
                    ("BDCDYH", "U1"),
                    ("ZRZH", "B1"),
                    ("SCJZMJ", "100.00"),
                    ("SCTNJZMJ", "80.00"),
                    ("SCFTJZMJ", "20.00"),
                    ("FTXS", "0.25"),
                ],
                None,
            )
            .row(
                &[
                    ("BDCDYH", "U2"),
                    ("ZRZH", "B1"),
                    ("SCJZMJ", "100.00"),
                    ("SCTNJZMJ", "80.00"),
                    ("SCFTJZMJ", "20.00"),
                    ("YCJZMJ", "101.00"),
                ],
                None,
            )
            .row(
                &[
                    ("BDCDYH", "U3"),
                    ("ZRZH", "B2"),
                    ("SCJZMJ", "100.00"),
                    ("SCTNJZMJ", "80.00"),
                    ("SCFTJZMJ", "19.50"),
                    ("FTXS", "0.3"),
                ],
                None,
            );
        check(
            &[zrz, h],
            "AREA-05",
            &[
                "AREA-05-W01 U3",
                "AREA-05-W02 B2",
                "AREA-05-W03 U3",
                "AREA-05-W04 B2",
            ],
        );
    }
}
