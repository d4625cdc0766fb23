//! The merge: this run's records against the registry and against each other, the conflict
//! classes of domain-brief §6.9, the pipeline's `[merge]` policies, and the decisions sheet that
//! lets a reviewer settle what was held. Pure logic: no I/O but the decisions files.
//!
//! Crate map:
//!
//! - [`input`]: [`Layer`]s of registry rows (incoming from this run, or already in the registry)
//!   and [`Records`], read access with provenance; which pairs the merge judges
//!   ([`Records::excluded`]: never two registry rows, a record and its own earlier version, or two
//!   records of one delivery — those are the validation rules').
//! - [`detect`]: [`detect()`]: MERGE-01 by key, MERGE-02/03 by geometry (`cadastra_geom::TopoIndex`
//!   candidates, `interiors_intersect`, `overlap`, `hausdorff`), MERGE-04 by person (身份证
//!   15/18 digits, typos), MERGE-05 by unit (cadastral vs registered area and use).
//! - [`conflict`]: [`Conflict`] (stable id, members, the records it holds, allowed [`Choice`]s, the
//!   policy's suggestion, the field edits each choice makes) and [`MergeRule`].
//! - [`policy`]: [`Policy`] from `[merge]`: priority, field-class sides, hold, tolerances.
//! - [`resolve`]: [`resolve()`]: per record, load / hold / reject / write over a registry row, and
//!   the edits of decided conflicts.
//! - [`sheet`]: `decisions.csv` / `decisions.xlsx` written and read back, checked with every
//!   problem named by file, row and field.
//! - [`edit`]: decided values set on mapped rows.
//!
//! **Invariant:** a conflict is never resolved by accident: its records are held until a decision
//! (a reviewer's, stored in the registry, or the policy's for rules the pipeline does not hold);
//! MERGE-01 records are held even then when the policy has no suggestion, since loading them
//! would overwrite or duplicate a key.
//! **Invariant:** conflict ids depend only on the rule and the records' identities
//! (`table:system/legacy key`), so re-running a batch finds the same conflicts.
//!
//! ```
//! use cadastra_merge::{detect, DetectOptions, Layer, Origin, Policy, Records};
//! use cadastra_model::{registry, Column, Rows};
//! // two parcels with one code from two districts' deliveries
//! let def = registry().table("ZDJBXX").unwrap();
//! let mut rows = Rows::new(def);
//! for (i, col) in rows.columns.iter_mut().enumerate() {
//!     let name = def.fields[i].name.as_str();
//!     for sys in ["laiwu", "jinan"] {
//!         let v = match name {
//!             "ZDDM" => Some("370116001001GB00001"),
//!             "src_system" => Some(sys),
//!             "src_key" => Some("k1"),
//!             "ZL" => Some(if sys == "laiwu" { "莱芜区凤城街道" } else { "章丘区" }),
//!             _ => None,
//!         };
//!         if let Column::Text(c) = col { c.push(v) } else if let Column::Real(c) = col { c.push(None) } else if let Column::Int(c) = col { c.push(None) }
//!     }
//! }
//! rows.geoms = vec![None, None];
//! let layers = [Layer { origin: Origin::Incoming, source: "both", def, rows: &rows, fids: &[] }];
//! let recs = Records::new(&layers);
//! let conflicts = detect(&recs, &Policy::default(), &DetectOptions::default());
//! assert_eq!(conflicts.len(), 1);
//! assert_eq!(conflicts[0].rule.as_str(), "MERGE-01");
//! assert!(conflicts[0].detail.contains("ZL"));
//! ```

pub mod conflict;
pub mod detect;
pub mod edit;
pub mod input;
pub mod policy;
pub mod resolve;
pub mod sheet;

pub use conflict::{Choice, Conflict, Edit, EditValue, Member, MergeRule};
pub use detect::{detect, DetectOptions};
pub use input::{Layer, Origin, RecordRef, Records};
pub use policy::{Policy, PolicyError, Side};
pub use resolve::{resolve, Decision, DecisionOrigin, Outcome, Status};

#[cfg(test)]
pub(crate) mod testkit;
