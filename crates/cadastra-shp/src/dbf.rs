//! DBF reading: header and field descriptors as GDAL's shapelib reads them, records decoded in
//! parallel into [`StrColumn`]s with the decided encoding.
//!
//! Value rules (all kept as text):
//! - `C` (and unknown types): trimmed of spaces and NUL bytes on both sides; empty = null;
//!   bytes malformed in the encoding = null + [`ProblemKind::Undecodable`].
//! - `N`/`F`: the trimmed text when it is a plain decimal number (`-12.50`, `1e5`); empty =
//!   null; `****` = null + [`ProblemKind::NumberOverflow`]; a decimal comma (`64,300`) in a
//!   field with decimals is normalised to `64.300` + [`ProblemKind::DecimalComma`]; anything
//!   else = null + [`ProblemKind::BadNumber`].
//! - `D`: `YYYYMMDD` text; empty or `00000000` = null; other text = null + `BadDate`.
//! - `L`: `T`/`F` (from `T t Y y` / `F f N n`); `?` or blank = null; other = null + `BadLogical`.

use crate::encoding::{decide, ContentEvidence, DecisionInputs, EncodingDecision, TextEncoding};
use crate::error::ShpError;
use crate::field::{DbfField, FieldKind};
use crate::problem::{ProblemKind, RecordProblem};
use crate::read::ReadOptions;
use cadastra_model::StrColumn;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// A field whose name was changed to keep names unique (or to give an empty name one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRename {
    /// Position of the field.
    pub index: usize,
    /// Name as decoded from the file.
    pub original: String,
    /// Name used in [`DbfTable::fields`].
    pub renamed: String,
}

/// A decoded DBF: one text column per field, one row per non-deleted record.
#[derive(Debug, Clone)]
pub struct DbfTable {
    /// The .dbf file.
    pub path: PathBuf,
    /// Fields with decoded, unique names (duplicates renamed `NAME_1`, `NAME_2`, ... as
    /// mapshaper does; see `renamed_fields`).
    pub fields: Vec<DbfField>,
    /// Fields renamed to keep names unique.
    pub renamed_fields: Vec<FieldRename>,
    /// One column per field, in field order.
    pub columns: Vec<StrColumn>,
    /// For each row, its record number in the file (0-based).
    pub source_records: Vec<usize>,
    /// How the text was decoded, and why.
    pub encoding: EncodingDecision,
    /// The code-page byte (offset 29).
    pub ldid: u8,
    /// Record count in the header.
    pub declared_records: usize,
    /// Records present in the file (whole, or the last one cut short).
    pub records_in_file: usize,
    /// Records flagged deleted (`*`) and skipped, by record number.
    pub deleted_records: Vec<usize>,
    /// Per-record problems, sorted by row then field position.
    pub problems: Vec<RecordProblem>,
    /// File-level warnings (junk after the records, unparseable .cpg, ...).
    pub warnings: Vec<String>,
}

impl DbfTable {
    /// Number of rows returned.
    pub fn len(&self) -> usize {
        self.source_records.len()
    }
    /// No rows.
    pub fn is_empty(&self) -> bool {
        self.source_records.is_empty()
    }
    /// Count of deleted records skipped.
    pub fn deleted_skipped(&self) -> usize {
        self.deleted_records.len()
    }
    /// Column of the field called `name` (exact match first, then ASCII case-insensitive).
    pub fn column(&self, name: &str) -> Option<&StrColumn> {
        let i = self
            .fields
            .iter()
            .position(|f| f.name == name)
            .or_else(|| {
                self.fields
                    .iter()
                    .position(|f| f.name.eq_ignore_ascii_case(name))
            })?;
        self.columns.get(i)
    }
}

/// Read a standalone .dbf (the extension of `path` is replaced by `.dbf`; `.cpg`/`.cst` next to
/// it are honoured).
pub fn read_dbf(path: &Path, opts: &ReadOptions) -> Result<DbfTable, ShpError> {
    let mut files = crate::read::Companions::find(path);
    let dbf_path = files
        .dbf
        .clone()
        .unwrap_or_else(|| path.with_extension("dbf"));
    let bytes = crate::read::load(&dbf_path, opts)?;
    let cpg = files.read_text("cpg")?;
    let cst = files.read_text("cst")?;
    crate::read::with_pool(opts, || {
        decode_dbf(&dbf_path, &bytes, opts, cpg.as_deref(), cst.as_deref(), 0)
    })
}

struct RawField {
    name: Vec<u8>,
    kind: FieldKind,
    length: u16,
    decimals: u8,
    offset: usize,
}

struct Header {
    declared: usize,
    header_len: usize,
    record_len: usize,
    ldid: u8,
    fields: Vec<RawField>,
}

fn bad(path: &Path, reason: impl Into<String>) -> ShpError {
    ShpError::BadDbf {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn parse_header(path: &Path, b: &[u8], warnings: &mut Vec<String>) -> Result<Header, ShpError> {
    if b.len() < 32 {
        return Err(bad(
            path,
            format!("{} bytes, shorter than the 32-byte header", b.len()),
        ));
    }
    let declared = u32::from_le_bytes([b[4], b[5], b[6], b[7] & 0x7F]) as usize;
    let header_len = usize::from(u16::from_le_bytes([b[8], b[9]]));
    let record_len = usize::from(u16::from_le_bytes([b[10], b[11]]));
    let ldid = b[29];
    if header_len < 32 {
        return Err(bad(
            path,
            format!("header length {header_len} is less than 32"),
        ));
    }
    if record_len == 0 && declared > 0 {
        return Err(bad(
            path,
            format!("record length 0 with {declared} records"),
        ));
    }
    let mut fields = Vec::new();
    let max_fields = (header_len - 32) / 32;
    for i in 0..max_fields {
        let at = 32 + 32 * i;
        let Some(d) = b.get(at..at + 32) else {
            if b.get(at) == Some(&0x0D) {
                break;
            }
            return Err(bad(
                path,
                format!("field descriptor {i} is cut off by the end of the file"),
            ));
        };
        if d[0] == 0x0D {
            break;
        }
        // the name is kept whole: it is cut at NUL after decoding (UTF-16 names hold NULs)
        fields.push(RawField {
            name: d[..11].to_vec(),
            kind: FieldKind::from_byte(d[11]),
            length: u16::from(d[16]),
            decimals: if matches!(d[11], b'N' | b'F' | b'n' | b'f') {
                d[17]
            } else {
                0
            },
            offset: 0,
        });
    }
    let total: usize = 1 + fields.iter().map(|f| usize::from(f.length)).sum::<usize>();
    if total != record_len && record_len > 0 {
        // Clipper-style wide text fields keep the high byte of the width in "decimals": the
        // one-byte widths then fall short of the record length and the two-byte ones match it
        let clipper: usize = 1 + fields
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let d = &b[32 + 32 * i..64 + 32 * i];
                if f.kind.is_number() {
                    usize::from(d[16])
                } else {
                    usize::from(d[16]) + 256 * usize::from(d[17])
                }
            })
            .sum::<usize>();
        if clipper == record_len {
            for (i, f) in fields.iter_mut().enumerate() {
                let d = &b[32 + 32 * i..64 + 32 * i];
                if !f.kind.is_number() {
                    f.length = u16::from(d[16]) + 256 * u16::from(d[17]);
                }
            }
            warnings.push(format!(
                "{}: text fields wider than 255 bytes (Clipper-style widths) detected",
                path.display()
            ));
        } else if total > record_len {
            return Err(bad(
                path,
                format!("fields need {total} bytes per record but records are {record_len} bytes"),
            ));
        }
    }
    let mut offset = 1;
    for f in &mut fields {
        f.offset = offset;
        offset += usize::from(f.length);
    }
    if header_len > b.len() {
        return Err(bad(
            path,
            format!(
                "header length {header_len} exceeds the file size {}",
                b.len()
            ),
        ));
    }
    Ok(Header {
        declared,
        header_len,
        record_len,
        ldid,
        fields,
    })
}

/// Trim spaces and NUL bytes on both sides (eight bytes at a time: DBF text is padded).
fn trim(raw: &[u8]) -> &[u8] {
    // a byte is blank when it is 0x00 or 0x20, i.e. when its bits other than 0x20 are all 0
    const BLANKS: u64 = 0xDFDF_DFDF_DFDF_DFDF;
    let word = |at: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&raw[at..at + 8]);
        u64::from_le_bytes(b)
    };
    let mut end = raw.len();
    while end >= 8 && word(end - 8) & BLANKS == 0 {
        end -= 8;
    }
    while end > 0 && raw[end - 1] & 0xDF == 0 {
        end -= 1;
    }
    let mut start = 0;
    while start + 8 <= end && word(start) & BLANKS == 0 {
        start += 8;
    }
    while start < end && raw[start] & 0xDF == 0 {
        start += 1;
    }
    &raw[start..end]
}

/// A plain decimal number: `[+-]digits[.digits][e[+-]digits]` or `[+-].digits[...]`.
fn is_number(t: &[u8]) -> bool {
    let mut i = 0;
    if matches!(t.first(), Some(b'+' | b'-')) {
        i = 1;
    }
    let int_start = i;
    while i < t.len() && t[i].is_ascii_digit() {
        i += 1;
    }
    let mut digits = i - int_start;
    if i < t.len() && t[i] == b'.' {
        i += 1;
        let frac_start = i;
        while i < t.len() && t[i].is_ascii_digit() {
            i += 1;
        }
        digits += i - frac_start;
    }
    if digits == 0 {
        return false;
    }
    if i < t.len() && (t[i] == b'e' || t[i] == b'E') {
        i += 1;
        if i < t.len() && (t[i] == b'+' || t[i] == b'-') {
            i += 1;
        }
        let exp_start = i;
        while i < t.len() && t[i].is_ascii_digit() {
            i += 1;
        }
        if i == exp_start {
            return false;
        }
    }
    i == t.len()
}

fn is_date(t: &[u8]) -> bool {
    if t.len() != 8 || !t.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let n = |a: usize, b: usize| {
        t[a..b]
            .iter()
            .fold(0u32, |acc, &d| acc * 10 + u32::from(d - b'0'))
    };
    let (m, d) = (n(4, 6), n(6, 8));
    (1..=12).contains(&m) && (1..=31).contains(&d)
}

/// Decode the field names with the decided encoding; cut at NUL, trim.
fn decode_name(raw: &[u8], enc: TextEncoding) -> (String, bool) {
    if enc.is_ascii_compatible() {
        let end = raw.iter().position(|&c| c == 0).unwrap_or(raw.len());
        let t = trim(&raw[..end]);
        match enc.decode(t) {
            Some(s) => (s, true),
            None => (String::from_utf8_lossy(t).into_owned(), false),
        }
    } else {
        // UTF-16 names: BOM-sniffing decode of all 11 bytes, then cut at the first NUL
        let e = enc.as_encoding_rs().unwrap_or(encoding_rs::UTF_8);
        let even = &raw[..raw.len() & !1];
        let (s, _, had_errors) = e.decode(even);
        let s = s
            .split('\0')
            .next()
            .unwrap_or("")
            .trim_matches([' ', '\u{FFFD}'])
            .to_string();
        (s, !had_errors)
    }
}

/// Make names unique the mapshaper way (`NAME_1`, `NAME_2`, ...; case-insensitive), and give
/// empty names `FIELD_<n>`.
fn unique_names(names: Vec<String>) -> (Vec<String>, Vec<FieldRename>) {
    let mut used: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(names.len());
    let mut renames = Vec::new();
    for (i, original) in names.into_iter().enumerate() {
        let base = if original.is_empty() {
            format!("FIELD_{}", i + 1)
        } else {
            original.clone()
        };
        let mut name = base.clone();
        let mut k = 1;
        while used.contains(&name.to_lowercase()) {
            name = format!("{base}_{k}");
            k += 1;
        }
        used.insert(name.to_lowercase());
        if name != original {
            renames.push(FieldRename {
                index: i,
                original,
                renamed: name.clone(),
            });
        }
        out.push(name);
    }
    (out, renames)
}

/// How to decode one field.
struct FieldPlan<'a> {
    raw: &'a RawField,
    name: &'a str,
}

/// Shared view of the record area.
struct Records<'a> {
    data: &'a [u8],
    record_len: usize,
    /// Records wholly present in the file.
    available: usize,
}

impl Records<'_> {
    fn get(&self, rec: usize) -> Option<&[u8]> {
        if rec >= self.available {
            return None;
        }
        let s = rec * self.record_len;
        self.data.get(s..s + self.record_len)
    }
}

/// Rows decoded per decoder call for text fields (values joined by NUL separators).
const TEXT_BATCH: usize = 512;

/// Records decoded per block: all fields of a thread's group are decoded block by block, so
/// the block's records stay in cache while its fields are read.
const BLOCK: usize = 1024;

/// Reusable buffers for decoding one field.
#[derive(Default)]
struct Buffers {
    joined: Vec<u8>,
    /// end offset in `joined` after each value of the batch
    ends: Vec<usize>,
    decoded: String,
    scratch: String,
}

/// Decode the field of records `live` (rows from `first_row`) onto the end of `col`.
#[allow(clippy::too_many_arguments)] // called per block in the hot loop: plain arguments
fn decode_range(
    recs: &Records<'_>,
    live: &[usize],
    first_row: usize,
    plan: &FieldPlan<'_>,
    enc: TextEncoding,
    col: &mut StrColumn,
    problems: &mut Vec<RecordProblem>,
    buf: &mut Buffers,
) {
    let f = plan.raw;
    let width = usize::from(f.length);
    let batched =
        matches!(f.kind, FieldKind::Char | FieldKind::Other(_)) && enc.is_ascii_compatible();
    if !batched {
        for (k, &rec) in live.iter().enumerate() {
            decode_value(
                recs,
                rec,
                first_row + k,
                plan,
                enc,
                col,
                problems,
                &mut buf.scratch,
            );
        }
        return;
    }
    // Text in an ASCII-compatible encoding: one decoder call per batch of values. A batch
    // with malformed bytes or NULs inside a value is redone value by value.
    for (b, group) in live.chunks(TEXT_BATCH).enumerate() {
        buf.joined.clear();
        buf.ends.clear();
        let mut clean = true;
        for &rec in group {
            if let Some(r) = recs.get(rec) {
                let t = trim(&r[f.offset..f.offset + width]);
                if !t.is_empty() {
                    clean &= !t.contains(&0);
                    buf.joined.extend_from_slice(t);
                    buf.joined.push(0);
                }
            }
            // end of this value in `joined` (equal to the previous end: null)
            buf.ends.push(buf.joined.len());
        }
        let fallback = if !clean {
            true
        } else if buf.joined.is_ascii() || enc == TextEncoding::UTF_8 {
            match std::str::from_utf8(&buf.joined) {
                Ok(text) => {
                    // decoded text is the joined bytes: slice by the recorded ends
                    let mut start = 0;
                    for &end in &buf.ends {
                        col.push(if end == start {
                            None
                        } else {
                            text.get(start..end - 1)
                        });
                        start = end;
                    }
                    false
                }
                Err(_) => true,
            }
        } else {
            buf.decoded.clear();
            if enc.decode_into(&buf.joined, &mut buf.decoded) {
                let mut pieces = buf.decoded.split('\0');
                let mut start = 0;
                for &end in &buf.ends {
                    // one NUL-terminated piece per non-null value
                    col.push(if end == start { None } else { pieces.next() });
                    start = end;
                }
                false
            } else {
                true
            }
        };
        if fallback {
            let first = first_row + b * TEXT_BATCH;
            for (k, &rec) in group.iter().enumerate() {
                decode_value(
                    recs,
                    rec,
                    first + k,
                    plan,
                    enc,
                    col,
                    problems,
                    &mut buf.scratch,
                );
            }
        }
    }
}

/// Decode all fields: fields are split into one group per worker (balanced by width) and each
/// worker walks the records block by block; with fewer fields than workers, each field is
/// decoded in row chunks that are then concatenated.
fn decode_columns(
    recs: &Records<'_>,
    live: &[usize],
    plans: &[FieldPlan<'_>],
    enc: TextEncoding,
) -> Vec<(StrColumn, Vec<RecordProblem>)> {
    let threads = rayon::current_num_threads().max(1);
    // text bytes of a column: the mean trimmed length of the first records, with room for
    // legacy two-byte characters growing to three UTF-8 bytes
    let estimate = |p: &FieldPlan<'_>| {
        let f = p.raw;
        let probe = &live[..live.len().min(1024)];
        let bytes: usize = probe
            .iter()
            .filter_map(|&r| recs.get(r))
            .map(|r| trim(&r[f.offset..f.offset + usize::from(f.length)]).len())
            .sum();
        let mean = bytes.div_ceil(probe.len().max(1));
        live.len() * (mean + mean / 2 + 1)
    };
    if plans.len() >= threads || live.len() < 16 * BLOCK {
        let n_groups = threads.min(plans.len()).max(1);
        let mut order: Vec<usize> = (0..plans.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(plans[i].raw.length));
        let mut groups: Vec<(usize, Vec<usize>)> = vec![(0, Vec::new()); n_groups];
        for i in order {
            // invariant: n_groups >= 1
            if let Some(g) = groups.iter_mut().min_by_key(|g| g.0) {
                g.0 += usize::from(plans[i].raw.length) + 1;
                g.1.push(i);
            }
        }
        let done: Vec<Vec<(usize, StrColumn, Vec<RecordProblem>)>> = groups
            .par_iter()
            .map(|(_, fields)| {
                let mut out: Vec<(usize, StrColumn, Vec<RecordProblem>)> = fields
                    .iter()
                    .map(|&i| {
                        (
                            i,
                            StrColumn::with_capacity(live.len(), estimate(&plans[i])),
                            Vec::new(),
                        )
                    })
                    .collect();
                let mut buf = Buffers::default();
                for (b, block) in live.chunks(BLOCK).enumerate() {
                    for (i, col, probs) in &mut out {
                        decode_range(
                            recs,
                            block,
                            b * BLOCK,
                            &plans[*i],
                            enc,
                            col,
                            probs,
                            &mut buf,
                        );
                    }
                }
                out
            })
            .collect();
        let mut by_field: Vec<Option<(StrColumn, Vec<RecordProblem>)>> =
            (0..plans.len()).map(|_| None).collect();
        for (i, col, probs) in done.into_iter().flatten() {
            by_field[i] = Some((col, probs));
        }
        // invariant: every field index is in exactly one group
        by_field
            .into_iter()
            .map(Option::unwrap_or_default)
            .collect()
    } else {
        let chunk = live.len().div_ceil(threads * 4).max(1);
        plans
            .iter()
            .map(|p| {
                let parts: Vec<(StrColumn, Vec<RecordProblem>)> = live
                    .par_chunks(chunk)
                    .enumerate()
                    .map(|(c, l)| {
                        let mut col = StrColumn::with_capacity(l.len(), 0);
                        let mut probs = Vec::new();
                        decode_range(
                            recs,
                            l,
                            c * chunk,
                            p,
                            enc,
                            &mut col,
                            &mut probs,
                            &mut Buffers::default(),
                        );
                        (col, probs)
                    })
                    .collect();
                let mut col = StrColumn::with_capacity(live.len(), estimate(p));
                let mut probs = Vec::new();
                for (c, p) in parts {
                    col.extend_from(&c);
                    probs.extend(p);
                }
                (col, probs)
            })
            .collect()
    }
}

/// Decode one value onto `col` (the unbatched path, and the fallback for bad batches).
#[allow(clippy::too_many_arguments)] // a hot inner function: plain arguments, no struct
fn decode_value(
    recs: &Records<'_>,
    rec: usize,
    row: usize,
    plan: &FieldPlan<'_>,
    enc: TextEncoding,
    col: &mut StrColumn,
    problems: &mut Vec<RecordProblem>,
    scratch: &mut String,
) {
    let f = plan.raw;
    let width = usize::from(f.length);
    let Some(r) = recs.get(rec) else {
        col.push(None);
        return;
    };
    let raw = &r[f.offset..f.offset + width];
    let mut problem = |kind: ProblemKind, reason: String| {
        problems.push(RecordProblem {
            row,
            record: rec,
            field: Some(plan.name.to_string()),
            kind,
            reason,
            raw: raw.to_vec(),
        })
    };
    match f.kind {
        FieldKind::Char | FieldKind::Other(_) => {
            if !enc.is_ascii_compatible() {
                scratch.clear();
                if enc.decode_into(raw, scratch) {
                    let t = scratch.trim_matches([' ', '\0']);
                    col.push(if t.is_empty() { None } else { Some(t) });
                } else {
                    problem(
                        ProblemKind::Undecodable,
                        format!("text is not valid {}", enc.name()),
                    );
                    col.push(None);
                }
                return;
            }
            let t = trim(raw);
            if t.is_empty() {
                col.push(None);
            } else if t.is_ascii() || enc == TextEncoding::UTF_8 {
                match std::str::from_utf8(t) {
                    Ok(s) => col.push(Some(s)),
                    Err(_) => {
                        problem(ProblemKind::Undecodable, "text is not valid UTF-8".into());
                        col.push(None);
                    }
                }
            } else {
                scratch.clear();
                if enc.decode_into(t, scratch) {
                    col.push(Some(scratch));
                } else {
                    problem(
                        ProblemKind::Undecodable,
                        format!("text is not valid {}", enc.name()),
                    );
                    col.push(None);
                }
            }
        }
        FieldKind::Numeric | FieldKind::Float => {
            let t = trim(raw);
            if t.is_empty() {
                col.push(None);
            } else if is_number(t) {
                // is_number accepts ASCII only
                col.push(std::str::from_utf8(t).ok());
            } else if t.iter().all(|&c| c == b'*') {
                problem(
                    ProblemKind::NumberOverflow,
                    "number field filled with '*' (null marker or overflow): null".into(),
                );
                col.push(None);
            } else if f.decimals > 0
                && !t.contains(&b'.')
                && t.iter().filter(|&&c| c == b',').count() == 1
                && is_number(
                    &t.iter()
                        .map(|&c| if c == b',' { b'.' } else { c })
                        .collect::<Vec<_>>(),
                )
            {
                let fixed: String = t
                    .iter()
                    .map(|&c| if c == b',' { '.' } else { c as char })
                    .collect();
                problem(
                    ProblemKind::DecimalComma,
                    format!("decimal comma read as a point: {fixed}"),
                );
                col.push(Some(&fixed));
            } else {
                problem(
                    ProblemKind::BadNumber,
                    format!("{:?} is not a number: null", String::from_utf8_lossy(t)),
                );
                col.push(None);
            }
        }
        FieldKind::Date => {
            let t = trim(raw);
            if t.is_empty() || t == b"00000000" {
                col.push(None);
            } else if is_date(t) {
                col.push(std::str::from_utf8(t).ok());
            } else {
                problem(
                    ProblemKind::BadDate,
                    format!(
                        "{:?} is not a YYYYMMDD date: null",
                        String::from_utf8_lossy(t)
                    ),
                );
                col.push(None);
            }
        }
        FieldKind::Logical => match trim(raw) {
            [] | [b'?'] => col.push(None),
            [b'T' | b't' | b'Y' | b'y'] => col.push(Some("T")),
            [b'F' | b'f' | b'N' | b'n'] => col.push(Some("F")),
            t => {
                problem(
                    ProblemKind::BadLogical,
                    format!("{:?} is not a logical: null", String::from_utf8_lossy(t)),
                );
                col.push(None);
            }
        },
    }
}

/// Content evidence over the live records, in parallel: how many records hold non-ASCII
/// bytes, and the first record that is not valid UTF-8 (records are checked whole; once an
/// invalid record is known, only earlier records are still checked, so the answer does not
/// depend on scheduling).
fn content_evidence(
    recs: &Records<'_>,
    live: &[usize],
    names_ascii: bool,
    names_utf8: bool,
) -> ContentEvidence {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let first_bad = AtomicUsize::new(usize::MAX);
    let non_ascii_records: usize = live
        .par_chunks(16 * 1024)
        .map(|chunk| {
            let mut non_ascii = 0;
            for &rec in chunk {
                let Some(r) = recs.get(rec) else { continue };
                let body = &r[1..];
                if body.is_ascii() {
                    continue;
                }
                non_ascii += 1;
                if rec < first_bad.load(Ordering::Relaxed) && std::str::from_utf8(body).is_err() {
                    first_bad.fetch_min(rec, Ordering::Relaxed);
                }
            }
            non_ascii
        })
        .sum();
    let first = first_bad.into_inner();
    let first_invalid_utf8 = (first != usize::MAX).then_some(first);
    ContentEvidence {
        all_ascii: non_ascii_records == 0 && names_ascii,
        valid_utf8: first_invalid_utf8.is_none() && names_utf8,
        non_ascii_records,
        first_invalid_utf8,
    }
}

/// Non-ASCII text cells for the detector, separated by `\n`, up to `limit` bytes.
fn detector_sample(
    recs: &Records<'_>,
    live: &[usize],
    text_fields: &[&RawField],
    names: &[&[u8]],
    limit: usize,
) -> Vec<u8> {
    let mut out = Vec::new();
    for n in names {
        let t = trim(n.split(|&c| c == 0).next().unwrap_or(&[]));
        if !t.is_ascii() {
            out.extend_from_slice(t);
            out.push(b'\n');
        }
    }
    for &rec in live {
        if out.len() >= limit {
            break;
        }
        let Some(r) = recs.get(rec) else { continue };
        if r.is_ascii() {
            continue;
        }
        for f in text_fields {
            let t = trim(&r[f.offset..f.offset + usize::from(f.length)]);
            if !t.is_ascii() {
                out.extend_from_slice(t);
                out.push(b'\n');
            }
        }
    }
    out
}

/// Decode a DBF already in memory. `min_records`: rows to produce even when the .dbf holds
/// fewer records (the .shp has more shapes); those rows get null attributes and a problem.
pub(crate) fn decode_dbf(
    path: &Path,
    bytes: &[u8],
    opts: &ReadOptions,
    cpg: Option<&str>,
    cst: Option<&str>,
    min_records: usize,
) -> Result<DbfTable, ShpError> {
    let mut warnings = Vec::new();
    let h = parse_header(path, bytes, &mut warnings)?;
    let data = &bytes[h.header_len..];
    let available = data
        .len()
        .checked_div(h.record_len)
        .unwrap_or(0)
        .min(h.declared);
    // records the file really has: whole ones, plus a last one cut short. A header count
    // beyond that is not trusted (a damaged header must not create millions of empty rows).
    let partial = usize::from(
        available < h.declared && h.record_len > 0 && !data.len().is_multiple_of(h.record_len),
    );
    let in_file = available + partial;
    if available < h.declared {
        warnings.push(format!(
            "{}: header declares {} records but the file holds {available} whole records{}",
            path.display(),
            h.declared,
            if partial == 1 {
                " and one cut short (its attributes are null)"
            } else {
                ""
            }
        ));
    }
    let used = h.declared.saturating_mul(h.record_len);
    if data.len() > used {
        let extra = &data[used..];
        if !(extra.len() == 1 && extra[0] == 0x1A) {
            warnings.push(format!(
                "{}: {} bytes after the last declared record ignored",
                path.display(),
                extra.len() - usize::from(extra.first() == Some(&0x1A))
            ));
        }
    }
    let recs = Records {
        data,
        record_len: h.record_len,
        available,
    };
    let total = in_file.max(min_records);
    let mut deleted_records = Vec::new();
    let mut live = Vec::with_capacity(total);
    for rec in 0..total {
        match recs.get(rec) {
            Some(r) if r[0] == b'*' => deleted_records.push(rec),
            _ => live.push(rec),
        }
    }

    // encoding decision
    let text_fields: Vec<&RawField> = h
        .fields
        .iter()
        .filter(|f| matches!(f.kind, FieldKind::Char | FieldKind::Other(_)))
        .collect();
    let raw_names: Vec<&[u8]> = h.fields.iter().map(|f| f.name.as_slice()).collect();
    let names_ascii = raw_names.iter().all(|n| n.is_ascii());
    let names_utf8 = raw_names
        .iter()
        .all(|n| std::str::from_utf8(trim(n.split(|&c| c == 0).next().unwrap_or(&[]))).is_ok());
    let content = content_evidence(&recs, &live, names_ascii, names_utf8);
    let inputs = DecisionInputs {
        override_encoding: opts.encoding,
        cpg,
        cst,
        ldid: h.ldid,
        content: &content,
        chinese: opts.chinese,
    };
    let mut sample = || detector_sample(&recs, &live, &text_fields, &raw_names, 64 * 1024);
    let mut decision_warnings = Vec::new();
    let mut encoding = decide(&inputs, &mut sample, &mut decision_warnings);
    warnings.extend(
        decision_warnings
            .into_iter()
            .map(|w| format!("{}: {w}", path.display())),
    );
    let enc = encoding.encoding;

    // field names
    let mut names = Vec::with_capacity(h.fields.len());
    for (i, f) in h.fields.iter().enumerate() {
        let (name, ok) = decode_name(&f.name, enc);
        if !ok {
            warnings.push(format!(
                "{}: name of field {i} is not valid {}: read as {name:?}",
                path.display(),
                enc.name()
            ));
        }
        names.push(name);
    }
    let (names, renamed_fields) = unique_names(names);
    for r in &renamed_fields {
        warnings.push(format!(
            "{}: field {} {:?} renamed {:?} (duplicate or empty name)",
            path.display(),
            r.index,
            r.original,
            r.renamed
        ));
    }
    let plans: Vec<FieldPlan<'_>> = h
        .fields
        .iter()
        .zip(&names)
        .map(|(raw, name)| FieldPlan { raw, name })
        .collect();

    let decoded = decode_columns(&recs, &live, &plans, enc);
    let mut columns = Vec::with_capacity(decoded.len());
    let mut problems = Vec::new();
    let mut undecodable = 0usize;
    for (field_idx, (col, probs)) in decoded.into_iter().enumerate() {
        undecodable += probs
            .iter()
            .filter(|p| p.kind == ProblemKind::Undecodable)
            .count();
        let stars = probs
            .iter()
            .filter(|p| p.kind == ProblemKind::NumberOverflow)
            .count();
        if stars > 0 {
            warnings.push(format!(
                "{}: field {:?}: {stars} values filled with '*' (shapelib's null marker, or a number that overflowed its width): read as null",
                path.display(),
                names[field_idx]
            ));
        }
        columns.push(col);
        problems.extend(probs);
    }
    for (row, &rec) in live.iter().enumerate() {
        if rec >= available {
            problems.push(RecordProblem {
                row,
                record: rec,
                field: None,
                kind: ProblemKind::NoDbfRecord,
                reason: if rec < in_file {
                    "record cut short by the end of the .dbf: attributes null".into()
                } else {
                    format!("the .dbf has only {in_file} records: attributes null")
                },
                raw: recs
                    .data
                    .get(rec * h.record_len..)
                    .map(|r| r.iter().take(h.record_len).copied().collect())
                    .unwrap_or_default(),
            });
        }
    }
    let field_pos = |p: &RecordProblem| {
        p.field
            .as_ref()
            .and_then(|f| names.iter().position(|n| n == f))
    };
    problems.sort_by_key(|p| (p.row, field_pos(p).map_or(0, |i| i + 1)));
    if undecodable > 0 {
        encoding.confident = false;
        encoding.evidence.push(format!(
            "{undecodable} values do not decode as {}: null, listed as problems",
            enc.name()
        ));
    }

    let fields = h
        .fields
        .iter()
        .zip(&names)
        .map(|(f, name)| DbfField {
            name: name.clone(),
            kind: f.kind,
            length: f.length,
            decimals: f.decimals,
        })
        .collect();
    Ok(DbfTable {
        path: path.to_path_buf(),
        fields,
        renamed_fields,
        columns,
        source_records: live,
        encoding,
        ldid: h.ldid,
        declared_records: h.declared,
        records_in_file: in_file,
        deleted_records,
        problems,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_recognised_by_shape() {
        for ok in ["0", "-12.50", "+3", ".5", "5.", "1e5", "1.5E-3"] {
            assert!(is_number(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "", "-", ".", "1e", "1,5", "1.2.3", "nan", "inf", "12a", "1 2",
        ] {
            assert!(!is_number(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn trimming_removes_spaces_and_nuls_on_both_sides() {
        assert_eq!(trim(b"\0 Z\xc3\xbcrich \0\0"), "Zürich".as_bytes());
        for pad in 0..20 {
            for lead in 0..12 {
                let mut v = vec![b' '; lead];
                v.extend_from_slice(b"a b\0c");
                v.extend(std::iter::repeat_n(0u8, pad));
                assert_eq!(trim(&v), b"a b\0c", "lead {lead} pad {pad}");
                assert_eq!(trim(&vec![b' '; lead + pad]), b"");
            }
        }
        assert_eq!(trim(b"   "), b"");
        assert_eq!(trim(b""), b"");
    }

    #[test]
    fn duplicate_and_empty_names_are_made_unique() {
        let (names, renames) = unique_names(vec![
            "TestColumn".into(),
            "testcolumn".into(),
            "".into(),
            "TestColumn_1".into(),
        ]);
        assert_eq!(
            names,
            ["TestColumn", "testcolumn_1", "FIELD_3", "TestColumn_1_1"]
        );
        assert_eq!(renames.len(), 3);
        assert_eq!(renames[0].original, "testcolumn");
    }

    #[test]
    fn dates_need_a_real_month_and_day() {
        assert!(is_date(b"20240229"));
        assert!(!is_date(b"20241301"));
        assert!(!is_date(b"2024-1-1"));
    }

    /// A DBF image: fields (name, type, width byte, decimals byte) and raw records.
    fn dbf_bytes(fields: &[(&str, u8, u8, u8)], record_len: u16, records: &[&[u8]]) -> Vec<u8> {
        let mut b = vec![0u8; 32];
        b[0] = 3;
        b[4..8].copy_from_slice(&(records.len() as u32).to_le_bytes());
        let header_len = 32 + 32 * fields.len() as u16 + 1;
        b[8..10].copy_from_slice(&header_len.to_le_bytes());
        b[10..12].copy_from_slice(&record_len.to_le_bytes());
        for (name, kind, width, dec) in fields {
            let mut d = [0u8; 32];
            d[..name.len()].copy_from_slice(name.as_bytes());
            d[11] = *kind;
            d[16] = *width;
            d[17] = *dec;
            b.extend_from_slice(&d);
        }
        b.push(0x0D);
        for r in records {
            b.extend_from_slice(r);
        }
        b.push(0x1A);
        b
    }

    fn decode(bytes: &[u8]) -> DbfTable {
        decode_dbf(
            Path::new("t.dbf"),
            bytes,
            &ReadOptions::default(),
            None,
            None,
            0,
        )
        .unwrap()
    }

    #[test]
    fn clipper_wide_text_fields_are_read_whole() {
        // a 300-byte C field: width byte 44, high byte 1 in "decimals"
        let mut rec = vec![b' '];
        rec.extend_from_slice(&[b'x'; 299]);
        rec.push(b'y');
        let t = decode(&dbf_bytes(&[("NOTE", b'C', 44, 1)], 301, &[&rec]));
        assert_eq!(t.fields[0].length, 300);
        let v = t.columns[0].get(0).unwrap();
        assert_eq!((v.len(), v.ends_with("xy")), (300, true));
        assert!(t.warnings.iter().any(|w| w.contains("Clipper")));
    }

    #[test]
    fn decimal_comma_is_only_read_where_the_field_has_decimals() {
        let recs: [&[u8]; 2] = [b"  64,300  1,234", b"   1.500      7"];
        let t = decode(&dbf_bytes(
            &[("A", b'N', 7, 3), ("B", b'N', 7, 0)],
            15,
            &recs,
        ));
        assert_eq!(t.columns[0].get(0), Some("64.300"));
        assert_eq!(t.columns[1].get(0), None);
        assert_eq!(t.columns[0].get(1), Some("1.500"));
        assert_eq!(t.columns[1].get(1), Some("7"));
        let kinds: Vec<(usize, ProblemKind)> = t.problems.iter().map(|p| (p.row, p.kind)).collect();
        assert_eq!(
            kinds,
            [(0, ProblemKind::DecimalComma), (0, ProblemKind::BadNumber)]
        );
        assert_eq!(t.problems[1].raw, b"  1,234");
    }

    #[test]
    fn fields_wider_than_the_record_are_refused() {
        let err = decode_dbf(
            Path::new("bad.dbf"),
            &dbf_bytes(&[("A", b'C', 10, 0)], 5, &[b"     "]),
            &ReadOptions::default(),
            None,
            None,
            0,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("bad.dbf") && err.to_string().contains("11 bytes"),
            "{err}"
        );
    }
}
