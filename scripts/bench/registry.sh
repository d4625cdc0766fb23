#!/usr/bin/env bash
# `just bench-registry [ROWS]`: the PostGIS load benchmark. ROWS parcel rows (default 1M) go into a
# new PostGIS registry through cadastra's PgRegistry (one transaction, binary COPY, indexes after
# the load), then into the indexed registry again, then a small load keeping the indexes; in the
# same run the same rows, written to a GeoPackage by cadastra's gpkg backend (timed too), are loaded
# into PostGIS by `ogr2ogr -f PostgreSQL`. Prints wall time, rows/s and the CPU seconds of client
# and server for each (crates/cadastra-io/tests/postgis.rs, bench_million_parcels).
# Starts a throw-away PostgreSQL cluster unless CADASTRA_TEST_PG is set.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/setup-system.sh --test
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cadastra/target}"
source scripts/pg-test-cluster.sh
CADASTRA_BENCH_ROWS="${1:-1000000}" cargo test --release -q -p cadastra-io --test postgis \
  bench_million_parcels -- --ignored --nocapture
