#!/usr/bin/env bash
# Runs a command inside the Swift chroot made by scripts/setup-swift.sh, with
# a host directory bind-mounted at the same absolute path (so absolute include
# and library paths mean the same inside and out) and used as the working
# directory.
#
#   scripts/swift-in-chroot.sh [--bind DIR]... DIR COMMAND [ARG...]
#   scripts/swift-in-chroot.sh DIR swift test --disable-swift-testing
#   scripts/swift-in-chroot.sh --bind /tmp/target /tmp/pkg swift build
#   scripts/swift-in-chroot.sh - swift --version      # no bind, cwd /
#
# --bind DIR   also bind-mount DIR (e.g. the cargo target dir holding the
#              Rust static library); repeatable.
#
# The mounts (/proc, /dev, /sys, the bound directories) live in a private
# mount namespace (unshare -m), so they vanish when the command ends, even if
# it is killed, and concurrent runs do not disturb each other. Where unshare
# is not allowed, they are mounted in the host namespace and unmounted on exit.
#
# Environment: TROVE_CACHE (chroot is $TROVE_CACHE/swift-chroot).
# Inside, HOME=/root; SwiftPM's caches stay inside the chroot.
set -euo pipefail
TC_NAME=swift-in-chroot
source "$(dirname "${BASH_SOURCE[0]}")/toolchains-lib.sh"
CHROOT=$TROVE_CACHE/swift-chroot

# Re-run ourselves, same arguments, in a private mount namespace.
if [ -z "${TROVE_IN_NS:-}" ] && [ "$(id -u)" -eq 0 ] &&
   unshare --mount --propagation private true 2>/dev/null; then
    TROVE_IN_NS=1 exec unshare --mount --propagation private -- "$0" "$@"
fi

binds=()
while [ $# -gt 0 ]; do
    case $1 in
        --bind) [ $# -ge 2 ] || die "--bind needs a directory"; binds+=("$(cd "$2" && pwd -P)"); shift 2 ;;
        --) shift; break ;;
        -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
        *) break ;;
    esac
done
[ $# -ge 2 ] || die "usage: $0 [--bind DIR]... DIR|- COMMAND [ARG...]"
workdir=/
if [ "$1" != - ]; then
    workdir=$(cd "$1" && pwd -P) || die "no such directory: $1"
    binds+=("$workdir")
fi
shift
# Binding a system directory would shadow the chroot's own.
for d in "${binds[@]}"; do
    case $d/ in
        /|/bin/*|/boot/*|/dev/*|/etc/*|/lib*|/proc/*|/run/*|/sbin/*|/sys/*|/usr/*|/var/*)
            die "refusing to bind $d over the chroot's own $d" ;;
        "$CHROOT"/*) die "refusing to bind $d: it is inside the chroot" ;;
    esac
done
[ -f "$CHROOT/.trove-swift-ready" ] || [ -n "${TROVE_SWIFT_SETUP:-}" ] || die "no Swift chroot at $CHROOT: run scripts/setup-swift.sh"
[ "$(id -u)" -eq 0 ] || die "must run as root (chroot, mount)"

# The inner part: mounts, chroot, run. Runs in the private namespace when
# possible, else in the host's with a trap that unmounts.
mounted=()
inner() {
    local rc=0 d
    cleanup() {
        local i
        for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
            umount -l "${mounted[$i]}" 2>/dev/null || true
        done
    }
    trap cleanup EXIT
    mount -t proc proc "$CHROOT/proc" && mounted+=("$CHROOT/proc")
    mount --rbind /dev "$CHROOT/dev" && mount --make-rslave "$CHROOT/dev" && mounted+=("$CHROOT/dev")
    mount --rbind /sys "$CHROOT/sys" && mount --make-rslave "$CHROOT/sys" && mounted+=("$CHROOT/sys")
    for d in "${binds[@]}"; do
        mkdir -p "$CHROOT$d"
        mount --bind "$d" "$CHROOT$d" && mounted+=("$CHROOT$d")
    done
    chroot "$CHROOT" /usr/bin/env -i \
        HOME=/root TERM="${TERM:-dumb}" LANG=C.UTF-8 \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        DEBIAN_FRONTEND=noninteractive \
        /bin/sh -c 'cd "$0" && exec "$@"' "$workdir" "$@" || rc=$?
    return $rc
}

inner "$@"
