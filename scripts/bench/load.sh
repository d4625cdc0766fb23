#!/usr/bin/env bash
# `just bench-load` (issue 6's benchmark): load the parcels of a generated world (laiwu/ZD.shp +
# gangcheng/ZongDi.shp, GBK DBFs) into each registry backend, in one run:
#   1. cadastra (cadastra-load-bench): read + map onto the registry schema (the pipeline's mapping),
#      then one transaction into a new GeoPackage registry and into a new PostGIS registry;
#   2. ogr2ogr loading the same two files into a new GeoPackage and into PostGIS (-f PostgreSQL,
#      COPY), and shp2pgsql | psql (COPY dump, GiST index) when installed; each file into a table
#      of its own (their fastest way: appending to an indexed PostGIS table makes ogr2ogr several
#      times slower), whereas cadastra loads both into the one registry table;
# with wall time, CPU seconds and rows/s each (measure.py); then the ratios and issue 6's targets.
# Geometry is loaded as read (no -t_srs) on both sides. PostGIS: a throw-away cluster
# (scripts/pg-test-cluster.sh) unless CADASTRA_TEST_PG is set; schemas bench_load_* are replaced.
#
#   scripts/bench/load.sh [PARCELS]             default: 1000000
set -euo pipefail
source "$(dirname "$0")/lib.sh"

n="${1:-1000000}"
results="${CADASTRA_BENCH_RESULTS:-$BENCH_DATA/results/$(date -u +%Y%m%dT%H%M%SZ)-load-w$n}"
mkdir -p "$results"
bash "$BENCH_ROOT/scripts/setup-system.sh" --test
bench_build
[ -n "${LOAD_BENCH_BIN:-}" ] || LOAD_BENCH_BIN="$(bench_bin cadastra-load-bench)"
source "$BENCH_ROOT/scripts/pg-test-cluster.sh"
pg="$CADASTRA_TEST_PG"
ogr_pg="$("$BENCH_PY" -c '
import sys, urllib.parse as u
p = u.urlparse(sys.argv[1])
host, port, user, db = p.hostname or "localhost", p.port or 5432, p.username or "postgres", p.path.lstrip("/") or "postgres"
print(f"PG:host={host} port={port} user={user} dbname={db}")
' "${pg%%\?*}")"
psql_q() { PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 "${pg%%\?*}" -c "$1" > /dev/null; }
world="$(ensure_world "$n")"
run="$(scratch_run "$world" "load-w$n")"
files=("$world/laiwu/ZD.shp" "$world/gangcheng/ZongDi.shp")
cat "${files[@]}" "${files[@]/%.shp/.dbf}" > /dev/null   # warm the page cache for everyone
say "load average before: $(loadavg) ($(nproc) CPUs)"

say "cadastra: read + map, then into a new GeoPackage and a new PostGIS registry ..."
psql_q "DROP SCHEMA IF EXISTS bench_load_cadastra CASCADE"
sep='?'; case "$pg" in *\?*) sep='&' ;; esac
(cd "$run" && "$BENCH_PY" "$BENCH_DIR/measure.py" --out "$results/measure-cadastra.json" \
   --stdout "$results/cadastra-load.json" --label "cadastra-load-bench" -- \
   "$LOAD_BENCH_BIN" --pipeline pipelines/jinan-laiwu.toml --gpkg out/load.gpkg \
   --pg "${pg}${sep}schema=bench_load_cadastra")
rm -f "$run/out/load.gpkg"
psql_q "DROP SCHEMA IF EXISTS bench_load_cadastra CASCADE"

say "ogr2ogr -f GPKG: the same two files, a layer each ..."
gpkg="$run/out/ogr2ogr.gpkg"
rm -f "$gpkg"
i=0
for f in "${files[@]}"; do
  mode=()
  [ $i -eq 0 ] || mode=(-update)
  "$BENCH_PY" "$BENCH_DIR/measure.py" --out "$results/measure-ogr2ogr-gpkg-$i.json" --label "ogr2ogr GPKG $(basename "$f")" -- \
    ogr2ogr -f GPKG "${mode[@]}" "$gpkg" "$f" -nln "ZDJBXX_$i" -nlt PROMOTE_TO_MULTI -unsetFieldWidth -oo ENCODING=CP936
  i=$((i + 1))
done
rm -f "$gpkg"

say "ogr2ogr -f PostgreSQL: the same two files, a table each ..."
psql_q "DROP SCHEMA IF EXISTS bench_load_ogr CASCADE; CREATE SCHEMA bench_load_ogr"
i=0
for f in "${files[@]}"; do
  "$BENCH_PY" "$BENCH_DIR/measure.py" --out "$results/measure-ogr2ogr-pg-$i.json" --label "ogr2ogr PostgreSQL $(basename "$f")" -- \
    ogr2ogr -f PostgreSQL "$ogr_pg" "$f" -nln "bench_load_ogr.zdjbxx_$i" -lco GEOMETRY_NAME=geom -nlt PROMOTE_TO_MULTI -unsetFieldWidth -oo ENCODING=CP936
  i=$((i + 1))
done
psql_q "DROP SCHEMA bench_load_ogr CASCADE"

if command -v shp2pgsql > /dev/null; then
  say "shp2pgsql -D -I | psql: the same two files, a table each ..."
  psql_q "DROP SCHEMA IF EXISTS bench_load_shp2pgsql CASCADE; CREATE SCHEMA bench_load_shp2pgsql"
  i=0
  for f in "${files[@]}"; do
    "$BENCH_PY" "$BENCH_DIR/measure.py" --out "$results/measure-shp2pgsql-$i.json" --label "shp2pgsql $(basename "$f")" -- \
      bash -c 'set -o pipefail; shp2pgsql -c -D -I -W GBK -s 4548 "$1" "$2" | psql -X -q -v ON_ERROR_STOP=1 "$3" > /dev/null' \
      _ "$f" "bench_load_shp2pgsql.zdjbxx_$i" "${pg%%\?*}"
    i=$((i + 1))
  done
  psql_q "DROP SCHEMA bench_load_shp2pgsql CASCADE"
else
  say "shp2pgsql not installed (Debian: postgis): compared with ogr2ogr only"
fi
ogr2ogr --version > "$results/ogr2ogr-version.txt"
"$BENCH_PY" "$BENCH_DIR/report.py" load "$results"
say "results: $results"
