#!/usr/bin/env bash
# All binding toolchains, or the ones named: swift kotlin node python.
#
#   scripts/setup-bindings.sh                 all four
#   scripts/setup-bindings.sh kotlin python   just these
#
# Each is idempotent and caches under ${TROVE_CACHE:-~/.cache/trove}; see
# scripts/TOOLCHAINS.md.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ $# -gt 0 ] || set -- swift kotlin node python
for t in "$@"; do
    case $t in
        swift|kotlin|node|python) ;;
        *) echo "setup-bindings: unknown toolchain '$t' (swift kotlin node python)" >&2; exit 2 ;;
    esac
done
for t in "$@"; do
    start=$(date +%s.%N)
    "$HERE/setup-$t.sh"
    echo "[setup-bindings] $t: $(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')s"
done
