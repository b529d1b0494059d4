#!/usr/bin/env bash
# One AFL++ campaign on one fuzz target (fuzz/README.md), then its numbers:
#
#   bash scripts/fuzz.sh TARGET SECONDS [OUT_DIR]
#
# TARGET: a parser target (trove::ingest::fuzzing::TARGETS) or c_abi.
# Builds fuzz/ with cargo-afl into AFL_TARGET_DIR (default
# ~/.cache/trove/target-afl), runs afl-fuzz niced on one core for SECONDS
# from fuzz/corpus/TARGET, and prints execs, wall and CPU seconds, crashes
# and hangs. Findings are in OUT_DIR/TARGET/default/{crashes,hangs}.
set -euo pipefail
HERE="$(cd "$(dirname "$0")/.." && pwd)"
TARGET_NAME="${1:?target}"
SECONDS_LIMIT="${2:?seconds}"
CACHE="${TROVE_CACHE:-$HOME/.cache/trove}"
OUT="${3:-$CACHE/fuzz-out}"
BUILD="${AFL_TARGET_DIR:-$CACHE/target-afl}"
command -v cargo-afl >/dev/null || { echo "cargo-afl is missing: cargo install cargo-afl (fuzz/README.md)" >&2; exit 1; }
(cd "$HERE/fuzz" && CARGO_TARGET_DIR="$BUILD" cargo afl build --release --quiet)
if [ "$TARGET_NAME" = c_abi ]; then run=("$BUILD/release/c_abi"); else run=("$BUILD/release/ingest" "$TARGET_NAME"); fi
mkdir -p "$OUT"
# -t above the targets' own TIME_BOUND (8 s), so a slow parse is a crash
# that names its time; -m bounds memory (MB of address space).
start=$(date +%s)
AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 \
  /usr/bin/time -f '%U %S' -o "$OUT/$TARGET_NAME.time" \
  nice -n 10 cargo afl fuzz -V "$SECONDS_LIMIT" -t 10000 -m 4096 \
  -i "$HERE/fuzz/corpus/$TARGET_NAME" -o "$OUT/$TARGET_NAME" -- "${run[@]}" >"$OUT/$TARGET_NAME.log" 2>&1 || true
wall=$(( $(date +%s) - start ))
stats="$OUT/$TARGET_NAME/default/fuzzer_stats"
[ -f "$stats" ] || { echo "no fuzzer_stats: see $OUT/$TARGET_NAME.log" >&2; tail -20 "$OUT/$TARGET_NAME.log" >&2; exit 1; }
get() { awk -F' *: *' -v k="$1" '$1 == k { print $2 }' "$stats"; }
read -r user sys < "$OUT/$TARGET_NAME.time"
echo "$TARGET_NAME execs=$(get execs_done) wall_s=$wall cpu_s=$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }') crashes=$(get saved_crashes) hangs=$(get saved_hangs) corpus=$(get corpus_count)"
