//! Bulk build of a new registry's tables: rows written as SQLite table b-tree pages, straight into
//! the file, by every core.
//!
//! Inserting through SQLite costs about 2.7 µs per parcel row on one core (binding, the virtual
//! machine, the b-tree), most of a first load's write. A new registry's tables are empty and
//! their rows come with their fids (1, 2, … in change order), so their b-trees can be written as
//! SQLite itself would lay out an append: leaves packed in rowid order, then the interior levels,
//! the top level in the table's root page. The layout is SQLite's file format
//! (<https://www.sqlite.org/fileformat2.html>, §1.6 b-tree pages, §2.1 records):
//! - records: a header of varint serial types (NULL for the `fid` column, the rowid alias), then
//!   the values, integers in the fewest bytes, reals as 64-bit big-endian floats;
//! - a leaf cell holds the payload size, the rowid and the payload, spilling what exceeds the
//!   local maximum into a chain of overflow pages;
//! - an interior cell holds a child page and the largest rowid under it, the last child is the
//!   page's right-most pointer.
//!
//! A table's R-tree is packed from the rows' boxes (`rtree::pack`) and its shadow tables written
//! the same way, and its text indexes are sorted and written as index b-trees (a b-tree proper:
//! the entry that does not fit in a page goes up as the divider), both while the table pages
//! are synced to the disk in the background.
//!
//! Chunks of rows are encoded into pages by every core at once; each chunk takes its page
//! numbers in chunk order (a ticket) and is written at its place with a positional write, so the
//! file is the same whatever the number of threads. The caller closes its connection first and
//! opens the file again after: SQLite then sees a bigger database whose tables have rows, and
//! `PRAGMA integrity_check` finds it sound (tested). Tables this module does not take (a value
//! SQLite would convert on insert, a column of an unexpected kind, fewer than
//! [`MIN_ROWS`] rows) are inserted through SQLite as before.

use crate::registry::RegistryError;
use crate::wkb;
use cadastra_model::{Column, FieldType, GeometryType, Rows, TableDef};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

/// Tables with fewer rows go through SQLite: a table of 1,000 rows or more never fits in its root
/// page, so the top level written into the root page is always an interior page and no page is
/// left unused.
pub(super) const MIN_ROWS: usize = 1000;
/// Rows per chunk (one unit of work, encoded into pages by one core).
const CHUNK_ROWS: usize = 8192;

/// The file's geometry, from its header.
#[derive(Clone, Copy)]
struct Layout {
    page: usize,
    usable: usize,
    /// SQLite's lock-byte page, the one holding byte 2^30 of the file: never used for data
    lock: u32,
}

/// The page holding byte 2^30 (SQLite's `PENDING_BYTE`) of a file with `page` bytes per page.
pub(super) fn lock_page(page: usize) -> u32 {
    (0x4000_0000 / page) as u32 + 1
}

impl Layout {
    /// Page number of the `rel`-th page of a run of pages starting at `base`, stepping over the
    /// lock-byte page; `at(base, n)` is the first page after a run of `n`.
    fn at(&self, base: u32, rel: u32) -> u32 {
        let p = base + rel;
        if base <= self.lock && p >= self.lock {
            p + 1
        } else {
            p
        }
    }

    /// Write a run of pages starting at page `base`, around the lock-byte page.
    fn write_run(&self, file: &std::fs::File, base: u32, buf: &[u8]) -> std::io::Result<()> {
        let n = (buf.len() / self.page) as u32;
        let split = if base <= self.lock && self.lock < base + n {
            (self.lock - base) as usize * self.page
        } else {
            buf.len()
        };
        file.write_all_at(&buf[..split], (base as u64 - 1) * self.page as u64)?;
        if split < buf.len() {
            file.write_all_at(&buf[split..], self.lock as u64 * self.page as u64)?;
        }
        Ok(())
    }
}

/// One table to build: its definition, root page, and row sets in fid order.
pub(super) struct TableLoad<'a> {
    pub def: &'a TableDef,
    pub root: u32,
    pub parts: Vec<&'a Rows>,
    /// indexes created on the empty table, to be filled here
    pub indexes: Vec<IndexLoad>,
    /// the root pages of the R-tree's shadow tables, when the R-tree is built here
    pub rtree: Option<RtreeLoad>,
}

/// Root pages of a GeoPackage R-tree's shadow tables (`<rtree>_node`, `_rowid`, `_parent`), as
/// created with the virtual table: the tree packed from the rows' boxes replaces their content
/// (the empty root node SQLite put in `_node`, one cell of the root page, is overwritten).
pub(super) struct RtreeLoad {
    pub node: u32,
    pub rowid: u32,
    pub parent: u32,
}

/// An index to fill: created (empty) by SQLite, on one or two text columns.
pub(super) struct IndexLoad {
    pub name: String,
    pub unique: bool,
    /// field numbers of the columns
    pub columns: Vec<usize>,
    pub root: u32,
}

/// Whether an index on `columns` (field numbers) of `parts` can be filled here: one or two
/// columns, text in every row set.
pub(super) fn takes_index(parts: &[&Rows], columns: &[usize]) -> bool {
    (1..=2).contains(&columns.len())
        && parts.iter().all(|r| {
            columns
                .iter()
                .all(|&c| matches!(r.columns.get(c), Some(Column::Text(_))))
        })
}

impl TableLoad<'_> {
    pub fn rows(&self) -> usize {
        self.parts.iter().map(|r| r.len()).sum()
    }
}

/// Whether `rows` of `def` can be written here with the values SQLite would store: every column
/// of the kind its declared type gives, and no text in a `DATE` column (NUMERIC affinity) that
/// SQLite would turn into a number.
pub(super) fn takes(def: &TableDef, rows: &Rows) -> bool {
    if rows.columns.len() != def.fields.len()
        || (def.geometry.is_some() && rows.geoms.len() != rows.len())
    {
        return false;
    }
    def.fields
        .iter()
        .zip(&rows.columns)
        .all(|(f, c)| match (f.ty, c) {
            (FieldType::Text, Column::Text(_)) => true,
            (FieldType::Date, Column::Text(c)) => c.iter().flatten().all(|s| !numeric_like(s)),
            (FieldType::Int, Column::Int(_)) | (FieldType::Real, Column::Real(_)) => true,
            _ => false,
        })
}

/// Texts NUMERIC affinity turns into numbers (SQLite's `sqlite3AtoF` grammar, a little wider):
/// blanks, a sign, digits with at most one point and at least one digit, an exponent, blanks.
fn numeric_like(s: &str) -> bool {
    let b = s
        .trim_matches(|c: char| matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r'))
        .as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let digits = |i: &mut usize| {
        let s = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - s
    };
    let mut n = digits(&mut i);
    if b.get(i) == Some(&b'.') {
        i += 1;
        n += digits(&mut i);
    }
    if n == 0 {
        return false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

fn io_err(path: &Path, message: String) -> RegistryError {
    RegistryError::Path {
        path: path.display().to_string(),
        message,
    }
}

/// Read the header of the file at `path` (closed by SQLite): page size and usable size, refusing
/// what this writer does not handle (not UTF-8, auto-vacuum, a free list).
fn layout(file: &std::fs::File, path: &Path) -> Result<(Layout, [u8; 100]), RegistryError> {
    let mut h = [0u8; 100];
    file.read_exact_at(&mut h, 0)
        .map_err(|e| io_err(path, format!("cannot read the header: {e}")))?;
    let page = match u16::from_be_bytes([h[16], h[17]]) {
        1 => 65536,
        p => p as usize,
    };
    let reserved = h[20] as usize;
    let be32 = |at: usize| u32::from_be_bytes([h[at], h[at + 1], h[at + 2], h[at + 3]]);
    if &h[..16] != b"SQLite format 3\0"
        || !(512..=65536).contains(&page)
        || be32(56) != 1
        || be32(52) != 0
        || be32(36) != 0
    {
        return Err(io_err(
            path,
            "unexpected SQLite header for a bulk build (encoding, auto-vacuum or free pages)"
                .into(),
        ));
    }
    Ok((
        Layout {
            page,
            usable: page - reserved,
            lock: lock_page(page),
        },
        h,
    ))
}

/// Write the rows of `tables` into the file at `path` (no connection open on it) and return the
/// bounding box of every geometry by fid, per table.
pub(super) fn write(
    path: &Path,
    srs_id: i32,
    tables: &[TableLoad<'_>],
    threads: usize,
    lock: Option<u32>,
) -> Result<super::side::Boxes, RegistryError> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| io_err(path, e.to_string()))?;
    let (mut lay, mut header) = layout(&file, path)?;
    // tests move the lock-byte page where a small file reaches it
    if let Some(l) = lock {
        lay.lock = l;
    }
    let pages_now = (file
        .metadata()
        .map_err(|e| io_err(path, e.to_string()))?
        .len()
        / lay.page as u64) as u32;

    // the chunks, in table order then fid order
    let mut chunks = Vec::new();
    for (t, load) in tables.iter().enumerate() {
        let mut fid = 1i64;
        for (p, rows) in load.parts.iter().enumerate() {
            let mut at = 0;
            while at < rows.len() {
                let end = (at + CHUNK_ROWS).min(rows.len());
                chunks.push(Chunk {
                    table: t,
                    part: p,
                    rows: at..end,
                    fid,
                });
                fid += (end - at) as i64;
                at = end;
            }
        }
    }

    let next = AtomicUsize::new(0);
    let turn = Mutex::new(Turn {
        chunk: 0,
        page: pages_now + 1,
        error: None,
    });
    let turned = Condvar::new();
    let results: Mutex<Vec<Option<Built>>> = Mutex::new((0..chunks.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                let mut enc = Encoder::new(lay, srs_id);
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(c) = chunks.get(i) else { break };
                    let load = &tables[c.table];
                    let mut built = enc.chunk(load.def, load.parts[c.part], c.rows.clone(), c.fid);
                    let base = {
                        let mut g = turn.lock().unwrap_or_else(|e| e.into_inner());
                        while g.chunk != i {
                            g = turned.wait(g).unwrap_or_else(|e| e.into_inner());
                        }
                        let base = g.page;
                        g.page = lay.at(base, built.pages);
                        g.chunk += 1;
                        turned.notify_all();
                        base
                    };
                    enc.place(base);
                    for l in &mut built.leaves {
                        l.0 = lay.at(base, l.0);
                    }
                    if let Err(e) =
                        lay.write_run(&file, base, &enc.buf[..built.pages as usize * lay.page])
                    {
                        let mut g = turn.lock().unwrap_or_else(|e| e.into_inner());
                        g.error.get_or_insert(e.to_string());
                    }
                    results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(built);
                }
            });
        }
    });
    let Turn {
        page: mut next_page,
        error,
        ..
    } = turn.into_inner().unwrap_or_else(|e| e.into_inner());
    if let Some(e) = error {
        return Err(io_err(path, format!("bulk write: {e}")));
    }
    let results = results.into_inner().unwrap_or_else(|e| e.into_inner());

    // per table: its leaves in order, the interior levels above them, the top in the root page
    let mut boxes = super::side::Boxes::new();
    let mut built = results.into_iter().zip(&chunks).peekable();
    let mut table_leaves = Vec::with_capacity(tables.len());
    for (t, load) in tables.iter().enumerate() {
        let mut leaves = Vec::new();
        let mut b = Vec::new();
        while let Some((r, _)) = built.next_if(|(_, c)| c.table == t) {
            let r = r.ok_or_else(|| io_err(path, "a chunk was not built".into()))?;
            leaves.extend(r.leaves);
            b.extend(r.boxes);
        }
        if load.def.geometry.is_some() {
            boxes.insert(load.def.name.clone(), b);
        }
        if leaves.len() < 2 {
            // MIN_ROWS rows never fit in one leaf; a root leaf would leave a page unused
            return Err(io_err(
                path,
                format!("{}: too few rows for a bulk build", load.def.name),
            ));
        }
        table_leaves.push(leaves);
    }

    std::thread::scope(|s| {
        // the table pages start on their way to the disk while the rest is built: the sync
        // before the rename then has less left to write
        let early = s.spawn(|| file.sync_data());
        // the R-trees packed while the index entries are sorted
        let (packed, entries) = rayon::join(
            || {
                tables
                    .iter()
                    .map(|load| {
                        let b = boxes.get_mut(&load.def.name)?;
                        (load.rtree.is_some() && !b.is_empty())
                            .then(|| super::rtree::pack(b, lay.page))
                    })
                    .collect::<Vec<_>>()
            },
            || {
                tables
                    .iter()
                    .map(|load| {
                        load.indexes
                            .iter()
                            .map(|ix| index_entries(path, load, ix))
                            .collect::<Result<Vec<_>, _>>()
                    })
                    .collect::<Result<Vec<_>, _>>()
            },
        );
        let entries = entries?;
        for (((load, leaves), packed), entries) in
            tables.iter().zip(table_leaves).zip(packed).zip(entries)
        {
            write_levels(&file, path, lay, load.root, leaves, &mut next_page)?;
            if let (Some(rt), Some(p)) = (&load.rtree, packed) {
                let node = p.nodes.iter().map(|(no, data)| (*no, Plain::Blob(data)));
                write_plain(&file, path, lay, rt.node, node, &mut next_page)?;
                let leaf_of = p.leaf_of.iter().map(|(id, no)| (*id, Plain::Int(*no)));
                write_plain(&file, path, lay, rt.rowid, leaf_of, &mut next_page)?;
                let parents = p.parents.iter().map(|(no, p)| (*no, Plain::Int(*p)));
                write_plain(&file, path, lay, rt.parent, parents, &mut next_page)?;
            }
            for (ix, e) in load.indexes.iter().zip(entries) {
                write_index(&file, path, lay, ix, &e, &mut next_page)?;
            }
        }
        // an early sync that failed is the final sync's to report
        let _ = early.join();
        Ok::<_, RegistryError>(())
    })?;

    // the header: database size in pages, valid for the new change counter
    let counter = u32::from_be_bytes(header[24..28].try_into().unwrap()).wrapping_add(1);
    header[24..28].copy_from_slice(&counter.to_be_bytes());
    header[28..32].copy_from_slice(&(next_page - 1).to_be_bytes());
    header[92..96].copy_from_slice(&counter.to_be_bytes());
    file.write_all_at(&header, 0)
        .map_err(|e| io_err(path, e.to_string()))?;
    Ok(boxes)
}

/// The interior levels of a table b-tree over `leaves` (at least two, with their largest
/// rowids): pages from `next_page` on, the top level in the root page.
fn write_levels(
    file: &std::fs::File,
    path: &Path,
    lay: Layout,
    root: u32,
    leaves: Vec<(u32, i64)>,
    next_page: &mut u32,
) -> Result<(), RegistryError> {
    let mut level = leaves;
    loop {
        let pages = interior_pages(&level, lay);
        if pages.len() <= 1 {
            let page = interior_page(&level, lay);
            file.write_all_at(&page, (root as u64 - 1) * lay.page as u64)
                .map_err(|e| io_err(path, e.to_string()))?;
            return Ok(());
        }
        let mut up = Vec::with_capacity(pages.len());
        for group in pages {
            let page = interior_page(&level[group.clone()], lay);
            let at = lay.at(*next_page, 0);
            file.write_all_at(&page, (at as u64 - 1) * lay.page as u64)
                .map_err(|e| io_err(path, e.to_string()))?;
            up.push((at, level[group.end - 1].1));
            *next_page = at + 1;
        }
        level = up;
    }
}

/// The one value of a plain table's row besides its INTEGER PRIMARY KEY.
enum Plain<'a> {
    Int(i64),
    Blob(&'a [u8]),
}

/// A table of `(key INTEGER PRIMARY KEY, value)` rows, given in key order (an R-tree's shadow
/// tables): leaves and overflow pages from `next_page` on, the top level in `root`, which is the
/// leaf itself when all rows fit in one.
fn write_plain<'a>(
    file: &std::fs::File,
    path: &Path,
    lay: Layout,
    root: u32,
    rows: impl Iterator<Item = (i64, Plain<'a>)>,
    next_page: &mut u32,
) -> Result<(), RegistryError> {
    let mut enc = Encoder::new(lay, 0);
    let mut leaves = Vec::new();
    let mut max_rowid = 0;
    for (key, v) in rows {
        let r = &mut enc.record;
        r.clear();
        match v {
            Plain::Int(v) => {
                let (t, n) = int_type(v);
                put_header(r, &[0, t]);
                r.extend_from_slice(&v.to_be_bytes()[8 - n..]);
            }
            Plain::Blob(b) => {
                put_header(r, &[0, 12 + 2 * b.len() as u64]);
                r.extend_from_slice(b);
            }
        }
        enc.push(key, &mut leaves, &mut max_rowid);
    }
    enc.finish(&mut leaves, max_rowid);
    let base = *next_page;
    if leaves.is_empty() {
        // no rows (the parents of a tree that is only its root): an empty leaf
        let page = new_page(lay, 0x0d, [], None);
        return file
            .write_all_at(&page, (root as u64 - 1) * lay.page as u64)
            .map_err(|e| io_err(path, e.to_string()));
    }
    if leaves.len() == 1 {
        if enc.buf.len() != lay.page {
            return Err(io_err(path, "an R-tree table's row overflows".into()));
        }
        return file
            .write_all_at(&enc.buf, (root as u64 - 1) * lay.page as u64)
            .map_err(|e| io_err(path, e.to_string()));
    }
    enc.place(base);
    lay.write_run(file, base, &enc.buf)
        .map_err(|e| io_err(path, e.to_string()))?;
    *next_page = lay.at(base, (enc.buf.len() / lay.page) as u32);
    let leaves = leaves
        .into_iter()
        .map(|(p, k)| (lay.at(base, p), k))
        .collect();
    write_levels(file, path, lay, root, leaves, next_page)
}

struct Chunk {
    table: usize,
    part: usize,
    rows: std::ops::Range<usize>,
    fid: i64,
}

struct Turn {
    chunk: usize,
    page: u32,
    error: Option<String>,
}

/// A chunk's pages (in the encoder's buffer): how many, and each leaf with its largest rowid
/// (page numbers relative to the chunk's first page until placed).
struct Built {
    pages: u32,
    leaves: Vec<(u32, i64)>,
    boxes: Vec<(i64, [f64; 4])>,
}

/// Bytes of a varint.
fn varint_len(v: u64) -> usize {
    if v <= 0x7f {
        1
    } else if v > 0x00ff_ffff_ffff_ffff {
        9
    } else {
        (64 - v.leading_zeros() as usize).div_ceil(7)
    }
}

/// SQLite's varint: big-endian groups of 7 bits, the ninth byte whole.
fn put_varint(out: &mut Vec<u8>, v: u64) {
    if v > 0x00ff_ffff_ffff_ffff {
        for i in (1..9).rev() {
            out.push(((v >> (8 + 7 * (i - 1))) as u8 & 0x7f) | 0x80);
        }
        out.push(v as u8);
        return;
    }
    let n = varint_len(v);
    for i in (1..n).rev() {
        out.push(((v >> (7 * i)) as u8 & 0x7f) | 0x80);
    }
    out.push(v as u8 & 0x7f);
}

/// A record header: its own size, then the serial types.
fn put_header(out: &mut Vec<u8>, types: &[u64]) {
    let types_len: usize = types.iter().map(|t| varint_len(*t)).sum();
    let mut hdr = types_len + 1;
    while varint_len(hdr as u64) + types_len != hdr {
        hdr = types_len + varint_len(hdr as u64);
    }
    put_varint(out, hdr as u64);
    for t in types {
        put_varint(out, *t);
    }
}

/// Serial type and size of an integer (types 1–6; 8 and 9 are not used).
fn int_type(v: i64) -> (u64, usize) {
    match v {
        -128..=127 => (1, 1),
        -32768..=32767 => (2, 2),
        -8_388_608..=8_388_607 => (3, 3),
        -2_147_483_648..=2_147_483_647 => (4, 4),
        -140_737_488_355_328..=140_737_488_355_327 => (5, 6),
        _ => (6, 8),
    }
}

/// Append `record` to `cell` as SQLite stores a payload in a page that keeps at most `x` of its
/// bytes: whole, or its local part (SQLite's M or K bytes) then the number of the first overflow
/// page, the rest in a chain of pages that `page` adds to `buf` (its number and offset); each page
/// holds the next one's number (0 for the last) and content. `links` gets the offsets of the
/// chain's page numbers. True when the cell ends in a page number.
fn spill(
    cell: &mut Vec<u8>,
    record: &[u8],
    x: usize,
    usable: usize,
    buf: &mut Vec<u8>,
    mut page: impl FnMut(&mut Vec<u8>) -> (u32, usize),
    links: &mut Vec<usize>,
) -> bool {
    let p = record.len();
    if p <= x {
        cell.extend_from_slice(record);
        return false;
    }
    let m = ((usable - 12) * 32 / 255) - 23;
    let k = m + (p - m) % (usable - 4);
    let local = if k <= x { k } else { m };
    cell.extend_from_slice(&record[..local]);
    let mut first = None;
    let mut prev_next: Option<usize> = None;
    for part in record[local..].chunks(usable - 4) {
        let (pg, at) = page(buf);
        if let Some(n) = prev_next {
            buf[n..n + 4].copy_from_slice(&pg.to_be_bytes());
            links.push(n);
        }
        buf[at + 4..at + 4 + part.len()].copy_from_slice(part);
        prev_next = Some(at);
        first.get_or_insert(pg);
    }
    cell.extend_from_slice(&first.expect("payload beyond the local size").to_be_bytes());
    true
}

struct Encoder {
    lay: Layout,
    srs_id: i32,
    /// the chunk's pages
    buf: Vec<u8>,
    /// offsets in `buf` of page numbers relative to the chunk
    fixups: Vec<usize>,
    /// the leaf being filled: its cells and whether each ends in an overflow page number
    cells: Vec<u8>,
    cell_ends: Vec<(usize, bool)>,
    record: Vec<u8>,
    types: Vec<u64>,
    blob: Vec<u8>,
}

impl Encoder {
    fn new(lay: Layout, srs_id: i32) -> Encoder {
        Encoder {
            lay,
            srs_id,
            buf: Vec::new(),
            fixups: Vec::new(),
            cells: Vec::new(),
            cell_ends: Vec::new(),
            record: Vec::new(),
            types: Vec::new(),
            blob: Vec::new(),
        }
    }

    fn new_page(&mut self) -> u32 {
        let n = self.buf.len() / self.lay.page;
        self.buf.resize(self.buf.len() + self.lay.page, 0);
        n as u32
    }

    /// Encode rows `range` of `rows` (fids from `fid`) into leaf and overflow pages.
    fn chunk(
        &mut self,
        def: &TableDef,
        rows: &Rows,
        range: std::ops::Range<usize>,
        fid: i64,
    ) -> Built {
        self.clear();
        let mut leaves = Vec::new();
        let mut boxes = Vec::new();
        let mut max_rowid = 0;
        for (k, i) in range.enumerate() {
            let rowid = fid + k as i64;
            self.encode_row(def, rows, i);
            if def.geometry.is_some() {
                if let Some(b) = rows.geoms[i].as_ref().and_then(super::bbox) {
                    boxes.push((rowid, b));
                }
            }
            self.push(rowid, &mut leaves, &mut max_rowid);
        }
        self.finish(&mut leaves, max_rowid);
        Built {
            pages: (self.buf.len() / self.lay.page) as u32,
            leaves,
            boxes,
        }
    }

    /// Turn the page numbers the pages hold (overflow chains) from relative to the run into
    /// the file's, the run starting at page `base`.
    fn place(&mut self, base: u32) {
        for at in &self.fixups {
            let v = u32::from_be_bytes(self.buf[*at..*at + 4].try_into().unwrap());
            self.buf[*at..*at + 4].copy_from_slice(&self.lay.at(base, v).to_be_bytes());
        }
    }

    /// Start a new run of pages.
    fn clear(&mut self) {
        self.buf.clear();
        self.fixups.clear();
        self.cells.clear();
        self.cell_ends.clear();
    }

    /// Add the cell of the current record (row `rowid`) to the leaf being filled, first writing
    /// the leaf out (to `leaves`, with its largest rowid `max_rowid`) when the cell does not fit.
    fn push(&mut self, rowid: i64, leaves: &mut Vec<(u32, i64)>, max_rowid: &mut i64) {
        let start = self.cells.len();
        let ovfl = self.put_cell(rowid);
        let len = self.cells.len() - start;
        let used: usize = 8 + self.cell_ends.len() * 2 + start;
        if used + len + 2 > self.lay.usable && !self.cell_ends.is_empty() {
            // the cell does not fit: the leaf is full without it
            let cell = self.cells.split_off(start);
            let leaf = self.flush_leaf();
            leaves.push((leaf, *max_rowid));
            self.cells = cell;
        }
        self.cell_ends.push((self.cells.len(), ovfl));
        *max_rowid = rowid;
    }

    /// Write out the last leaf, if it has cells.
    fn finish(&mut self, leaves: &mut Vec<(u32, i64)>, max_rowid: i64) {
        if !self.cell_ends.is_empty() {
            let leaf = self.flush_leaf();
            leaves.push((leaf, max_rowid));
        }
    }

    /// The record of row `i`: `fid` as NULL (the rowid), the geometry, the fields.
    fn encode_row(&mut self, def: &TableDef, rows: &Rows, i: usize) {
        self.types.clear();
        self.types.push(0);
        let mut body = 0usize;
        let has_geom = match def.geometry {
            None => false,
            Some(gt) => {
                self.blob.clear();
                if let Some(g) = rows.geoms[i].as_ref() {
                    if gt == GeometryType::Point {
                        if let Some(c) = g.0.first().and_then(|p| p.exterior().0.first().copied()) {
                            wkb::gpkg_point(&mut self.blob, self.srs_id, c.into());
                        }
                    } else {
                        wkb::gpkg_multipolygon(&mut self.blob, self.srs_id, g);
                    }
                }
                if self.blob.is_empty() {
                    self.types.push(0);
                } else {
                    self.types.push(12 + 2 * self.blob.len() as u64);
                    body += self.blob.len();
                }
                true
            }
        };
        for col in &rows.columns {
            let (t, n) = match col {
                Column::Text(c) => match c.get(i) {
                    Some(s) => (13 + 2 * s.len() as u64, s.len()),
                    None => (0, 0),
                },
                Column::Int(c) => match c[i] {
                    Some(v) => int_type(v),
                    None => (0, 0),
                },
                Column::Real(c) => match c[i] {
                    Some(v) if !v.is_nan() => (7, 8),
                    _ => (0, 0),
                },
            };
            self.types.push(t);
            body += n;
        }
        let r = &mut self.record;
        r.clear();
        r.reserve(self.types.len() + 2 + body);
        put_header(r, &self.types);
        if has_geom && !self.blob.is_empty() {
            r.extend_from_slice(&self.blob);
        }
        for col in &rows.columns {
            match col {
                Column::Text(c) => {
                    if let Some(s) = c.get(i) {
                        r.extend_from_slice(s.as_bytes());
                    }
                }
                Column::Int(c) => {
                    if let Some(v) = c[i] {
                        let (_, n) = int_type(v);
                        r.extend_from_slice(&v.to_be_bytes()[8 - n..]);
                    }
                }
                Column::Real(c) => {
                    if let Some(v) = c[i].filter(|v| !v.is_nan()) {
                        r.extend_from_slice(&v.to_bits().to_be_bytes());
                    }
                }
            }
        }
    }

    /// Append the leaf cell of the current record to `cells`, spilling into overflow pages; true
    /// when the cell ends in an overflow page number.
    fn put_cell(&mut self, rowid: i64) -> bool {
        let u = self.lay.usable;
        let p = self.record.len();
        let x = u - 35;
        put_varint(&mut self.cells, p as u64);
        put_varint(&mut self.cells, rowid as u64);
        let page = self.lay.page;
        spill(
            &mut self.cells,
            &self.record,
            x,
            u,
            &mut self.buf,
            |buf| {
                let n = buf.len() / page;
                buf.resize(buf.len() + page, 0);
                (n as u32, n * page)
            },
            &mut self.fixups,
        )
    }

    /// Write the cells of the current leaf into a new page of the chunk; returns its number.
    fn flush_leaf(&mut self) -> u32 {
        let pg = self.new_page();
        let base = pg as usize * self.lay.page;
        let cells = cells_of(&self.cells, self.cell_ends.iter().map(|e| e.0));
        let page = &mut self.buf[base..base + self.lay.page];
        let head = fill_page(page, self.lay, 0x0d, cells, None);
        // a cell ending in an overflow page number: that number is the run's until placed
        let mut start = 0;
        for (k, &(end, ovfl)) in self.cell_ends.iter().enumerate() {
            if ovfl {
                let at = u16::from_be_bytes([page[head + 2 * k], page[head + 2 * k + 1]]) as usize;
                self.fixups.push(base + at + (end - start) - 4);
            }
            start = end;
        }
        self.cells.clear();
        self.cell_ends.clear();
        pg
    }
}

/// An index entry: the key columns (NULL as None; a one-column index has None second) and the
/// rowid. The derived order is SQLite's for text under BINARY collation: NULL first, then bytes.
type Entry<'a> = ([Option<&'a [u8]>; 2], i64);

/// The entries of index `ix` over the rows of `load`, sorted; a repeated key of a unique index
/// is an error naming the index, the key and both fids.
fn index_entries<'a>(
    path: &Path,
    load: &TableLoad<'a>,
    ix: &IndexLoad,
) -> Result<Vec<Entry<'a>>, RegistryError> {
    use rayon::prelude::*;
    let mut entries: Vec<Entry> = Vec::with_capacity(load.rows());
    let mut fid = 0i64;
    for rows in &load.parts {
        let rows: &'a Rows = rows;
        let col = |k: usize| match ix.columns.get(k).map(|&c| &rows.columns[c]) {
            Some(Column::Text(c)) => Some(c),
            _ => None,
        };
        let (a, b) = (col(0), col(1));
        for i in 0..rows.len() {
            fid += 1;
            let a = a.and_then(|c| c.get(i)).map(str::as_bytes);
            let b = b.and_then(|c| c.get(i)).map(str::as_bytes);
            entries.push(([a, b], fid));
        }
    }
    entries.par_sort_unstable();
    if ix.unique {
        let n = ix.columns.len();
        if let Some(w) = entries
            .windows(2)
            .find(|w| w[0].0 == w[1].0 && w[0].0[..n].iter().all(Option::is_some))
        {
            let key: Vec<String> = w[1].0[..n]
                .iter()
                .map(|v| String::from_utf8_lossy(v.unwrap_or_default()).into_owned())
                .collect();
            return Err(RegistryError::Data {
                target: path.display().to_string(),
                table: load.def.name.clone(),
                row: w[1].1 as usize,
                message: format!(
                    "UNIQUE constraint failed: index {} ({}) has ({}) twice, fids {} and {}",
                    ix.name,
                    ix.columns
                        .iter()
                        .map(|&c| load.def.fields[c].name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    key.join(", "),
                    w[0].1,
                    w[1].1
                ),
            });
        }
    }
    Ok(entries)
}

/// Write the b-tree of index `ix` from its sorted `entries`: leaves from `next_page` on (with
/// their overflow pages), the interior levels above them, the top level in the index's root page.
fn write_index(
    file: &std::fs::File,
    path: &Path,
    lay: Layout,
    ix: &IndexLoad,
    entries: &[Entry<'_>],
    next_page: &mut u32,
) -> Result<(), RegistryError> {
    let mut b = IndexBuilder {
        lay,
        base: *next_page,
        buf: Vec::new(),
        cell: Vec::new(),
        record: Vec::new(),
    };
    // the leaves: entries while they fit; the entry that does not becomes the divider above and
    // the next leaf starts after it (the last entry always goes to a leaf). The leaf being filled
    // is its cells end to end and where each ends.
    let mut children: Vec<u32> = Vec::new();
    let mut dividers: Vec<Vec<u8>> = Vec::new();
    let (mut leaf, mut ends) = (Vec::<u8>::new(), Vec::<usize>::new());
    let n = entries.len();
    for (k, (key, rowid)) in entries.iter().enumerate() {
        b.entry_cell(&key[..ix.columns.len()], *rowid);
        if 8 + 2 * (ends.len() + 1) + leaf.len() + b.cell.len() <= lay.usable {
            leaf.extend_from_slice(&b.cell);
            ends.push(leaf.len());
            continue;
        }
        let divider = if k + 1 < n {
            b.cell.clone()
        } else {
            // the last entry: the leaf's own last cell goes up instead, the entry starts a leaf
            ends.pop();
            leaf.split_off(ends.last().copied().unwrap_or(0))
        };
        children.push(b.page(0x0a, cells_of(&leaf, ends.iter().copied()), None));
        dividers.push(divider);
        leaf.clear();
        ends.clear();
        if k + 1 == n {
            leaf.extend_from_slice(&b.cell);
            ends.push(leaf.len());
        }
    }
    if !ends.is_empty() {
        children.push(b.page(0x0a, cells_of(&leaf, ends.iter().copied()), None));
    }
    if children.len() < 2 {
        return Err(io_err(
            path,
            format!("{}: too few entries for a bulk build", ix.name),
        ));
    }
    // the interior levels: cells (child, divider) while they fit, the child of the cell that
    // does not is the right-most pointer and its divider goes up
    loop {
        let room = lay.usable - 12;
        let size = |d: &Vec<u8>| 4 + d.len() + 2;
        if dividers.iter().map(size).sum::<usize>() <= room {
            let top = b.interior(&children, &dividers);
            file.write_all_at(&top, (ix.root as u64 - 1) * lay.page as u64)
                .map_err(|e| io_err(path, e.to_string()))?;
            break;
        }
        let (mut up_children, mut up_dividers) = (Vec::new(), Vec::new());
        let m = dividers.len();
        let mut start = 0;
        let mut used = 0;
        let mut i = 0;
        while i < m {
            if used + size(&dividers[i]) <= room {
                used += size(&dividers[i]);
                i += 1;
                continue;
            }
            // cells start..i, right-most child i, divider i up; never leave the last child alone
            let end = if i + 1 == m { i - 1 } else { i };
            let pg = b.interior_page(&children[start..=end], &dividers[start..end]);
            up_children.push(pg);
            up_dividers.push(std::mem::take(&mut dividers[end]));
            start = end + 1;
            i = start;
            used = 0;
        }
        let pg = b.interior_page(&children[start..], &dividers[start..]);
        up_children.push(pg);
        children = up_children;
        dividers = up_dividers;
    }
    lay.write_run(file, b.base, &b.buf)
        .map_err(|e| io_err(path, e.to_string()))?;
    *next_page = lay.at(b.base, (b.buf.len() / lay.page) as u32);
    Ok(())
}

/// Pages of one index, numbered from `base` on.
struct IndexBuilder {
    lay: Layout,
    base: u32,
    buf: Vec<u8>,
    cell: Vec<u8>,
    record: Vec<u8>,
}

impl IndexBuilder {
    fn new_page(&mut self) -> (u32, usize) {
        let at = self.buf.len();
        self.buf.resize(at + self.lay.page, 0);
        (self.lay.at(self.base, (at / self.lay.page) as u32), at)
    }

    /// Make `cell` the cell of an index entry (payload size, the record's local part, the first
    /// overflow page), its overflow pages written.
    fn entry_cell(&mut self, key: &[Option<&[u8]>], rowid: i64) {
        let (rt, rn) = int_type(rowid);
        let types: Vec<u64> = key
            .iter()
            .map(|v| v.map_or(0, |v| 13 + 2 * v.len() as u64))
            .chain(std::iter::once(rt))
            .collect();
        let r = &mut self.record;
        r.clear();
        put_header(r, &types);
        for v in key.iter().flatten() {
            r.extend_from_slice(v);
        }
        r.extend_from_slice(&rowid.to_be_bytes()[8 - rn..]);
        let u = self.lay.usable;
        let p = self.record.len();
        let x = ((u - 12) * 64 / 255) - 23;
        self.cell.clear();
        put_varint(&mut self.cell, p as u64);
        let (lay, base) = (self.lay, self.base);
        spill(
            &mut self.cell,
            &self.record,
            x,
            u,
            &mut self.buf,
            |buf| {
                let at = buf.len();
                buf.resize(at + lay.page, 0);
                (lay.at(base, (at / lay.page) as u32), at)
            },
            &mut Vec::new(),
        );
    }

    /// A new page of the given kind holding `cells` (each with the 4-byte child first on an
    /// interior page) and, on an interior page, the right-most pointer.
    fn page<'c>(
        &mut self,
        flag: u8,
        cells: impl IntoIterator<Item = &'c [u8]>,
        right: Option<u32>,
    ) -> u32 {
        let (pg, at) = self.new_page();
        let page = &mut self.buf[at..at + self.lay.page];
        fill_page(page, self.lay, flag, cells, right);
        pg
    }

    fn interior_cells(children: &[u32], dividers: &[Vec<u8>]) -> Vec<Vec<u8>> {
        dividers
            .iter()
            .zip(children)
            .map(|(d, c)| {
                let mut cell = c.to_be_bytes().to_vec();
                cell.extend_from_slice(d);
                cell
            })
            .collect()
    }

    /// An interior page over `children` with `dividers` between them.
    fn interior_page(&mut self, children: &[u32], dividers: &[Vec<u8>]) -> u32 {
        let cells = Self::interior_cells(children, dividers);
        self.page(
            0x02,
            cells.iter().map(Vec::as_slice),
            children.last().copied(),
        )
    }

    /// The same page, not placed (for the root).
    fn interior(&self, children: &[u32], dividers: &[Vec<u8>]) -> Vec<u8> {
        let cells = Self::interior_cells(children, dividers);
        new_page(
            self.lay,
            0x02,
            cells.iter().map(Vec::as_slice),
            children.last().copied(),
        )
    }
}

/// Fill `page` (zeroed) as a b-tree page of kind `flag`: the header (with the right-most pointer
/// on an interior page), the cell pointers in key order, the cells packed from the end. Returns
/// the offset of the header's first cell pointer.
fn fill_page<'c>(
    page: &mut [u8],
    lay: Layout,
    flag: u8,
    cells: impl IntoIterator<Item = &'c [u8]>,
    right: Option<u32>,
) -> usize {
    let head = if right.is_some() { 12 } else { 8 };
    let mut content = lay.usable;
    let mut n = 0;
    for c in cells {
        content -= c.len();
        page[content..content + c.len()].copy_from_slice(c);
        page[head + 2 * n..head + 2 + 2 * n].copy_from_slice(&(content as u16).to_be_bytes());
        n += 1;
    }
    page[0] = flag;
    page[3..5].copy_from_slice(&(n as u16).to_be_bytes());
    page[5..7].copy_from_slice(&((content % 65536) as u16).to_be_bytes());
    if let Some(r) = right {
        page[8..12].copy_from_slice(&r.to_be_bytes());
    }
    head
}

/// The cells stored end to end in `buf`, each ending where `ends` says.
fn cells_of<'a>(
    buf: &'a [u8],
    ends: impl IntoIterator<Item = usize> + 'a,
) -> impl Iterator<Item = &'a [u8]> + 'a {
    let mut start = 0;
    ends.into_iter().map(move |end| {
        let cell = &buf[start..end];
        start = end;
        cell
    })
}

/// A page of its own holding what `fill_page` puts in.
fn new_page<'c>(
    lay: Layout,
    flag: u8,
    cells: impl IntoIterator<Item = &'c [u8]>,
    right: Option<u32>,
) -> Vec<u8> {
    let mut page = vec![0u8; lay.page];
    fill_page(&mut page, lay, flag, cells, right);
    page
}

/// Bytes of an interior cell pointing at a child whose largest rowid is `key`.
fn interior_cell(key: i64) -> usize {
    4 + varint_len(key as u64)
}

/// Split `level` (children with their largest rowid) into the groups that go on one interior page
/// each: as many cells as fit, the group's last child being the page's right-most pointer; a last
/// group of one child borrows one from the group before, so that no page is left without cells.
fn interior_pages(level: &[(u32, i64)], lay: Layout) -> Vec<std::ops::Range<usize>> {
    let room = lay.usable - 12;
    let mut groups = Vec::new();
    let mut start = 0;
    let mut used = 0;
    for i in 0..level.len() {
        // child i joins the group: the child before it becomes a cell
        if i > start {
            let add = interior_cell(level[i - 1].1) + 2;
            if used + add > room {
                groups.push(start..i);
                start = i;
                used = 0;
                continue;
            }
            used += add;
        }
    }
    groups.push(start..level.len());
    let n = groups.len();
    if n > 1 && groups[n - 1].len() == 1 {
        groups[n - 2].end -= 1;
        groups[n - 1].start -= 1;
    }
    groups
}

/// One interior page over `children` (at least two): a cell per child but the last, which is the
/// right-most pointer.
fn interior_page(children: &[(u32, i64)], lay: Layout) -> Vec<u8> {
    let (cells, last) = children.split_at(children.len() - 1);
    let cells: Vec<Vec<u8>> = cells
        .iter()
        .map(|(child, key)| {
            let mut cell = child.to_be_bytes().to_vec();
            put_varint(&mut cell, *key as u64);
            cell
        })
        .collect();
    new_page(lay, 0x05, cells.iter().map(Vec::as_slice), Some(last[0].0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_are_sqlites() {
        for (v, bytes) in [
            (0u64, vec![0u8]),
            (127, vec![0x7f]),
            (128, vec![0x81, 0x00]),
            (16383, vec![0xff, 0x7f]),
            (16384, vec![0x81, 0x80, 0x00]),
            (u64::MAX, vec![0xff; 9]),
            (
                0x0100_0000_0000_0000,
                vec![0x80, 0xc0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00],
            ),
        ] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            assert_eq!(out, bytes, "{v:#x}");
            assert_eq!(varint_len(v), bytes.len(), "{v:#x}");
        }
    }

    #[test]
    fn numeric_like_texts_are_left_to_sqlite() {
        for s in ["20190301", " 12 ", "1e5", "-3.5", ".5", "5.", "+1E-3"] {
            assert!(numeric_like(s), "{s}");
        }
        for s in [
            "2019-03-01",
            "",
            "  ",
            "-",
            ".",
            "1e",
            "2019年3月1日",
            "0x10",
        ] {
            assert!(!numeric_like(s), "{s}");
        }
    }
}
