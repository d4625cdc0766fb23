//! Conflicts (domain-brief §6.9): what collided, which records are involved, what may be decided.

use crate::input::RecordRef;
use cadastra_model::RuleId;
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

/// The merge conflict classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum MergeRule {
    /// same key from two sources, different geometry (Hausdorff > 0.10 m) or attributes
    SameKey,
    /// different keys, same ground (overlap ≥ 90 % of both)
    SameGround,
    /// a parcel crossing a county border (莱芜区/钢城区, old Laiwu/Jinan)
    CrossesBorder,
    /// the same person with inconsistent ID numbers (15 vs 18 digits, a typo)
    PersonIds,
    /// cadastral and registration values disagree (area, use, owner name)
    CadastreRegistration,
}

impl MergeRule {
    pub const ALL: [MergeRule; 5] = [
        MergeRule::SameKey,
        MergeRule::SameGround,
        MergeRule::CrossesBorder,
        MergeRule::PersonIds,
        MergeRule::CadastreRegistration,
    ];

    pub fn id(self) -> RuleId {
        RuleId(self.as_str())
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MergeRule::SameKey => "MERGE-01",
            MergeRule::SameGround => "MERGE-02",
            MergeRule::CrossesBorder => "MERGE-03",
            MergeRule::PersonIds => "MERGE-04",
            MergeRule::CadastreRegistration => "MERGE-05",
        }
    }

    pub fn title_zh(self) -> &'static str {
        match self {
            MergeRule::SameKey => "同一编码、图形或属性不同",
            MergeRule::SameGround => "编码不同、同一地块(重复宗地)",
            MergeRule::CrossesBorder => "宗地跨越区县界线",
            MergeRule::PersonIds => "同一权利人证件号不一致",
            MergeRule::CadastreRegistration => "地籍与登记信息不一致",
        }
    }

    pub fn title_en(self) -> &'static str {
        match self {
            MergeRule::SameKey => "same key, different geometry or attributes",
            MergeRule::SameGround => "different keys, same ground (duplicate parcel)",
            MergeRule::CrossesBorder => "parcel crosses a county border",
            MergeRule::PersonIds => "same person, inconsistent ID numbers",
            MergeRule::CadastreRegistration => "cadastral and registration values disagree",
        }
    }

    pub fn parse(s: &str) -> Option<MergeRule> {
        MergeRule::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

impl fmt::Display for MergeRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A decision a reviewer may take on a conflict.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Choice {
    /// load the held records as delivered (both sides stay)
    Accept,
    /// do not load the held records (they go to quarantine with the decision as reason)
    Reject,
    /// MERGE-01/02: keep this side's record (`registry` or a source system); the others are rejected
    Keep(String),
    /// MERGE-01: one record from both: geometry-class fields from `geometry_from`, the others
    /// from `legal_from` (the pipeline's `[merge]` policy)
    Merge,
    /// MERGE-03: give the parcel this county code (positions 1-6 of ZDDM and BDCDYH)
    Renumber(String),
    /// MERGE-04: replace the inconsistent ID number by the person's valid 18-digit one
    Normalise,
    /// MERGE-05: take the registered (legal) value into the cadastral record
    Registration,
}

impl fmt::Display for Choice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Choice::Accept => f.write_str("accept"),
            Choice::Reject => f.write_str("reject"),
            Choice::Keep(s) => write!(f, "keep:{s}"),
            Choice::Merge => f.write_str("merge"),
            Choice::Renumber(c) => write!(f, "renumber:{c}"),
            Choice::Normalise => f.write_str("normalise"),
            Choice::Registration => f.write_str("registration"),
        }
    }
}

impl FromStr for Choice {
    type Err = String;
    fn from_str(s: &str) -> Result<Choice, String> {
        let t = s.trim();
        let lower = t.to_ascii_lowercase();
        Ok(match lower.as_str() {
            "accept" => Choice::Accept,
            "reject" => Choice::Reject,
            "merge" => Choice::Merge,
            "normalise" | "normalize" => Choice::Normalise,
            "registration" => Choice::Registration,
            _ => {
                if let Some(v) = lower.strip_prefix("keep:") {
                    Choice::Keep(v.trim().to_string())
                } else if let Some(v) = lower.strip_prefix("renumber:") {
                    Choice::Renumber(v.trim().to_string())
                } else {
                    return Err(format!("{t:?} is not a decision"));
                }
            }
        })
    }
}

/// The choices as written in the sheets: `accept | reject`.
pub fn choices_text(c: &[Choice]) -> String {
    c.iter()
        .map(Choice::to_string)
        .collect::<Vec<_>>()
        .join(" | ")
}

/// A record involved in a conflict.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub record: RecordRef,
    /// `registry`, or the incoming record's source system
    pub label: String,
    /// stable name of the record (`ZDJBXX:laiwu/<legacy key>`), the basis of the conflict id
    pub identity: String,
    /// business key (unit number, parcel code, business number, holder key)
    pub key: String,
    /// true for the records the conflict holds while it is undecided (always incoming ones)
    pub subject: bool,
}

/// A field to set on a record when a choice is taken.
#[derive(Debug, Clone, PartialEq)]
pub struct Edit {
    pub choice: Choice,
    pub record: RecordRef,
    /// field index in the record's table; `None` = the geometry
    pub field: Option<usize>,
    pub value: EditValue,
}

#[derive(Debug, Clone, PartialEq)]
pub enum EditValue {
    Null,
    Text(String),
    Int(i64),
    Real(f64),
    Geom(Box<cadastra_model::Geom>),
}

/// One conflict.
#[derive(Debug, Clone)]
pub struct Conflict {
    /// `MERGE-03-1a2b3c4d5e6f`: rule plus a digest of the members' identities, the same on every
    /// run that sees the same records
    pub id: String,
    pub rule: MergeRule,
    /// registry table of the first member
    pub layer: String,
    pub feature_key: String,
    pub other_key: Option<String>,
    /// what differs, by how much (personal data masked unless the run unmasks)
    pub detail: String,
    pub members: Vec<Member>,
    pub choices: Vec<Choice>,
    /// what the pipeline's `[merge]` policy would decide
    pub suggested: Option<Choice>,
    /// measured value: Hausdorff distance (m), overlap ratio, area difference (m²)
    pub value: Option<f64>,
    /// a point on the conflict (easting, northing), when it has a place
    pub at: Option<(f64, f64)>,
    /// the overlap of MERGE-02/-03
    pub geom: Option<cadastra_model::Geom>,
    /// fields set by the choices that change records (merge, renumber, normalise, registration)
    pub edits: Vec<Edit>,
}

impl Conflict {
    /// The id of a conflict of `rule` among records with these identities (order does not matter).
    pub fn make_id(rule: MergeRule, identities: &[&str]) -> String {
        let mut ids: Vec<&str> = identities.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let mut h = Sha256::new();
        h.update(rule.as_str().as_bytes());
        for i in ids {
            h.update([0x1f]);
            h.update(i.as_bytes());
        }
        format!("{}-{}", rule.as_str(), hex::encode(&h.finalize()[..6]))
    }

    pub fn subjects(&self) -> impl Iterator<Item = &Member> + '_ {
        self.members.iter().filter(|m| m.subject)
    }

    pub fn allows(&self, c: &Choice) -> bool {
        self.choices.contains(c)
    }

    /// The held records' identities, for the sheets.
    pub fn held_text(&self) -> String {
        self.subjects()
            .map(|m| m.identity.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_round_trip_through_text() {
        for c in [
            Choice::Accept,
            Choice::Reject,
            Choice::Keep("laiwu".into()),
            Choice::Keep("registry".into()),
            Choice::Merge,
            Choice::Renumber("370116".into()),
            Choice::Normalise,
            Choice::Registration,
        ] {
            assert_eq!(c.to_string().parse::<Choice>().unwrap(), c);
        }
        assert_eq!(" Accept ".parse::<Choice>().unwrap(), Choice::Accept);
        assert_eq!("normalize".parse::<Choice>().unwrap(), Choice::Normalise);
        assert!("delete".parse::<Choice>().is_err());
    }

    #[test]
    fn ids_do_not_depend_on_member_order() {
        let a = Conflict::make_id(MergeRule::SameKey, &["ZDJBXX:a/1", "ZDJBXX:b/1"]);
        let b = Conflict::make_id(MergeRule::SameKey, &["ZDJBXX:b/1", "ZDJBXX:a/1"]);
        assert_eq!(a, b);
        assert!(a.starts_with("MERGE-01-") && a.len() == "MERGE-01-".len() + 12);
        assert_ne!(
            a,
            Conflict::make_id(MergeRule::SameGround, &["ZDJBXX:a/1", "ZDJBXX:b/1"])
        );
    }

    #[test]
    fn rules_parse_their_ids() {
        for r in MergeRule::ALL {
            assert_eq!(MergeRule::parse(r.as_str()), Some(r));
        }
        assert_eq!(MergeRule::parse("merge-03"), Some(MergeRule::CrossesBorder));
        assert_eq!(MergeRule::parse("TOPO-01"), None);
    }
}
