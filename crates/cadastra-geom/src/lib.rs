//! Geometry validity and topology kernels for cadastral layers. Pure computation: features in
//! memory in, values out; no I/O, no global state. Coordinates are projected metres, easting
//! first; parcels (宗地) and buildings (自然幢) are `geo_types::MultiPolygon<f64>`.
//!
//! Crate map:
//!
//! - [`predicates`]: exact orientation, segment intersection, point-in-ring, ring orientation
//!   (Shewchuk's adaptive `orient2d`, JTS case analysis); every decision below uses these.
//! - [`valid`]: GEOM-01 validity with GEOS `isValid` semantics ([`validate`],
//!   [`validate_multipolygon`] with a fast path for single-ring polygons) and the typed,
//!   bilingual [`Invalid`].
//! - [`shape`]: GEOM-03 vertex defects (duplicates, short segments, spikes within a 1 mm snap),
//!   GEOM-05 small/thin polygons, GEOM-06 ring orientation, areas with a local origin.
//! - [`index`]: [`TopoIndex`] over feature envelopes: candidate pairs from a parallel
//!   hierarchical grid, envelope queries from a packed Hilbert R-tree (why not rstar: see the
//!   module docs), results sorted.
//! - [`interiors`]: [`interiors_intersect`] (exact DE-9IM `II` test, fast on coverages) and
//!   [`relate_areas`] (disjoint / touch / overlap).
//! - [`overlay`]: TOPO-01/-05 [`overlap`] and [`find_overlaps`], TOPO-04 [`outside_part`]
//!   (geo `BooleanOps` for the geometry).
//! - [`gaps`]: TOPO-02 [`find_gaps`]: holes of a group's union by edge cancelling, noding
//!   (T-junctions, crossings) and face winding numbers, sliver classification, allowed layers.
//! - [`similar`]: duplicates, [`hausdorff`], [`overlap_ratio`] for the merge stage.
//!
//! Invariants: no function panics on bad geometry (NaN, empty, invalid rings); parallel
//! functions return the same, sorted result for any number of rayon threads.

pub mod gaps;
pub mod hilbert;
pub mod index;
pub mod interiors;
pub mod overlay;
pub mod predicates;
pub mod shape;
pub mod similar;
pub mod valid;

pub use gaps::{
    find_gaps, find_gaps_by_group, find_gaps_with_stats, Gap, GapMethod, GapOptions, GapStats,
};
pub use index::{Envelope, TopoIndex};
pub use interiors::{interiors_intersect, relate_areas, AreaRelation};
pub use overlay::{
    find_overlaps, outside_part, overlap, OutsidePart, Overlap, OverlapFinding,
    OVERLAP_MIN_AREA_M2, OVERLAP_MIN_WIDTH_M,
};
pub use similar::{equal_normalized, find_duplicates, hausdorff, overlap_ratio, Duplicate};
pub use valid::{validate, validate_multipolygon, Invalid};
