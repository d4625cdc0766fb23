//! Helpers shared by cadastra's benchmarks (the city-scale scripts live in `scripts/bench/`).
//!
//! Map of the crate:
//! - [`world`]: a small generated legacy world (cadastra-sample), cached per size and seed, for
//!   the criterion micro-benchmarks in `benches/kernels.rs`.
//! - [`clock`]: wall and CPU time of this process, best-of-N timing.
//! - `src/bin/cadastra-read-bench.rs`: times `cadastra_shp::read_shapefile` against the floor of
//!   reading the files' bytes (`just bench-ingest`).

pub mod clock;
pub mod world;
