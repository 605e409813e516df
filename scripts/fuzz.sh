#!/usr/bin/env bash
# Coverage-guided fuzzing of every decoder of client and peer bytes (fuzz/, cargo fuzz with
# libFuzzer and AddressSanitizer). Runs each target for SECONDS (default 600), two at a time,
# and prints one line per target: executions, corpus size, crashes. Crashes land in
# fuzz/artifacts/<target>/ and become regression tests in the normal suite.
#   scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
shift || true

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
# cargo fuzz passes nightly-only flags (-Zsanitizer); the one stable toolchain here accepts them
# when told it is bootstrapping.
export RUSTC_BOOTSTRAP=1
python3 scripts/fuzz_seeds.py
(cd fuzz && cargo fuzz build -O)

targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cd fuzz && cargo fuzz list)
logs=fuzz/logs
mkdir -p "$logs"

# The binaries cargo fuzz built, run directly: `cargo fuzz run` would rebuild first, and a
# source file edited meanwhile would end every run in a compile error.
bin_dir=$(ls -d fuzz/target/*/release | head -n 1)

run() {
  local target=$1
  mkdir -p "fuzz/corpus/$target" "fuzz/artifacts/$target"
  "$bin_dir/$target" "fuzz/corpus/$target" -artifact_prefix="fuzz/artifacts/$target/" \
    -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=2048 -timeout=10 \
    >"$logs/$target.log" 2>&1
}

report() {
  local target=$1 status=$2
  local execs corpus crashes
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$logs/$target.log" | grep -o '[0-9]*$' || echo "?")
  corpus=$(find "fuzz/corpus/$target" -type f | wc -l)
  crashes=$(find "fuzz/artifacts/$target" -type f 2>/dev/null | wc -l)
  printf '%-20s %s s  executions %-10s corpus %-6s crashes %s  (exit %s)\n' \
    "$target" "$seconds" "$execs" "$corpus" "$crashes" "$status"
}

failed=0
for ((i = 0; i < ${#targets[@]}; i += 2)); do
  pair=("${targets[@]:i:2}")
  pids=()
  for target in "${pair[@]}"; do
    run "$target" &
    pids+=($!)
  done
  for j in "${!pair[@]}"; do
    status=0
    wait "${pids[$j]}" || status=$?
    report "${pair[$j]}" "$status"
    [ "$status" -eq 0 ] || failed=1
  done
done
exit $failed
