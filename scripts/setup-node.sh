#!/usr/bin/env bash
# Node packages for the Obsidian-style plugin (examples/obsidian-plugin):
# koffi (C ABI calls into the trove cdylib), typescript, obsidian typings,
# @types/node — pinned in examples/obsidian-plugin/package.json and
# package-lock.json, installed with `npm ci` into that folder's git-ignored
# node_modules/, npm's download cache in $TROVE_CACHE/npm-cache.
#
#   scripts/setup-node.sh            install (idempotent; ~instant when the
#                                    lockfile is unchanged) and check
#   scripts/setup-node.sh --check    also run the koffi/tsc smoke checks when
#                                    nothing was installed (always run after
#                                    an install)
#
# To change a version: edit package.json, then in examples/obsidian-plugin
#   npm install --package-lock-only --cache "$TROVE_CACHE/npm-cache"
# and commit both files.
#
# Environment: TROVE_CACHE (default ~/.cache/trove).
set -euo pipefail
TC_NAME=setup-node
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/toolchains-lib.sh"

PLUGIN=$(cd "$HERE/../examples/obsidian-plugin" && pwd)
NPM_CACHE=$TROVE_CACHE/npm-cache
STAMP=$PLUGIN/node_modules/.trove-installed

command -v node >/dev/null && command -v npm >/dev/null || apt_install nodejs npm
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || die "node $(node --version) is too old: need 20 or later"

# The stamp ties node_modules to the lockfile and the node version.
want="$(sha256sum "$PLUGIN/package-lock.json" | cut -d' ' -f1) node-$node_major"
check=0
[ "${1:-}" = --check ] && check=1
if [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
    mkdir -p "$NPM_CACHE"
    # --prefer-offline: take tarballs from the cache when they are there.
    (cd "$PLUGIN" && step "npm ci in examples/obsidian-plugin" \
        gentle npm ci --cache "$NPM_CACHE" --prefer-offline --no-audit --no-fund --loglevel=error)
    printf '%s\n' "$want" >"$STAMP"
    check=1
fi

if [ $check = 1 ]; then
    # koffi loads its prebuilt .node (from @koromix/koffi-linux-x64) and calls
    # libc's strlen; tsc runs.
    out=$(cd "$PLUGIN" && node -e '
        const koffi = require("koffi");
        const libc = koffi.load("libc.so.6");
        const strlen = libc.func("size_t strlen(const char *s)");
        const n = strlen("trove");
        if (Number(n) !== 5) throw new Error("strlen returned " + n);
        console.log("koffi " + koffi.version + ": strlen(\"trove\") = " + n);
    ') || die "koffi smoke test failed"
    say "$out"
    say "tsc: $("$PLUGIN/node_modules/.bin/tsc" --version)" || die "tsc does not run"
fi

say "node $(node --version), $(cd "$PLUGIN" && node -p '["koffi", "typescript", "obsidian", "@types/node"]
    .map(p => p + " " + JSON.parse(require("fs").readFileSync("node_modules/" + p + "/package.json")).version)
    .join(", ")')"
say "ready: $PLUGIN/node_modules in $(elapsed)s"
