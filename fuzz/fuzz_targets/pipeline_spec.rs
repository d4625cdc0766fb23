//! The pipeline-file parser and compiler: `cadastra_pipeline::spec::parse_partial` on arbitrary
//! text, then `compile` on whatever parsed (compile opens no files, so any path is safe).
//! Beyond "never panics": every problem has a line inside the file, and a file that parses with
//! no problem compiles or fails with at least one message.
#![no_main]

use cadastra_pipeline::spec::parse_partial;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    let lines = text.lines().count().max(1);
    let (file, errors) = parse_partial(Path::new("pipelines/fuzz.toml"), text);
    for e in &errors {
        assert!(e.line <= lines + 1, "error line {} past the end ({lines} lines): {}", e.line, e.message);
        assert!(!e.message.is_empty());
    }
    if let Some(file) = file {
        match cadastra_pipeline::compile(&file) {
            Ok(plan) => {
                let _ = plan.sources.len();
            }
            Err(errs) => assert!(!errs.is_empty(), "a failed compile says why"),
        }
    }
});
