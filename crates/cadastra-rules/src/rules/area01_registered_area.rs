//! AREA-01 registered-area: the registered area ZDMJ (converted by MJDW) agrees with the planar
//! area of the parcel's geometry within the error the boundary points' accuracy allows — W beyond
//! σ, E beyond 2σ.
//!
//! σ_A = m·√(ΣD_i²/8), D_i the distance between the two neighbours of vertex i (every ring), m
//! the point error of the boundary-point accuracy class (城镇地籍调查规程: class 1 ±0.05 m, 2
//! ±0.075 m, 3 ±0.10 m; default class 2). The stored value's rounding (half its last decimal,
//! converted to m²) is added to the tolerance. The geometry's area can be scaled by
//! `scale_factor`² first (AREA-04's k²−1 term: compare in the CRS the area was registered in,
//! e.g. k ≈ 1 + 9.3e-5 for zone 39 near Laiwu's east edge against a local system at k = 1).
//!
//! Skipped: invalid geometries (GEOM-01), missing or non-positive ZDMJ (ATTR-01), unknown MJDW
//! (ATTR-02), and parcels whose ZDMJ fits another area unit (AREA-06 reports the mix-up instead).
//! `value` = |registered − drawn| (m²), `tolerance` = σ (W01) or 2σ (E01) plus the rounding.
//!
//! Sub-codes: E01 difference above 2σ, W01 difference above σ.
//!
//! Options: `class` (1, 2 or 3, default 2 [I]: confirm the class per area with the bureau),
//! `point_error` (m, default 0 = from the class), `scale_factor` (default 1.0).

use crate::{Opt, OptValue, Rule, RuleContext, RuleError, RuleFinding, Scope, SubCode};
use cadastra_geom::shape::area;
use cadastra_model::{Geom, RuleId, Severity};
use rayon::prelude::*;

pub(crate) struct RegisteredArea;
pub(crate) const ID: RuleId = RuleId("AREA-01");
pub(crate) const CLASS: Opt = Opt {
    key: "class",
    default: OptValue::F64(2.0),
    inferred: true,
    doc: "boundary-point accuracy class: 1 = ±0.05 m, 2 = ±0.075 m, 3 = ±0.10 m",
};
pub(crate) const POINT_ERROR: Opt = Opt {
    key: "point_error",
    default: OptValue::F64(0.0),
    inferred: false,
    doc: "point error m (metres); overrides the class when > 0",
};
pub(crate) const SCALE: Opt = Opt {
    key: "scale_factor",
    default: OptValue::F64(1.0),
    inferred: false,
    doc: "scale of the registration CRS relative to EPSG:4548 (AREA-04): the drawn area is multiplied by its square",
};

/// The point error m of the run's options.
pub(crate) fn point_error(cx: &RuleContext<'_>) -> f64 {
    let m = cx.opt_f64(ID, &POINT_ERROR);
    if m > 0.0 {
        return m;
    }
    match cx.opt_f64(ID, &CLASS).round() as i64 {
        1 => 0.05,
        3 => 0.10,
        _ => 0.075,
    }
}

/// σ_A = m·√(ΣD_i²/8) over every ring of the geometry.
pub(crate) fn sigma(g: &Geom, m: f64) -> f64 {
    let mut s = 0.0;
    for p in &g.0 {
        for r in std::iter::once(p.exterior()).chain(p.interiors()) {
            let pts = &r.0;
            let n = if pts.len() > 1 && pts.first() == pts.last() {
                pts.len() - 1
            } else {
                pts.len()
            };
            if n < 3 {
                continue;
            }
            for i in 0..n {
                let (a, b) = (pts[(i + n - 1) % n], pts[(i + 1) % n]);
                let (dx, dy) = (b.x - a.x, b.y - a.y);
                s += dx * dx + dy * dy;
            }
        }
    }
    m * (s / 8.0).sqrt()
}

/// One parcel's area comparison.
pub(crate) struct AreaCheck {
    pub layer: usize,
    pub row: usize,
    pub zdmj: f64,
    pub mjdw: String,
    pub registered: f64,
    pub drawn: f64,
    pub sigma: f64,
    pub rounding: f64,
}

/// The area comparison of every valid parcel with a positive ZDMJ and a known unit.
pub(crate) fn area_checks(cx: &RuleContext<'_>) -> Vec<AreaCheck> {
    let m = point_error(cx);
    let k = cx.opt_f64(ID, &SCALE);
    let p = cx.parcels();
    let fields: Vec<(crate::context::Field<'_>, crate::context::Field<'_>)> = cx
        .layers
        .iter()
        .map(|l| (l.field("ZDMJ"), l.field("MJDW")))
        .collect();
    (0..p.len())
        .into_par_iter()
        .with_min_len(1024)
        .filter_map(|i| {
            let g = p.geoms[i]?;
            let (layer, row) = p.layer_row(i);
            let (zdmj, mjdw) = &fields[layer];
            let zdmj = zdmj.f64(row).filter(|v| *v > 0.0)?;
            let mjdw = mjdw.value(row).unwrap_or("1").to_string();
            let f = crate::util::unit_factor(Some(&mjdw))?;
            Some(AreaCheck {
                layer,
                row,
                zdmj,
                registered: zdmj * f,
                drawn: area(g) * k * k,
                sigma: sigma(g, m) * k,
                rounding: crate::util::stored_rounding(zdmj) * f,
                mjdw,
            })
        })
        .collect()
}

impl AreaCheck {
    /// The unit (other than the declared one) the stored value fits within 2σ, if any.
    pub(crate) fn other_unit(&self) -> Option<(&'static str, f64)> {
        if (self.registered - self.drawn).abs() <= 2.0 * self.sigma + self.rounding {
            return None;
        }
        ["1", "2", "3"]
            .into_iter()
            .filter(|u| *u != self.mjdw)
            .find_map(|u| {
                let f = crate::util::unit_factor(Some(u))?;
                let implied = self.zdmj * f;
                let tol = 2.0 * self.sigma + crate::util::stored_rounding(self.zdmj) * f;
                ((implied - self.drawn).abs() <= tol).then_some((u, implied))
            })
    }
}

impl Rule for RegisteredArea {
    fn id(&self) -> RuleId {
        ID
    }
    fn name(&self) -> &'static str {
        "registered-area"
    }
    fn severity(&self) -> Severity {
        Severity::E
    }
    fn scope(&self) -> Scope {
        Scope::Feature
    }
    fn describe(&self) -> (&'static str, &'static str) {
        (
            "登记面积(按面积单位换算)与图形平面面积之差: 超过σ=m·√(ΣD²/8)为警告, 超过2σ为错误(含存储值的舍入)",
            "registered ZDMJ (converted by MJDW) vs planar area: W above σ = m·√(ΣD²/8), E above 2σ (plus the stored value's rounding)",
        )
    }
    fn codes(&self) -> &'static [SubCode] {
        &[
            SubCode {
                code: "E01",
                zh: "面积差超过2σ",
                en: "area difference above 2σ",
            },
            SubCode {
                code: "W01",
                zh: "面积差超过σ",
                en: "area difference above σ",
            },
        ]
    }
    fn options(&self) -> &'static [Opt] {
        &[CLASS, POINT_ERROR, SCALE]
    }
    fn needs(&self) -> &'static str {
        "parcels (ZDJBXX) with geometry and ZDMJ"
    }
    fn applies(&self, cx: &RuleContext<'_>) -> bool {
        cx.has("ZDJBXX")
    }
    fn prepare(&self, cx: &RuleContext<'_>) {
        cx.parcels();
    }
    fn check(
        &self,
        cx: &RuleContext<'_>,
        emit: &mut dyn FnMut(RuleFinding),
    ) -> Result<(), RuleError> {
        for c in area_checks(cx) {
            let diff = c.registered - c.drawn;
            let d = diff.abs();
            let (sub, tol) = if d > 2.0 * c.sigma + c.rounding {
                ("E01", 2.0 * c.sigma + c.rounding)
            } else if d > c.sigma + c.rounding {
                ("W01", c.sigma + c.rounding)
            } else {
                continue;
            };
            if c.other_unit().is_some() {
                continue; // AREA-06
            }
            let pct = 100.0 * diff / c.drawn.max(f64::MIN_POSITIVE);
            let (reg, drawn, s) = (c.registered, c.drawn, c.sigma);
            emit(
                cx.at(
                    ID,
                    sub,
                    c.layer,
                    c.row,
                    format!("登记面积{reg:.2}平方米与图形面积{drawn:.2}平方米相差{diff:+.2}平方米({pct:+.1}%), 限差{tol:.2}平方米(σ={s:.2})"),
                    format!("registered area {reg:.2} m² differs from the drawn {drawn:.2} m² by {diff:+.2} m² ({pct:+.1} %), tolerance {tol:.2} m² (σ = {s:.2})"),
                )
                .value(d, Some(tol)),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::testkit::*;

    #[test]
    fn sigma_of_a_rectangle() {
        // 20 × 30 m: every D_i is the diagonal √1300, ΣD² = 5200, σ = 0.075·√650
        let s = super::sigma(&rect(0.0, 0.0, 20.0, 30.0), 0.075);
        assert!((s - 0.075 * 650f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn within_and_beyond_tolerance() {
        // σ ≈ 1.91 m², rounding 0.005
        let l = layer("ZDJBXX", "laiwu")
            .row(
                &[("ZDDM", "OK"), ("ZDMJ", "601.50")],
                Some(rect(0.0, 0.0, 20.0, 30.0)),
            )
            .row(
                &[("ZDDM", "W"), ("ZDMJ", "602.50")],
                Some(rect(0.0, 0.0, 20.0, 30.0)),
            )
            .row(
                &[("ZDDM", "E"), ("ZDMJ", "640.00")],
                Some(rect(0.0, 0.0, 20.0, 30.0)),
            )
            .row(
                &[("ZDDM", "MU"), ("ZDMJ", "0.90"), ("MJDW", "2")],
                Some(rect(0.0, 0.0, 20.0, 30.0)),
            )
            .row(&[("ZDDM", "NONE")], Some(rect(0.0, 0.0, 20.0, 30.0)));
        let f = check(&[l], "AREA-01", &["AREA-01-E01 E", "AREA-01-W01 W"]);
        assert!((f[0].finding.value.unwrap() - 40.0).abs() < 1e-9);
        // class 3: σ ≈ 2.55, 2.5 m² is within
        let l = layer("ZDJBXX", "laiwu").row(
            &[("ZDDM", "W"), ("ZDMJ", "602.50")],
            Some(rect(0.0, 0.0, 20.0, 30.0)),
        );
        check_with(&[l], "[rules.\"AREA-01\"]\nclass = 3", "AREA-01", &[]);
    }
}
