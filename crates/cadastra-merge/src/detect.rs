//! Conflict detection: incoming records against the registry and against each other.
//!
//! - MERGE-01 by key: records of one table sharing a business key (after re-keying) that are not
//!   the same record (same system and legacy key) nor one delivery (same system and batch).
//! - MERGE-02 / MERGE-03 by geometry: candidate pairs from `cadastra_geom::TopoIndex` (incoming
//!   among themselves, incoming against the registry), the exact `interiors_intersect` test, then
//!   the overlap: ≥ `same_ground_ratio` of both → MERGE-02; else parcels of different county
//!   codes overlapping beyond snapping noise → MERGE-03.
//! - MERGE-04 by person: right holders of the same name whose 身份证 numbers are one person's
//!   (a 15-digit number and its 18-digit form, or two 18-digit numbers one character apart of
//!   which one fails GB 11643).
//! - MERGE-05 by unit: the cadastral record (宗地, 户) against its current registration (land
//!   right, house right) with the same unit number: area and use.
//!
//! Every conflict is named by a digest of its records' identities, so a re-run finds the same
//! ids. Conflicts come back sorted by id; the result does not depend on the number of threads.

use crate::conflict::{Choice, Conflict, Edit, EditValue, Member, MergeRule};
use crate::input::{county, Origin, RecordRef, Records};
use crate::policy::{Policy, Side};
use cadastra_geom::TopoIndex;
use cadastra_model::ids::{id_card_15_to_18, id_card_check, mask_id, mask_name};
use cadastra_model::{Cell, Geom, TableDef};
use rayon::prelude::*;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

/// Detection options besides the policy.
#[derive(Debug, Clone, Default)]
pub struct DetectOptions {
    /// write personal data (names, ID numbers) unmasked into conflict details
    pub unmask: bool,
}

/// Find every conflict among `recs` (incoming layers and registry layers).
pub fn detect(recs: &Records<'_>, policy: &Policy, opts: &DetectOptions) -> Vec<Conflict> {
    let mut out = Vec::new();
    let tables: Vec<&TableDef> = {
        let mut t: Vec<&TableDef> = Vec::new();
        for l in recs.layers.iter().filter(|l| l.origin == Origin::Incoming) {
            if !t.iter().any(|d| d.name == l.def.name) {
                t.push(l.def);
            }
        }
        t
    };
    // the detections are independent: side by side, their results concatenated in this order
    // (the order the sort below keeps among equal ids)
    enum Task<'t> {
        SameKey(&'t TableDef),
        SameGround(&'t TableDef),
        Persons,
        Registration,
    }
    let mut tasks = Vec::new();
    for def in &tables {
        if def.key.is_some() {
            tasks.push(Task::SameKey(def));
        }
        if def.geometry.is_some() && matches!(def.name.as_str(), "ZDJBXX" | "ZRZ") {
            tasks.push(Task::SameGround(def));
        }
    }
    if tables.iter().any(|d| d.name == "QLR") {
        tasks.push(Task::Persons);
    }
    tasks.push(Task::Registration);
    let parts: Vec<Vec<Conflict>> = tasks
        .par_iter()
        .map(|t| match t {
            Task::SameKey(def) => same_key(recs, policy, def, opts),
            Task::SameGround(def) => same_ground(recs, policy, def),
            Task::Persons => person_ids(recs, opts),
            Task::Registration => cadastre_registration(recs, policy),
        })
        .collect();
    out.extend(parts.into_iter().flatten());
    // one conflict per id: a record and its own registry version can both meet the same partner
    out.sort_by(|a, b| {
        a.id.cmp(&b.id).then_with(|| {
            let inc = |c: &Conflict| {
                c.members
                    .iter()
                    .filter(|m| recs.is_incoming(m.record))
                    .count()
            };
            inc(b).cmp(&inc(a))
        })
    });
    out.dedup_by(|later, first| later.id == first.id);
    out
}

fn member(recs: &Records<'_>, r: RecordRef, subject: bool) -> Member {
    Member {
        record: r,
        label: recs.label(r),
        identity: recs.identity(r),
        key: recs.business_key(r).unwrap_or_default(),
        subject: subject && recs.is_incoming(r),
    }
}

fn conflict_id(rule: MergeRule, members: &[Member]) -> String {
    let ids: Vec<&str> = members.iter().map(|m| m.identity.as_str()).collect();
    Conflict::make_id(rule, &ids)
}

/// Which members a conflict holds while undecided: with a registry row involved, every incoming
/// record (the registry row is never displaced without a decision); among incoming records only,
/// those ranked below the best by `priority` (all of them when none ranks first alone).
fn pick_subjects(recs: &Records<'_>, policy: &Policy, records: &[RecordRef]) -> Vec<bool> {
    if records.iter().any(|&r| !recs.is_incoming(r)) {
        return records.iter().map(|&r| recs.is_incoming(r)).collect();
    }
    let ranks: Vec<usize> = records
        .iter()
        .map(|&r| policy.rank(recs.system(r)))
        .collect();
    let best = ranks.iter().copied().min().unwrap_or(0);
    if ranks.iter().filter(|&&k| k == best).count() == records.len() {
        return vec![true; records.len()];
    }
    ranks.iter().map(|&k| k > best).collect()
}

/// The label of the member ranked first alone by `priority`, if any.
fn best_label(recs: &Records<'_>, policy: &Policy, members: &[Member]) -> Option<String> {
    let ranks: Vec<usize> = members
        .iter()
        .map(|m| policy.rank(recs.system(m.record)))
        .collect();
    let best = *ranks.iter().min()?;
    let winners: Vec<&Member> = members
        .iter()
        .zip(&ranks)
        .filter(|(_, &k)| k == best)
        .map(|(m, _)| m)
        .collect();
    let first = &winners[0].label;
    winners
        .iter()
        .all(|m| &m.label == first)
        .then(|| first.clone())
}

/// The member a field-class side names, if exactly one.
fn side_member(
    recs: &Records<'_>,
    policy: &Policy,
    side: &Side,
    members: &[Member],
) -> Option<usize> {
    let pick = |f: &dyn Fn(&Member) -> bool| {
        let v: Vec<usize> = (0..members.len()).filter(|&i| f(&members[i])).collect();
        (v.len() == 1).then(|| v[0])
    };
    match side {
        Side::Registry => pick(&|m| !recs.is_incoming(m.record)),
        Side::Incoming => pick(&|m| recs.is_incoming(m.record)),
        Side::System(s) => pick(&|m| recs.system(m.record) == s.as_str()),
        Side::Priority => {
            let l = best_label(recs, policy, members)?;
            pick(&|m| m.label == l)
        }
        Side::Survey | Side::Registration => None,
    }
}

fn is_geometry_class(name: &str) -> bool {
    name.ends_with("MJ") || name == "MJDW"
}

fn edit_value(c: Cell<'_>) -> EditValue {
    match c {
        Cell::Null => EditValue::Null,
        Cell::Text(t) => EditValue::Text(t.to_string()),
        Cell::Int(i) => EditValue::Int(i),
        Cell::Real(r) => EditValue::Real(r),
    }
}

fn fmt_val(recs: &Records<'_>, r: RecordRef, field: usize, unmask: bool) -> String {
    let def = recs.layer(r).def;
    let v = recs
        .cell(r, field)
        .as_text()
        .map(|s| s.to_string())
        .unwrap_or_default();
    let name = &def.fields[field].name;
    if !unmask && def.is_personal(name) {
        match name.as_str() {
            "QLRMC" => mask_name(&v),
            "ZJH" => mask_id(&v),
            _ => cadastra_model::ids::mask_other(&v),
        }
    } else {
        v
    }
}

/// Attribute differences of two records of one table: fields both fill with different values.
fn differences(recs: &Records<'_>, a: RecordRef, b: RecordRef) -> Vec<usize> {
    let def = recs.layer(a).def;
    let prov = cadastra_model::registry().provenance.len();
    let data_fields = def
        .fields
        .len()
        .saturating_sub(if def.is_data() { prov } else { 0 });
    let mut out = Vec::new();
    for i in 0..data_fields {
        let name = def.fields[i].name.as_str();
        if matches!(name, "BSM" | "YSDM") {
            continue;
        }
        let (x, y) = (recs.cell(a, i), recs.cell(b, i));
        let differ = match (x, y) {
            (Cell::Null, _) | (_, Cell::Null) => false,
            (Cell::Real(p), Cell::Real(q)) => (p - q).abs() > 0.005_f64.max(1e-9 * p.abs()),
            (Cell::Int(p), Cell::Int(q)) => p != q,
            (Cell::Text(p), Cell::Text(q)) => p.trim() != q.trim(),
            (p, q) => p.as_text() != q.as_text(),
        };
        if differ {
            out.push(i);
        }
    }
    out
}

// ------------------------------------------------------------------------------------ MERGE-01

fn same_key(
    recs: &Records<'_>,
    policy: &Policy,
    def: &TableDef,
    opts: &DetectOptions,
) -> Vec<Conflict> {
    let all = recs.of_table(&def.name);
    let Some(ki) = def.key.as_deref().and_then(|k| def.field_index(k)) else {
        return Vec::new();
    };
    // grouped by key borrowed from the columns (a million keys at city scale: no copies, no
    // ordered map), then the groups of two or more in key order
    let mut groups: HashMap<Cow<'_, str>, Vec<RecordRef>> = HashMap::with_capacity(all.len());
    for &r in all.iter().filter(|&&r| recs.is_incoming(r)) {
        if let Some(k) = recs.text_at(r, ki) {
            groups.entry(k).or_default().push(r);
        }
    }
    for &r in all.iter().filter(|&&r| !recs.is_incoming(r)) {
        if let Some(k) = recs.text_at(r, ki) {
            if let Some(g) = groups.get_mut(&k) {
                g.push(r);
            }
        }
    }
    let mut groups: Vec<(Cow<'_, str>, Vec<RecordRef>)> =
        groups.into_iter().filter(|(_, g)| g.len() >= 2).collect();
    groups.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut out = Vec::new();
    for (key, group) in groups {
        let key = key.into_owned();
        let mut involved = vec![false; group.len()];
        let mut pairs = Vec::new();
        for i in 0..group.len() {
            for j in i + 1..group.len() {
                if !recs.excluded(group[i], group[j]) {
                    involved[i] = true;
                    involved[j] = true;
                    pairs.push((group[i], group[j]));
                }
            }
        }
        if pairs.is_empty() {
            continue;
        }
        let records: Vec<RecordRef> = group
            .iter()
            .zip(&involved)
            .filter(|(_, &x)| x)
            .map(|(&r, _)| r)
            .collect();
        let subj = pick_subjects(recs, policy, &records);
        let members: Vec<Member> = records
            .iter()
            .zip(&subj)
            .map(|(&r, &s)| member(recs, r, s))
            .collect();
        let mut notes = Vec::new();
        let mut worst: f64 = 0.0;
        let mut at = None;
        for &(a, b) in &pairs {
            let mut what = Vec::new();
            if let (Some(ga), Some(gb)) = (recs.geom(a), recs.geom(b)) {
                let h = cadastra_geom::hausdorff(ga, gb);
                if h > policy.hausdorff_tolerance {
                    what.push(format!("geometry differs (Hausdorff {h:.2} m)"));
                    worst = worst.max(h);
                }
                at = at.or_else(|| representative_point(ga));
            } else if recs.geom(a).is_some() != recs.geom(b).is_some() {
                what.push("geometry on one side only".to_string());
            }
            let diffs = differences(recs, a, b);
            for &f in diffs.iter().take(6) {
                what.push(format!(
                    "{} {:?} ≠ {:?}",
                    def.fields[f].name,
                    fmt_val(recs, a, f, opts.unmask),
                    fmt_val(recs, b, f, opts.unmask)
                ));
            }
            if diffs.len() > 6 {
                what.push(format!("{} more fields differ", diffs.len() - 6));
            }
            if what.is_empty() {
                what.push("same content (delivered twice)".to_string());
            }
            notes.push(format!(
                "{} ↔ {}: {}",
                recs.label(a),
                recs.label(b),
                what.join("; ")
            ));
        }
        // choices: keep one side, merge by field class, reject the held records
        let mut choices: Vec<Choice> = Vec::new();
        for m in &members {
            let c = Choice::Keep(m.label.clone());
            if !choices.contains(&c) {
                choices.push(c);
            }
        }
        let mut edits = Vec::new();
        let g = side_member(recs, policy, &policy.geometry_from, &members);
        let l = side_member(recs, policy, &policy.legal_from, &members);
        if let (2, Some(g), Some(l)) = (members.len(), g, l) {
            if g != l {
                // the written record is an incoming one: the legal side if incoming, else the
                // geometry side; the other side's field class is copied into it
                let (base, from, geometry_class) = if recs.is_incoming(members[l].record) {
                    (l, g, true)
                } else {
                    (g, l, false)
                };
                let (rb, rf) = (members[base].record, members[from].record);
                for (i, f) in def.fields.iter().enumerate() {
                    if def.is_data()
                        && i >= def.fields.len() - cadastra_model::registry().provenance.len()
                    {
                        continue;
                    }
                    if is_geometry_class(&f.name) == geometry_class {
                        edits.push(Edit {
                            choice: Choice::Merge,
                            record: rb,
                            field: Some(i),
                            value: edit_value(recs.cell(rf, i)),
                        });
                    }
                }
                if geometry_class {
                    if let Some(gf) = recs.geom(rf) {
                        edits.push(Edit {
                            choice: Choice::Merge,
                            record: rb,
                            field: None,
                            value: EditValue::Geom(Box::new(gf.clone())),
                        });
                    }
                }
                choices.push(Choice::Merge);
            }
        }
        choices.push(Choice::Reject);
        let suggested = best_label(recs, policy, &members).map(Choice::Keep);
        let first = members.iter().find(|m| m.subject).unwrap_or(&members[0]);
        let other = members
            .iter()
            .find(|m| m.identity != first.identity)
            .map(|m| m.key.clone());
        out.push(Conflict {
            id: conflict_id(MergeRule::SameKey, &members),
            rule: MergeRule::SameKey,
            layer: def.name.clone(),
            feature_key: key.clone(),
            other_key: other,
            detail: format!(
                "{} {key}: {}",
                def.key.as_deref().unwrap_or(""),
                notes.join(" | ")
            ),
            members,
            choices,
            suggested,
            value: (worst > 0.0).then_some(worst),
            at,
            geom: None,
            edits,
        });
    }
    out
}

fn representative_point(g: &Geom) -> Option<(f64, f64)> {
    use geo::Centroid;
    g.centroid()
        .map(|p| (p.x(), p.y()))
        .filter(|(x, y)| x.is_finite() && y.is_finite())
}

// --------------------------------------------------------------------------- MERGE-02, MERGE-03

struct GroundPair {
    a: RecordRef,
    b: RecordRef,
    overlap: Geom,
    overlap_area: f64,
    area_a: f64,
    area_b: f64,
}

fn same_ground(recs: &Records<'_>, policy: &Policy, def: &TableDef) -> Vec<Conflict> {
    let all = recs.of_table(&def.name);
    let with_geom: Vec<(RecordRef, &Geom)> = all
        .iter()
        .filter_map(|&r| recs.geom(r).map(|g| (r, g)))
        .collect();
    let inc: Vec<(RecordRef, &Geom)> = with_geom
        .iter()
        .copied()
        .filter(|(r, _)| recs.is_incoming(*r))
        .collect();
    let reg: Vec<(RecordRef, &Geom)> = with_geom
        .iter()
        .copied()
        .filter(|(r, _)| !recs.is_incoming(*r))
        .collect();
    let inc_geoms: Vec<&Geom> = inc.iter().map(|(_, g)| *g).collect();
    let reg_geoms: Vec<&Geom> = reg.iter().map(|(_, g)| *g).collect();
    let ii = TopoIndex::from_refs(&inc_geoms);
    type Side<'g> = (RecordRef, &'g Geom);
    let mut pairs: Vec<(Side<'_>, Side<'_>)> = ii
        .candidate_pairs()
        .into_iter()
        .map(|(i, j)| (inc[i as usize], inc[j as usize]))
        .collect();
    if !reg.is_empty() {
        let ri = TopoIndex::from_refs(&reg_geoms);
        pairs.extend(
            ii.pairs_with(&ri)
                .into_iter()
                .map(|(i, j)| (inc[i as usize], reg[j as usize])),
        );
    }
    let found: Vec<GroundPair> = pairs
        .par_iter()
        .filter_map(|&((a, ga), (b, gb))| {
            if recs.excluded(a, b) {
                return None;
            }
            let (ka, kb) = (recs.business_key(a), recs.business_key(b));
            if ka.is_some() && ka == kb {
                return None; // MERGE-01's
            }
            if !cadastra_geom::interiors_intersect(ga, gb) {
                return None;
            }
            let ov = cadastra_geom::overlap(ga, gb)?;
            Some(GroundPair {
                a,
                b,
                overlap: ov.geom,
                overlap_area: ov.area,
                area_a: cadastra_geom::shape::area(ga),
                area_b: cadastra_geom::shape::area(gb),
            })
            .filter(|_| ov.area > policy.min_overlap_area && ov.width > policy.min_overlap_width)
        })
        .collect();
    let mut out = Vec::new();
    for p in found {
        let big = p.area_a.max(p.area_b);
        if big > 0.0 && p.overlap_area >= policy.same_ground_ratio * big {
            out.push(same_ground_conflict(recs, policy, def, &p));
            continue;
        }
        if def.name != "ZDJBXX" {
            continue;
        }
        let (ka, kb) = (
            recs.business_key(p.a).unwrap_or_default(),
            recs.business_key(p.b).unwrap_or_default(),
        );
        let (Some(ca), Some(cb)) = (county(&ka), county(&kb)) else {
            continue;
        };
        if ca == cb {
            continue;
        }
        out.push(border_conflict(recs, policy, &p, (ca, cb)));
    }
    out
}

fn same_ground_conflict(
    recs: &Records<'_>,
    policy: &Policy,
    def: &TableDef,
    p: &GroundPair,
) -> Conflict {
    let records = [p.a, p.b];
    let subj = pick_subjects(recs, policy, &records);
    let members: Vec<Member> = records
        .iter()
        .zip(&subj)
        .map(|(&r, &s)| member(recs, r, s))
        .collect();
    let big = p.area_a.max(p.area_b);
    let mut choices = vec![Choice::Accept, Choice::Reject];
    if members.iter().all(|m| recs.is_incoming(m.record)) && members[0].label != members[1].label {
        choices.insert(1, Choice::Keep(members[0].label.clone()));
        choices.insert(2, Choice::Keep(members[1].label.clone()));
    }
    let suggested = best_label(recs, policy, &members)
        .map(Choice::Keep)
        .filter(|c| choices.contains(c))
        .or_else(|| {
            members
                .iter()
                .any(|m| !recs.is_incoming(m.record))
                .then_some(Choice::Reject)
        });
    let first = members.iter().position(|m| m.subject).unwrap_or(0);
    Conflict {
        id: conflict_id(MergeRule::SameGround, &members),
        rule: MergeRule::SameGround,
        layer: def.name.clone(),
        feature_key: members[first].key.clone(),
        other_key: Some(members[1 - first].key.clone()),
        detail: format!(
            "{} {} ({}) and {} ({}) cover the same ground: overlap {:.1} m² = {:.1} % of {:.1} m² and {:.1} % of {:.1} m²",
            def.name,
            members[0].key,
            members[0].label,
            members[1].key,
            members[1].label,
            p.overlap_area,
            100.0 * p.overlap_area / p.area_a.max(f64::MIN_POSITIVE),
            p.area_a,
            100.0 * p.overlap_area / p.area_b.max(f64::MIN_POSITIVE),
            p.area_b
        ),
        members,
        choices,
        suggested,
        value: Some(p.overlap_area / big),
        at: representative_point(&p.overlap),
        geom: Some(p.overlap.clone()),
        edits: Vec::new(),
    }
}

/// How much a parcel's boundary lengthens when the overlap is cut out of it (m). A parcel that
/// reaches into another has the overlap as a protrusion: cutting it out shortens its boundary;
/// the parcel reached into gets a notch: its boundary grows.
fn cut_growth(g: &Geom, overlap: &Geom) -> Option<f64> {
    use geo::BooleanOps;
    if !cadastra_geom::shape::all_finite(g) || !cadastra_geom::shape::all_finite(overlap) {
        return None;
    }
    let rest = g.difference(overlap);
    let d = cadastra_geom::shape::perimeter(&rest) - cadastra_geom::shape::perimeter(g);
    d.is_finite().then_some(d)
}

fn border_conflict(
    recs: &Records<'_>,
    policy: &Policy,
    p: &GroundPair,
    (ca, cb): (&str, &str),
) -> Conflict {
    // which parcel crosses: the one the overlap sticks out of (its boundary shrinks when the
    // overlap is cut away), clearly more so than the other
    let crossing = match (
        recs.geom(p.a).and_then(|g| cut_growth(g, &p.overlap)),
        recs.geom(p.b).and_then(|g| cut_growth(g, &p.overlap)),
    ) {
        (Some(da), Some(db)) => {
            let margin = 0.1 * cadastra_geom::shape::perimeter(&p.overlap);
            if da + margin < db {
                Some(0)
            } else if db + margin < da {
                Some(1)
            } else {
                None
            }
        }
        _ => None,
    };
    let records = [p.a, p.b];
    let subj: Vec<bool> = match crossing {
        Some(c) => (0..2).map(|i| i == c).collect(),
        None => pick_subjects(recs, policy, &records),
    };
    let members: Vec<Member> = records
        .iter()
        .zip(&subj)
        .map(|(&r, &s)| member(recs, r, s))
        .collect();
    let c = crossing
        .or_else(|| members.iter().position(|m| m.subject))
        .unwrap_or(0);
    let (own, other_code) = if c == 0 { (ca, cb) } else { (cb, ca) };
    let own_area = if c == 0 { p.area_a } else { p.area_b };
    let share = p.overlap_area / own_area.max(f64::MIN_POSITIVE);
    let r = members[c].record;
    let mut edits = Vec::new();
    let renumber = Choice::Renumber(other_code.to_string());
    if members[c].subject {
        let def = recs.layer(r).def;
        for f in ["ZDDM", "BDCDYH"] {
            if let (Some(i), Some(v)) = (def.field_index(f), recs.text(r, f)) {
                if let Some(rest) = v.strip_prefix(own) {
                    edits.push(Edit {
                        choice: renumber.clone(),
                        record: r,
                        field: Some(i),
                        value: EditValue::Text(format!("{other_code}{rest}")),
                    });
                }
            }
        }
    }
    let choices = if members.iter().any(|m| m.subject) {
        vec![Choice::Accept, renumber.clone(), Choice::Reject]
    } else {
        vec![Choice::Accept]
    };
    // renumber by majority area: only when most of the parcel lies in the other district
    let suggested = Some(if share > 0.5 && choices.contains(&renumber) {
        renumber
    } else {
        Choice::Accept
    });
    let direction = if crossing.is_some() {
        "reaches into"
    } else {
        "overlaps (direction undetermined)"
    };
    Conflict {
        id: conflict_id(MergeRule::CrossesBorder, &members),
        rule: MergeRule::CrossesBorder,
        layer: "ZDJBXX".into(),
        feature_key: members[c].key.clone(),
        other_key: Some(members[1 - c].key.clone()),
        detail: format!(
            "parcel {} ({}, county {own}) {direction} parcel {} ({}, county {other_code}) across the county border: {:.1} m² = {:.1} % of its area",
            members[c].key,
            members[c].label,
            members[1 - c].key,
            members[1 - c].label,
            p.overlap_area,
            100.0 * share
        ),
        members,
        choices,
        suggested,
        value: Some(p.overlap_area),
        at: representative_point(&p.overlap),
        geom: Some(p.overlap.clone()),
        edits,
    }
}

// ------------------------------------------------------------------------------------ MERGE-04

fn norm_id(s: &str) -> String {
    s.trim().to_ascii_uppercase()
}

fn looks_like_id_card(s: &str) -> bool {
    let b = s.as_bytes();
    (b.len() == 15 && b.iter().all(u8::is_ascii_digit))
        || (b.len() == 18
            && b[..17].iter().all(u8::is_ascii_digit)
            && (b[17].is_ascii_digit() || b[17] == b'X'))
}

/// Two ID numbers that are one person's: a 15-digit number and its 18-digit form (birth date and
/// sequence equal), or 18-digit numbers one character apart (or two neighbours swapped) of
/// which at least one fails GB 11643.
pub fn same_person_ids(a: &str, b: &str) -> Option<&'static str> {
    if a == b || !looks_like_id_card(a) || !looks_like_id_card(b) {
        return None;
    }
    let (short, long) = match (a.len(), b.len()) {
        (15, 18) => (a, b),
        (18, 15) => (b, a),
        (18, 18) => {
            if id_card_check(a).is_ok() && id_card_check(b).is_ok() {
                return None;
            }
            let (x, y) = (a.as_bytes(), b.as_bytes());
            let diff: Vec<usize> = (0..18).filter(|&i| x[i] != y[i]).collect();
            return match diff.as_slice() {
                [17] => Some("check character differs"),
                [_] => Some("one character differs"),
                [i, j] if *j == i + 1 && x[*i] == y[*j] && x[*j] == y[*i] => {
                    Some("two neighbouring digits swapped")
                }
                _ => None,
            };
        }
        _ => return None,
    };
    let up = id_card_15_to_18(short)?;
    (up[..17] == long[..17]).then_some("15-digit number and its 18-digit form")
}

/// The pairs `(i, j)`, `i < j`, of the sorted `ids` that [`same_person_ids`] can relate, in the
/// order of trying every pair, found without trying every pair: a common name holds thousands of
/// ID numbers in a city (trying their pairs was most of the merge time at 1M parcels). Two 18-digit
/// numbers relate only when one fails GB 11643, so only the failing ones' neighbours (one character
/// changed, two neighbours swapped) are looked up, and each 15-digit number's 18-digit forms (any
/// check character): a few hundred binary searches per failing number.
fn id_pair_candidates(ids: &[&String]) -> Vec<(usize, usize)> {
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    let look = |i: usize, cand: &[u8], pairs: &mut Vec<(usize, usize)>| {
        let Ok(cand) = std::str::from_utf8(cand) else {
            return;
        };
        if let Ok(j) = ids.binary_search_by(|s| s.as_str().cmp(cand)) {
            if j != i {
                pairs.push((i.min(j), i.max(j)));
            }
        }
    };
    const LAST: &[u8; 11] = b"0123456789X";
    for (i, id) in ids.iter().enumerate() {
        if !looks_like_id_card(id) {
            continue;
        }
        if id.len() == 15 {
            if let Some(up) = id_card_15_to_18(id) {
                let mut c = up.into_bytes();
                for &last in LAST {
                    c[17] = last;
                    look(i, &c, &mut pairs);
                }
            }
            continue;
        }
        if id_card_check(id).is_ok() {
            continue;
        }
        let mut c = id.as_bytes().to_vec();
        for pos in 0..18 {
            let was = c[pos];
            for &v in if pos == 17 { &LAST[..] } else { &LAST[..10] } {
                if v != was {
                    c[pos] = v;
                    look(i, &c, &mut pairs);
                }
            }
            c[pos] = was;
        }
        for pos in 0..17 {
            if c[pos] != c[pos + 1] {
                c.swap(pos, pos + 1);
                look(i, &c, &mut pairs);
                c.swap(pos, pos + 1);
            }
        }
    }
    pairs.sort_unstable();
    pairs.dedup();
    pairs
}

fn person_ids(recs: &Records<'_>, opts: &DetectOptions) -> Vec<Conflict> {
    let all = recs.of_table("QLR");
    let Some(def) = all.first().map(|&r| recs.layer(r).def) else {
        return Vec::new();
    };
    let field = |n: &str| def.field_index(n);
    let (Some(name_i), Some(id_i)) = (field("QLRMC"), field("ZJH")) else {
        return Vec::new();
    };
    let zjzl_i = field("ZJZL");
    let natural = |r: RecordRef| -> Option<(Cow<'_, str>, Cow<'_, str>)> {
        let name = recs.text_at(r, name_i)?;
        let name = if name.contains(char::is_whitespace) {
            Cow::Owned(name.split_whitespace().collect())
        } else {
            name
        };
        let id = recs.text_at(r, id_i)?;
        let id = if id.bytes().any(|b| b.is_ascii_lowercase()) {
            Cow::Owned(norm_id(&id))
        } else {
            id
        };
        let zjzl = zjzl_i.and_then(|i| recs.text_at(r, i));
        let person = match zjzl.as_deref() {
            Some("1") => true,
            None => looks_like_id_card(&id),
            _ => false,
        };
        (person && !name.is_empty()).then_some((name, id))
    };
    // (name, with an incoming record, ID number → records): grouped by name in a hash map (a
    // million right holders at city scale), then the names with two or more numbers in order
    type Ids<'a> = BTreeMap<Cow<'a, str>, Vec<RecordRef>>;
    let mut by_name: HashMap<Cow<'_, str>, (bool, Ids<'_>)> = HashMap::with_capacity(all.len());
    for &r in &all {
        if let Some((name, id)) = natural(r) {
            let e = by_name.entry(name).or_default();
            e.0 |= recs.is_incoming(r);
            e.1.entry(id).or_default().push(r);
        }
    }
    let mut by_name: Vec<(String, BTreeMap<String, Vec<RecordRef>>)> = by_name
        .into_iter()
        .filter(|(_, (incoming, ids))| *incoming && ids.len() >= 2)
        .map(|(name, (_, ids))| {
            let ids = ids.into_iter().map(|(k, v)| (k.into_owned(), v)).collect();
            (name.into_owned(), ids)
        })
        .collect();
    by_name.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut out = Vec::new();
    for (name, ids) in by_name {
        let list: Vec<&String> = ids.keys().collect();
        // union-find over the ID numbers of this name
        let mut parent: Vec<usize> = (0..list.len()).collect();
        fn root(p: &mut [usize], mut i: usize) -> usize {
            while p[i] != i {
                p[i] = p[p[i]];
                i = p[i];
            }
            i
        }
        let mut why: HashMap<(usize, usize), &'static str> = HashMap::new();
        for (i, j) in id_pair_candidates(&list) {
            if let Some(w) = same_person_ids(list[i], list[j]) {
                let (ri, rj) = (root(&mut parent, i), root(&mut parent, j));
                parent[ri] = rj;
                why.insert((i, j), w);
            }
        }
        let mut comps: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for i in 0..list.len() {
            let r = root(&mut parent, i);
            comps.entry(r).or_default().push(i);
        }
        let mut why_of: HashMap<usize, Vec<(usize, usize, &str)>> = HashMap::new();
        for (&(i, j), &w) in &why {
            why_of
                .entry(root(&mut parent, i))
                .or_default()
                .push((i, j, w));
        }
        for comp in comps.values().filter(|c| c.len() > 1) {
            let valid: Vec<usize> = comp
                .iter()
                .copied()
                .filter(|&i| list[i].len() == 18 && id_card_check(list[i]).is_ok())
                .collect();
            let good = (valid.len() == 1).then(|| valid[0]);
            let records: Vec<RecordRef> = comp
                .iter()
                .flat_map(|&i| ids[list[i]].iter().copied())
                .collect();
            if !records.iter().any(|&r| recs.is_incoming(r)) {
                continue;
            }
            let members: Vec<Member> = comp
                .iter()
                .flat_map(|&i| {
                    let bad = Some(i) != good;
                    ids[list[i]]
                        .iter()
                        .map(move |&r| (r, bad))
                        .collect::<Vec<_>>()
                })
                .map(|(r, bad)| member(recs, r, bad))
                .collect();
            let show = |s: &str| {
                if opts.unmask {
                    s.to_string()
                } else {
                    mask_id(s)
                }
            };
            let mut reasons: Vec<String> = why_of
                .get(&root(&mut parent, comp[0]))
                .into_iter()
                .flatten()
                .map(|&(i, j, w)| format!("{} / {}: {w}", show(list[i]), show(list[j])))
                .collect();
            reasons.sort();
            let describe = |i: usize| {
                let id = list[i];
                let state = match id_card_check(id) {
                    Ok(()) => "valid".to_string(),
                    Err(e) => format!("{e:?}").to_lowercase(),
                };
                format!("{} ({state}, {} records)", show(id), ids[id].len())
            };
            let mut edits = Vec::new();
            if let Some(g) = good {
                for m in members.iter().filter(|m| m.subject) {
                    if let Some(fi) = recs.layer(m.record).def.field_index("ZJH") {
                        edits.push(Edit {
                            choice: Choice::Normalise,
                            record: m.record,
                            field: Some(fi),
                            value: EditValue::Text(list[g].clone()),
                        });
                    }
                }
            }
            let any_subject = members.iter().any(|m| m.subject);
            let mut choices = vec![Choice::Accept];
            if !edits.is_empty() {
                choices.push(Choice::Normalise);
            }
            if any_subject {
                choices.push(Choice::Reject);
            }
            let first = members.iter().find(|m| m.subject).unwrap_or(&members[0]);
            let other = members
                .iter()
                .find(|m| !m.subject && m.identity != first.identity)
                .or_else(|| members.iter().find(|m| m.identity != first.identity))
                .map(|m| m.key.clone());
            let shown_name = if opts.unmask {
                name.clone()
            } else {
                mask_name(&name)
            };
            out.push(Conflict {
                id: conflict_id(MergeRule::PersonIds, &members),
                rule: MergeRule::PersonIds,
                layer: "QLR".into(),
                feature_key: first.key.clone(),
                other_key: other,
                detail: format!(
                    "right holder {shown_name}: ID numbers {} ({})",
                    comp.iter()
                        .map(|&i| describe(i))
                        .collect::<Vec<_>>()
                        .join(", "),
                    reasons.join("; ")
                ),
                suggested: if choices.contains(&Choice::Normalise) {
                    Some(Choice::Normalise)
                } else {
                    None
                },
                members,
                choices,
                value: None,
                at: None,
                geom: None,
                edits,
            });
        }
    }
    out
}

// ------------------------------------------------------------------------------------ MERGE-05

/// (cadastral table, field, registration table, field, what) compared per unit number.
const PAIRS: &[(&str, &str, &str, &str, &str)] = &[
    ("ZDJBXX", "ZDMJ", "JSYDSYQ", "SYQMJ", "area"),
    ("ZDJBXX", "ZDMJ", "NYDSYQ", "CBMJ", "area"),
    ("ZDJBXX", "ZDMJ", "LQ", "SYQMJ", "area"),
    ("H", "SCJZMJ", "FDCQ2", "JZMJ", "area"),
    ("H", "FWYT1", "FDCQ2", "GHYT", "use"),
];

fn cadastre_registration(recs: &Records<'_>, policy: &Policy) -> Vec<Conflict> {
    // current registrations by unit number
    // field numbers by table and name, looked up once (not per record)
    let field = |table: &str, name: &str| {
        cadastra_model::registry()
            .table(table)
            .and_then(|d| d.field_index(name))
    };
    let mut rights: HashMap<(&str, Cow<'_, str>), Vec<RecordRef>> = HashMap::new();
    for reg_table in ["JSYDSYQ", "NYDSYQ", "LQ", "FDCQ2"] {
        let (Some(qszt), Some(unit)) = (field(reg_table, "QSZT"), field(reg_table, "BDCDYH"))
        else {
            continue;
        };
        for r in recs.of_table(reg_table) {
            if recs.text_at(r, qszt).as_deref() != Some("1") {
                continue;
            }
            if let Some(u) = recs.text_at(r, unit) {
                rights.entry((reg_table, u)).or_default().push(r);
            }
        }
    }
    if rights.is_empty() {
        return Vec::new();
    }
    /// (cadastral field, registration field, what) that disagree
    type Diffs = Vec<(usize, usize, &'static str)>;
    let mut found: BTreeMap<(RecordRef, RecordRef), Diffs> = BTreeMap::new();
    for &(ct, cf, rt, rf, what) in PAIRS {
        let Some(unit) = field(ct, "BDCDYH") else {
            continue;
        };
        for c in recs.of_table(ct) {
            let Some(u) = recs.text_at(c, unit) else {
                continue;
            };
            let Some(rs) = rights.get(&(rt, u)) else {
                continue;
            };
            for &r in rs {
                if !recs.is_incoming(c) && !recs.is_incoming(r) {
                    continue;
                }
                if !recs.is_incoming(c) && recs.has_own_version(r) {
                    continue; // judged when the cadastral record came
                }
                let (Some(ci), Some(ri)) = (
                    recs.layer(c).def.field_index(cf),
                    recs.layer(r).def.field_index(rf),
                ) else {
                    continue;
                };
                let differ = if what == "area" {
                    match (recs.cell(c, ci).as_f64(), recs.cell(r, ri).as_f64()) {
                        (Some(a), Some(b)) if a.is_finite() && b.is_finite() => {
                            let d = (a - b).abs();
                            d > policy.area_abs_tolerance
                                && d > policy.area_rel_tolerance * a.abs().max(b.abs())
                        }
                        _ => false,
                    }
                } else {
                    match (recs.text_at(c, ci), recs.text_at(r, ri)) {
                        (Some(a), Some(b)) => a != b,
                        _ => false,
                    }
                };
                if differ {
                    found.entry((c, r)).or_default().push((ci, ri, what));
                }
            }
        }
    }
    let mut out = Vec::new();
    for ((c, r), diffs) in found {
        let cadastral_subject = recs.is_incoming(c);
        let members = vec![
            member(recs, c, cadastral_subject),
            member(recs, r, !cadastral_subject),
        ];
        let (cdef, rdef) = (recs.layer(c).def, recs.layer(r).def);
        let mut edits = Vec::new();
        let mut parts = Vec::new();
        for &(ci, ri, what) in &diffs {
            let (a, b) = (recs.cell(c, ci), recs.cell(r, ri));
            parts.push(format!(
                "{what}: {}.{} {} ≠ {}.{} {}",
                cdef.name,
                cdef.fields[ci].name,
                a.as_text().unwrap_or_default(),
                rdef.name,
                rdef.fields[ri].name,
                b.as_text().unwrap_or_default()
            ));
            if cadastral_subject {
                edits.push(Edit {
                    choice: Choice::Registration,
                    record: c,
                    field: Some(ci),
                    value: edit_value(b),
                });
            }
        }
        let value = diffs
            .iter()
            .find(|d| d.2 == "area")
            .and_then(|&(ci, ri, _)| Some(recs.cell(c, ci).as_f64()? - recs.cell(r, ri).as_f64()?));
        let mut choices = vec![Choice::Accept];
        if !edits.is_empty() {
            choices.push(Choice::Registration);
        }
        choices.push(Choice::Reject);
        out.push(Conflict {
            id: conflict_id(MergeRule::CadastreRegistration, &members),
            rule: MergeRule::CadastreRegistration,
            layer: cdef.name.clone(),
            feature_key: members[0].key.clone(),
            other_key: Some(format!("{} {}", rdef.name, members[1].key)),
            detail: format!(
                "unit {}: {} (the registered value is the legal one)",
                recs.text(c, "BDCDYH").unwrap_or_default(),
                parts.join("; ")
            ),
            members,
            choices,
            suggested: Some(Choice::Accept),
            value,
            at: recs.geom(c).and_then(representative_point),
            geom: None,
            edits,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Layer;
    use crate::testkit::{rect, rows};
    use cadastra_model::ids::id_card_check_char;
    use cadastra_model::{registry, Rows};
    use std::collections::BTreeSet;

    /// The keyed candidates find every pair that trying all pairs finds, in the same order: ID
    /// numbers of one name with typos, swaps, wrong check characters and 15-digit forms.
    #[test]
    fn id_pair_candidates_match_trying_every_pair() {
        let mut seed = 2019u64;
        let mut next = |m: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % m
        };
        let mut ids: Vec<String> = Vec::new();
        for _ in 0..60 {
            let mut body: String = (0..17).map(|_| char::from(b'0' + next(3) as u8)).collect();
            body.replace_range(6..8, "19"); // born in the 1900s: has a 15-digit form
            let ok = format!("{body}{}", id_card_check_char(body.as_bytes()));
            ids.push(ok.clone());
            let mut b = ok.clone().into_bytes();
            match next(4) {
                0 => b[next(17) as usize] = b'0' + next(10) as u8,
                1 => {
                    let p = next(17) as usize;
                    b.swap(p, p + 1);
                }
                2 => b[17] = if b[17] == b'X' { b'1' } else { b'X' },
                _ => b = format!("{}{}", &ok[..6], &ok[8..17]).into_bytes(),
            }
            ids.push(String::from_utf8(b).unwrap());
        }
        ids.push("not an id".into());
        ids.sort();
        ids.dedup();
        let list: Vec<&String> = ids.iter().collect();
        let mut every = Vec::new();
        for i in 0..list.len() {
            for j in i + 1..list.len() {
                if let Some(w) = same_person_ids(list[i], list[j]) {
                    every.push((i, j, w));
                }
            }
        }
        let keyed: Vec<(usize, usize, &str)> = id_pair_candidates(&list)
            .into_iter()
            .filter_map(|(i, j)| same_person_ids(list[i], list[j]).map(|w| (i, j, w)))
            .collect();
        assert!(
            every.len() > 30,
            "the generated numbers relate: {}",
            every.len()
        );
        assert!(every.iter().any(|p| p.2.starts_with("15-digit")));
        assert!(every.iter().any(|p| p.2.starts_with("two neighbouring")));
        assert_eq!(keyed, every);
    }

    /// One layer: (origin, table, rows, fids).
    type L = (Origin, &'static str, Rows, Vec<i64>);

    /// The only caller of `detect` in these tests.
    fn check(layers: &[L], policy: &Policy) -> Vec<Conflict> {
        let ls: Vec<Layer<'_>> = layers
            .iter()
            .map(|(o, t, r, f)| Layer {
                origin: *o,
                source: "test",
                def: registry().table(t).unwrap(),
                rows: r,
                fids: f,
            })
            .collect();
        let recs = Records::new(&ls);
        detect(&recs, policy, &DetectOptions::default())
    }

    fn parcel<'a>(
        sys: &'a str,
        key: &'a str,
        zddm: &'a str,
        batch: &'a str,
    ) -> Vec<(&'a str, &'a str)> {
        vec![
            ("ZDDM", zddm),
            ("BDCDYH", "X"),
            ("src_system", sys),
            ("src_key", key),
            ("batch_id", batch),
            ("ZL", "某地"),
        ]
    }

    fn inc(table: &'static str, r: Rows) -> L {
        (Origin::Incoming, table, r, vec![])
    }

    fn reg(table: &'static str, r: Rows) -> L {
        let n = r.len() as i64;
        (Origin::Registry, table, r, (1..=n).collect())
    }

    const A: &str = "370116001001GB00001";

    #[test]
    fn same_key_from_another_system_is_merge_01_and_holds_the_incoming_record() {
        let l = [
            inc(
                "ZDJBXX",
                rows(
                    "ZDJBXX",
                    &[(
                        parcel("laiwu", A, A, "b1"),
                        Some(rect(0.0, 0.0, 10.0, 10.0)),
                    )],
                ),
            ),
            reg(
                "ZDJBXX",
                rows(
                    "ZDJBXX",
                    &[(parcel("jinan", A, A, "j"), Some(rect(0.5, 0.0, 10.5, 10.0)))],
                ),
            ),
        ];
        let c = check(&l, &Policy::default());
        assert_eq!(c.len(), 1);
        let c = &c[0];
        assert_eq!(c.rule, MergeRule::SameKey);
        assert!(c.detail.contains("Hausdorff 0.50 m"), "{}", c.detail);
        assert_eq!(c.subjects().count(), 1);
        assert_eq!(c.subjects().next().unwrap().label, "laiwu");
        assert_eq!(
            c.choices,
            vec![
                Choice::Keep("laiwu".into()),
                Choice::Keep("registry".into()),
                Choice::Reject
            ]
        );
        assert_eq!(c.suggested, None, "no priority, no suggestion");
        // within 0.10 m and the same attributes: still two deliveries of one key
        let l = [
            inc(
                "ZDJBXX",
                rows(
                    "ZDJBXX",
                    &[(
                        parcel("laiwu", A, A, "b1"),
                        Some(rect(0.0, 0.0, 10.0, 10.0)),
                    )],
                ),
            ),
            reg(
                "ZDJBXX",
                rows(
                    "ZDJBXX",
                    &[(
                        parcel("jinan", A, A, "j"),
                        Some(rect(0.05, 0.0, 10.0, 10.0)),
                    )],
                ),
            ),
        ];
        let c = check(
            &l,
            &Policy::new(&["jinan".into()], None, None, None).unwrap(),
        );
        assert!(c[0].detail.contains("same content"), "{}", c[0].detail);
        assert_eq!(c[0].suggested, Some(Choice::Keep("registry".into())));
    }

    #[test]
    fn own_versions_and_one_delivery_are_not_conflicts() {
        let g = Some(rect(0.0, 0.0, 10.0, 10.0));
        let l = [
            inc(
                "ZDJBXX",
                rows(
                    "ZDJBXX",
                    &[
                        (parcel("laiwu", A, A, "b1"), g.clone()),
                        (parcel("laiwu", "k2", A, "b1"), g.clone()),
                    ],
                ),
            ),
            reg(
                "ZDJBXX",
                rows("ZDJBXX", &[(parcel("laiwu", A, A, "b1"), g.clone())]),
            ),
        ];
        assert!(check(&l, &Policy::default()).is_empty());
        // a new batch of the same system re-using the key under another legacy key is one
        let l = [
            inc(
                "ZDJBXX",
                rows("ZDJBXX", &[(parcel("laiwu", "k9", A, "b2"), g.clone())]),
            ),
            reg(
                "ZDJBXX",
                rows("ZDJBXX", &[(parcel("laiwu", A, A, "b1"), g)]),
            ),
        ];
        assert_eq!(check(&l, &Policy::default()).len(), 1);
    }

    #[test]
    fn same_ground_under_two_numbers_is_merge_02_and_priority_picks_the_held_side() {
        let l = [
            inc(
                "ZDJBXX",
                rows(
                    "ZDJBXX",
                    &[(
                        parcel("laiwu", "a", A, "b"),
                        Some(rect(0.0, 0.0, 10.0, 10.0)),
                    )],
                ),
            ),
            inc(
                "ZDJBXX",
                rows(
                    "ZDJBXX",
                    &[(
                        parcel("gangcheng", "b", "370116001001GB00002", "b"),
                        Some(rect(0.2, 0.0, 10.0, 10.0)),
                    )],
                ),
            ),
        ];
        let p = Policy::new(&["gangcheng".into()], None, None, None).unwrap();
        let c = check(&l, &p);
        assert_eq!(c.len(), 1, "{c:#?}");
        assert_eq!(c[0].rule, MergeRule::SameGround);
        let held: Vec<&str> = c[0].subjects().map(|m| m.label.as_str()).collect();
        assert_eq!(held, ["laiwu"]);
        assert_eq!(c[0].suggested, Some(Choice::Keep("gangcheng".into())));
        assert!(c[0].value.unwrap() > 0.97);
        // a small overlap of one district's parcels is the rules' (TOPO-08), not a merge conflict
        let l = [
            inc(
                "ZDJBXX",
                rows(
                    "ZDJBXX",
                    &[(
                        parcel("laiwu", "a", A, "b"),
                        Some(rect(0.0, 0.0, 10.0, 10.0)),
                    )],
                ),
            ),
            inc(
                "ZDJBXX",
                rows(
                    "ZDJBXX",
                    &[(
                        parcel("gangcheng", "b", "370116001001GB00002", "b"),
                        Some(rect(9.0, 0.0, 20.0, 10.0)),
                    )],
                ),
            ),
        ];
        assert!(check(&l, &p).is_empty());
    }

    /// rect(30, 100, 60, 130) with a 5 m × 4 m tongue reaching south to y = 96
    fn protruding() -> cadastra_model::Geom {
        let ring: Vec<geo_types::Coord> = [
            (30.0, 100.0),
            (40.0, 100.0),
            (40.0, 96.0),
            (45.0, 96.0),
            (45.0, 100.0),
            (60.0, 100.0),
            (60.0, 130.0),
            (30.0, 130.0),
            (30.0, 100.0),
        ]
        .iter()
        .map(|&(x, y)| geo_types::coord! {x: x, y: y})
        .collect();
        geo_types::MultiPolygon(vec![geo_types::Polygon::new(
            geo_types::LineString(ring),
            vec![],
        )])
    }

    #[test]
    fn a_parcel_reaching_across_the_county_border_is_merge_03_named_first() {
        // 章丘区 (370114) north of y = 100, 莱芜区 (370116) south; the middle 章丘 parcel reaches
        // 4 m south into the Laiwu parcel below it
        let z = |i: usize| format!("370114001001GB0000{i}");
        let w = |i: usize| format!("370116001001GB0000{i}");
        let (z1, z2, z3) = (z(1), z(2), z(3));
        let (w1, w2, w3, w4) = (w(1), w(2), w(3), w(4));
        let north = rows(
            "ZDJBXX",
            &[
                (
                    parcel("jinan", &z1, &z1, "j"),
                    Some(rect(0.0, 100.0, 30.0, 130.0)),
                ),
                (parcel("jinan", &z2, &z2, "j"), Some(protruding())),
                (
                    parcel("jinan", &z3, &z3, "j"),
                    Some(rect(60.0, 100.0, 90.0, 130.0)),
                ),
            ],
        );
        let south = rows(
            "ZDJBXX",
            &[
                (
                    parcel("laiwu", &w1, &w1, "l"),
                    Some(rect(0.0, 70.0, 30.0, 100.0)),
                ),
                (
                    parcel("laiwu", &w2, &w2, "l"),
                    Some(rect(30.0, 70.0, 60.0, 100.0)),
                ),
                (
                    parcel("laiwu", &w3, &w3, "l"),
                    Some(rect(60.0, 70.0, 90.0, 100.0)),
                ),
                (
                    parcel("laiwu", &w4, &w4, "l"),
                    Some(rect(0.0, 40.0, 90.0, 70.0)),
                ),
            ],
        );
        let c = check(
            &[inc("ZDJBXX", north), inc("ZDJBXX", south)],
            &Policy::default(),
        );
        assert_eq!(c.len(), 1, "{c:#?}");
        let c = &c[0];
        assert_eq!(c.rule, MergeRule::CrossesBorder);
        assert_eq!(
            (c.feature_key.as_str(), c.other_key.as_deref()),
            (z2.as_str(), Some(w2.as_str()))
        );
        assert!(c.detail.contains("reaches into"), "{}", c.detail);
        assert_eq!(
            c.subjects().map(|m| m.key.as_str()).collect::<Vec<_>>(),
            [z2.as_str()]
        );
        assert_eq!(
            c.suggested,
            Some(Choice::Accept),
            "most of it lies in its own district"
        );
        assert!(c.choices.contains(&Choice::Renumber("370116".into())));
        assert!((c.value.unwrap() - 20.0).abs() < 1e-6);
        let renumber: Vec<_> = c
            .edits
            .iter()
            .filter(|e| e.choice == Choice::Renumber("370116".into()))
            .collect();
        assert_eq!(
            renumber[0].value,
            EditValue::Text("370116001001GB00002".into())
        );
    }

    fn id18(first17: &str) -> String {
        format!("{first17}{}", id_card_check_char(first17.as_bytes()))
    }

    fn holder<'a>(
        sys: &'a str,
        key: &'a str,
        name: &'a str,
        id: &'a str,
    ) -> Vec<(&'a str, &'a str)> {
        vec![
            ("QLRKEY", key),
            ("BDCDYH", key),
            ("QLRMC", name),
            ("ZJZL", "1"),
            ("ZJH", id),
            ("src_system", sys),
            ("src_key", key),
            ("batch_id", "b"),
        ]
    }

    #[test]
    fn one_person_with_inconsistent_ids_is_merge_04() {
        let good = id18("37120219800101123");
        let mut bad = good.clone();
        let last = if bad.ends_with('1') { "2" } else { "1" };
        bad.replace_range(17..18, last);
        let old15 = format!("{}{}", &good[..6], &good[8..17]);
        let other = id18("37120319900101456");
        let r = rows(
            "QLR",
            &[
                (holder("laiwu", "u1-1", "张三", &good), None),
                (holder("laiwu", "u2-1", "张 三", &bad), None),
                (holder("gangcheng", "u3-1", "张三", &old15), None),
                (holder("gangcheng", "u4-1", "张三", &other), None),
            ],
        );
        let c = check(&[inc("QLR", r)], &Policy::default());
        assert_eq!(c.len(), 1, "{c:#?}");
        let c = &c[0];
        assert_eq!(c.rule, MergeRule::PersonIds);
        let held: BTreeSet<&str> = c.subjects().map(|m| m.key.as_str()).collect();
        assert_eq!(held, ["u2-1", "u3-1"].into());
        assert_eq!(c.suggested, Some(Choice::Normalise));
        assert!(c
            .edits
            .iter()
            .all(|e| e.value == EditValue::Text(good.clone())));
        assert!(
            !c.detail.contains(&good),
            "ID numbers are masked: {}",
            c.detail
        );
        assert!(c.detail.contains("张*"), "{}", c.detail);
    }

    #[test]
    fn cadastral_and_registered_area_disagreeing_is_merge_05() {
        let u = "370116001001GB00001W00000000";
        let p = rows(
            "ZDJBXX",
            &[(
                vec![
                    ("ZDDM", A),
                    ("BDCDYH", u),
                    ("ZDMJ", "200.0"),
                    ("src_system", "laiwu"),
                    ("src_key", A),
                ],
                Some(rect(0.0, 0.0, 10.0, 20.0)),
            )],
        );
        let right = |mj: &'static str| {
            rows(
                "JSYDSYQ",
                &[(
                    vec![
                        ("YWH", "Y1"),
                        ("BDCDYH", u),
                        ("SYQMJ", mj),
                        ("QSZT", "1"),
                        ("src_system", "laiwu"),
                        ("src_key", "Y1"),
                    ],
                    None,
                )],
            )
        };
        let c = check(
            &[inc("ZDJBXX", p.clone()), inc("JSYDSYQ", right("230.0"))],
            &Policy::default(),
        );
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].rule, MergeRule::CadastreRegistration);
        assert_eq!(c[0].subjects().next().unwrap().key, A);
        assert_eq!(c[0].value, Some(-30.0));
        assert!(c[0].choices.contains(&Choice::Registration));
        assert!(check(
            &[inc("ZDJBXX", p), inc("JSYDSYQ", right("200.4"))],
            &Policy::default()
        )
        .is_empty());
    }

    #[test]
    fn ids_of_one_person() {
        let good = id18("37120219800101123");
        let old15 = format!("{}{}", &good[..6], &good[8..17]);
        assert!(same_person_ids(&good, &old15).is_some());
        let mut swapped = good.clone().into_bytes();
        swapped.swap(14, 15);
        let swapped = String::from_utf8(swapped).unwrap();
        if swapped != good {
            assert!(same_person_ids(&good, &swapped).is_some());
        }
        assert!(
            same_person_ids(&good, &id18("37120219800101124")).is_none(),
            "two valid numbers"
        );
        assert!(same_person_ids(&good, "91370100MA3C5Y1234").is_none());
    }
}
