#!/usr/bin/env bash
# `just bench-ingest` (issue 3's target): read the 莱城区 parcels + buildings of a generated world
# (laiwu/ZD.shp + ZRZ.shp: GBK DBF, LDID 0, no .cpg) with cadastra's reader on 2 threads
# (cadastra_shp::read_shapefile, encoding detected), and in the same run with
# geopandas.read_file (pyogrio engine, encoding="gbk"), plus the floor of reading the files'
# bytes. Best of CADASTRA_BENCH_REPEAT runs each (default 3), warm page cache.
#
#   scripts/bench/ingest.sh [PARCELS]           default: 1000000
set -euo pipefail
source "$(dirname "$0")/lib.sh"

n="${1:-1000000}"
repeat="${CADASTRA_BENCH_REPEAT:-3}"
results="${CADASTRA_BENCH_RESULTS:-$BENCH_DATA/results/$(date -u +%Y%m%dT%H%M%SZ)-ingest-w$n}"
mkdir -p "$results"
bench_build
bench_build_reader
venv_ok=1
ensure_venv || venv_ok=0
world="$(ensure_world "$n")"
files=("$world/laiwu/ZD.shp" "$world/laiwu/ZRZ.shp")
cat "${files[@]/%.shp/.dbf}" "${files[@]}" > /dev/null   # warm the page cache for everyone
say "load average before: $(loadavg) ($(nproc) CPUs)"
"$BENCH_PY" "$BENCH_DIR/measure.py" --out "$results/measure-cadastra-read.json" \
  --stdout "$results/cadastra-read.json" --label "cadastra read_shapefile x$repeat + floor" -- \
  "$READ_BENCH_BIN" --threads 2 --repeat "$repeat" "${files[@]}"
if [ $venv_ok = 1 ]; then
  "$BENCH_PY" "$BENCH_DIR/measure.py" --out "$results/measure-geopandas-read.json" \
    --stdout "$results/geopandas-read.json" --label "geopandas.read_file x$repeat" -- \
    "$VENV_PY" "$BENCH_DIR/geopandas_read.py" --repeat "$repeat" "${files[@]}"
else
  say "SKIPPED geopandas.read_file (no venv; see above)"
fi
"$BENCH_PY" "$BENCH_DIR/report.py" ingest "$results"
say "results: $results"
