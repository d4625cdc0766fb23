#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls this): system packages, a local
# PostgreSQL + PostGIS for the PostGIS tests, Chromium and QGIS for the deliverables' tests,
# formatting, clippy, every test, the demo, the QGIS check and the benchmarks at 10k parcels.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-system.sh --test --browser --qgis
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cadastra/target}"
# a throw-away PostgreSQL cluster for the PostGIS tests (started here, stopped on exit)
source scripts/pg-test-cluster.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -q -- -D warnings
cargo test --workspace --quiet
# the README's demo line, on the test build, then GDAL's validator on what it wrote
CADASTRA_PROFILE=dev bash scripts/demo.sh
/usr/bin/python3 -m osgeo_utils.samples.validate_gpkg out/registry.gpkg
# QGIS 3.22 (headless) opens the registry, an export and their projects (just qgis-check)
bash scripts/qgis-check.sh
# the benchmark scripts on a 10k-parcel world so they never rot; no timing assertions (just bench-small)
CADASTRA_PROFILE=dev bash scripts/bench/small.sh
