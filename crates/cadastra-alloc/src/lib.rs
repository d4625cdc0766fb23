//! The allocator of every cadastra binary: the `cadastra` command and the benchmark binaries link
//! this crate, so that the benchmarks measure the memory behaviour users get.
//!
//! Call [`tune`] first thing in `main`.

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc returns freed memory to the OS at once and commits arena memory on demand: at city
/// scale the peak resident memory is a seventh lower and the kernel zeroes fewer pages (1M-parcel
/// validation on 2 threads, parcels + buildings: peak RSS 2,412,036 → 2,068,736 kB, system time
/// 8.3 → 5.8 s, wall time about the same; loading the 1M world's parcels, `cadastra-load-bench`:
/// read + map 5.7 → 4.0 s, most of the difference being pages the kernel no longer zeroes).
/// Environment variables (`MIMALLOC_PURGE_DELAY`, …) are read before this and overridden.
///
/// Call it while the process has one thread: `mi_option_set` is not thread-safe.
pub fn tune() {
    // mimalloc's mi_option_e (v2 and v3): arena_eager_commit = 4, purge_delay = 15
    const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    #[allow(unsafe_code)] // the allocator's C API; no safe wrapper exists
    // SAFETY: mi_option_set only stores an integer into mimalloc's option table; the option
    // numbers are those of the bundled mimalloc. Called (as documented) before other threads run.
    unsafe {
        libmimalloc_sys::mi_option_set(PURGE_DELAY, 0);
        libmimalloc_sys::mi_option_set(ARENA_EAGER_COMMIT, 0);
    }
}
