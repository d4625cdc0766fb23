//! Parcel geometry of one 地籍子区: rows of quadrilateral-ish parcels whose shared vertices are
//! one stored coordinate (so neighbours are bit-identical), jittered to look surveyed, snapped
//! to the millimetre, plus the geometric defect edits (pushed vertex, pulled-back edge, bow-tie).

use crate::plan::{mix, Defect, Role, Subzone};
use geo_types::Coord;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Snap to the millimetre (the precision surveyed coordinates carry).
pub fn snap(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

fn snap_c(c: Coord<f64>) -> Coord<f64> {
    Coord {
        x: snap(c.x),
        y: snap(c.y),
    }
}

/// One parcel's geometry.
#[derive(Debug, Clone)]
pub struct ParcelGeom {
    /// counter-clockwise open ring of the clean coverage
    pub clean: Vec<Coord<f64>>,
    /// the ring as delivered (after geometric defects); counter-clockwise, open
    pub drawn: Vec<Coord<f64>>,
    /// index of the bottom-right and top-right corners in `clean`
    pub i_br: usize,
    pub i_tr: usize,
    pub right_mid: bool,
    /// box strictly inside the parcel where buildings may stand (x0, y0, x1, y1)
    pub inner: Option<[f64; 4]>,
}

/// A sub-zone's coverage and its deliberate T-junctions (parcel, lower-left, lower-right).
#[derive(Debug, Clone)]
pub struct CoverageOut {
    pub parcels: Vec<ParcelGeom>,
    pub tjunctions: Vec<(usize, usize, usize)>,
}

/// Distance kept between buildings and their parcel's edges.
pub fn margin(scale: f64) -> f64 {
    (1.5 * scale).max(1.2)
}

/// Build the coverage of `sz` (a pure function of the plan).
pub fn coverage(sz: &Subzone) -> CoverageOut {
    let mut rng = ChaCha8Rng::seed_from_u64(mix(sz.seed, 1));
    let [x0, y0, x1, y1] = sz.rect;
    let nr = sz.rows.len();
    let h = (y1 - y0) / nr as f64;
    let mut yb = vec![y0; nr + 1];
    for (j, y) in yb.iter_mut().enumerate().skip(1) {
        *y = y0 + h * j as f64 + rng.random_range(-0.12..0.12) * h;
    }
    yb[nr] = y1;
    let w = x1 - x0;
    // column boundaries per row: bottom x (a) and top x (b), i = 0..=n
    let mut a: Vec<Vec<f64>> = Vec::with_capacity(nr);
    let mut b: Vec<Vec<f64>> = Vec::with_capacity(nr);
    for r in 0..nr {
        let n = sz.rows[r] as usize;
        let weights: Vec<f64> = (0..n).map(|_| rng.random_range(0.75..1.25)).collect();
        let total: f64 = weights.iter().sum();
        let mean = w / n as f64;
        let mut ar = vec![x0; n + 1];
        let mut br = vec![x0; n + 1];
        let mut acc = 0.0;
        for i in 1..n {
            acc += weights[i - 1];
            let base = x0 + w * acc / total;
            ar[i] = base + rng.random_range(-0.12..0.12) * mean;
            br[i] = base + rng.random_range(-0.12..0.12) * mean;
        }
        ar[n] = x1;
        br[n] = x1;
        // keep bottom ends away from the top ends of the row below (no near-duplicate vertices)
        if r > 0 {
            let below = &b[r - 1];
            for v in ar.iter_mut().take(n).skip(1) {
                for _ in 0..4 {
                    if below[1..below.len() - 1]
                        .iter()
                        .any(|t| (t - *v).abs() < 0.6)
                    {
                        *v += 0.7;
                    }
                }
            }
        }
        a.push(ar);
        b.push(br);
    }
    // vertices on each row boundary, sorted by x
    let mut verts: Vec<Coord<f64>> = Vec::new();
    let mut line: Vec<Vec<usize>> = Vec::with_capacity(nr + 1); // vertex ids per boundary
    let mut pos_a: Vec<Vec<usize>> = vec![Vec::new(); nr]; // index in line[r] of a[r][i]
    let mut pos_b: Vec<Vec<usize>> = vec![Vec::new(); nr]; // index in line[r+1] of b[r][i]
    for j in 0..=nr {
        // (x, tag): tag 0 = corner, 1 = a of row j (index), 2 = b of row j-1 (index)
        let mut pts: Vec<(f64, u8, usize)> = vec![(x0, 0, 0), (x1, 0, 1)];
        if j < nr {
            for (i, &x) in a[j].iter().enumerate().take(a[j].len() - 1).skip(1) {
                pts.push((x, 1, i));
            }
        }
        if j > 0 {
            for (i, &x) in b[j - 1].iter().enumerate().take(b[j - 1].len() - 1).skip(1) {
                pts.push((x, 2, i));
            }
        }
        pts.sort_by(|p, q| p.0.total_cmp(&q.0));
        let interior = j > 0 && j < nr;
        let mut ids = Vec::with_capacity(pts.len());
        if j < nr {
            pos_a[j] = vec![0; a[j].len()];
        }
        if j > 0 {
            pos_b[j - 1] = vec![0; b[j - 1].len()];
        }
        for (k, &(x, tag, i)) in pts.iter().enumerate() {
            let dy = if interior {
                rng.random_range(-0.25..0.25)
            } else {
                0.0
            };
            verts.push(Coord { x, y: yb[j] + dy });
            ids.push(verts.len() - 1);
            let last = pts.len() - 1;
            match tag {
                0 => {
                    let idx = if i == 0 { 0 } else { last };
                    if j < nr {
                        let n = a[j].len() - 1;
                        pos_a[j][if i == 0 { 0 } else { n }] = idx;
                    }
                    if j > 0 {
                        let n = b[j - 1].len() - 1;
                        pos_b[j - 1][if i == 0 { 0 } else { n }] = idx;
                    }
                }
                1 => pos_a[j][i] = k,
                _ => pos_b[j - 1][i] = k,
            }
        }
        line.push(ids);
    }
    // middle vertices on interior column boundaries (bent boundaries)
    let mut mids: Vec<Vec<Option<usize>>> = Vec::with_capacity(nr);
    for r in 0..nr {
        let n = sz.rows[r] as usize;
        let start = sz.row_start(r);
        let mut m = vec![None; n + 1];
        for (i, slot) in m.iter_mut().enumerate().take(n).skip(1) {
            let u: f64 = rng.random();
            let dx: f64 = rng.random_range(-0.3..0.3);
            let left = sz.roles[start + i - 1];
            let forced = left == Role::Defect(Defect::Topo01);
            let banned = matches!(
                left,
                Role::Defect(Defect::Topo02) | Role::Defect(Defect::Topo04)
            );
            if forced || (!banned && u < 0.5) {
                let vb = verts[line[r][pos_a[r][i]]];
                let vt = verts[line[r + 1][pos_b[r][i]]];
                verts.push(Coord {
                    x: (vb.x + vt.x) / 2.0 + dx,
                    y: (vb.y + vt.y) / 2.0,
                });
                *slot = Some(verts.len() - 1);
            }
        }
        mids.push(m);
    }
    // a deliberate T-junction now and then: a lower corner left out of the parcel above
    let mut tjunctions = Vec::new();
    let mut skip: Option<(usize, usize)> = None; // (parcel, vertex id)
    let want_t: f64 = rng.random();
    if want_t < 0.3 && nr >= 2 {
        let j = rng.random_range(1..nr);
        let lower = &b[j - 1];
        if lower.len() > 2 {
            let k = rng.random_range(1..lower.len() - 1);
            let p = pos_b[j - 1][k];
            let ids = &line[j];
            // the parcel of row j whose bottom edge holds this vertex
            let xv = verts[ids[p]].x;
            let i = (0..sz.rows[j] as usize).find(|&i| a[j][i] < xv && xv < a[j][i + 1]);
            if let Some(i) = i {
                let up = sz.row_start(j) + i;
                let ll = sz.row_start(j - 1) + k - 1;
                let lr = ll + 1;
                let clean = [up, ll, lr].iter().all(|&q| sz.roles[q] == Role::Clean);
                if clean && p > 0 && p + 1 < ids.len() {
                    let (u, v, w) = (verts[ids[p - 1]], verts[ids[p]], verts[ids[p + 1]]);
                    let t = (v.x - u.x) / (w.x - u.x);
                    verts[ids[p]].y = u.y + t * (w.y - u.y);
                    skip = Some((up, ids[p]));
                    tjunctions.push((up, ll, lr));
                }
            }
        }
    }
    for v in &mut verts {
        *v = snap_c(*v);
    }
    let m = margin(sz.scale);
    let mut parcels = Vec::with_capacity(sz.parcels());
    for r in 0..nr {
        let n = sz.rows[r] as usize;
        for i in 0..n {
            let idx = sz.row_start(r) + i;
            let mut ring = Vec::with_capacity(8);
            let bottom = &line[r][pos_a[r][i]..=pos_a[r][i + 1]];
            for &v in bottom {
                if skip != Some((idx, v)) {
                    ring.push(verts[v]);
                }
            }
            let i_br = ring.len() - 1;
            let right_mid = mids[r][i + 1].is_some();
            if let Some(v) = mids[r][i + 1] {
                ring.push(verts[v]);
            }
            let i_tr = ring.len();
            let top = &line[r + 1][pos_b[r][i]..=pos_b[r][i + 1]];
            for &v in top.iter().rev() {
                ring.push(verts[v]);
            }
            if let Some(v) = mids[r][i] {
                ring.push(verts[v]);
            }
            let tl = i_tr + top.len() - 1;
            let left_x = ring[0]
                .x
                .max(ring[tl].x)
                .max(mids[r][i].map_or(f64::MIN, |v| verts[v].x));
            let right_x = ring[i_br]
                .x
                .min(ring[i_tr].x)
                .min(mids[r][i + 1].map_or(f64::MAX, |v| verts[v].x));
            let bottom_y = ring[..=i_br].iter().map(|c| c.y).fold(f64::MIN, f64::max);
            let top_y = ring[i_tr..=tl].iter().map(|c| c.y).fold(f64::MAX, f64::min);
            let inner = [left_x + m, bottom_y + m, right_x - m, top_y - m];
            let inner = (inner[2] - inner[0] >= 3.0 && inner[3] - inner[1] >= 3.0).then_some(inner);
            parcels.push(ParcelGeom {
                drawn: ring.clone(),
                clean: ring,
                i_br,
                i_tr,
                right_mid,
                inner,
            });
        }
    }
    CoverageOut {
        parcels,
        tjunctions,
    }
}

fn outward(from: Coord<f64>, to: Coord<f64>) -> (Coord<f64>, f64) {
    let d = to - from;
    let len = (d.x * d.x + d.y * d.y).sqrt();
    (
        Coord {
            x: d.y / len,
            y: -d.x / len,
        },
        len,
    )
}

/// TOPO-01: push the shared middle vertex of the right edge into the right neighbour so that
/// the overlap is `area` m². Returns the overlap area as drawn.
pub fn push_right_mid(p: &mut ParcelGeom, area: f64) -> f64 {
    let (br, tr) = (p.clean[p.i_br], p.clean[p.i_tr]);
    let (n, len) = outward(br, tr);
    let d = 2.0 * area / len;
    let m = p.drawn[p.i_br + 1];
    p.drawn[p.i_br + 1] = snap_c(Coord {
        x: m.x + n.x * d,
        y: m.y + n.y * d,
    });
    tri_area(br, m, tr) - tri_area(br, p.drawn[p.i_br + 1], tr)
}

fn tri_area(a: Coord<f64>, b: Coord<f64>, c: Coord<f64>) -> f64 {
    // signed: positive when b lies left of a->c
    ((c.x - a.x) * (b.y - a.y) - (b.x - a.x) * (c.y - a.y)) / 2.0
}

/// TOPO-02: pull the middle of the right edge back into the parcel by `g` metres.
pub fn pull_right_edge(p: &mut ParcelGeom, g: f64) {
    let (br, tr) = (p.clean[p.i_br], p.clean[p.i_tr]);
    let (n, _) = outward(br, tr);
    let at = |t: f64| {
        snap_c(Coord {
            x: br.x + t * (tr.x - br.x) - n.x * g,
            y: br.y + t * (tr.y - br.y) - n.y * g,
        })
    };
    let ins = [at(0.2), at(0.8)];
    p.drawn.splice(p.i_br + 1..p.i_br + 1, ins);
}

/// GEOM-01: a small bow-tie on the bottom edge (a parcel of the bottom row, facing the road),
/// sticking `h` metres out; the ring's signed area stays that of the clean parcel.
pub fn bowtie_bottom(p: &mut ParcelGeom, h: f64) {
    let (bl, br) = (p.clean[0], p.clean[1]);
    let (n, _) = outward(bl, br);
    let at = |t: f64, k: f64| {
        snap_c(Coord {
            x: bl.x + t * (br.x - bl.x) + n.x * k,
            y: bl.y + t * (br.y - bl.y) + n.y * k,
        })
    };
    let ins = [at(0.4, 0.0), at(0.6, h), at(0.4, h), at(0.6, 0.0)];
    p.drawn.splice(1..1, ins);
}

/// Signed area of an open ring (positive = counter-clockwise).
pub fn ring_area(r: &[Coord<f64>]) -> f64 {
    let n = r.len();
    if n < 3 {
        return 0.0;
    }
    let (ox, oy) = (r[0].x, r[0].y);
    let mut s = 0.0;
    for i in 0..n {
        let a = r[i];
        let b = r[(i + 1) % n];
        s += (a.x - ox) * (b.y - oy) - (b.x - ox) * (a.y - oy);
    }
    s / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::plan;
    use geo::{Area, BooleanOps, Validation};
    use geo_types::{LineString, MultiPolygon, Polygon};

    fn poly(r: &[Coord<f64>]) -> Polygon<f64> {
        Polygon::new(LineString::from(r.to_vec()), vec![])
    }

    #[test]
    fn clean_coverage_is_exact_and_valid() {
        let p = plan(3000, 2019).unwrap();
        let mut tj = 0;
        for sz in p.laiwu.iter().chain(&p.gangcheng) {
            let cov = coverage(sz);
            assert_eq!(cov.parcels.len(), sz.parcels());
            tj += cov.tjunctions.len();
            let mut sum = 0.0;
            for (i, pg) in cov.parcels.iter().enumerate() {
                let a = ring_area(&pg.clean);
                assert!(a > 10.0, "parcel {i} area {a}");
                assert!(poly(&pg.clean).is_valid(), "parcel {i} of {}", sz.djzqdm());
                sum += a;
            }
            let rect = (sz.rect[2] - sz.rect[0]) * (sz.rect[3] - sz.rect[1]);
            // T-junction vertices snapped to the millimetre leave sub-square-centimetre slivers
            assert!(
                (sum - rect).abs() < 0.01,
                "{}: {sum} vs {rect}",
                sz.djzqdm()
            );
            // exact union check on one sub-zone per kind is enough (slow)
            if sz.djzq == 1 {
                let mp: MultiPolygon<f64> = cov
                    .parcels
                    .iter()
                    .fold(MultiPolygon::new(vec![]), |acc, pg| {
                        acc.union(&MultiPolygon::new(vec![poly(&pg.clean)]))
                    });
                assert!((mp.unsigned_area() - rect).abs() < 0.01);
            }
        }
        assert!(tj >= 1, "no T-junction in the default world");
    }

    #[test]
    fn defect_edits_do_what_they_say() {
        let p = plan(3000, 2019).unwrap();
        let sz = &p.laiwu[0];
        let cov = coverage(sz);
        let i = (0..cov.parcels.len())
            .find(|&i| cov.parcels[i].right_mid)
            .unwrap();
        let mut a = cov.parcels[i].clone();
        let ov = push_right_mid(&mut a, 1.5);
        assert!((ov - 1.5).abs() < 0.05, "{ov}");
        let b = &cov.parcels[i + 1];
        let inter = MultiPolygon::new(vec![poly(&a.drawn)])
            .intersection(&MultiPolygon::new(vec![poly(&b.clean)]));
        assert!((inter.unsigned_area() - ov).abs() < 0.01);
        let mut g = cov.parcels[0].clone();
        bowtie_bottom(&mut g, 0.5);
        assert!(!poly(&g.drawn).is_valid());
        assert!((ring_area(&g.drawn) - ring_area(&g.clean)).abs() < 1e-6);
        let mut t = cov.parcels[0].clone();
        pull_right_edge(&mut t, 0.5);
        assert!(poly(&t.drawn).is_valid());
        assert!(ring_area(&t.drawn) < ring_area(&t.clean) - 0.5);
    }
}
