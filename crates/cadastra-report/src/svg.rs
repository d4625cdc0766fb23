//! Inline SVG maps: a small map per finding and an overview of all findings.
//!
//! Geometry is easting-first (x = east, y = north); labels follow Chinese survey usage: X is the
//! northing (北), Y the easting (东). Coordinates are rounded to 0.1 px to keep the page small.

use cadastra_model::Severity;
use geo_types::MultiPolygon;
use std::fmt::Write;

/// Map window in metres and its size in pixels.
#[derive(Debug, Clone, Copy)]
pub struct View {
    pub minx: f64,
    pub miny: f64,
    pub maxx: f64,
    pub maxy: f64,
    pub w: f64,
    pub h: f64,
    scale: f64,
    ox: f64,
    oy: f64,
}

impl View {
    /// A view showing `env` ([minx, miny, maxx, maxy]) with `pad` (fraction) around it, at least
    /// `min_m` metres wide, in a `w` × `h` pixel box, same scale on both axes.
    pub fn fit(env: [f64; 4], w: f64, h: f64, pad: f64, min_m: f64) -> View {
        let cx = (env[0] + env[2]) / 2.0;
        let cy = (env[1] + env[3]) / 2.0;
        let mut ew = ((env[2] - env[0]) * (1.0 + 2.0 * pad)).max(min_m);
        let mut eh = ((env[3] - env[1]) * (1.0 + 2.0 * pad)).max(min_m * h / w);
        if ew / eh > w / h {
            eh = ew * h / w;
        } else {
            ew = eh * w / h;
        }
        let scale = w / ew;
        View {
            minx: cx - ew / 2.0,
            miny: cy - eh / 2.0,
            maxx: cx + ew / 2.0,
            maxy: cy + eh / 2.0,
            w,
            h,
            scale,
            ox: 0.0,
            oy: 0.0,
        }
    }
    pub fn env(&self) -> [f64; 4] {
        [self.minx, self.miny, self.maxx, self.maxy]
    }
    fn px(&self, x: f64, y: f64) -> (f64, f64) {
        (
            self.ox + (x - self.minx) * self.scale,
            self.oy + (self.maxy - y) * self.scale,
        )
    }
}

fn r1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// SVG path data of a multipolygon (even-odd fill draws holes).
pub fn path_d(mp: &MultiPolygon<f64>, v: &View) -> String {
    let mut d = String::new();
    for p in &mp.0 {
        for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
            let mut last = (f64::NAN, f64::NAN);
            for (i, c) in ring.0.iter().enumerate() {
                if !c.x.is_finite() || !c.y.is_finite() {
                    continue;
                }
                let (x, y) = v.px(c.x, c.y);
                let (x, y) = (r1(x), r1(y));
                if (x, y) == last && i + 1 != ring.0.len() {
                    continue; // same pixel: skip (keeps big parcels small in the page)
                }
                let _ = write!(d, "{}{x} {y}", if i == 0 { "M" } else { "L" });
                last = (x, y);
            }
            if !ring.0.is_empty() {
                d.push('Z');
            }
        }
    }
    d
}

/// A "nice" length (1, 2 or 5 × 10^k metres) about a quarter of the map width.
pub fn nice_length(width_m: f64) -> f64 {
    let target = (width_m / 4.0).max(1e-3);
    let p = 10f64.powf(target.log10().floor());
    for m in [5.0, 2.0, 1.0] {
        if m * p <= target {
            return m * p;
        }
    }
    p
}

fn fmt_len(m: f64) -> String {
    if m >= 1000.0 {
        format!("{} km", m / 1000.0)
    } else if m >= 1.0 {
        format!("{m} m")
    } else {
        format!("{} cm", (m * 100.0).round())
    }
}

fn scale_bar(s: &mut String, v: &View) {
    let len = nice_length(v.maxx - v.minx);
    let px = r1(len * v.scale);
    let x0 = 8.0;
    let y0 = v.h - 10.0;
    let _ = write!(
        s,
        r##"<g class="sb"><rect x="{x0}" y="{}" width="{}" height="4" fill="#fff" stroke="#222" stroke-width=".8"/><rect x="{x0}" y="{}" width="{}" height="4" fill="#222"/><text x="{}" y="{}">{}</text></g>"##,
        y0 - 4.0,
        px,
        y0 - 4.0,
        r1(px / 2.0),
        r1(x0 + px + 4.0),
        y0,
        fmt_len(len)
    );
}

fn north_arrow(s: &mut String, v: &View) {
    let x = v.w - 16.0;
    let _ = write!(
        s,
        r##"<g class="na"><path d="M{x} 6L{} 20L{x} 16L{} 20Z" fill="#222"/><text x="{x}" y="30" text-anchor="middle">X 北</text></g>"##,
        x + 5.0,
        x - 5.0
    );
}

/// Corner coordinates the way surveyors read them: X = northing, Y = easting.
fn corner_labels(s: &mut String, v: &View) {
    let _ = write!(
        s,
        r#"<text class="co" x="4" y="11">X={:.2} Y={:.2}</text><text class="co" x="{}" y="{}" text-anchor="end">X={:.2} Y={:.2}</text>"#,
        v.maxy,
        v.minx,
        v.w - 4.0,
        v.h - 18.0,
        v.miny,
        v.maxx
    );
}

/// What a small finding map shows.
pub struct FindingMap<'a> {
    pub parcels: &'a [MultiPolygon<f64>],
    pub buildings: &'a [MultiPolygon<f64>],
    /// the feature(s) the finding is about
    pub highlight: &'a [MultiPolygon<f64>],
    /// the error geometry (overlap, gap, part outside)
    pub error: Option<&'a MultiPolygon<f64>>,
    /// the finding's location (easting, northing)
    pub point: Option<(f64, f64)>,
    pub severity: Severity,
}

/// A small map (SVG element) of one finding.
pub fn finding_map(v: &View, m: &FindingMap<'_>, title: &str) -> String {
    let mut s = String::with_capacity(4096);
    let _ = write!(
        s,
        r#"<svg class="fm" viewBox="0 0 {} {}" width="{}" height="{}" role="img"><title>{}</title><rect class="bg" width="{}" height="{}"/>"#,
        v.w,
        v.h,
        v.w,
        v.h,
        crate::html::esc(title),
        v.w,
        v.h
    );
    for (class, set) in [("pc", m.parcels), ("bd", m.buildings)] {
        if set.is_empty() {
            continue;
        }
        let _ = write!(s, r#"<path class="{class}" d=""#);
        for g in set {
            s.push_str(&path_d(g, v));
        }
        s.push_str(r#""/>"#);
    }
    for g in m.highlight {
        let _ = write!(s, r#"<path class="hl" d="{}"/>"#, path_d(g, v));
    }
    if let Some(e) = m.error {
        let _ = write!(s, r#"<path class="er" d="{}"/>"#, path_d(e, v));
    }
    if let Some((x, y)) = m.point {
        if x.is_finite() && y.is_finite() {
            let (px, py) = v.px(x, y);
            let _ = write!(
                s,
                r#"<g class="pt {sev}"><circle cx="{px:.1}" cy="{py:.1}" r="6"/><path d="M{:.1} {py:.1}H{:.1}M{px:.1} {:.1}V{:.1}"/></g>"#,
                px - 10.0,
                px + 10.0,
                py - 10.0,
                py + 10.0,
                sev = m.severity.as_str()
            );
        }
    }
    north_arrow(&mut s, v);
    corner_labels(&mut s, v);
    scale_bar(&mut s, v);
    s.push_str("</svg>");
    s
}

/// The overview: occupied cells of the registry's parcels (grey), and the findings on top, as
/// points (few) or as cells coloured by the worst severity (many).
pub fn overview_map(
    v: &View,
    background_cells: &[(u32, u32)],
    cell_m: f64,
    findings: &[(f64, f64, Severity)],
    point_limit: usize,
) -> String {
    let mut s = String::with_capacity(64 * 1024);
    let _ = write!(
        s,
        r#"<svg class="ov" viewBox="0 0 {} {}" width="100%" role="img"><title>检查结果总览 overview of findings</title><rect class="bg" width="{}" height="{}"/>"#,
        v.w, v.h, v.w, v.h
    );
    let cpx = r1(cell_m * v.scale).max(0.5);
    if !background_cells.is_empty() {
        s.push_str(r#"<path class="cov" d=""#);
        for &(cx, cy) in background_cells {
            let (x, y) = v.px(
                v.minx + cx as f64 * cell_m,
                v.miny + (cy as f64 + 1.0) * cell_m,
            );
            let _ = write!(s, "M{} {}h{cpx}v{cpx}h-{cpx}Z", r1(x), r1(y));
        }
        s.push_str(r#""/>"#);
    }
    if findings.len() <= point_limit {
        // draw info first so errors stay on top
        for sev in [Severity::I, Severity::W, Severity::E] {
            let mut d = String::new();
            for &(x, y, fs) in findings {
                if fs == sev && x.is_finite() && y.is_finite() {
                    let (px, py) = v.px(x, y);
                    let _ = write!(d, "M{} {}h.01", r1(px), r1(py));
                }
            }
            if !d.is_empty() {
                let _ = write!(s, r#"<path class="op {}" d="{d}"/>"#, sev.as_str());
            }
        }
    } else {
        let mut cells: std::collections::BTreeMap<(i64, i64), (Severity, u32)> = Default::default();
        for &(x, y, sev) in findings {
            if !x.is_finite() || !y.is_finite() {
                continue;
            }
            let k = (
                ((x - v.minx) / cell_m).floor() as i64,
                ((y - v.miny) / cell_m).floor() as i64,
            );
            let e = cells.entry(k).or_insert((sev, 0));
            e.0 = e.0.min(sev);
            e.1 += 1;
        }
        for sev in [Severity::I, Severity::W, Severity::E] {
            let mut d = String::new();
            for (&(cx, cy), &(s2, _)) in &cells {
                if s2 == sev {
                    let (x, y) = v.px(
                        v.minx + cx as f64 * cell_m,
                        v.miny + (cy as f64 + 1.0) * cell_m,
                    );
                    let _ = write!(d, "M{} {}h{cpx}v{cpx}h-{cpx}Z", r1(x), r1(y));
                }
            }
            if !d.is_empty() {
                let _ = write!(s, r#"<path class="oc {}" d="{d}"/>"#, sev.as_str());
            }
        }
    }
    north_arrow(&mut s, v);
    corner_labels(&mut s, v);
    scale_bar(&mut s, v);
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::polygon;

    #[test]
    fn nice_lengths() {
        assert_eq!(nice_length(100.0), 20.0);
        assert_eq!(nice_length(40.0), 10.0);
        assert_eq!(nice_length(25_000.0), 5000.0);
        assert_eq!(fmt_len(5000.0), "5 km");
        assert_eq!(fmt_len(0.5), "50 cm");
    }

    #[test]
    fn north_is_up_and_scale_is_even() {
        let v = View::fit(
            [500_000.0, 4_000_000.0, 500_100.0, 4_000_050.0],
            300.0,
            200.0,
            0.0,
            10.0,
        );
        let (x0, y0) = v.px(v.minx, v.maxy);
        assert!((x0, y0) == (0.0, 0.0));
        let (_, y1) = v.px(v.minx, v.miny);
        assert!((y1 - 200.0).abs() < 1e-9);
        assert!((v.maxx - v.minx) / (v.maxy - v.miny) - 1.5 < 1e-9);
        let p = polygon![(x: 500_000.0, y: 4_000_000.0), (x: 500_010.0, y: 4_000_000.0), (x: 500_010.0, y: 4_000_010.0), (x: 500_000.0, y: 4_000_000.0)];
        let d = path_d(&MultiPolygon(vec![p]), &v);
        assert!(d.starts_with('M') && d.ends_with('Z'), "{d}");
        let svg = finding_map(
            &v,
            &FindingMap {
                parcels: &[],
                buildings: &[],
                highlight: &[],
                error: None,
                point: Some((f64::NAN, 1.0)),
                severity: Severity::E,
            },
            "<t>",
        );
        assert!(svg.contains("&lt;t&gt;") && svg.contains("X 北"));
    }
}
