//! Generate a world: `cargo run --release -p cadastra-sample --example sample -- OUT [PARCELS] [SEED]`.
//! Without arguments it regenerates the committed default world in `sample-data/`.

use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = args.first().map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../sample-data"))
    });
    let mut opts = cadastra_sample::SampleOptions::default();
    if let Some(n) = args.get(1) {
        opts.parcels = n.parse().expect("PARCELS is a number");
    }
    if let Some(s) = args.get(2) {
        opts.seed = s.parse().expect("SEED is a number");
    }
    let t = Instant::now();
    let mut last = Instant::now();
    let summary = cadastra_sample::generate(&out, &opts, &mut |stage, done, total| {
        if last.elapsed().as_secs_f64() > 2.0 || done == total {
            eprintln!("{:7.1}s {stage}: {done}/{total}", t.elapsed().as_secs_f64());
            last = Instant::now();
        }
    });
    match summary {
        Ok(s) => {
            eprintln!(
                "generated {} parcels (seed {}) into {} in {:.1}s",
                s.parcels,
                s.seed,
                out.display(),
                t.elapsed().as_secs_f64()
            );
            for (rule, by) in &s.defects {
                eprintln!("  {rule}: {by:?}");
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    }
}
