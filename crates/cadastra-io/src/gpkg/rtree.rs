//! Bulk loading of an SQLite R*-tree (the GeoPackage spatial index) by writing its shadow tables.
//!
//! SQLite inserts into an R*-tree one entry at a time (choose-leaf, split, reinsert): about 9 µs
//! per parcel here, most of a new registry's write time. Like GDAL's GeoPackage driver, cadastra
//! builds the tree itself after a bulk load: entries sorted along a Hilbert curve, packed into
//! full leaves, parents packed the same way up to the root, and written as the module stores them
//! (`<name>_node`: node blobs, `<name>_rowid`: leaf of each entry, `<name>_parent`: parent of each
//! node). The layout is SQLite's (ext/rtree/rtree.c): a node blob is a 2-byte depth (root only), a
//! 2-byte cell count, then cells of an 8-byte rowid or child node number and the four coordinates
//! as 32-bit floats (min rounded down, max rounded up), all big-endian; node 1 is the root; the
//! blob length is the node size the module computes for the file's page size.

use rusqlite::{params, Connection};

/// Bytes per cell of a 2-D R*-tree with 32-bit coordinates: rowid + 4 coordinates.
const CELL: usize = 8 + 4 * 4;
/// SQLite's cap on cells per node (RTREE_MAXCELLS).
const MAX_CELLS: usize = 51;

/// Node size the rtree module uses for a new table on a file with `page_size` bytes per page.
pub fn node_size(page_size: usize) -> usize {
    let n = page_size.saturating_sub(64);
    n.min(4 + CELL * MAX_CELLS)
}

// rtree.c's RNDTOWARDS / RNDAWAY: the module widens a box that a 32-bit float cannot hold
// exactly by scaling it by one part in 2^23, and so must the bulk loader
const RND_TOWARDS: f64 = 1.0 - 1.0 / 8_388_608.0;
const RND_AWAY: f64 = 1.0 + 1.0 / 8_388_608.0;

/// rtreeValueDown: a minimum as stored.
fn down(d: f64) -> f32 {
    let f = d as f32;
    if f64::from(f) > d {
        (d * if d < 0.0 { RND_AWAY } else { RND_TOWARDS }) as f32
    } else {
        f
    }
}

/// rtreeValueUp: a maximum as stored.
fn up(d: f64) -> f32 {
    let f = d as f32;
    if f64::from(f) < d {
        (d * if d < 0.0 { RND_TOWARDS } else { RND_AWAY }) as f32
    } else {
        f
    }
}

/// One cell: rowid or child node, and (min x, max x, min y, max y).
type Cell = (i64, [f32; 4]);

fn union(cells: &[Cell]) -> [f32; 4] {
    let mut b = cells[0].1;
    for (_, c) in &cells[1..] {
        b[0] = b[0].min(c[0]);
        b[1] = b[1].max(c[1]);
        b[2] = b[2].min(c[2]);
        b[3] = b[3].max(c[3]);
    }
    b
}

fn blob(size: usize, depth: Option<u16>, cells: &[Cell]) -> Vec<u8> {
    let mut b = vec![0u8; size];
    if let Some(d) = depth {
        b[0..2].copy_from_slice(&d.to_be_bytes());
    }
    b[2..4].copy_from_slice(&(cells.len() as u16).to_be_bytes());
    for (i, (id, c)) in cells.iter().enumerate() {
        let at = 4 + i * CELL;
        b[at..at + 8].copy_from_slice(&id.to_be_bytes());
        for (k, v) in c.iter().enumerate() {
            b[at + 8 + 4 * k..at + 12 + 4 * k].copy_from_slice(&v.to_bits().to_be_bytes());
        }
    }
    b
}

/// The shadow tables' rows of a packed tree: node blobs by node number, the leaf of each entry
/// by rowid, the parent of each non-root node by node number; each sorted by its key.
pub struct Packed {
    pub nodes: Vec<(i64, Vec<u8>)>,
    pub leaf_of: Vec<(i64, i64)>,
    pub parents: Vec<(i64, i64)>,
}

/// Pack `entries` (rowid and min x, max x, min y, max y; at least one), sorted here along a
/// Hilbert curve, into the nodes of an R*-tree for a file with `page_size` bytes per page.
pub fn pack(entries: &mut [(i64, [f64; 4])], page_size: usize) -> Packed {
    hilbert_sort(entries);
    let size = node_size(page_size);
    let per_node = ((size - 4) / CELL).clamp(2, MAX_CELLS);
    // levels from the leaves up; node numbers: root 1, then the rest in level order
    let mut level: Vec<Cell> = entries
        .iter()
        .map(|(id, [a, b, c, d])| (*id, [down(*a), up(*b), down(*c), up(*d)]))
        .collect();
    let mut levels: Vec<Vec<Vec<Cell>>> = Vec::new();
    loop {
        let nodes: Vec<Vec<Cell>> = level.chunks(per_node).map(<[Cell]>::to_vec).collect();
        let n = nodes.len();
        levels.push(nodes);
        if n == 1 {
            break;
        }
        // placeholders: the parents' cells get their child numbers once numbering is known
        level = levels
            .last()
            .expect("just pushed")
            .iter()
            .map(|cells| (0, union(cells)))
            .collect();
    }
    let depth = (levels.len() - 1) as u16;
    // number the nodes: root = 1, then top-down, level by level
    let mut numbers: Vec<Vec<i64>> = vec![Vec::new(); levels.len()];
    let mut next = 1i64;
    for (li, nodes) in levels.iter().enumerate().rev() {
        for _ in nodes {
            numbers[li].push(next);
            next += 1;
        }
    }
    let mut packed = Packed {
        nodes: Vec::with_capacity(next as usize),
        leaf_of: Vec::with_capacity(entries.len()),
        parents: Vec::with_capacity(next as usize),
    };
    for li in (0..levels.len()).rev() {
        for (ni, cells) in levels[li].iter().enumerate() {
            let no = numbers[li][ni];
            let mut cells = cells.clone();
            if li > 0 {
                // cell k of node ni at this level is child ni * per_node + k one level down
                for (k, c) in cells.iter_mut().enumerate() {
                    let child = numbers[li - 1][ni * per_node + k];
                    c.0 = child;
                    packed.parents.push((child, no));
                }
            } else {
                packed.leaf_of.extend(cells.iter().map(|(id, _)| (*id, no)));
            }
            let root = li == levels.len() - 1;
            packed
                .nodes
                .push((no, blob(size, root.then_some(depth), &cells)));
        }
    }
    packed.nodes.sort_unstable_by_key(|n| n.0);
    packed.parents.sort_unstable();
    packed.leaf_of.sort_unstable();
    packed
}

/// Replace the content of the (empty, just created) R*-tree `name` with `entries` (rowid and
/// min x, max x, min y, max y), which are sorted here along a Hilbert curve. Run inside the
/// transaction of the load. Each shadow table's rows go in in key order: appended to its b-tree.
pub fn bulk_load(
    conn: &Connection,
    name: &str,
    entries: &mut [(i64, [f64; 4])],
) -> rusqlite::Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let page_size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    let packed = pack(entries, page_size as usize);
    let q = |t: &str| format!("\"{}\"", format!("{name}_{t}").replace('"', "\"\""));
    conn.execute_batch(&format!(
        "DELETE FROM {n}; DELETE FROM {r}; DELETE FROM {p};",
        n = q("node"),
        r = q("rowid"),
        p = q("parent")
    ))?;
    let mut st = conn.prepare(&format!(
        "INSERT INTO {} (nodeno, data) VALUES (?1, ?2)",
        q("node")
    ))?;
    for (no, data) in &packed.nodes {
        st.execute(params![no, data])?;
    }
    let mut st = conn.prepare(&format!(
        "INSERT INTO {} (rowid, nodeno) VALUES (?1, ?2)",
        q("rowid")
    ))?;
    for (id, no) in &packed.leaf_of {
        st.execute(params![id, no])?;
    }
    let mut st = conn.prepare(&format!(
        "INSERT INTO {} (nodeno, parentnode) VALUES (?1, ?2)",
        q("parent")
    ))?;
    for (no, parent) in &packed.parents {
        st.execute(params![no, parent])?;
    }
    Ok(())
}

/// Sort boxes by the Hilbert index of their centres over their extent.
fn hilbert_sort(b: &mut [(i64, [f64; 4])]) {
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for (_, [a, c, d, e]) in b.iter() {
        x0 = x0.min((a + c) / 2.0);
        x1 = x1.max((a + c) / 2.0);
        y0 = y0.min((d + e) / 2.0);
        y1 = y1.max((d + e) / 2.0);
    }
    let (w, h) = ((x1 - x0).max(1e-9), (y1 - y0).max(1e-9));
    b.sort_by_cached_key(|(fid, [a, c, d, e])| {
        let key =
            cadastra_geom::hilbert::hilbert(((a + c) / 2.0 - x0) / w, ((d + e) / 2.0 - y0) / h);
        (key, *fid)
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boxes(n: usize, seed: u64) -> Vec<(i64, [f64; 4])> {
        let mut s = seed;
        let mut r = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s % 1_000_000) as f64 / 10.0
        };
        (0..n)
            .map(|i| {
                let (x, y) = (39_500_000.0 + r(), 4_000_000.0 + r());
                let (w, h) = (r() / 1000.0, r() / 1000.0);
                (i as i64 + 1, [x, x + w, y, y + h])
            })
            .collect()
    }

    fn tree(conn: &Connection) {
        conn.execute_batch("CREATE VIRTUAL TABLE rt USING rtree(id, minx, maxx, miny, maxy)")
            .unwrap();
    }

    fn check(conn: &Connection) {
        let ok: String = conn
            .query_row("SELECT rtreecheck('rt')", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok");
    }

    fn window(conn: &Connection, w: [f64; 4]) -> Vec<i64> {
        let mut st = conn
            .prepare("SELECT id FROM rt WHERE maxx >= ?1 AND minx <= ?2 AND maxy >= ?3 AND miny <= ?4 ORDER BY id")
            .unwrap();
        st.query_map(params![w[0], w[1], w[2], w[3]], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    fn stored(conn: &Connection) -> Vec<(i64, f64, f64)> {
        conn.prepare("SELECT id, minx, maxy FROM rt ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn a_bulk_loaded_tree_passes_sqlites_check_and_answers_as_an_inserted_one() {
        for n in [1usize, 2, 51, 52, 2_601, 2_652, 10_000] {
            let a = Connection::open_in_memory().unwrap();
            let b = Connection::open_in_memory().unwrap();
            tree(&a);
            tree(&b);
            let mut e = boxes(n, 7 + n as u64);
            for (id, [w, x, y, z]) in &e {
                b.execute(
                    "INSERT INTO rt VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![id, w, x, y, z],
                )
                .unwrap();
            }
            bulk_load(&a, "rt", &mut e).unwrap();
            check(&a);
            let count: i64 = a
                .query_row("SELECT count(*) FROM rt", [], |r| r.get(0))
                .unwrap();
            assert_eq!(count as usize, n);
            for w in boxes(20, 99) {
                let w = [w.1[0], w.1[0] + 5_000.0, w.1[2], w.1[2] + 5_000.0];
                assert_eq!(window(&a, w), window(&b, w), "n = {n}, window {w:?}");
            }
            // the stored boxes are SQLite's own: rounded outwards to 32-bit floats
            assert_eq!(stored(&a), stored(&b));
            // and the tree takes ordinary inserts and deletes afterwards
            a.execute(
                "INSERT INTO rt VALUES (?1, 1, 2, 3, 4)",
                params![n as i64 + 10],
            )
            .unwrap();
            a.execute("DELETE FROM rt WHERE id = 1", []).unwrap();
            check(&a);
        }
    }

    #[test]
    fn node_size_is_the_modules() {
        assert_eq!(node_size(4096), 4 + 24 * 51);
        assert_eq!(node_size(1024), 960);
    }
}
