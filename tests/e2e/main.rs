//! End-to-end tests: the `cadastra` binary on the committed sample world and on bad input.
//! One test binary (style guide §6); modules by capability.

mod bad_input;
mod common;
mod crs;
mod demo;
mod export;
mod gdal_sources;
mod ground_truth;
mod hardening;
mod inspect;
mod merge;
mod report;
mod validate;
