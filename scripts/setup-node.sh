#!/usr/bin/env bash
# Idempotent set-up of examples/obsidian-plugin: `npm ci` from its lockfile,
# run only when package.json or package-lock.json changed since the last
# install (or node_modules/ is gone). npm's download cache lives outside the
# clone, in ${TROVE_CACHE:-~/.cache/trove}/npm-cache.
#
# Install scripts are not run (--ignore-scripts): koffi's native code comes
# prebuilt in its per-platform optional dependency (@koromix/koffi-<os>-<arch>).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=$ROOT/examples/obsidian-plugin
CACHE=${TROVE_CACHE:-$HOME/.cache/trove}
export npm_config_cache=$CACHE/npm-cache
STAMP=$DIR/node_modules/.trove-setup.sha256

die() { printf 'setup-node: error: %s\n' "$*" >&2; exit 1; }

command -v node >/dev/null || die "node not found (Node.js 18 or newer is needed)"
command -v npm >/dev/null || die "npm not found"
major=$(node -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 18 ] || die "Node.js $(node --version) is too old (18 or newer is needed)"

want=$(cat "$DIR/package.json" "$DIR/package-lock.json" | sha256sum | cut -d' ' -f1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
    exit 0
fi
echo "setup-node: npm ci in examples/obsidian-plugin"
(cd "$DIR" && npm ci --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error)
(cd "$DIR" && node -e 'require("koffi")') || die "koffi does not load on this platform"
printf '%s\n' "$want" > "$STAMP"
