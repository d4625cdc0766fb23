# cadastra's entry points. `just` itself: `pip install rust-just` (seconds) or `cargo install just`.
set shell := ["bash", "-euo", "pipefail", "-c"]
export CARGO_TARGET_DIR := env_var_or_default("CARGO_TARGET_DIR", env_var("HOME") + "/.cache/cadastra/target")

# list recipes
default:
    @just --list

# run the demo: both former-Laiwu districts + Jinan's neighbouring registry into out/registry.gpkg
demo:
    bash scripts/demo.sh

# the whole test suite, as CI runs it
test:
    bash scripts/test.sh

# what CI runs: formatting, clippy, every test
ci: test

# regenerate the committed sample world (sample-data/)
sample:
    cargo run --release -q -p cadastra-cli -- sample --out sample-data --parcels 3000 --seed 2019

# regenerate the JSON Schema of pipeline files
schema:
    cargo run -q -p cadastra-cli -- schema > schemas/pipeline.schema.json
