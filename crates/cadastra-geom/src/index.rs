//! `TopoIndex`: a bulk-loaded R-tree (rstar 0.12, the version geo uses) over feature envelopes,
//! and candidate pairs whose envelopes intersect.
//!
//! Candidate pairs come from a simultaneous descent of the tree against itself (a spatial
//! self-join), split into independent subtree tasks run by rayon; the result is sorted, so it is
//! identical whatever the number of threads.

use geo_types::{Coord, MultiPolygon, Polygon};
use rayon::prelude::*;
use rstar::{ParentNode, RTree, RTreeNode, RTreeObject, AABB};

/// An axis-aligned box `[min, max]` in layer coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Envelope {
    pub min: Coord,
    pub max: Coord,
}

impl Envelope {
    /// Box of a set of coordinates; `None` if there are none or any is not finite.
    pub fn of_coords<'a>(it: impl IntoIterator<Item = &'a Coord>) -> Option<Envelope> {
        let mut e: Option<Envelope> = None;
        for c in it {
            if !(c.x.is_finite() && c.y.is_finite()) {
                return None;
            }
            match &mut e {
                None => e = Some(Envelope { min: *c, max: *c }),
                Some(e) => {
                    e.min.x = e.min.x.min(c.x);
                    e.min.y = e.min.y.min(c.y);
                    e.max.x = e.max.x.max(c.x);
                    e.max.y = e.max.y.max(c.y);
                }
            }
        }
        e
    }

    /// Box of a polygon (its shell).
    pub fn of_polygon(p: &Polygon<f64>) -> Option<Envelope> {
        Envelope::of_coords(&p.exterior().0)
    }

    /// Box of a multipolygon (its shells).
    pub fn of_multipolygon(g: &MultiPolygon<f64>) -> Option<Envelope> {
        Envelope::of_coords(g.0.iter().flat_map(|p| p.exterior().0.iter()))
    }

    /// Do the closed boxes meet (touching counts)?
    pub fn intersects(&self, o: &Envelope) -> bool {
        self.min.x <= o.max.x
            && o.min.x <= self.max.x
            && self.min.y <= o.max.y
            && o.min.y <= self.max.y
    }

    /// Do the open boxes overlap (a common area, not just a touch)?
    pub fn overlaps_area(&self, o: &Envelope) -> bool {
        self.min.x < o.max.x && o.min.x < self.max.x && self.min.y < o.max.y && o.min.y < self.max.y
    }

    /// Does this box contain `o`?
    pub fn covers(&self, o: &Envelope) -> bool {
        o.min.x >= self.min.x
            && o.max.x <= self.max.x
            && o.min.y >= self.min.y
            && o.max.y <= self.max.y
    }

    /// Grow by `d` on every side.
    pub fn expand(&self, d: f64) -> Envelope {
        Envelope {
            min: Coord {
                x: self.min.x - d,
                y: self.min.y - d,
            },
            max: Coord {
                x: self.max.x + d,
                y: self.max.y + d,
            },
        }
    }

    fn aabb(&self) -> AABB<[f64; 2]> {
        AABB::from_corners([self.min.x, self.min.y], [self.max.x, self.max.y])
    }
}

#[derive(Debug, Clone, Copy)]
struct Item {
    env: AABB<[f64; 2]>,
    id: u32,
}

impl RTreeObject for Item {
    type Envelope = AABB<[f64; 2]>;
    fn envelope(&self) -> Self::Envelope {
        self.env
    }
}

fn aabb_meet(a: &AABB<[f64; 2]>, b: &AABB<[f64; 2]>) -> bool {
    let (al, au, bl, bu) = (a.lower(), a.upper(), b.lower(), b.upper());
    al[0] <= bu[0] && bl[0] <= au[0] && al[1] <= bu[1] && bl[1] <= au[1]
}

fn node_env(n: &RTreeNode<Item>) -> AABB<[f64; 2]> {
    match n {
        RTreeNode::Leaf(it) => it.env,
        RTreeNode::Parent(p) => p.envelope(),
    }
}

/// R-tree over the envelopes of a layer's features. Features without geometry (`None`), empty
/// ones and ones with non-finite coordinates are not indexed.
#[derive(Debug)]
pub struct TopoIndex {
    tree: RTree<Item>,
    envs: Vec<Option<Envelope>>,
}

impl TopoIndex {
    /// Index the features of a layer (index = position in the slice).
    pub fn new(geoms: &[Option<MultiPolygon<f64>>]) -> TopoIndex {
        let envs: Vec<Option<Envelope>> = geoms
            .par_iter()
            .map(|g| g.as_ref().and_then(Envelope::of_multipolygon))
            .collect();
        TopoIndex::from_envelopes(envs)
    }

    /// Index borrowed geometries.
    pub fn from_refs(geoms: &[&MultiPolygon<f64>]) -> TopoIndex {
        TopoIndex::from_envelopes(
            geoms
                .par_iter()
                .map(|g| Envelope::of_multipolygon(g))
                .collect(),
        )
    }

    /// Index precomputed envelopes.
    pub fn from_envelopes(envs: Vec<Option<Envelope>>) -> TopoIndex {
        let items: Vec<Item> = envs
            .iter()
            .enumerate()
            .filter_map(|(i, e)| {
                e.map(|e| Item {
                    env: e.aabb(),
                    id: i as u32,
                })
            })
            .collect();
        TopoIndex {
            tree: RTree::bulk_load(items),
            envs,
        }
    }

    /// Number of features (indexed or not).
    pub fn len(&self) -> usize {
        self.envs.len()
    }

    /// No features at all?
    pub fn is_empty(&self) -> bool {
        self.envs.is_empty()
    }

    /// Envelope of feature `i`, if it was indexed.
    pub fn envelope(&self, i: usize) -> Option<Envelope> {
        self.envs.get(i).copied().flatten()
    }

    /// Features whose envelope meets `env` (touching counts), ascending.
    pub fn query(&self, env: &Envelope) -> Vec<u32> {
        let mut v: Vec<u32> = self
            .tree
            .locate_in_envelope_intersecting(&env.aabb())
            .map(|it| it.id)
            .collect();
        v.sort_unstable();
        v
    }

    /// All pairs `(i, j)`, `i < j`, whose envelopes meet (touching counts), sorted.
    pub fn candidate_pairs(&self) -> Vec<(u32, u32)> {
        let root = self.tree.root();
        let mut tasks = Vec::new();
        plan_self(root, 2, &mut tasks);
        let mut pairs: Vec<(u32, u32)> = tasks
            .par_iter()
            .flat_map_iter(|t| {
                let mut out = Vec::new();
                match *t {
                    Task::SelfJoin(n) => self_join(n, &mut out),
                    Task::Cross(a, b) => cross(a, b, &mut out),
                }
                out
            })
            .collect();
        pairs.par_sort_unstable();
        pairs
    }

    /// All pairs `(i, j)` of a feature `i` of this index and `j` of `other` whose envelopes
    /// meet, sorted.
    pub fn pairs_with(&self, other: &TopoIndex) -> Vec<(u32, u32)> {
        let (ra, rb) = (self.tree.root(), other.tree.root());
        let mut tasks: Vec<(&RTreeNode<Item>, &RTreeNode<Item>)> = Vec::new();
        for a in ra.children() {
            for b in rb.children() {
                if aabb_meet(&node_env(a), &node_env(b)) {
                    tasks.push((a, b));
                }
            }
        }
        let mut pairs: Vec<(u32, u32)> = tasks
            .par_iter()
            .flat_map_iter(|(a, b)| {
                let mut out = Vec::new();
                cross_ordered(a, b, &mut out);
                out
            })
            .collect();
        pairs.par_sort_unstable();
        pairs
    }
}

enum Task<'a> {
    SelfJoin(&'a ParentNode<Item>),
    Cross(&'a RTreeNode<Item>, &'a RTreeNode<Item>),
}

/// Split the self-join of `node` into independent tasks, `depth` levels down.
fn plan_self<'a>(node: &'a ParentNode<Item>, depth: u32, tasks: &mut Vec<Task<'a>>) {
    if depth == 0 {
        tasks.push(Task::SelfJoin(node));
        return;
    }
    let ch = node.children();
    for (i, a) in ch.iter().enumerate() {
        if let RTreeNode::Parent(p) = a {
            plan_self(p, depth - 1, tasks);
        }
        let ea = node_env(a);
        for b in &ch[i + 1..] {
            if aabb_meet(&ea, &node_env(b)) {
                tasks.push(Task::Cross(a, b));
            }
        }
    }
}

fn self_join(node: &ParentNode<Item>, out: &mut Vec<(u32, u32)>) {
    let ch = node.children();
    for (i, a) in ch.iter().enumerate() {
        if let RTreeNode::Parent(p) = a {
            self_join(p, out);
        }
        let ea = node_env(a);
        for b in &ch[i + 1..] {
            if aabb_meet(&ea, &node_env(b)) {
                cross(a, b, out);
            }
        }
    }
}

/// Pairs between two disjoint subtrees of one tree, emitted as `(min, max)`.
fn cross(a: &RTreeNode<Item>, b: &RTreeNode<Item>, out: &mut Vec<(u32, u32)>) {
    match (a, b) {
        (RTreeNode::Leaf(x), RTreeNode::Leaf(y)) => out.push(if x.id < y.id {
            (x.id, y.id)
        } else {
            (y.id, x.id)
        }),
        (RTreeNode::Leaf(_), RTreeNode::Parent(p)) => {
            let ea = node_env(a);
            for c in p.children() {
                if aabb_meet(&ea, &node_env(c)) {
                    cross(a, c, out);
                }
            }
        }
        (RTreeNode::Parent(p), RTreeNode::Leaf(_)) => {
            let eb = node_env(b);
            for c in p.children() {
                if aabb_meet(&node_env(c), &eb) {
                    cross(c, b, out);
                }
            }
        }
        (RTreeNode::Parent(p), RTreeNode::Parent(q)) => {
            let eb = q.envelope();
            for c in p.children() {
                let ec = node_env(c);
                if !aabb_meet(&ec, &eb) {
                    continue;
                }
                for d in q.children() {
                    if aabb_meet(&ec, &node_env(d)) {
                        cross(c, d, out);
                    }
                }
            }
        }
    }
}

/// Pairs between subtrees of two different trees, emitted as `(a's id, b's id)`.
fn cross_ordered(a: &RTreeNode<Item>, b: &RTreeNode<Item>, out: &mut Vec<(u32, u32)>) {
    match (a, b) {
        (RTreeNode::Leaf(x), RTreeNode::Leaf(y)) => out.push((x.id, y.id)),
        (RTreeNode::Leaf(_), RTreeNode::Parent(p)) => {
            let ea = node_env(a);
            for c in p.children() {
                if aabb_meet(&ea, &node_env(c)) {
                    cross_ordered(a, c, out);
                }
            }
        }
        (RTreeNode::Parent(p), _) => {
            let eb = node_env(b);
            for c in p.children() {
                if aabb_meet(&node_env(c), &eb) {
                    cross_ordered(c, b, out);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn brute(envs: &[Option<Envelope>]) -> Vec<(u32, u32)> {
        let mut v = vec![];
        for i in 0..envs.len() {
            for j in i + 1..envs.len() {
                if let (Some(a), Some(b)) = (envs[i], envs[j]) {
                    if a.intersects(&b) {
                        v.push((i as u32, j as u32));
                    }
                }
            }
        }
        v
    }

    #[test]
    fn candidate_pairs_equal_brute_force() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for n in [0usize, 1, 2, 5, 50, 700, 3000] {
            let envs: Vec<Option<Envelope>> = (0..n)
                .map(|k| {
                    if k % 17 == 3 {
                        return None;
                    }
                    // integer corners so that touching boxes occur often
                    let x = rng.random_range(0..200) as f64;
                    let y = rng.random_range(0..200) as f64;
                    let w = rng.random_range(0..12) as f64;
                    let h = rng.random_range(0..12) as f64;
                    Some(Envelope {
                        min: Coord { x, y },
                        max: Coord { x: x + w, y: y + h },
                    })
                })
                .collect();
            let idx = TopoIndex::from_envelopes(envs.clone());
            assert_eq!(idx.candidate_pairs(), brute(&envs), "n = {n}");
            // cross-index pairs equal brute force too
            let other = TopoIndex::from_envelopes(envs.iter().rev().copied().collect());
            let mut expect = vec![];
            for i in 0..n {
                for j in 0..n {
                    if let (Some(a), Some(b)) = (envs[i], envs[n - 1 - j]) {
                        if a.intersects(&b) {
                            expect.push((i as u32, j as u32));
                        }
                    }
                }
            }
            assert_eq!(idx.pairs_with(&other), expect, "n = {n}");
            if n > 0 {
                let q = Envelope {
                    min: Coord { x: 50.0, y: 50.0 },
                    max: Coord { x: 60.0, y: 60.0 },
                };
                let want: Vec<u32> = (0..n as u32)
                    .filter(|&i| envs[i as usize].is_some_and(|e| e.intersects(&q)))
                    .collect();
                assert_eq!(idx.query(&q), want);
            }
        }
    }
}
