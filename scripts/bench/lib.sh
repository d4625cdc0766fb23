# Shared by scripts/bench/*.sh (sourced). Worlds, runs and the Python venv are cached under
# $CADASTRA_BENCH_DATA (default ~/.cache/cadastra/bench-data), never inside the repository.
#   CADASTRA_PROFILE=dev     use the debug build (as the test suite builds it) instead of release
#   CADASTRA_BENCH_SEED=S    world seed (default 2019, the committed world's)
#   CADASTRA_BENCH_REGEN=1   regenerate cached worlds
#   CADASTRA_BENCH_SAMPLE_MS sampling period of the RSS sampler (default 100)
#   CADASTRA_BIN, READ_BENCH_BIN, REPROJECT_BENCH_BIN, LOAD_BENCH_BIN  use these binaries instead of building them

BENCH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BENCH_DIR="$BENCH_ROOT/scripts/bench"
BENCH_DATA="${CADASTRA_BENCH_DATA:-$HOME/.cache/cadastra/bench-data}"
BENCH_SEED="${CADASTRA_BENCH_SEED:-2019}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cadastra/target}"
BENCH_PY="${CADASTRA_BENCH_PYTHON:-python3}"
mkdir -p "$BENCH_DATA"

say() { printf '%s\n' "$*" >&2; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

bench_profile_dir() {
  if [ "${CADASTRA_PROFILE:-release}" = "dev" ]; then echo debug; else echo release; fi
}

# build the cadastra CLI (and the benches crate's reader when asked) once per script
bench_build() {
  if [ -n "${CADASTRA_BIN:-}" ]; then   # a given binary: no build
    say "using $CADASTRA_BIN"
    return 0
  fi
  local flags=(-q)
  [ "${CADASTRA_PROFILE:-release}" = "dev" ] || flags+=(--release)
  say "building cadastra ($(bench_profile_dir)) in $CARGO_TARGET_DIR ..."
  (cd "$BENCH_ROOT" && cargo build "${flags[@]}" -p cadastra-cli "$@")
  CADASTRA_BIN="$CARGO_TARGET_DIR/$(bench_profile_dir)/cadastra"
}

# bench_bin NAME: build the benches crate's binary NAME (profile as above); prints its path
bench_bin() {
  local flags=(-q)
  [ "${CADASTRA_PROFILE:-release}" = "dev" ] || flags+=(--release)
  (cd "$BENCH_ROOT" && cargo build "${flags[@]}" -p cadastra-benches --bin "$1" >&2) || return 1
  echo "$CARGO_TARGET_DIR/$(bench_profile_dir)/$1"
}

bench_build_reader() {
  [ -n "${READ_BENCH_BIN:-}" ] || READ_BENCH_BIN="$(bench_bin cadastra-read-bench)"
}

# a fingerprint of the generator: a cached world made by other generator sources is regenerated
generator_key() {
  (cd "$BENCH_ROOT" && find crates/cadastra-sample/src crates/cadastra-shp/src/write.rs \
      crates/cadastra-crs/src -type f -name '*.rs' | LC_ALL=C sort | xargs cat | sha256sum | cut -c1-16)
}

# ensure_world N -> prints the world folder ($BENCH_DATA/wN), generating it when missing or stale
ensure_world() {
  local n="$1" dir="$BENCH_DATA/w$1" keyf="$BENCH_DATA/w$1.key" key
  key="$(generator_key) seed=$BENCH_SEED parcels=$n"
  if [ "${CADASTRA_BENCH_REGEN:-0}" != 1 ] && [ -f "$dir/world.json" ] && [ -f "$keyf" ] \
     && [ "$(cat "$keyf")" = "$key" ]; then
    say "world of $n parcels: cached in $dir"
  else
    say "generating the world of $n parcels (seed $BENCH_SEED) into $dir ..."
    rm -rf "$dir" "$dir.partial" "$keyf"
    local t0=$SECONDS
    "$CADASTRA_BIN" --quiet sample --out "$dir.partial" --parcels "$n" --seed "$BENCH_SEED" >&2
    # a symlinked cache entry (see README) is replaced by a real folder here
    mv "$dir.partial" "$dir"
    echo "$key" > "$keyf"
    say "  generated in $((SECONDS - t0)) s"
  fi
  echo "$dir"
}

# adopt an existing world folder (e.g. one generated elsewhere by the same generator) as the
# cached world of N parcels: adopt_world N DIR
adopt_world() {
  local n="$1" src="$2"
  rm -rf "$BENCH_DATA/w$n"
  ln -s "$(cd "$src" && pwd)" "$BENCH_DATA/w$n"
  echo "$(generator_key) seed=$BENCH_SEED parcels=$n" > "$BENCH_DATA/w$n.key"
}

# scratch_run WORLD NAME -> prints a fresh run folder: pipelines/ (copied), sample-data -> WORLD,
# out/ with the fitted local-grid parameters of the 房地一体 homesteads
scratch_run() {
  local world="$1" run="$BENCH_DATA/runs/$2"
  rm -rf "$run"
  mkdir -p "$run/out" "$run/pipelines"
  cp "$BENCH_ROOT"/pipelines/*.toml "$run/pipelines/"
  ln -s "$world" "$run/sample-data"
  (cd "$run" && "$CADASTRA_BIN" --quiet crs fit --control sample-data/operator/local_grid_control.csv \
      --model 4p --out out/fdyt_local_grid.toml > out/crs-fit.txt)
  echo "$run"
}

# run_pipeline RUN THREADS RESULT.json: the whole pipeline into a fresh GeoPackage registry,
# measured (wall, CPU, peak RSS, RSS samples) by measure.py
run_pipeline() {
  local run="$1" threads="$2" result="$3"
  rm -rf "$run/out/registry.gpkg" "$run/out/registry.gpkg.partial" "$run/out/joins"
  local rc=0
  (cd "$run" && "$BENCH_PY" "$BENCH_DIR/measure.py" --out "$result" --stdout "$run/out/summary-t$threads.json" \
      --label "cadastra run --threads $threads" -- \
      "$CADASTRA_BIN" --threads "$threads" --json run pipelines/jinan-laiwu.toml \
      --registry out/registry.gpkg --out out) || rc=$?
  # exit 1 = findings at or above --fail-on (the world has planted defects): a complete run
  if [ $rc -gt 1 ]; then
    say "cadastra run failed (exit $rc)"
    return $rc
  fi
}

# the Python venv with GeoPandas, shapely 2, pyogrio, pyproj (from PyPI); returns 1 when it
# cannot be set up (PyPI unreachable), after saying why
ensure_venv() {
  local venv="$BENCH_DATA/venv"
  VENV_PY="$venv/bin/python"
  if [ -x "$VENV_PY" ] && "$VENV_PY" -c 'import geopandas, shapely, pyogrio, pyproj; assert shapely.__version__ >= "2"' 2>/dev/null; then
    return 0
  fi
  say "setting up the GeoPandas venv in $venv (PyPI) ..."
  rm -rf "$venv"
  if ! "$BENCH_PY" -m venv "$venv" >&2; then
    say "SKIPPED GeoPandas: cannot create a venv with $BENCH_PY (Debian: apt-get install python3-venv)"
    return 1
  fi
  # a quick look at the package index first, so that an unreachable PyPI costs seconds, not minutes
  if ! timeout 60 "$venv/bin/pip" index versions geopandas --disable-pip-version-check --timeout 10 \
      --retries 0 > /dev/null 2>&1; then
    say "SKIPPED GeoPandas: the Python package index (PyPI) is unreachable"
    rm -rf "$venv"
    return 1
  fi
  if ! timeout 900 "$venv/bin/pip" install -q --disable-pip-version-check --timeout 30 --retries 2 \
      "geopandas>=1.0" "shapely>=2.0" "pyogrio>=0.7" "pyproj>=3.6" >&2; then
    say "SKIPPED GeoPandas: pip could not install geopandas/shapely/pyogrio/pyproj (PyPI unreachable?)"
    rm -rf "$venv"
    return 1
  fi
}
