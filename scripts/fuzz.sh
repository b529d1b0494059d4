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
# CPU seconds of afl-fuzz, its fork servers and their (persistent) children,
# with every child they reaped, sampled each second (time(1) misses the
# fork servers, which afl-fuzz kills at the end without reaping them).
cpu_of_campaign() {
  local hz afl total=0 pid stat
  hz=$(getconf CLK_TCK)
  afl=$(pgrep -n -x afl-fuzz) || return 0
  read -r -a stat < <(sed 's/.*) //' "/proc/$afl/stat" 2>/dev/null) || return 0
  total=$(( stat[11] + stat[12] ))
  for pid in $(pgrep -P "$afl"); do
    for pid in $pid $(pgrep -P "$pid"); do
      read -r -a stat < <(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null) || continue
      total=$(( total + stat[11] + stat[12] + stat[13] + stat[14] ))
    done
  done
  echo $(( total / hz ))
}
# -t above the targets' own TIME_BOUND (8 s), so a slow parse is a crash
# that names its time; -m bounds memory (MB of address space).
start=$(date +%s)
AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 \
  nice -n 10 cargo afl fuzz -V "$SECONDS_LIMIT" -t 10000 -m 4096 \
  -i "$HERE/fuzz/corpus/$TARGET_NAME" -o "$OUT/$TARGET_NAME" -- "${run[@]}" >"$OUT/$TARGET_NAME.log" 2>&1 &
fuzzer=$!
cpu=0
while kill -0 "$fuzzer" 2>/dev/null; do
  now=$(cpu_of_campaign); [ "${now:-0}" -gt "$cpu" ] && cpu=$now
  sleep 1
done
wait "$fuzzer" || true
wall=$(( $(date +%s) - start ))
stats="$OUT/$TARGET_NAME/default/fuzzer_stats"
[ -f "$stats" ] || { echo "no fuzzer_stats: see $OUT/$TARGET_NAME.log" >&2; tail -20 "$OUT/$TARGET_NAME.log" >&2; exit 1; }
get() { awk -F' *: *' -v k="$1" '$1 == k { print $2 }' "$stats"; }
echo "$TARGET_NAME execs=$(get execs_done) wall_s=$wall cpu_s=$cpu crashes=$(get saved_crashes) hangs=$(get saved_hangs) corpus=$(get corpus_count)"
