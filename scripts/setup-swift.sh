#!/usr/bin/env bash
# Swift for the UniFFI Swift bindings: Debian trixie's `swiftlang` inside a
# debootstrap chroot (bookworm's glibc is too old for trixie's Swift).
#
#   scripts/setup-swift.sh            set up (idempotent; ~instant when done)
#   scripts/setup-swift.sh --force    rebuild the chroot from nothing
#
# Then run Swift with scripts/swift-in-chroot.sh, e.g.
#   scripts/swift-in-chroot.sh --bind "$CARGO_TARGET_DIR" "$PWD/swift" \
#       swift test --disable-swift-testing
#
# What it does:
#   1. apt-installs debootstrap on the host if missing;
#   2. debootstraps a minimal trixie (variant minbase) into
#      $TROVE_CACHE/swift-chroot, from the same Debian mirror as the host's
#      apt sources (read from /etc/apt at run time);
#   3. installs swiftlang (swift, swiftc, SwiftPM, Foundation, XCTest) and the
#      C toolchain bits SwiftPM needs, inside;
#   4. checks `swift --version` and writes $TROVE_CACHE/swift-chroot/.trove-swift-ready.
# /proc, /dev and /sys are mounted only while a command runs (private mount
# namespace; see swift-in-chroot.sh).
#
# Environment: TROVE_CACHE (default ~/.cache/trove).
set -euo pipefail
TC_NAME=setup-swift
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/toolchains-lib.sh"

SUITE=trixie
CHROOT=$TROVE_CACHE/swift-chroot
READY=$CHROOT/.trove-swift-ready
# Inside the chroot. swiftlang (6.0.3 in trixie) brings swift, swiftc,
# SwiftPM, Foundation, XCTest, its own clang (/usr/libexec/swift/bin), and
# depends on gcc + binutils (the linker, ld.bfd); libc6-dev is only a
# Recommends of gcc, but without it every link fails ("cannot find Scrt1.o").
CHROOT_PACKAGES=(swiftlang libc6-dev)
LOG=$TROVE_CACHE/logs/setup-swift.log

[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap, chroot, mount)"

if [ "${1:-}" = --force ]; then
    rm -f "$READY" "$CHROOT/.trove-debootstrap-done"
fi

# Ready when the stamp lists every package wanted (a new one re-runs apt).
stamp_has_all() {
    local p
    [ -f "$READY" ] || return 1
    for p in "${CHROOT_PACKAGES[@]}"; do
        grep -q "\(^\| \)$p=" "$READY" || return 1
    done
}
if stamp_has_all; then
    say "ready: $CHROOT ($(head -n1 "$READY")) in $(elapsed)s"
    exit 0
fi

# Never delete or reuse a chroot that still has something mounted in it.
mounted_under() { awk -v p="$CHROOT/" '{ gsub(/\\040/, " ", $2) } index($2, p) == 1 { print $2 }' /proc/mounts; }
if [ -n "$(mounted_under)" ]; then
    die "something is still mounted under $CHROOT: $(mounted_under | tr '\n' ' ')— unmount it first"
fi

mkdir -p "$TROVE_CACHE/logs"
: >"$LOG"
say "log: $LOG"
# Long outputs go to the log; on failure its tail is shown.
logged() { "$@" >>"$LOG" 2>&1 || { local rc=$?; tail -n 30 "$LOG" >&2; return $rc; }; }
exec 9>"$TROVE_CACHE/.swift-chroot.lock"
flock 9

MIRROR=$(debian_mirror) || die "could not read a Debian mirror from /etc/apt/sources.list(.d)"
say "Debian mirror (from the host's apt sources): $MIRROR"

apt_install debootstrap
[ -e "/usr/share/debootstrap/scripts/$SUITE" ] ||
    die "this debootstrap knows no '$SUITE' script (upgrade debootstrap)"

if [ ! -f "$CHROOT/.trove-debootstrap-done" ]; then
    if [ -e "$CHROOT" ]; then
        say "removing an unfinished chroot at $CHROOT"
        rm -rf --one-file-system "$CHROOT"
    fi
    mkdir -p "$CHROOT"
    step "debootstrap $SUITE (minbase) into $CHROOT" \
        logged gentle debootstrap --variant=minbase --include=ca-certificates \
            "$SUITE" "$CHROOT" "$MIRROR"
    touch "$CHROOT/.trove-debootstrap-done"
fi

# apt inside: the same mirror, trixie + trixie-updates; never start services.
printf 'deb %s %s main\ndeb %s %s-updates main\n' "$MIRROR" "$SUITE" "$MIRROR" "$SUITE" \
    >"$CHROOT/etc/apt/sources.list"
printf '#!/bin/sh\nexit 101\n' >"$CHROOT/usr/sbin/policy-rc.d"
chmod +x "$CHROOT/usr/sbin/policy-rc.d"
cp -L /etc/resolv.conf "$CHROOT/etc/resolv.conf" 2>/dev/null || true
printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
    >"$CHROOT/etc/apt/apt.conf.d/90trove-no-recommends"

# TROVE_SWIFT_SETUP lets swift-in-chroot.sh run before the ready stamp exists.
in_chroot() { TROVE_SWIFT_SETUP=1 "$HERE/swift-in-chroot.sh" - "$@"; }
rm -f "$READY"
step "chroot: apt-get update" logged in_chroot apt-get update
step "chroot: apt-get install ${CHROOT_PACKAGES[*]}" \
    logged in_chroot nice -n 10 apt-get install -y "${CHROOT_PACKAGES[@]}"
logged in_chroot apt-get clean

version=$(in_chroot swift --version 2>&1 | grep -m1 -i 'swift version') ||
    die "swift --version failed in the chroot"
pkgs=$(in_chroot dpkg-query -W -f='${Package}=${Version}\n' "${CHROOT_PACKAGES[@]}" | tr '\n' ' ')
printf '%s\n%s\n' "$version" "$pkgs" >"$READY"
say "swift: $version"
say "packages: $pkgs"
say "chroot size: $(du -sh --one-file-system "$CHROOT" | cut -f1)"
say "ready: $CHROOT in $(elapsed)s"
