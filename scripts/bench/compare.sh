#!/usr/bin/env bash
# `just bench-compare`: in one run, on the same files of a generated world (default 1M parcels):
#   1. the whole cadastra pipeline (pipelines/jinan-laiwu.toml, --threads 2) into a new GeoPackage;
#   2. ogr2ogr -t_srs EPSG:4548 loading the parcels + buildings of both districts into one
#      GeoPackage (load + reproject only), with the same explicit 7-parameter operation (-ct);
#   3. the GeoPandas + shapely 2 job of geopandas_job.py (read, reproject, is_valid, overlaps,
#      buildings covered by their parcel, write), from a venv under the cache folder;
# then prints the ratios against the targets. GeoPandas is skipped, with a message, when its
# venv cannot be installed from PyPI.
#
#   scripts/bench/compare.sh [PARCELS]          default: 1000000
set -euo pipefail
source "$(dirname "$0")/lib.sh"

n="${1:-1000000}"
results="${CADASTRA_BENCH_RESULTS:-$BENCH_DATA/results/$(date -u +%Y%m%dT%H%M%SZ)-compare-w$n}"
mkdir -p "$results"
bench_build
command -v ogr2ogr > /dev/null || { say "ogr2ogr missing (apt-get install gdal-bin)"; exit 2; }
venv_ok=1
ensure_venv || venv_ok=0
say "load average before: $(loadavg) ($(nproc) CPUs)"
world="$(ensure_world "$n")"
run="$(scratch_run "$world" "compare-w$n")"

# 1. cadastra
say "cadastra: the whole pipeline on $n parcels, --threads 2 ..."
run_pipeline "$run" 2 "$results/measure-cadastra.json"
cp "$run/out/summary-t2.json" "$results/summary-cadastra.json"
"$BENCH_PY" "$BENCH_DIR/report.py" record --parcels "$n" --threads 2 \
  --measure "$results/measure-cadastra.json" --summary "$results/summary-cadastra.json" \
  --run "$run" --out "$results/run-cadastra.json"
rm -f "$run/out/registry.gpkg"

# the operation, for ogr2ogr and pyproj: secret in real use, so 0600 files, never printed
secrets="$run/secret"
(umask 077 && mkdir -p "$secrets")
for epsg in 2384 2363; do
  (umask 077
   "$BENCH_PY" "$BENCH_DIR/proj_pipeline.py" "$world/operator/xian80_to_cgcs2000.toml" "$epsg" > "$secrets/pipeline-$epsg.txt"
   "$BENCH_PY" "$BENCH_DIR/proj_pipeline.py" "$world/operator/xian80_to_cgcs2000.toml" "$epsg" --gdal > "$secrets/ct-$epsg.opt")
done

# 2. ogr2ogr: four loads into one GeoPackage (two layers), as a user would type them;
# -unsetFieldWidth because the districts' DBF widths differ (MJDW C2 vs C6): GDAL would warn per row
say "ogr2ogr: load + reproject (-ct, the explicit 7-parameter pipeline) ..."
gpkg="$run/out/ogr2ogr.gpkg"
rm -f "$gpkg"
i=0
for spec in "laiwu/ZD.shp ZDJBXX 2384" "gangcheng/ZongDi.shp ZDJBXX 2363" \
            "laiwu/ZRZ.shp ZRZ 2384" "gangcheng/FangWu.shp ZRZ 2363"; do
  set -- $spec
  mode=()
  [ $i -eq 0 ] || mode=(-update)
  case " ${seen:-} " in *" $2 "*) mode+=(-append -addfields) ;; esac
  seen="${seen:-} $2"
  "$BENCH_PY" "$BENCH_DIR/measure.py" --out "$results/measure-ogr2ogr-$i.json" --label "ogr2ogr $1" -- \
    ogr2ogr -f GPKG "${mode[@]}" "$gpkg" "$world/$1" -nln "$2" -nlt PROMOTE_TO_MULTI -unsetFieldWidth \
    -oo ENCODING=CP936 -s_srs "EPSG:$3" -t_srs EPSG:4548 --optfile "$secrets/ct-$3.opt"
  i=$((i + 1))
done
# what ogr2ogr does without -ct: PROJ's ballpark, no datum change; how far off that is
"$BENCH_PY" "$BENCH_DIR/ogr_check.py" --world "$world" --ct "$secrets/ct-2384.opt" > "$results/ogr2ogr-ballpark.json"

# 3. GeoPandas
if [ $venv_ok = 1 ]; then
  say "GeoPandas job ($("$VENV_PY" -c 'import geopandas, shapely; print("geopandas", geopandas.__version__, "shapely", shapely.__version__)')) ..."
  "$BENCH_PY" "$BENCH_DIR/measure.py" --out "$results/measure-geopandas.json" --label "geopandas job" -- \
    "$VENV_PY" "$BENCH_DIR/geopandas_job.py" --world "$world" --out "$run/out/geopandas.gpkg" \
    --pipeline-2384 "$secrets/pipeline-2384.txt" --pipeline-2363 "$secrets/pipeline-2363.txt" \
    --json "$results/geopandas.json"
else
  say "SKIPPED the GeoPandas job (no venv; see above)"
fi
rm -f "$run/out/ogr2ogr.gpkg" "$run/out/geopandas.gpkg"
"$BENCH_PY" "$BENCH_DIR/report.py" compare "$results"
say "results: $results"
