#!/usr/bin/env bash
# `just fuzz [SECONDS] [TARGET...]`: run cadastra's cargo-fuzz (libFuzzer) targets, each for
# SECONDS (default 600), one after the other, on the committed seed corpora (fuzz/corpus/<target>,
# grown in place; new inputs are git-ignored). A crash stops the script with the reproducer in
# fuzz/artifacts/<target>/ — turn it into a regression test (see README "Fuzzing") before fixing.
# Each run appends a line to fuzz/fuzz-log.tsv (date, target, seconds, executions, result), the
# record of how long each target has run in total.
#
# Needs the nightly toolchain (`rustup toolchain install nightly`) and cargo-fuzz
# (`cargo install cargo-fuzz`); installs them when missing. Targets: shp_read dbf_read shp_encoding
# csv_encoding pipeline_spec ids.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-600}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(shp_read dbf_read shp_encoding csv_encoding pipeline_spec ids)
fi
bash scripts/setup-system.sh
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz > /dev/null || cargo install cargo-fuzz --locked
# its own target folder: instrumented builds must not evict the normal ones
export CARGO_TARGET_DIR="${CADASTRA_FUZZ_TARGET_DIR:-$HOME/.cache/cadastra/fuzz-target}"
log=fuzz/fuzz-log.tsv
[ -f "$log" ] || printf 'date\ttarget\tseconds\texecutions\tresult\n' > "$log"
for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t" fuzz/logs
  echo "fuzzing $t for ${secs}s ..." >&2
  rc=0
  # the instrumented build first, so that the time recorded is fuzzing time
  cargo +nightly fuzz build --sanitizer none "$t" > "fuzz/logs/$t.build.log" 2>&1
  t0=$SECONDS
  cargo +nightly fuzz run --sanitizer none "$t" "fuzz/corpus/$t" -- \
    -max_total_time="$secs" -artifact_prefix="fuzz/artifacts/$t/" -print_final_stats=1 \
    > "fuzz/logs/$t.log" 2>&1 || rc=$?
  ran=$((SECONDS - t0))
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "fuzz/logs/$t.log" | grep -o '[0-9]*$' || echo 0)
  if [ $rc -eq 0 ]; then result=ok; else result="crash (exit $rc): $(ls -t "fuzz/artifacts/$t" | head -1)"; fi
  printf '%s\t%s\t%s\t%s\t%s\n' "$(date -u +%Y-%m-%dT%H:%MZ)" "$t" "$ran" "${execs:-0}" "$result" >> "$log"
  echo "  $t: ${execs:-0} executions, $result" >&2
  if [ $rc -ne 0 ]; then
    tail -30 "fuzz/logs/$t.log" >&2
    exit 1
  fi
done
# total seconds per target so far
awk -F'\t' 'NR > 1 && $5 == "ok" { s[$2] += $3; n[$2] += $4 } END { for (t in s) printf "  %-14s %6d s in total, %d executions\n", t, s[t], n[t] }' "$log" >&2
