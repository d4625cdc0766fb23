#!/usr/bin/env bash
# `just bench-validate` (issue 5's benchmark): the validation of a generated world's parcels and
# buildings (both districts: laiwu/ZD.shp + ZRZ.shp, gangcheng/ZongDi.shp + FangWu.shp), in one run:
#   1. cadastra validate pipelines/jinan-laiwu.toml --source <the four> on 1 and 2 threads: read
#      (GBK), map, reproject (explicit 7-parameter operation), every GEOM, TOPO, ATTR, UNIT and AREA
#      rule that applies, findings written (GeoPackage, CSV, JSON); nothing written to a registry;
#   2. the equivalent GeoPandas + shapely 2 job (geopandas_job.py without --out): read, reproject
#      with the same operation, is_valid, STRtree overlaps with the area threshold, buildings
#      covered by their parcel (joined on the parcel code), no write;
# each with wall time and peak RSS (measure.py), then the ratios and issue 5's targets.
#
#   scripts/bench/validate.sh [PARCELS]         default: 1000000
set -euo pipefail
source "$(dirname "$0")/lib.sh"

n="${1:-1000000}"
results="${CADASTRA_BENCH_RESULTS:-$BENCH_DATA/results/$(date -u +%Y%m%dT%H%M%SZ)-validate-w$n}"
mkdir -p "$results"
bench_build
venv_ok=1
ensure_venv || venv_ok=0
world="$(ensure_world "$n")"
run="$(scratch_run "$world" "validate-w$n")"
cat "$world"/laiwu/{ZD,ZRZ}.{shp,shx,dbf} "$world"/gangcheng/{ZongDi,FangWu}.{shp,shx,dbf} > /dev/null
say "load average before: $(loadavg) ($(nproc) CPUs)"
sources=(--source laiwu_zd --source laiwu_zrz --source gangcheng_zd --source gangcheng_zrz)
for t in ${CADASTRA_BENCH_THREADS:-1 2}; do
  say "cadastra validate (parcels + buildings of both districts), --threads $t ..."
  rc=0
  (cd "$run" && "$BENCH_PY" "$BENCH_DIR/measure.py" --out "$results/measure-cadastra-t$t.json" \
      --stdout "$results/summary-cadastra-t$t.json" --label "cadastra validate --threads $t" -- \
      "$CADASTRA_BIN" --threads "$t" --json validate pipelines/jinan-laiwu.toml "${sources[@]}" \
      --out "out/validate-t$t") || rc=$?
  # exit 1 = findings at or above --fail-on (the world has planted defects): a complete run
  [ $rc -le 1 ] || { say "cadastra validate failed (exit $rc)"; exit $rc; }
done

if [ $venv_ok = 1 ]; then
  secrets="$run/secret"
  (umask 077 && mkdir -p "$secrets"
   for epsg in 2384 2363; do
     "$BENCH_PY" "$BENCH_DIR/proj_pipeline.py" "$world/operator/xian80_to_cgcs2000.toml" "$epsg" > "$secrets/pipeline-$epsg.txt"
   done)
  say "GeoPandas checks ($("$VENV_PY" -c 'import geopandas, shapely; print("geopandas", geopandas.__version__, "shapely", shapely.__version__)')) ..."
  "$BENCH_PY" "$BENCH_DIR/measure.py" --out "$results/measure-geopandas.json" --label "geopandas checks" -- \
    "$VENV_PY" "$BENCH_DIR/geopandas_job.py" --world "$world" \
    --pipeline-2384 "$secrets/pipeline-2384.txt" --pipeline-2363 "$secrets/pipeline-2363.txt" \
    --json "$results/geopandas.json"
  rm -rf "$secrets"
else
  say "SKIPPED the GeoPandas checks (no venv; see above)"
fi
"$BENCH_PY" "$BENCH_DIR/report.py" validate "$results"
say "results: $results"
