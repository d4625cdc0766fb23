//! The pipeline's `[merge]` policies: source priority, which side wins per field class, which
//! conflicts are held for review, and the tolerances of domain-brief §6.9.

use crate::conflict::MergeRule;

/// Which side a field class is taken from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Side {
    /// the side whose system ranks first in `priority`
    Priority,
    /// the row already in the registry
    Registry,
    /// this run's record
    Incoming,
    /// cadastral survey records (宗地, 自然幢, 户)
    Survey,
    /// registration records (rights, right holders): the legal values
    Registration,
    /// the record of this source system
    System(String),
}

impl Side {
    fn parse(s: &str) -> Side {
        match s.trim().to_ascii_lowercase().as_str() {
            "priority" => Side::Priority,
            "registry" | "existing" => Side::Registry,
            "incoming" => Side::Incoming,
            "survey" | "cadastre" | "cadastral" => Side::Survey,
            "registration" | "legal" => Side::Registration,
            _ => Side::System(s.trim().to_string()),
        }
    }
}

/// Merge policies, checked.
#[derive(Debug, Clone)]
pub struct Policy {
    /// source systems, first wins
    pub priority: Vec<String>,
    /// conflicts of these rules hold their records for review; the others are only reported and
    /// resolved as the policy suggests (MERGE-01 without a suggestion is always held)
    pub hold: Vec<MergeRule>,
    /// where geometry and areas come from when records are merged (default: survey; `merge` is
    /// offered for MERGE-01 only when both sides name one of the two records)
    pub geometry_from: Side,
    /// where the legal attributes (everything but geometry and areas) come from (default:
    /// registration, i.e. for MERGE-05 the registered value stays the legal one)
    pub legal_from: Side,
    /// MERGE-01: geometries further apart than this (m, Hausdorff) differ
    pub hausdorff_tolerance: f64,
    /// MERGE-02: the overlap covers at least this share of both parcels
    pub same_ground_ratio: f64,
    /// MERGE-03: overlaps up to this area (m²) or width (m) are snapping noise
    pub min_overlap_area: f64,
    pub min_overlap_width: f64,
    /// MERGE-05: areas differing by more than this share (and `area_abs_tolerance` m²) disagree
    pub area_rel_tolerance: f64,
    pub area_abs_tolerance: f64,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            priority: Vec::new(),
            hold: MergeRule::ALL.to_vec(),
            geometry_from: Side::Survey,
            legal_from: Side::Registration,
            hausdorff_tolerance: 0.10,
            same_ground_ratio: 0.90,
            min_overlap_area: 0.01,
            min_overlap_width: 0.01,
            area_rel_tolerance: 0.005,
            area_abs_tolerance: 0.5,
        }
    }
}

/// A policy problem, named by its key of the `[merge]` section.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("[merge] {key}: {message}")]
pub struct PolicyError {
    pub key: &'static str,
    pub message: String,
}

impl Policy {
    /// Check the `[merge]` values as written; every problem is reported.
    pub fn new(
        priority: &[String],
        hold: Option<&[String]>,
        geometry_from: Option<&str>,
        legal_from: Option<&str>,
    ) -> Result<Policy, Vec<PolicyError>> {
        let mut errors = Vec::new();
        let mut p = Policy::default();
        let mut seen = std::collections::HashSet::new();
        for s in priority {
            let s = s.trim();
            if s.is_empty() {
                errors.push(PolicyError {
                    key: "priority",
                    message: "an empty system name".into(),
                });
            } else if !seen.insert(s.to_string()) {
                errors.push(PolicyError {
                    key: "priority",
                    message: format!("system {s:?} is listed twice"),
                });
            } else {
                p.priority.push(s.to_string());
            }
        }
        if let Some(h) = hold {
            p.hold.clear();
            for r in h {
                match MergeRule::parse(r) {
                    Some(rule) => {
                        if !p.hold.contains(&rule) {
                            p.hold.push(rule);
                        }
                    }
                    None => errors.push(PolicyError {
                        key: "hold",
                        message: format!("{r:?} is not a merge rule (MERGE-01 … MERGE-05)"),
                    }),
                }
            }
        }
        for (key, v, slot) in [
            ("geometry_from", geometry_from, &mut p.geometry_from),
            ("legal_from", legal_from, &mut p.legal_from),
        ] {
            if let Some(v) = v {
                if v.trim().is_empty() {
                    errors.push(PolicyError {
                        key,
                        message: "empty (say priority, registry, incoming, survey, registration or a source system)".into(),
                    });
                } else {
                    *slot = Side::parse(v);
                }
            }
        }
        if errors.is_empty() {
            Ok(p)
        } else {
            Err(errors)
        }
    }

    /// Rank of a system in `priority` (0 = first); unlisted systems rank after all listed ones.
    pub fn rank(&self, system: &str) -> usize {
        self.priority
            .iter()
            .position(|s| s == system)
            .unwrap_or(self.priority.len())
    }

    pub fn holds(&self, rule: MergeRule) -> bool {
        self.hold.contains(&rule)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_hold_every_rule() {
        let p = Policy::new(&[], None, None, None).unwrap();
        assert_eq!(p.hold.len(), 5);
        assert_eq!(p.legal_from, Side::Registration);
        assert_eq!(p.geometry_from, Side::Survey);
        assert_eq!(p.rank("anything"), 0);
    }

    #[test]
    fn bad_values_are_named() {
        let e = Policy::new(
            &["jinan".into(), "jinan".into()],
            Some(&["MERGE-01".into(), "TOPO-01".into()][..]),
            Some(" "),
            None,
        )
        .unwrap_err();
        let text: Vec<String> = e.iter().map(|e| e.to_string()).collect();
        assert_eq!(text.len(), 3, "{text:?}");
        assert!(text[0].contains("priority") && text[0].contains("twice"));
        assert!(text[1].contains("hold") && text[1].contains("TOPO-01"));
        assert!(text[2].contains("geometry_from"));
    }

    #[test]
    fn priority_ranks_listed_systems_first() {
        let p = Policy::new(
            &["jinan".into(), "laiwu".into()],
            Some(&[][..]),
            Some("survey"),
            None,
        )
        .unwrap();
        assert!(p.rank("jinan") < p.rank("laiwu") && p.rank("laiwu") < p.rank("gangcheng"));
        assert!(p.hold.is_empty());
        assert_eq!(p.geometry_from, Side::Survey);
    }
}
