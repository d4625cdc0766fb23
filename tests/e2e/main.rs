//! End-to-end tests: the `cadastra` binary on the committed sample world and on bad input.
//! One test binary (style guide §6); modules by capability.

mod common;
mod demo;
mod bad_input;
