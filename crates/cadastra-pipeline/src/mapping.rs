//! Declarative mapping: raw source records → registry rows of the target tables, or quarantine.
//!
//! Each value is cleaned (full-width → ASCII, trims, placeholders such as 无 / NULL / "/" → null:
//! rule FMT-05, counted), routed (`when`), mapped (`map`, `crosswalk`, `pad`, `slice`, area units)
//! and cast to the registry type (dates to ISO, numbers parsed: rule FMT-04; a value that does not
//! parse becomes null with a W finding). A record that cannot be mapped at all (no target, no
//! legacy key, a duplicate legacy key, geometry of the wrong kind, undecodable text) goes to
//! quarantine with its raw values and the reason: nothing is dropped.

use crate::compile::{SourcePlan, TargetPlan};
use crate::sources::SourceData;
use cadastra_model::{
    codelist::codelists, registry, table::format_real, Column, FieldType, Finding, Geom, RawTable,
    Rows, RuleId, Severity, StrColumn, TableDef,
};
use cadastra_tables::normalize::{
    clean_text, normalize_code, normalize_date, parse_area, parse_area_with_code, parse_int,
    parse_real, AreaUnit, Blanks, ChangeCounts, TextOptions,
};
use geo_types::{Geometry, MultiPolygon};
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Registry rows produced for one target table of a source.
#[derive(Debug, Clone)]
pub struct MappedTarget {
    pub table: String,
    pub rows: Rows,
    /// raw row index per mapped row
    pub raw_index: Vec<usize>,
}

/// A record that could be read but not mapped.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Quarantined {
    pub source: String,
    pub src_file: String,
    pub src_row: u64,
    pub src_key: Option<String>,
    /// the target table it was meant for ("-" when no target matched)
    pub target: String,
    pub rule_id: String,
    pub reason: String,
    /// the record as read, as JSON
    pub raw_record: String,
    pub raw_geom_wkt: Option<String>,
}

/// What mapping one source produced.
#[derive(Debug, Clone, Default)]
pub struct MapResult {
    pub targets: Vec<MappedTarget>,
    pub quarantine: Vec<Quarantined>,
    /// FMT-04 findings (values that did not parse)
    pub findings: Vec<Finding>,
    /// FMT-05 counts
    pub cleaning: ChangeCounts,
    /// rows per target table before quarantine: the "read" of the reconciliation
    pub read_per_target: BTreeMap<String, u64>,
}

fn is_identifier_field(name: &str) -> bool {
    matches!(
        name,
        "ZDDM"
            | "BDCDYH"
            | "ZRZH"
            | "QXDM"
            | "YWH"
            | "ZJH"
            | "BDCQZH"
            | "DJH"
            | "FWBM"
            | "ZDTZM"
            | "QLRKEY"
            | "TFH"
            | "DAH"
            | "LJZH"
            | "FBFDM"
    )
}

fn text_options(def: &TableDef, field: usize) -> TextOptions {
    let f = &def.fields[field];
    let mut o = TextOptions::default();
    if is_identifier_field(&f.name) || f.domain.is_some() {
        o.blanks = Blanks::Remove;
    }
    o
}

/// The raw record as JSON (for quarantine): field → value, nulls kept.
pub fn raw_json(t: &RawTable, row: usize) -> String {
    let mut m = serde_json::Map::new();
    for (i, f) in t.fields.iter().enumerate() {
        m.insert(
            f.clone(),
            t.columns[i]
                .get(row)
                .map_or(serde_json::Value::Null, |v| v.into()),
        );
    }
    serde_json::Value::Object(m).to_string()
}

/// WKT of a geometry (for quarantine), with full precision.
pub fn wkt(g: &Geometry<f64>) -> String {
    use std::fmt::Write;
    fn ring(s: &mut String, ls: &geo_types::LineString<f64>) {
        s.push('(');
        for (i, c) in ls.0.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            let _ = write!(s, "{} {}", c.x, c.y);
        }
        s.push(')');
    }
    fn poly(s: &mut String, p: &geo_types::Polygon<f64>) {
        s.push('(');
        ring(s, p.exterior());
        for h in p.interiors() {
            s.push(',');
            ring(s, h);
        }
        s.push(')');
    }
    let mut s = String::new();
    match g {
        Geometry::Point(p) => {
            let _ = write!(s, "POINT({} {})", p.x(), p.y());
        }
        Geometry::Polygon(p) => {
            s.push_str("POLYGON");
            poly(&mut s, p);
        }
        Geometry::MultiPolygon(mp) => {
            s.push_str("MULTIPOLYGON(");
            for (i, p) in mp.0.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                poly(&mut s, p);
            }
            s.push(')');
        }
        Geometry::LineString(l) => {
            s.push_str("LINESTRING");
            ring(&mut s, l);
        }
        other => {
            let _ = write!(s, "{other:?}");
        }
    }
    s
}

/// A typed cell produced by mapping.
#[derive(Debug, Clone, PartialEq)]
enum Val<'a> {
    Null,
    /// borrowed from the record, the pipeline or the code lists when mapping did not change it
    Text(Cow<'a, str>),
    Int(i64),
    Real(f64),
}

/// A record routed to no table, with an empty key or an unusable geometry.
struct Rejected {
    target: String,
    rule: &'static str,
    reason: String,
    key: Option<String>,
}

/// What happened to one record of a chunk, in record order.
enum Event {
    /// appended to the chunk's rows of this target
    Mapped(usize),
    Quarantine(Box<Rejected>),
}

/// The mapped rows of one chunk of records for one target table, columnar: provenance columns
/// hold placeholders until the source is assembled (the legacy key may still change).
struct ChunkTarget {
    rows: Rows,
    raw_index: Vec<usize>,
    keys: StrColumn,
    hashes: Vec<[u8; 12]>,
    /// FMT-04 findings, with the index of their row in this chunk
    findings: Vec<(usize, Finding)>,
}

/// Per worker: buffers reused from record to record.
#[derive(Default)]
struct Scratch<'a> {
    vals: Vec<Val<'a>>,
    wkb: Vec<u8>,
}

fn area_unit_from_text(v: &str) -> Option<AreaUnit> {
    if let Some(u) = AreaUnit::from_code(v) {
        return Some(u);
    }
    match v.trim() {
        "平方米" | "平米" | "㎡" | "m2" | "m²" => Some(AreaUnit::SquareMetre),
        "亩" => Some(AreaUnit::Mu),
        "公顷" | "ha" => Some(AreaUnit::Hectare),
        _ => None,
    }
}

/// A target with its table and, per mapped field, the source field and unit field indexes.
type TargetCtx<'a> = (
    &'a TargetPlan,
    &'static TableDef,
    Vec<(Option<usize>, Option<usize>)>,
);

struct Ctx<'a> {
    src: &'a SourcePlan,
    raw: &'a RawTable,
    targets: Vec<TargetCtx<'a>>,
    when_idx: Vec<Option<usize>>,
    key_idx: Vec<usize>,
    /// cleaning options per target and field of its table, made once (they hold the
    /// placeholder list: building them per value was most of the mapping's allocations)
    field_opts: Vec<Vec<TextOptions>>,
    /// keys and routing values: blanks removed
    remove_blanks: TextOptions,
}

fn cleaned<'s>(v: &'s str, opts: &TextOptions, counts: &mut ChangeCounts) -> Option<Cow<'s, str>> {
    let (out, ch) = clean_text(v, opts);
    counts.add(ch);
    out
}

impl<'a> Ctx<'a> {
    fn raw_text(&self, row: usize, idx: Option<usize>) -> Option<&'a str> {
        idx.and_then(|i| self.raw.columns[i].get(row))
    }

    fn finding(
        &self,
        row: usize,
        def: &TableDef,
        field: &str,
        key: &str,
        zh: String,
        en: String,
    ) -> Finding {
        Finding {
            rule_id: RuleId("FMT-04"),
            sub_code: "W01".into(),
            severity: Severity::W,
            layer: def.name.clone(),
            feature_key: key.to_string(),
            other_key: None,
            x: None,
            y: None,
            geom: None,
            value: None,
            tolerance: None,
            message_zh: format!(
                "{} 第{}条 字段{field}: {zh}",
                self.src.name, self.raw.src_rows[row]
            ),
            message_en: format!(
                "{} record {} field {field}: {en}",
                self.src.name, self.raw.src_rows[row]
            ),
        }
    }

    /// Map one record: appended to `out[target]` (returns the target), or rejected.
    fn map_row(
        &self,
        row: usize,
        counts: &mut ChangeCounts,
        scratch: &mut Scratch<'a>,
        out: &mut [ChunkTarget],
    ) -> Result<usize, Box<Rejected>> {
        // route
        let mut target = None;
        for (ti, (t, _, _)) in self.targets.iter().enumerate() {
            match &t.when {
                None => {
                    target = Some(ti);
                    break;
                }
                Some(w) => {
                    let v = self
                        .raw_text(row, self.when_idx[ti])
                        .and_then(|v| clean_text(v, &self.remove_blanks).0);
                    if v.as_deref()
                        .is_some_and(|v| w.values.iter().any(|x| x == v))
                    {
                        target = Some(ti);
                        break;
                    }
                }
            }
        }
        let key = if self.src.key.first().map(String::as_str) == Some(crate::quick::ROW_KEY) {
            Some(format!("row {}", self.raw.src_rows[row]))
        } else {
            let opts = &self.remove_blanks;
            let part = |i: usize| {
                self.raw.columns[i]
                    .get(row)
                    .and_then(|v| cleaned(v, opts, &mut ChangeCounts::default()))
            };
            if let [i] = self.key_idx[..] {
                part(i).map(Cow::into_owned)
            } else {
                let parts: Vec<Option<Cow<str>>> = self.key_idx.iter().map(|&i| part(i)).collect();
                if parts.iter().all(Option::is_some) {
                    Some(parts.into_iter().flatten().collect::<Vec<_>>().join("|"))
                } else {
                    None
                }
            }
        };
        let Some(ti) = target else {
            let w = self
                .targets
                .iter()
                .filter_map(|(t, _, _)| t.when.as_ref())
                .next();
            let v = w
                .and_then(|w| self.raw.field_index(&w.field))
                .and_then(|i| self.raw.columns[i].get(row));
            return Err(Box::new(Rejected {
                target: "-".into(),
                rule: "FMT-03",
                reason: format!(
                    "no target table takes this record ({} = {:?})",
                    w.map_or("-", |w| w.field.as_str()),
                    v.unwrap_or("")
                ),
                key,
            }));
        };
        let (tp, def, idxs) = &self.targets[ti];
        let Some(key) = key else {
            return Err(Box::new(Rejected {
                target: def.name.clone(),
                rule: "FMT-03",
                reason: format!("legacy key {} is empty", self.src.key.join("+")),
                key: None,
            }));
        };
        // geometry
        let mut geom = None;
        if def.geometry.is_some() {
            let g = self.raw.geoms.as_ref().and_then(|g| g[row].as_ref());
            match g {
                None => {}
                Some(Geometry::Polygon(p)) => geom = Some(MultiPolygon(vec![p.clone()])),
                Some(Geometry::MultiPolygon(mp)) => geom = Some(mp.clone()),
                Some(Geometry::GeometryCollection(gc))
                    if gc
                        .0
                        .iter()
                        .all(|g| matches!(g, Geometry::Polygon(_) | Geometry::MultiPolygon(_))) =>
                {
                    let mut polys = Vec::new();
                    for g in &gc.0 {
                        match g {
                            Geometry::Polygon(p) => polys.push(p.clone()),
                            Geometry::MultiPolygon(mp) => polys.extend(mp.0.iter().cloned()),
                            _ => {}
                        }
                    }
                    geom = Some(MultiPolygon(polys));
                }
                Some(other) => {
                    return Err(Box::new(Rejected {
                        target: def.name.clone(),
                        rule: "FMT-03",
                        reason: format!(
                            "{} geometry cannot go to polygon table {}",
                            geometry_name(other),
                            def.name
                        ),
                        key: Some(key),
                    }))
                }
            }
        }
        let vals = &mut scratch.vals;
        vals.clear();
        vals.resize(def.fields.len(), Val::Null);
        let mut findings = Vec::new();
        for (k, (fi, m)) in tp.fields.iter().enumerate() {
            let f = &def.fields[*fi];
            let (from_idx, unit_idx) = idxs[k];
            let opts = &self.field_opts[ti][*fi];
            let mut v: Option<Cow<'a, str>> = if let Some(c) = &m.constant {
                Some(Cow::Borrowed(c.as_str()))
            } else if let Some(parts) = &m.concat {
                let mut s = String::new();
                let mut ok = true;
                for p in parts {
                    if let Some(lit) = p.strip_prefix('\'').and_then(|p| p.strip_suffix('\'')) {
                        s.push_str(lit);
                    } else {
                        match self
                            .raw
                            .field_index(p)
                            .and_then(|i| self.raw.columns[i].get(row))
                            .and_then(|x| cleaned(x, opts, counts))
                        {
                            Some(x) => s.push_str(&x),
                            None => ok = false,
                        }
                    }
                }
                ok.then_some(Cow::Owned(s))
            } else {
                self.raw_text(row, from_idx)
                    .and_then(|x| cleaned(x, opts, counts))
            };
            if v.is_none() {
                v = m.default.as_deref().map(Cow::Borrowed);
            }
            let Some(mut s) = v else { continue };
            if let Some(map) = &m.map {
                if let Some(t) = map.get(s.as_ref()) {
                    s = Cow::Borrowed(t.as_str());
                }
            }
            if let Some(cw) = &m.crosswalk {
                if let Some(t) = codelists()
                    .crosswalk(cw)
                    .and_then(|c| c.codes.get(s.as_ref()))
                {
                    s = Cow::Borrowed(t.as_str());
                }
            }
            if let Some(w) = m.pad {
                if let Ok(c) = normalize_code(&s, Some(w)) {
                    s = Cow::Owned(c);
                }
            }
            if let Some([a, b]) = m.slice {
                s = Cow::Owned(s.chars().skip(a).take(b.saturating_sub(a)).collect());
            }
            let bad = |zh: String, en: String, findings: &mut Vec<Finding>| {
                findings.push(self.finding(row, def, &f.name, &key, zh, en));
            };
            vals[*fi] = match f.ty {
                FieldType::Text => Val::Text(s),
                FieldType::Date => match normalize_date(&s) {
                    Ok(d) => Val::Text(Cow::Owned(d)),
                    Err(e) => {
                        bad(
                            format!("日期无法识别 {s:?}: {e}"),
                            format!("date not understood {s:?}: {e}"),
                            &mut findings,
                        );
                        Val::Null
                    }
                },
                FieldType::Int => match parse_int(&s) {
                    Ok(i) => Val::Int(i),
                    Err(e) => {
                        bad(
                            format!("整数无法识别 {s:?}: {e}"),
                            format!("integer not understood {s:?}: {e}"),
                            &mut findings,
                        );
                        Val::Null
                    }
                },
                FieldType::Real => {
                    let r = if let Some(u) = &m.unit {
                        let unit = match u.as_str() {
                            "mu" => AreaUnit::Mu,
                            "ha" => AreaUnit::Hectare,
                            _ => AreaUnit::SquareMetre,
                        };
                        parse_area(&s, unit).map_err(|e| e.to_string())
                    } else if m.unit_field.is_some() {
                        let uv = self
                            .raw_text(row, unit_idx)
                            .map(str::trim)
                            .filter(|x| !x.is_empty());
                        match uv.map(|x| (x, area_unit_from_text(x))) {
                            Some((x, None)) => Err(format!("unknown area unit {x:?}")),
                            Some((_, Some(u))) => {
                                parse_area_with_code(&s, Some(u.code())).map_err(|e| e.to_string())
                            }
                            None => parse_area_with_code(&s, None).map_err(|e| e.to_string()),
                        }
                    } else {
                        parse_real(&s).map_err(|e| e.to_string())
                    };
                    match r {
                        Ok(x) => Val::Real(x),
                        Err(e) => {
                            bad(
                                format!("数值无法识别 {s:?}: {e}"),
                                format!("number not understood {s:?}: {e}"),
                                &mut findings,
                            );
                            Val::Null
                        }
                    }
                }
            };
        }
        if let (Some(ysdm), Some(i)) = (&def.ysdm, def.field_index("YSDM")) {
            if vals[i] == Val::Null {
                vals[i] = Val::Text(Cow::Borrowed(ysdm.as_str()));
            }
        }
        let hash = record_hash(vals, geom.as_ref(), &mut scratch.wkb);
        let o = &mut out[ti];
        let j = o.raw_index.len();
        let prov = def.fields.len() - registry().provenance.len();
        for (i, col) in o.rows.columns.iter_mut().enumerate() {
            if i < prov {
                push(col, std::mem::replace(&mut vals[i], Val::Null));
            } else {
                push(col, Val::Null);
            }
        }
        if def.geometry.is_some() {
            o.rows.geoms.push(geom);
        }
        o.raw_index.push(row);
        o.keys.push(Some(&key));
        o.hashes.push(hash);
        o.findings.extend(findings.into_iter().map(|f| (j, f)));
        Ok(ti)
    }
}

fn geometry_name(g: &Geometry<f64>) -> &'static str {
    match g {
        Geometry::Point(_) => "point",
        Geometry::Line(_) | Geometry::LineString(_) => "line",
        Geometry::MultiPoint(_) => "multipoint",
        Geometry::MultiLineString(_) => "multiline",
        Geometry::GeometryCollection(_) => "mixed collection",
        _ => "non-polygon",
    }
}

fn record_hash(vals: &[Val], geom: Option<&Geom>, wkb: &mut Vec<u8>) -> [u8; 12] {
    let mut h = Sha256::new();
    for v in vals {
        match v {
            Val::Null => h.update([0u8]),
            Val::Text(s) => {
                h.update([1u8]);
                h.update(s.as_bytes());
            }
            Val::Int(i) => {
                h.update([2u8]);
                h.update(i.to_le_bytes());
            }
            Val::Real(r) => {
                h.update([3u8]);
                h.update(r.to_le_bytes());
            }
        }
        h.update([0x1f]);
    }
    if let Some(g) = geom {
        wkb.clear();
        cadastra_io::wkb::write_multipolygon(wkb, g);
        h.update(&wkb[..]);
    }
    let mut out = [0u8; 12];
    out.copy_from_slice(&h.finalize()[..12]);
    out
}

/// Map every record of a source.
///
/// Workers map chunks of records into columnar per-target rows (no per-record allocation that
/// outlives the record); the chunks are then checked for duplicate exports in record order and
/// concatenated, and the provenance columns filled.
pub fn map_source(src: &SourcePlan, data: &SourceData, batch: &str) -> MapResult {
    let raw = &data.table;
    let targets: Vec<_> = src
        .targets
        .iter()
        .map(|t| {
            let def = registry()
                .table(&t.table)
                .expect("compile() resolved the table");
            let idxs = t
                .fields
                .iter()
                .map(|(_, m)| {
                    (
                        m.from.as_ref().and_then(|f| raw.field_index(f)),
                        m.unit_field.as_ref().and_then(|f| raw.field_index(f)),
                    )
                })
                .collect();
            (t, def, idxs)
        })
        .collect();
    let when_idx = src
        .targets
        .iter()
        .map(|t| t.when.as_ref().and_then(|w| raw.field_index(&w.field)))
        .collect();
    let key_idx: Vec<usize> = src.key.iter().filter_map(|k| raw.field_index(k)).collect();
    let field_opts = targets
        .iter()
        .map(|(_, def, _)| {
            (0..def.fields.len())
                .map(|fi| text_options(def, fi))
                .collect()
        })
        .collect();
    let ctx = Ctx {
        src,
        raw,
        targets,
        when_idx,
        key_idx,
        field_opts,
        remove_blanks: TextOptions {
            blanks: Blanks::Remove,
            ..Default::default()
        },
    };

    let problem_rows: HashSet<usize> = data.problems.iter().map(|p| p.row).collect();
    let n = raw.len();
    const CHUNK: usize = 16 * 1024;
    type Chunk = (Vec<(usize, Event)>, Vec<ChunkTarget>, ChangeCounts);
    let mut chunks: Vec<Chunk> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let mut counts = ChangeCounts::default();
            let mut scratch = Scratch::default();
            let mut out: Vec<ChunkTarget> = ctx
                .targets
                .iter()
                .map(|(_, def, _)| ChunkTarget {
                    rows: Rows::new(def),
                    raw_index: Vec::new(),
                    keys: StrColumn::default(),
                    hashes: Vec::new(),
                    findings: Vec::new(),
                })
                .collect();
            let events = (c * CHUNK..((c + 1) * CHUNK).min(n))
                .filter(|r| !problem_rows.contains(r))
                .map(|r| {
                    let ev = match ctx.map_row(r, &mut counts, &mut scratch, &mut out) {
                        Ok(ti) => Event::Mapped(ti),
                        Err(q) => Event::Quarantine(q),
                    };
                    (r, ev)
                })
                .collect();
            (events, out, counts)
        })
        .collect();

    let mut result = MapResult::default();
    let quarantine =
        |r: usize, target: String, rule: &str, reason: String, key: Option<String>| Quarantined {
            source: src.name.clone(),
            src_file: src.display_path.clone(),
            src_row: raw.src_rows[r],
            src_key: key,
            target,
            rule_id: rule.to_string(),
            reason,
            raw_record: raw_json(raw, r),
            raw_geom_wkt: raw.geoms.as_ref().and_then(|g| g[r].as_ref()).map(wkt),
        };
    // one quarantine entry per record, however many of its fields could not be decoded: a
    // record is read once (read = loaded + unchanged + held + quarantined counts records)
    let mut problems_by_row: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for p in &data.problems {
        problems_by_row.entry(p.row).or_default().push(format!(
            "field {}: {} (raw bytes {})",
            p.field, p.reason, p.raw
        ));
    }
    for (row, reasons) in problems_by_row {
        let target = if ctx.targets.len() == 1 {
            ctx.targets[0].1.name.clone()
        } else {
            "-".into()
        };
        *result.read_per_target.entry(target.clone()).or_default() += 1;
        result
            .quarantine
            .push(quarantine(row, target, "FMT-02", reasons.join("; "), None));
    }

    // duplicate exports, in record order: per target, which rows of each chunk stay
    struct Kept {
        /// per chunk: None = all its rows, else the kept row indexes
        parts: Vec<Option<Vec<usize>>>,
        raw_index: Vec<usize>,
        keys: StrColumn,
        hashes: Vec<[u8; 12]>,
    }
    let mut kept: Vec<Kept> = ctx
        .targets
        .iter()
        .map(|_| Kept {
            parts: Vec::new(),
            raw_index: Vec::new(),
            keys: StrColumn::default(),
            hashes: Vec::new(),
        })
        .collect();
    let mut seen: Vec<HashMap<String, (usize, [u8; 12])>> =
        ctx.targets.iter().map(|_| HashMap::new()).collect();
    for (events, out, counts) in &mut chunks {
        result.cleaning.merge(counts);
        let mut pos = vec![0usize; out.len()];
        let mut keep: Vec<Vec<usize>> = out.iter().map(|_| Vec::new()).collect();
        for (r, ev) in events.drain(..) {
            match ev {
                Event::Quarantine(q) => {
                    let Rejected {
                        target,
                        rule,
                        reason,
                        key,
                    } = *q;
                    *result.read_per_target.entry(target.clone()).or_default() += 1;
                    result
                        .quarantine
                        .push(quarantine(r, target, rule, reason, key));
                }
                Event::Mapped(ti) => {
                    let j = pos[ti];
                    pos[ti] += 1;
                    let tname = &ctx.targets[ti].1.name;
                    *result.read_per_target.entry(tname.clone()).or_default() += 1;
                    let key = out[ti].keys.get(j).unwrap_or_default();
                    let hash = out[ti].hashes[j];
                    let final_key = match seen[ti].get(key) {
                        Some((first_row, first_hash)) if *first_hash == hash => {
                            // the same record exported twice: keep one
                            let why = format!(
                                "duplicate record: identical to record {} with the same legacy key {key}",
                                raw.src_rows[*first_row]
                            );
                            result.quarantine.push(quarantine(
                                r,
                                tname.clone(),
                                "FMT-03",
                                why,
                                Some(key.to_string()),
                            ));
                            continue;
                        }
                        // same key, different content: both go on, told apart in provenance,
                        // and the rules (UNIT-07 and friends) judge the collision
                        Some(_) => format!("{key}#{}", raw.src_rows[r]),
                        None => {
                            seen[ti].insert(key.to_string(), (r, hash));
                            key.to_string()
                        }
                    };
                    let k = &mut kept[ti];
                    k.raw_index.push(r);
                    k.keys.push(Some(&final_key));
                    k.hashes.push(hash);
                    keep[ti].push(j);
                }
            }
        }
        for (ti, idx) in keep.into_iter().enumerate() {
            let all = idx.len() == out[ti].raw_index.len();
            kept[ti].parts.push((!all).then_some(idx));
        }
    }
    drop(seen);

    for (ti, k) in kept.into_iter().enumerate() {
        let def = ctx.targets[ti].1;
        let prov = def.fields.len() - registry().provenance.len();
        let total = k.raw_index.len();
        let mut rows = Rows::new(def);
        // size every column once: no growth (copy + fresh pages) while filling
        for (i, col) in rows.columns.iter_mut().enumerate().take(prov) {
            let bytes = chunks
                .iter()
                .map(|(_, out, _)| match &out[ti].rows.columns[i] {
                    Column::Text(c) => c.text_bytes(),
                    _ => 0,
                })
                .sum();
            *col = match col {
                Column::Text(_) => Column::Text(StrColumn::with_capacity(total, bytes)),
                Column::Int(_) => Column::Int(Vec::with_capacity(total)),
                Column::Real(_) => Column::Real(Vec::with_capacity(total)),
            };
        }
        if def.geometry.is_some() {
            rows.geoms.reserve_exact(total);
        }
        for (c, part) in k.parts.iter().enumerate() {
            let ct = &mut chunks[c].1[ti];
            let chunk_rows = std::mem::replace(&mut ct.rows, Rows::new(def));
            let findings = std::mem::take(&mut ct.findings);
            match part {
                None => {
                    for (col, from) in rows.columns.iter_mut().zip(&chunk_rows.columns).take(prov) {
                        col.extend_from(from);
                    }
                    rows.geoms.extend(chunk_rows.geoms);
                    result.findings.extend(findings.into_iter().map(|(_, f)| f));
                }
                Some(idx) => {
                    for (col, from) in rows.columns.iter_mut().zip(&chunk_rows.columns).take(prov) {
                        col.extend_from(&from.take(idx));
                    }
                    if def.geometry.is_some() {
                        let mut geoms: Vec<Option<Geom>> = chunk_rows.geoms;
                        rows.geoms
                            .extend(idx.iter().map(|&j| std::mem::take(&mut geoms[j])));
                    }
                    result.findings.extend(
                        findings
                            .into_iter()
                            .filter(|(j, _)| idx.binary_search(j).is_ok())
                            .map(|(_, f)| f),
                    );
                }
            }
        }
        // provenance
        for (i, col) in rows.columns.iter_mut().enumerate().skip(prov) {
            let name = def.fields[i].name.as_str();
            let constant = match name {
                "src_system" => Some(src.system.as_str()),
                "src_file" => Some(src.display_path.as_str()),
                "batch_id" => Some(batch),
                _ => None,
            };
            *col = match (name, &*col) {
                ("src_row", Column::Int(_)) => Column::Int(
                    k.raw_index
                        .iter()
                        .map(|&r| Some(raw.src_rows[r] as i64))
                        .collect(),
                ),
                ("src_key", Column::Text(_)) => Column::Text(k.keys.clone()),
                ("record_hash", Column::Text(_)) => {
                    let mut c = StrColumn::with_capacity(total, total * 24);
                    let mut text = [0u8; 24];
                    for h in &k.hashes {
                        hex::encode_to_slice(h, &mut text).expect("12 bytes make 24 digits");
                        c.push(std::str::from_utf8(&text).ok());
                    }
                    Column::Text(c)
                }
                (_, Column::Text(_)) => {
                    let mut c =
                        StrColumn::with_capacity(total, constant.map_or(0, |t| t.len() * total));
                    for _ in 0..total {
                        c.push(constant);
                    }
                    Column::Text(c)
                }
                (_, Column::Int(_)) => Column::Int(vec![None; total]),
                (_, Column::Real(_)) => Column::Real(vec![None; total]),
            };
        }
        result.targets.push(MappedTarget {
            table: def.name.clone(),
            rows,
            raw_index: k.raw_index,
        });
    }
    result
}

fn push(col: &mut Column, v: Val) {
    match (col, v) {
        (Column::Text(c), Val::Text(s)) => c.push(Some(&s)),
        (Column::Text(c), Val::Int(i)) => c.push(Some(&i.to_string())),
        (Column::Text(c), Val::Real(r)) => c.push(Some(&format_real(r))),
        (Column::Text(c), Val::Null) => c.push(None),
        (Column::Int(c), Val::Int(i)) => c.push(Some(i)),
        (Column::Int(c), _) => c.push(None),
        (Column::Real(c), Val::Real(r)) => c.push(Some(r)),
        (Column::Real(c), Val::Int(i)) => c.push(Some(i as f64)),
        (Column::Real(c), _) => c.push(None),
    }
}
