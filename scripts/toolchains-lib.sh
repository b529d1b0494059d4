# shellcheck shell=bash
# Shared helpers for scripts/setup-{swift,kotlin,node,python}.sh and
# scripts/swift-in-chroot.sh. Sourced, not run.
#
#   TROVE_CACHE   cache root, default ~/.cache/trove (kept outside the clone)

TROVE_CACHE=${TROVE_CACHE:-$HOME/.cache/trove}
TC_NAME=${TC_NAME:-$(basename "$0" .sh)}
TC_T0=$(date +%s.%N)

say() { printf '[%s] %s\n' "$TC_NAME" "$*"; }
die() { printf '[%s] error: %s\n' "$TC_NAME" "$*" >&2; exit 1; }

# Seconds since the script started, one decimal.
elapsed() { awk -v a="$TC_T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# step LABEL CMD...: runs CMD, then prints how long it took.
step() {
    local label=$1 t0 rc=0
    shift
    t0=$(date +%s.%N)
    say "$label ..."
    "$@" || rc=$?
    [ $rc -eq 0 ] || die "$label failed (exit $rc)"
    say "$label: done in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')s"
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"
    elif command -v sudo >/dev/null; then sudo "$@"
    else die "need root (or sudo) to run: $*"; fi
}

# Heavy steps yield to other builds on this machine.
gentle() { nice -n 10 ionice -c 3 "$@" 2>/dev/null || nice -n 10 "$@"; }

# Those of the packages "$@" that dpkg does not list as installed.
missing_debs() {
    local p status
    for p in "$@"; do
        status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) || true
        [ "$status" = "install ok installed" ] || printf '%s\n' "$p"
    done
}

# apt_install PKG...: installs the missing ones on the host (apt-get update
# first, once, only when something is missing).
apt_install() {
    local missing log
    mapfile -t missing < <(missing_debs "$@")
    [ ${#missing[@]} -eq 0 ] && return 0
    local t0
    t0=$(date +%s.%N)
    say "apt: installing ${missing[*]} ..."
    log=$(mktemp)
    if ! { as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
           as_root nice -n 10 env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
               --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
        cat "$log" >&2; rm -f "$log"
        die "apt-get could not install ${missing[*]}"
    fi
    rm -f "$log"
    say "apt: installed ${missing[*]} in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')s"
}

# The Debian archive URI the host's apt already uses (deb822 .sources or
# one-line .list), so nothing here names a mirror of its own.
debian_mirror() {
    local f uri
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        uri=$(awk '
            /^[[:space:]]*$/ { if (u != "" && s ~ /(bookworm|trixie|stable)( |$)/ && u !~ /security/) { print u; exit } u = ""; s = ""; next }
            /^URIs:/   { u = $2 }
            /^Suites:/ { $1 = ""; s = $0 " " }
            END { if (u != "" && s ~ /(bookworm|trixie|stable)( |$)/ && u !~ /security/) print u }' "$f" | head -n1)
        [ -n "$uri" ] && { printf '%s\n' "${uri%/}"; return 0; }
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        uri=$(awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                                 if ($(i+1) ~ /^(bookworm|trixie|stable|testing|sid)$/) { print $i; exit } }' "$f")
        [ -n "$uri" ] && { printf '%s\n' "${uri%/}"; return 0; }
    done
    return 1
}
