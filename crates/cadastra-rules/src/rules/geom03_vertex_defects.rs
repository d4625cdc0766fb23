//! GEOM-03 vertex-defects: duplicate consecutive vertices, zero-length segments and spikes within
//! the snap distance (cadastra-geom `shape::vertex_defects`) — W, one finding per feature and kind,
//! located at the first defect, `value` = the smallest defect size (segment length, spike base
//! width, 0 for duplicates) against `tolerance` = `snap`, the count in the message.
//!
//! Checked on every non-empty parcel and building, valid or not (a spike often explains a
//! GEOM-01 finding). Repair snaps them away; boundary points are never moved.
//!
//! Sub-codes: W01 duplicate consecutive vertices, W02 segments not longer than `snap`, W03 spikes
//! whose base is at most `snap` wide.
//!
//! Options: `snap` (m, default 0.001).

use crate::{Opt, OptValue, Rule, RuleContext, RuleError, RuleFinding, Scope, SubCode};
use cadastra_geom::shape::{vertex_defects, VertexDefectKind};
use cadastra_model::{RuleId, Severity};
use rayon::prelude::*;

pub(crate) struct VertexDefects;

/// Per defect kind: how many, where the first one is, the smallest size.
type PerKind = [(usize, Option<(f64, f64)>, f64); 3];
const ID: RuleId = RuleId("GEOM-03");
const SNAP: Opt = Opt {
    key: "snap",
    default: OptValue::F64(0.001),
    inferred: false,
    doc: "snap distance (m): shorter segments and narrower spikes are defects",
};

impl Rule for VertexDefects {
    fn id(&self) -> RuleId {
        ID
    }
    fn name(&self) -> &'static str {
        "vertex-defects"
    }
    fn severity(&self) -> Severity {
        Severity::W
    }
    fn scope(&self) -> Scope {
        Scope::Feature
    }
    fn describe(&self) -> (&'static str, &'static str) {
        (
            "重复节点、零长度线段、尖刺(容差1毫米)",
            "duplicate consecutive vertices, zero-length segments, spikes (1 mm snap)",
        )
    }
    fn codes(&self) -> &'static [SubCode] {
        &[
            SubCode {
                code: "W01",
                zh: "相邻重复节点",
                en: "duplicate consecutive vertices",
            },
            SubCode {
                code: "W02",
                zh: "零长度(短于容差)线段",
                en: "zero-length segments (not longer than the snap)",
            },
            SubCode {
                code: "W03",
                zh: "尖刺",
                en: "spikes",
            },
        ]
    }
    fn options(&self) -> &'static [Opt] {
        &[SNAP]
    }
    fn needs(&self) -> &'static str {
        "a layer with geometry (ZDJBXX, ZRZ)"
    }
    fn applies(&self, cx: &RuleContext<'_>) -> bool {
        cx.layers.iter().any(|l| l.spatial() && !l.is_empty())
    }
    fn check(
        &self,
        cx: &RuleContext<'_>,
        emit: &mut dyn FnMut(RuleFinding),
    ) -> Result<(), RuleError> {
        let snap = cx.opt_f64(ID, &SNAP);
        for (li, l) in cx.layers.iter().enumerate() {
            if !l.spatial() {
                continue;
            }
            let found: Vec<(usize, PerKind)> = (0..l.len())
                .into_par_iter()
                .with_min_len(512)
                .filter_map(|r| {
                    let g = l.geom(r)?;
                    if plainly_clean(g, snap) {
                        return None;
                    }
                    let d = vertex_defects(g, snap);
                    if d.is_empty() {
                        return None;
                    }
                    let mut k: PerKind = [(0, None, f64::INFINITY); 3];
                    for x in d {
                        let i = match x.kind {
                            VertexDefectKind::DuplicateVertex => 0,
                            VertexDefectKind::ZeroLengthSegment => 1,
                            VertexDefectKind::Spike => 2,
                        };
                        k[i].0 += 1;
                        k[i].1.get_or_insert((x.at.x, x.at.y));
                        k[i].2 = k[i].2.min(x.size);
                    }
                    Some((r, k))
                })
                .collect();
            for (r, k) in found {
                let what = [
                    ("W01", "相邻重复节点", "duplicate consecutive vertices"),
                    ("W02", "短于容差的线段", "segments not longer than the snap"),
                    ("W03", "尖刺", "spikes"),
                ];
                for ((n, at, size), (code, zh, en)) in k.into_iter().zip(what) {
                    if n == 0 {
                        continue;
                    }
                    let mut f = cx.at(
                        ID,
                        code,
                        li,
                        r,
                        format!("{zh}{n}处(最小{size:.4}米, 容差{snap}米)"),
                        format!("{n} {en} (smallest {size:.4} m, snap {snap} m)"),
                    );
                    if let Some((x, y)) = at {
                        f = f.xy(x, y);
                    }
                    emit(f.value(size, Some(snap)));
                }
            }
        }
        Ok(())
    }
}

/// A cheap, allocation-free proof that a geometry has no vertex defect: every segment longer
/// than the snap, and at every acute corner the nearer neighbour farther than the snap from the
/// line through the corner and the farther neighbour (cadastra-geom's spike definition).
/// `false` means: run the full check.
fn plainly_clean(g: &cadastra_model::Geom, snap: f64) -> bool {
    let s2 = snap * snap;
    g.0.iter().all(|p| {
        std::iter::once(p.exterior())
            .chain(p.interiors())
            .all(|ring| {
                let r = &ring.0;
                if r.len() < 4 || r.first() != r.last() {
                    return false;
                }
                let n = r.len() - 1;
                (0..n).all(|i| {
                    let (pv, v, nx) = (r[(i + n - 1) % n], r[i], r[i + 1]);
                    let (ax, ay, bx, by) = (pv.x - v.x, pv.y - v.y, nx.x - v.x, nx.y - v.y);
                    let (la, lb) = (ax * ax + ay * ay, bx * bx + by * by);
                    if lb <= s2 {
                        return false; // short segment (or duplicate vertex)
                    }
                    if ax * bx + ay * by <= 0.0 {
                        return true; // not acute: no spike here
                    }
                    // distance of the nearer neighbour from the line through v and the farther one
                    let (near, far, lfar) = if la <= lb {
                        ((ax, ay), (bx, by), lb)
                    } else {
                        ((bx, by), (ax, ay), la)
                    };
                    let cross = near.0 * far.1 - near.1 * far.0;
                    cross * cross / lfar > s2
                })
            })
    })
}

#[cfg(test)]
mod tests {
    use crate::testkit::*;

    #[test]
    fn defects_by_kind() {
        let l = layer("ZDJBXX", "laiwu")
            .row(&[("ZDDM", "CLEAN")], Some(rect(0.0, 0.0, 10.0, 10.0)))
            .row(
                &[("ZDDM", "DUP")],
                Some(poly(&[
                    (20.0, 0.0),
                    (30.0, 0.0),
                    (30.0, 0.0),
                    (30.0, 10.0),
                    (20.0, 10.0),
                ])),
            )
            .row(
                &[("ZDDM", "SHORT")],
                Some(poly(&[
                    (40.0, 0.0),
                    (50.0, 0.0),
                    (50.0005, 0.0),
                    (50.0, 10.0),
                    (40.0, 10.0),
                ])),
            );
        let f = check(&[l], "GEOM-03", &["GEOM-03-W01 DUP", "GEOM-03-W02 SHORT"]);
        assert_eq!((f[0].finding.x, f[0].finding.y), (Some(30.0), Some(0.0)));
        check_with(
            &[layer("ZDJBXX", "laiwu").row(
                &[("ZDDM", "SHORT")],
                Some(poly(&[
                    (40.0, 0.0),
                    (50.0, 0.0),
                    (50.0005, 0.0),
                    (50.0, 10.0),
                    (40.0, 10.0),
                ])),
            )],
            "[rules.\"GEOM-03\"]\nsnap = 0.0001",
            "GEOM-03",
            &[],
        );
    }

    /// The allocation-free pre-check never hides a defect the full check finds.
    #[test]
    fn plain_check_is_conservative() {
        use cadastra_geom::shape::vertex_defects;
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut rnd = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        let (mut clean, mut flagged) = (0, 0);
        for _ in 0..20_000 {
            let n = 3 + (rnd() * 5.0) as usize;
            let mut pts: Vec<(f64, f64)> = (0..n)
                .map(|k| {
                    let a = k as f64 / n as f64 * std::f64::consts::TAU;
                    (540_000.0 + 10.0 * a.cos(), 4_005_000.0 + 10.0 * a.sin())
                })
                .collect();
            // perturb: a vertex pulled next to its neighbour, or a spike
            let k = (rnd() * n as f64) as usize;
            match (rnd() * 4.0) as u32 {
                0 => pts[k] = (pts[(k + 1) % n].0 + rnd() * 0.002, pts[(k + 1) % n].1),
                1 => {
                    let (x, y) = pts[k];
                    pts.insert(k + 1, (x + 5.0, y + rnd() * 0.002));
                    pts.insert(k + 2, (x + rnd() * 0.002, y + rnd() * 0.002));
                }
                _ => {}
            }
            let g = poly(&pts);
            if super::plainly_clean(&g, 0.001) {
                clean += 1;
                assert!(vertex_defects(&g, 0.001).is_empty(), "{pts:?}");
            } else {
                flagged += 1;
            }
        }
        assert!(clean > 5_000 && flagged > 5_000, "{clean} {flagged}");
    }
}
