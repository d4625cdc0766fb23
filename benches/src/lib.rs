//! Helpers shared by cadastra's benchmarks (the city-scale scripts live in `scripts/bench/`).
//!
//! Map of the crate:
//! - [`world`]: a small generated legacy world (cadastra-sample), cached per size and seed, for
//!   the criterion micro-benchmarks in `benches/kernels.rs`.
//! - [`clock`]: wall and CPU time of this process, best-of-N timing.
//! - `src/bin/cadastra-read-bench.rs`: times `cadastra_shp::read_shapefile` against the floor of
//!   reading the files' bytes (`just bench-ingest`).
//! - `src/bin/cadastra-reproject-bench.rs`: reprojection coordinates per second on 1 and 2
//!   threads (`just bench-reproject`).
//! - `src/bin/cadastra-load-bench.rs`: read + map + write of the parcels into a new GeoPackage
//!   and PostGIS registry (`just bench-load`).
//!
//! Every binary and benchmark linking this crate allocates with mimalloc through
//! `cadastra-alloc`, as the `cadastra` binary does, and the binaries tune it the same way
//! (`cadastra_alloc::tune()` first in `main`), so that they measure what users run.

pub mod clock;
pub mod world;

// links the global allocator into every binary and benchmark of this crate
use cadastra_alloc as _;
