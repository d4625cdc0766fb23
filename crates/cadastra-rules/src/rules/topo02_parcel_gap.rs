//! TOPO-02 parcel-gap: no gaps between the parcels of a 地籍子区 — W for gaps, I for slivers.
//!
//! Parcels are grouped by 地籍子区: ZDDM characters 1-12 (county + 地籍区 + 地籍子区; BDCDYH when ZDDM is
//! missing), over every ZDJBXX layer of the run. The gaps of each group are the holes of its union
//! (cadastra-geom `find_gaps`: edge cancelling and face winding numbers, exact for a noded
//! coverage, overlaps never hide or invent a gap); the group's outer boundary is not a gap (roads
//! lie between sub-zones). Each gap is measured (area, width = 2·area/perimeter) and classified:
//!
//! - width ≤ `min_width` (1 mm): below the digitising snap (e.g. a deliberate T-junction whose
//!   vertex lies within a millimetre of the other edge) — not reported;
//! - width ≤ `sliver_max_width`: a sliver to close automatically — I01 (`report_slivers`);
//! - wider: a gap — W01, with its area and width in the message.
//!
//! Invalid parcels (GEOM-01) are left out of the union; a gap whose interior lies in such a
//! parcel's envelope is reported as I02 (the gap is the invalid parcel itself, GEOM-01 has the
//! finding). There is no layer of roads, water or unregistered state land in a run, so no gap is
//! excused.
//!
//! The finding names the two parcels sharing the longest boundary with the gap (the one whose drawn
//! area departs more from its ZDMJ first), carries the gap polygon (its holes are islands), is
//! located inside the gap, and has `value` = the gap's width (m) against `tolerance` =
//! `sliver_max_width`.
//!
//! Sub-codes: W01 gap, I01 sliver, I02 gap left by an invalid parcel.
//!
//! Options: `sliver_max_width` (m, default 0.05 [I]), `min_width` (m, default 0.001),
//! `report_slivers` (default true).

use crate::shared::SNAP_M;
use crate::{Opt, OptValue, Rule, RuleContext, RuleError, RuleFinding, Scope, SubCode};
use cadastra_geom::overlay::distance_to_boundary;
use cadastra_geom::{find_gaps, Envelope, GapOptions};
use cadastra_model::{Geom, RuleId, Severity};
use geo_types::{Coord, MultiPolygon};
use rayon::prelude::*;

pub(crate) struct ParcelGap;
const ID: RuleId = RuleId("TOPO-02");
const SLIVER: Opt = Opt {
    key: "sliver_max_width",
    default: OptValue::F64(0.05),
    inferred: true,
    doc: "gaps up to this width (m) are slivers to close automatically (I01); wider ones are gaps (W01)",
};
const MIN_WIDTH: Opt = Opt {
    key: "min_width",
    default: OptValue::F64(0.001),
    inferred: false,
    doc: "gaps up to this width (m) are below the snap and not reported",
};
const REPORT_SLIVERS: Opt = Opt {
    key: "report_slivers",
    default: OptValue::Bool(true),
    inferred: false,
    doc: "list slivers (I01) as well as gaps",
};

impl Rule for ParcelGap {
    fn id(&self) -> RuleId {
        ID
    }
    fn name(&self) -> &'static str {
        "parcel-gap"
    }
    fn severity(&self) -> Severity {
        Severity::W
    }
    fn scope(&self) -> Scope {
        Scope::Layer
    }
    fn describe(&self) -> (&'static str, &'static str) {
        (
            "地籍子区内宗地之间有缝隙(宽于0.05米为缝隙, 较窄的为可自动闭合的碎缝, 分别列出面积和宽度)",
            "gaps between the parcels of a cadastral sub-zone (wider than 0.05 m: gap; narrower: sliver to close automatically; both with area and width)",
        )
    }
    fn codes(&self) -> &'static [SubCode] {
        &[
            SubCode {
                code: "W01",
                zh: "宗地间缝隙",
                en: "gap between parcels",
            },
            SubCode {
                code: "I01",
                zh: "碎缝(可自动闭合)",
                en: "sliver (to close automatically)",
            },
            SubCode {
                code: "I02",
                zh: "无效宗地所在处的空洞",
                en: "hole where an invalid parcel lies",
            },
        ]
    }
    fn options(&self) -> &'static [Opt] {
        &[SLIVER, MIN_WIDTH, REPORT_SLIVERS]
    }
    fn needs(&self) -> &'static str {
        "parcels (ZDJBXX) with geometry and ZDDM"
    }
    fn applies(&self, cx: &RuleContext<'_>) -> bool {
        cx.has("ZDJBXX")
    }
    fn prepare(&self, cx: &RuleContext<'_>) {
        cx.parcels();
        cx.parcel_attrs();
    }
    fn check(
        &self,
        cx: &RuleContext<'_>,
        emit: &mut dyn FnMut(RuleFinding),
    ) -> Result<(), RuleError> {
        let sliver_w = cx.opt_f64(ID, &SLIVER);
        let min_w = cx.opt_f64(ID, &MIN_WIDTH);
        let slivers = cx.opt_bool(ID, &REPORT_SLIVERS);
        let p = cx.parcels();
        // group label of every parcel
        let labels = &cx.parcel_attrs().zone;
        let mut order: Vec<usize> = (0..p.len()).filter(|&i| labels[i].is_some()).collect();
        order.sort_by(|&a, &b| labels[a].cmp(&labels[b]).then(a.cmp(&b)));
        let mut groups: Vec<(&str, Vec<usize>)> = Vec::new();
        for i in order {
            let k = labels[i].unwrap_or_default();
            match groups.last_mut() {
                Some((g, v)) if *g == k => v.push(i),
                _ => groups.push((k, vec![i])),
            }
        }
        let opts = GapOptions {
            sliver_max_width: sliver_w,
            allowed: &[],
        };
        let found: Vec<(usize, Vec<GapFinding>)> = groups
            .par_iter()
            .enumerate()
            .map(|(gi, (_, members))| {
                let refs: Vec<&Geom> = members.iter().filter_map(|&i| p.geoms[i]).collect();
                if refs.is_empty() {
                    return (gi, vec![]);
                }
                let gaps = find_gaps(&refs, &opts);
                let out = gaps
                    .into_iter()
                    .filter(|g| g.width > min_w)
                    .map(|g| {
                        let geom = MultiPolygon(vec![g.geom]);
                        let inside = crate::rules::locate(&geom);
                        let invalid = inside.and_then(|(x, y)| {
                            members.iter().copied().find(|&i| {
                                p.geoms[i].is_none()
                                    && contains_raw(cx, p.layer_row(i), Coord { x, y })
                            })
                        });
                        let (a, b) = neighbours(cx, members, &geom);
                        GapFinding {
                            area: g.area,
                            width: g.width,
                            sliver: g.sliver,
                            geom,
                            invalid,
                            a,
                            b,
                        }
                    })
                    .collect();
                (gi, out)
            })
            .collect();
        for (_, gaps) in found {
            for g in gaps {
                let Some(a) = g.a.or(g.invalid) else { continue };
                let (a, b) = match g.b {
                    Some(b) => {
                        let (x, y) = cx.blame(a, b);
                        (x, Some(y))
                    }
                    None => (a, None),
                };
                let (la, ra) = p.layer_row(a);
                let other = b.map(|b| cx.item_key(p, b));
                let with = other
                    .as_deref()
                    .map(|o| format!("与宗地{o}之间"))
                    .unwrap_or_default();
                let with_en = other
                    .as_deref()
                    .map(|o| format!(" and parcel {o}"))
                    .unwrap_or_default();
                let (area, width) = (g.area, g.width);
                let mut f = if let Some(inv) = g.invalid {
                    let k = cx.item_key(p, inv);
                    cx.at(
                        ID,
                        "I02",
                        la,
                        ra,
                        format!("无效宗地{k}所在处的空洞{area:.2}平方米(见GEOM-01)"),
                        format!("hole of {area:.2} m² where invalid parcel {k} lies (see GEOM-01)"),
                    )
                } else if g.sliver {
                    if !slivers {
                        continue;
                    }
                    cx.at(
                        ID,
                        "I01",
                        la,
                        ra,
                        format!("宗地{with}碎缝{area:.3}平方米, 宽约{width:.3}米(不大于{sliver_w}米, 可自动闭合)"),
                        format!("sliver of {area:.3} m², about {width:.3} m wide, between this parcel{with_en} (at most {sliver_w} m: close automatically)"),
                    )
                } else {
                    cx.at(
                        ID,
                        "W01",
                        la,
                        ra,
                        format!("宗地{with}缝隙{area:.2}平方米, 宽约{width:.3}米"),
                        format!("gap of {area:.2} m², about {width:.3} m wide, between this parcel{with_en}"),
                    )
                };
                if let Some(o) = other {
                    f = f.other(o);
                }
                emit(f.geom(g.geom).value(width, Some(sliver_w)));
            }
        }
        Ok(())
    }
}

struct GapFinding {
    area: f64,
    width: f64,
    sliver: bool,
    geom: Geom,
    invalid: Option<usize>,
    a: Option<usize>,
    b: Option<usize>,
}

/// Does the (possibly invalid) geometry's envelope hold the point? Invalid rings have no
/// reliable inside, and a gap left by an invalid parcel lies within its envelope.
fn contains_raw(cx: &RuleContext<'_>, (l, r): (usize, usize), c: Coord) -> bool {
    cx.layers[l]
        .geom(r)
        .and_then(Envelope::of_multipolygon)
        .is_some_and(|e| e.intersects(&Envelope { min: c, max: c }))
}

/// The two parcels of the group sharing the longest boundary with the gap.
fn neighbours(
    cx: &RuleContext<'_>,
    members: &[usize],
    gap: &Geom,
) -> (Option<usize>, Option<usize>) {
    let p = cx.parcels();
    let Some(env) = Envelope::of_multipolygon(gap) else {
        return (None, None);
    };
    let env = env.expand(SNAP_M);
    let cands: Vec<usize> = p
        .index
        .query(&env)
        .into_iter()
        .map(|i| i as usize)
        .filter(|i| members.binary_search(i).is_ok() && p.geoms[*i].is_some())
        .collect();
    let mut contact = vec![0.0f64; cands.len()];
    for poly in &gap.0 {
        for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
            for w in ring.0.windows(2) {
                let len = (w[1].x - w[0].x).hypot(w[1].y - w[0].y);
                if len == 0.0 {
                    continue;
                }
                let m = Coord {
                    x: (w[0].x + w[1].x) / 2.0,
                    y: (w[0].y + w[1].y) / 2.0,
                };
                let mut best: Option<(usize, f64)> = None;
                for (k, &c) in cands.iter().enumerate() {
                    let Some(e) = p.envs[c] else { continue };
                    if !e.expand(SNAP_M).intersects(&Envelope { min: m, max: m }) {
                        continue;
                    }
                    let Some(g) = p.geoms[c] else { continue };
                    let d = distance_to_boundary(m, g);
                    if d <= SNAP_M && best.is_none_or(|(_, bd)| d < bd) {
                        best = Some((k, d));
                    }
                }
                if let Some((k, _)) = best {
                    contact[k] += len;
                }
            }
        }
    }
    let mut ranked: Vec<(usize, f64)> = cands
        .iter()
        .copied()
        .zip(contact)
        .filter(|(_, c)| *c > 0.0)
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| cx.item_order(p, a.0, b.0)));
    (ranked.first().map(|x| x.0), ranked.get(1).map(|x| x.0))
}

#[cfg(test)]
mod tests {
    use crate::testkit::*;

    /// A 3 × 3 block of 10 m parcels in sub-zone 371202001001, keys ...GB00001 to ...GB00009.
    fn block(skip_centre: bool, pull: f64) -> T {
        let mut l = layer("ZDJBXX", "laiwu");
        for j in 0..3 {
            for i in 0..3 {
                let n = j * 3 + i + 1;
                if skip_centre && n == 5 {
                    continue;
                }
                let (x0, y0) = (i as f64 * 10.0, j as f64 * 10.0);
                // parcel 5's right edge pulled back by `pull`
                let x1 = if n == 5 { x0 + 10.0 - pull } else { x0 + 10.0 };
                let key = format!("371202001001GB{n:05}");
                let zdmj = if n == 5 { "100" } else { "" };
                l = l.row(
                    &[("ZDDM", key.as_str()), ("ZDMJ", zdmj)],
                    Some(rect(x0, y0, x1, y0 + 10.0)),
                );
            }
        }
        l
    }

    #[test]
    fn clean_block_and_outer_boundary_pass() {
        check(&[block(false, 0.0)], "TOPO-02", &[]);
    }

    #[test]
    fn gap_and_sliver() {
        let f = check(
            &[block(false, 0.5)],
            "TOPO-02",
            &["TOPO-02-W01 371202001001GB00005 371202001001GB00006"],
        );
        let area = |f: &crate::RuleFinding| {
            cadastra_geom::shape::area(f.finding.geom.as_ref().expect("gap geometry"))
        };
        assert!((area(&f[0]) - 5.0).abs() < 1e-9);
        assert!(
            (f[0].finding.value.unwrap() - 10.0 / 21.0).abs() < 1e-9,
            "width 2·area/perimeter"
        );
        assert!(f[0].finding.geom.is_some());
        check(
            &[block(false, 0.02)],
            "TOPO-02",
            &["TOPO-02-I01 371202001001GB00005 371202001001GB00006"],
        );
        check_with(
            &[block(false, 0.02)],
            "[rules.\"TOPO-02\"]\nreport_slivers = false",
            "TOPO-02",
            &[],
        );
        // below the snap: not reported
        check(&[block(false, 0.0005)], "TOPO-02", &[]);
        // a missing parcel is a gap named by its longest neighbours
        let f = check(
            &[block(true, 0.0)],
            "TOPO-02",
            &["TOPO-02-W01 371202001001GB00002 371202001001GB00004"],
        );
        assert!((area(&f[0]) - 100.0).abs() < 1e-9);
    }

    #[test]
    fn sub_zones_are_separate_and_invalid_parcels_explained() {
        // two sub-zones side by side with a road between: no gap
        let l = layer("ZDJBXX", "laiwu")
            .row(
                &[("ZDDM", "371202001001GB00001")],
                Some(rect(0.0, 0.0, 10.0, 10.0)),
            )
            .row(
                &[("ZDDM", "371202001002GB00001")],
                Some(rect(15.0, 0.0, 25.0, 10.0)),
            );
        check(&[l], "TOPO-02", &[]);
        let mut l = layer("ZDJBXX", "laiwu");
        for j in 0..3 {
            for i in 0..3 {
                let n = j * 3 + i + 1;
                let (x0, y0) = (i as f64 * 10.0, j as f64 * 10.0);
                let g = if n == 5 {
                    poly(&[
                        (x0, y0),
                        (x0 + 10.0, y0 + 10.0),
                        (x0 + 10.0, y0),
                        (x0, y0 + 10.0),
                    ])
                } else {
                    rect(x0, y0, x0 + 10.0, y0 + 10.0)
                };
                l = l.row(
                    &[("ZDDM", format!("371202001001GB{n:05}").as_str())],
                    Some(g),
                );
            }
        }
        let f = check(
            &[l],
            "TOPO-02",
            &["TOPO-02-I02 371202001001GB00002 371202001001GB00004"],
        );
        assert!(f[0].finding.message_en.contains("371202001001GB00005"));
    }
}
