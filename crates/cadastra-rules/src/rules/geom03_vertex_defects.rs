//! GEOM-03 vertex-defects: duplicate consecutive vertices, zero-length segments and spikes within
//! the snap distance (cadastra-geom `shape::vertex_defects`) — W, one finding per feature and kind,
//! located at the first defect, `value` = the number of defects.
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

/// Per defect kind: how many, and where the first one is.
type PerKind = [(usize, Option<(f64, f64)>); 3];
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
                    let d = vertex_defects(g, snap);
                    if d.is_empty() {
                        return None;
                    }
                    let mut k = [(0usize, None); 3];
                    for x in d {
                        let i = match x.kind {
                            VertexDefectKind::DuplicateVertex => 0,
                            VertexDefectKind::ZeroLengthSegment => 1,
                            VertexDefectKind::Spike => 2,
                        };
                        k[i].0 += 1;
                        k[i].1.get_or_insert((x.at.x, x.at.y));
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
                for ((n, at), (code, zh, en)) in k.into_iter().zip(what) {
                    if n == 0 {
                        continue;
                    }
                    let mut f = cx.at(
                        ID,
                        code,
                        li,
                        r,
                        format!("{zh}{n}处(容差{snap}米)"),
                        format!("{n} {en} (snap {snap} m)"),
                    );
                    if let Some((x, y)) = at {
                        f = f.xy(x, y);
                    }
                    emit(f.value(n as f64, Some(snap)));
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
}
