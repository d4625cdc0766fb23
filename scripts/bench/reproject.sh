#!/usr/bin/env bash
# `just bench-reproject` (issue 4's benchmark): reprojection throughput on the 莱城区 parcel file of
# a generated world (laiwu/ZD.shp, Xi'an 1980 GK zone 39 / EPSG:2384 -> CGCS2000 / EPSG:4548 through
# the world's explicit 7-parameter operation), in one run:
#   1. cadastra (cadastra-reproject-bench): the pipeline's reprojection call on 1 and 2 threads,
#      coordinates per second, and read + reproject;
#   2. ogr2ogr -t_srs EPSG:4548 with the same operation (-ct from a 0600 option file) writing
#      FlatGeobuf (no spatial index), and the same ogr2ogr copy without reprojection: the
#      difference is ogr2ogr's reprojection time, its coordinates per second follow from it.
# Best of CADASTRA_BENCH_REPEAT runs each (default 3), warm page cache.
#
#   scripts/bench/reproject.sh [PARCELS]        default: 1000000
set -euo pipefail
source "$(dirname "$0")/lib.sh"

n="${1:-1000000}"
repeat="${CADASTRA_BENCH_REPEAT:-3}"
results="${CADASTRA_BENCH_RESULTS:-$BENCH_DATA/results/$(date -u +%Y%m%dT%H%M%SZ)-reproject-w$n}"
mkdir -p "$results"
bench_build
[ -n "${REPROJECT_BENCH_BIN:-}" ] || REPROJECT_BENCH_BIN="$(bench_bin cadastra-reproject-bench)"
command -v ogr2ogr > /dev/null || { say "ogr2ogr missing (apt-get install gdal-bin)"; exit 2; }
world="$(ensure_world "$n")"
file="$world/laiwu/ZD.shp"
op="$world/operator/xian80_to_cgcs2000.toml"
scratch="$(mktemp -d "${TMPDIR:-/tmp}/cadastra-reproject.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
# the operation for ogr2ogr: secret in real use, so a 0600 file, never a command line or a log
(umask 077 && "$BENCH_PY" "$BENCH_DIR/proj_pipeline.py" "$op" 2384 --gdal > "$scratch/ct-2384.opt")
cat "${file%.shp}".{shp,shx,dbf} > /dev/null   # warm the page cache for everyone
say "load average before: $(loadavg) ($(nproc) CPUs)"

say "cadastra: reprojection on 1 and 2 threads, best of $repeat ..."
"$BENCH_PY" "$BENCH_DIR/measure.py" --out "$results/measure-cadastra.json" \
  --stdout "$results/cadastra-reproject.json" --label "cadastra-reproject-bench" -- \
  "$REPROJECT_BENCH_BIN" --operator "$op" --source-epsg 2384 --threads 1,2 --repeat "$repeat" "$file"

say "ogr2ogr: the same file with and without -t_srs, best of $repeat ..."
for i in $(seq 1 "$repeat"); do
  for mode in reproject copy; do
    args=()
    [ $mode = copy ] || args=(-s_srs EPSG:2384 -t_srs EPSG:4548 --optfile "$scratch/ct-2384.opt")
    rm -f "$scratch/out.fgb"
    "$BENCH_PY" "$BENCH_DIR/measure.py" --out "$results/measure-ogr2ogr-$mode-$i.json" \
      --label "ogr2ogr $mode" -- \
      ogr2ogr -f FlatGeobuf -lco SPATIAL_INDEX=NO "$scratch/out.fgb" "$file" -oo ENCODING=CP936 \
      -nlt PROMOTE_TO_MULTI "${args[@]}"
  done
done
ogr2ogr --version > "$results/ogr2ogr-version.txt"
"$BENCH_PY" "$BENCH_DIR/report.py" reproject "$results"
say "results: $results"
