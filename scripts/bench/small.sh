#!/usr/bin/env bash
# `just bench-small`: the benchmark scripts on a 10k-parcel world so that they never rot (CI):
# bench (1 and 2 threads), bench-compare, bench-ingest, bench-reproject and bench-validate, no timing assertions. GeoPandas is
# skipped with a message when PyPI is unreachable. CADASTRA_PROFILE=dev reuses the test build.
set -euo pipefail
here="$(dirname "$0")"
n="${CADASTRA_BENCH_SMALL:-10000}"
export CADASTRA_BENCH_REPEAT="${CADASTRA_BENCH_REPEAT:-1}"
bash "$here/bench.sh" "$n"
bash "$here/compare.sh" "$n"
bash "$here/ingest.sh" "$n"
bash "$here/reproject.sh" "$n"
bash "$here/validate.sh" "$n"
