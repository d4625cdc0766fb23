//! What happens to each record: loaded as delivered, changed by a decision, held for review,
//! rejected, or written over a registry row — from the conflicts, the policy and the decisions.

use crate::conflict::{Choice, Conflict, Edit, MergeRule};
use crate::input::{RecordRef, Records};
use crate::policy::Policy;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Where a decision came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionOrigin {
    /// taken in an earlier run, stored in the registry's `conflicts` table
    Stored,
    /// from the decisions sheet given to this run
    Sheet,
    /// the pipeline's `[merge]` policy (the rule is not held)
    Policy,
}

/// A decision on one conflict.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Decision {
    #[serde(serialize_with = "ser_choice")]
    pub choice: Choice,
    pub decided_by: String,
    pub decided_at: String,
    pub origin: DecisionOrigin,
}

fn ser_choice<S: serde::Serializer>(c: &Choice, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&c.to_string())
}

/// The state of a conflict after resolution.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    /// undecided; its records are held in `review`
    Held,
    /// decided (now or earlier)
    Decided(Decision),
    /// reported only: the rule is not held and the policy has no suggestion, records load as
    /// delivered
    Reported,
}

impl Status {
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Held => "held",
            Status::Decided(_) => "decided",
            Status::Reported => "reported",
        }
    }
}

/// The fate of the records involved in conflicts (records not listed load as delivered).
#[derive(Debug, Default)]
pub struct Outcome {
    pub status: BTreeMap<String, Status>,
    /// records held, with the conflicts holding them
    pub held: BTreeMap<RecordRef, Vec<String>>,
    /// records not loaded, with the conflict and the reason
    pub rejected: BTreeMap<RecordRef, (String, String)>,
    /// incoming record → registry row (fid and record) it is written over
    pub replace: BTreeMap<RecordRef, (i64, RecordRef, String)>,
    /// field changes of decided conflicts, for records that load
    pub edits: Vec<Edit>,
}

impl Outcome {
    /// Records that load (possibly edited or written over a registry row).
    pub fn loads(&self, r: RecordRef) -> bool {
        !self.held.contains_key(&r) && !self.rejected.contains_key(&r)
    }
}

/// Decide each conflict's fate: a decision (sheet, stored, or the policy for rules not held),
/// else held when the policy holds the rule (MERGE-01 always: its records cannot load without
/// a decision), else reported only.
pub fn resolve(
    recs: &Records<'_>,
    conflicts: &[Conflict],
    policy: &Policy,
    decisions: &HashMap<String, Decision>,
) -> Outcome {
    let mut out = Outcome::default();
    let mut replaced_fids: BTreeSet<i64> = BTreeSet::new();
    for c in conflicts {
        let decision = decisions.get(&c.id).cloned().or_else(|| {
            if policy.holds(c.rule) {
                return None;
            }
            c.suggested.clone().map(|choice| Decision {
                choice,
                decided_by: "policy ([merge] in the pipeline)".into(),
                decided_at: String::new(),
                origin: DecisionOrigin::Policy,
            })
        });
        let Some(d) = decision else {
            let holds = policy.holds(c.rule) || c.rule == MergeRule::SameKey;
            if holds && c.subjects().next().is_some() {
                for m in c.subjects() {
                    out.held.entry(m.record).or_default().push(c.id.clone());
                }
                out.status.insert(c.id.clone(), Status::Held);
            } else {
                out.status.insert(c.id.clone(), Status::Reported);
            }
            continue;
        };
        let why = |what: &str| {
            format!(
                "{} {}: {what} ({} by {})",
                c.rule,
                c.id,
                d.choice,
                if d.decided_by.is_empty() {
                    "?"
                } else {
                    &d.decided_by
                }
            )
        };
        let reject = |out: &mut Outcome, r: RecordRef, what: &str| {
            out.rejected
                .entry(r)
                .or_insert_with(|| (c.id.clone(), why(what)));
        };
        match &d.choice {
            Choice::Accept => {}
            Choice::Reject => {
                for m in c.subjects() {
                    reject(&mut out, m.record, "rejected by decision");
                }
            }
            Choice::Keep(label) => {
                let kept: Vec<RecordRef> = c
                    .members
                    .iter()
                    .filter(|m| m.label.eq_ignore_ascii_case(label))
                    .map(|m| m.record)
                    .collect();
                let registry_member = c
                    .members
                    .iter()
                    .find(|m| !recs.is_incoming(m.record))
                    .map(|m| m.record);
                for m in c.members.iter().filter(|m| recs.is_incoming(m.record)) {
                    if !kept.contains(&m.record) {
                        reject(&mut out, m.record, "the other side was kept");
                    }
                }
                if c.rule == MergeRule::SameKey {
                    if let (Some(reg), Some(&first)) =
                        (registry_member, kept.iter().find(|&&r| recs.is_incoming(r)))
                    {
                        if let Some(fid) = recs.fid(reg) {
                            if replaced_fids.insert(fid) {
                                out.replace.insert(first, (fid, reg, c.id.clone()));
                            }
                        }
                    }
                }
            }
            Choice::Merge => {
                let base = c
                    .edits
                    .iter()
                    .find(|e| e.choice == Choice::Merge)
                    .map(|e| e.record);
                if let Some(base) = base {
                    for m in c.members.iter().filter(|m| recs.is_incoming(m.record)) {
                        if m.record != base {
                            reject(&mut out, m.record, "merged into the other record");
                        }
                    }
                    if let Some(reg) = c.members.iter().find(|m| !recs.is_incoming(m.record)) {
                        if let Some(fid) = recs.fid(reg.record) {
                            if replaced_fids.insert(fid) {
                                out.replace.insert(base, (fid, reg.record, c.id.clone()));
                            }
                        }
                    }
                }
                out.edits
                    .extend(c.edits.iter().filter(|e| e.choice == d.choice).cloned());
            }
            Choice::Renumber(_) | Choice::Normalise | Choice::Registration => {
                out.edits
                    .extend(c.edits.iter().filter(|e| e.choice == d.choice).cloned());
            }
        }
        out.status.insert(c.id.clone(), Status::Decided(d));
    }
    // a rejection is final; a record both held and rejected is rejected
    let rejected: Vec<RecordRef> = out.rejected.keys().copied().collect();
    for r in rejected {
        out.held.remove(&r);
        out.replace.remove(&r);
    }
    let held: Vec<RecordRef> = out.held.keys().copied().collect();
    for r in held {
        out.replace.remove(&r);
    }
    out.edits
        .retain(|e| !out.rejected.contains_key(&e.record) && !out.held.contains_key(&e.record));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{Layer, Origin};
    use crate::testkit::{rect, rows};
    use crate::{detect, DetectOptions};
    use cadastra_model::registry;

    const A: &str = "370116001001GB00001";

    fn parcel(
        sys: &'static str,
        x: f64,
    ) -> (
        Vec<(&'static str, &'static str)>,
        Option<cadastra_model::Geom>,
    ) {
        (
            vec![
                ("ZDDM", A),
                ("src_system", sys),
                ("src_key", A),
                ("batch_id", sys),
            ],
            Some(rect(x, 0.0, x + 10.0, 10.0)),
        )
    }

    /// laiwu's incoming parcel against jinan's registry row with the same code, 1 m apart.
    fn check(policy: &Policy, decisions: &[(&str, Choice)]) -> (Vec<Conflict>, Outcome) {
        let inc = rows("ZDJBXX", &[parcel("laiwu", 0.0)]);
        let reg = rows("ZDJBXX", &[parcel("jinan", 1.0)]);
        let def = registry().table("ZDJBXX").unwrap();
        let ls = [
            Layer {
                origin: Origin::Incoming,
                source: "t",
                def,
                rows: &inc,
                fids: &[],
            },
            Layer {
                origin: Origin::Registry,
                source: "registry",
                def,
                rows: &reg,
                fids: &[42],
            },
        ];
        let recs = Records::new(&ls);
        let cs = detect(&recs, policy, &DetectOptions::default());
        let ds: HashMap<String, Decision> = decisions
            .iter()
            .map(|(_, c)| {
                (
                    cs[0].id.clone(),
                    Decision {
                        choice: c.clone(),
                        decided_by: "王工".into(),
                        decided_at: "2026-01-01".into(),
                        origin: DecisionOrigin::Sheet,
                    },
                )
            })
            .collect();
        let out = resolve(&recs, &cs, policy, &ds);
        (cs, out)
    }

    const R: RecordRef = RecordRef { layer: 0, row: 0 };

    #[test]
    fn undecided_conflicts_hold_their_records() {
        let (cs, out) = check(&Policy::default(), &[]);
        assert_eq!(out.status[&cs[0].id], Status::Held);
        assert_eq!(out.held[&R], vec![cs[0].id.clone()]);
        assert!(!out.loads(R));
        // MERGE-01 is held even when the policy does not hold it, if it cannot suggest a side
        let p = Policy::new(&[], Some(&[][..]), None, None).unwrap();
        let (cs, out) = check(&p, &[]);
        assert_eq!(out.status[&cs[0].id], Status::Held);
    }

    #[test]
    fn a_policy_that_does_not_hold_decides_by_priority() {
        let p = Policy::new(&["jinan".into()], Some(&[][..]), None, None).unwrap();
        let (cs, out) = check(&p, &[]);
        match &out.status[&cs[0].id] {
            Status::Decided(d) => {
                assert_eq!(d.choice, Choice::Keep("registry".into()));
                assert_eq!(d.origin, DecisionOrigin::Policy);
            }
            s => panic!("{s:?}"),
        }
        assert!(out.rejected[&R].1.contains("the other side was kept"));
    }

    #[test]
    fn keeping_the_incoming_side_writes_it_over_the_registry_row() {
        let (_, out) = check(&Policy::default(), &[("", Choice::Keep("laiwu".into()))]);
        assert!(out.loads(R));
        assert_eq!(out.replace[&R].0, 42);
        let (_, out) = check(&Policy::default(), &[("", Choice::Reject)]);
        assert!(out.rejected[&R].1.contains("王工"));
    }

    #[test]
    fn merge_takes_geometry_and_legal_fields_from_the_named_sides() {
        let p = Policy::new(&[], None, Some("incoming"), Some("registry")).unwrap();
        let (cs, out) = check(&p, &[("", Choice::Merge)]);
        assert!(cs[0].choices.contains(&Choice::Merge));
        assert_eq!(out.replace[&R].0, 42);
        // the written record is the incoming one (its geometry), with the registry's legal fields
        let zl = registry()
            .table("ZDJBXX")
            .unwrap()
            .field_index("src_system");
        assert!(out.edits.iter().all(|e| e.record == R && e.field != zl));
        assert!(out.edits.iter().any(|e| e.field.is_some()));
        assert!(
            !out.edits.iter().any(|e| e.field.is_none()),
            "geometry stays the incoming one"
        );
    }
}
