//! End-to-end tests: the `cadastra` binary on the committed sample world and on bad input.
//! One test binary (style guide §6); modules by capability.

mod bad_input;
mod common;
mod crs;
mod demo;
mod gdal_sources;
mod inspect;
mod validate;
