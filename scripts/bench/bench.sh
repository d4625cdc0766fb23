#!/usr/bin/env bash
# `just bench`: the whole cadastra pipeline (pipelines/jinan-laiwu.toml) on generated worlds of
# 100k and 1M legacy parcels, into a fresh GeoPackage registry, with 1 and 2 worker threads.
# Prints per stage: wall time (the run summary's `timings`), throughput (parcels + buildings
# per second), peak RSS (whole run: /usr/bin/time -v; per stage: sampled VmRSS), and the
# speed-up from 1 to 2 threads; then 100k -> 1M scaling and the targets.
#
#   scripts/bench/bench.sh [PARCELS...]          default: 100000 1000000
#   CADASTRA_BENCH_THREADS="1 2"                 thread counts to run (default "1 2")
# Results (JSON) go to $CADASTRA_BENCH_DATA/results/<time>-bench/; see scripts/bench/lib.sh.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100000 1000000)
threads=(${CADASTRA_BENCH_THREADS:-1 2})
results="${CADASTRA_BENCH_RESULTS:-$BENCH_DATA/results/$(date -u +%Y%m%dT%H%M%SZ)-bench}"
mkdir -p "$results"

bench_build
say "load average before: $(loadavg) ($(nproc) CPUs)"
for n in "${sizes[@]}"; do
  world="$(ensure_world "$n")"
  run="$(scratch_run "$world" "bench-w$n")"
  for t in "${threads[@]}"; do
    say "pipeline on $n parcels, --threads $t ..."
    run_pipeline "$run" "$t" "$results/measure-w$n-t$t.json"
    cp "$run/out/summary-t$t.json" "$results/summary-w$n-t$t.json"
    "$BENCH_PY" "$BENCH_DIR/report.py" record --parcels "$n" --threads "$t" \
      --measure "$results/measure-w$n-t$t.json" --summary "$results/summary-w$n-t$t.json" \
      --run "$run" --out "$results/run-w$n-t$t.json"
  done
done
"$BENCH_PY" "$BENCH_DIR/report.py" bench "$results"
say "results: $results"
