//! The run summary lives in `cadastra_model::summary` (plain data shared with the report crate).

pub use cadastra_model::summary::*;
