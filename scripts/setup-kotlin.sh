#!/usr/bin/env bash
# Kotlin/JVM for the UniFFI Kotlin bindings: the Kotlin compiler from the npm
# package `kotlin-compiler` (it carries the full JVM compiler, the stdlib and
# kotlinx-coroutines-core-jvm.jar), Debian's JNA (libjna-java) and a JRE.
#
#   scripts/setup-kotlin.sh          set up (idempotent; ~instant when done),
#                                    print the paths
#   eval "$(scripts/setup-kotlin.sh --env)"
#                                    same, then export KOTLINC,
#                                    KOTLIN_COROUTINES_JAR, JNA_JAR (logs go
#                                    to stderr)
#
# Environment:
#   TROVE_CACHE      cache root (default ~/.cache/trove); the compiler goes to
#                    $TROVE_CACHE/npm (npm install --prefix), npm's download
#                    cache to $TROVE_CACHE/npm-cache
#   KOTLIN_VERSION   kotlin-compiler version (default below)
#
# Compile and run (see scripts/TOOLCHAINS.md):
#   $KOTLINC -include-runtime -cp "$JNA_JAR:$KOTLIN_COROUTINES_JAR" -d app.jar src/*.kt
#   java -Djna.library.path=DIR_OF_LIBFOO_SO -cp "app.jar:$JNA_JAR:$KOTLIN_COROUTINES_JAR" MainKt
set -euo pipefail
TC_NAME=setup-kotlin
source "$(dirname "${BASH_SOURCE[0]}")/toolchains-lib.sh"

KOTLIN_VERSION=${KOTLIN_VERSION:-2.4.20}
PREFIX=$TROVE_CACHE/npm
KDIR=$PREFIX/node_modules/kotlin-compiler
JNA_JAR=/usr/share/java/jna.jar

env_mode=0
[ "${1:-}" = --env ] && { env_mode=1; exec 3>&1 1>&2; }

# A JRE: any java >= 11 will do; Debian's default-jre-headless if none.
java_major() { java -version 2>&1 | sed -n 's/.*version "\([0-9]*\)[."].*/\1/p' | head -n1; }
if ! command -v java >/dev/null || [ "$(java_major)" -lt 11 ]; then
    apt_install default-jre-headless
fi
apt_install libjna-java
[ -f "$JNA_JAR" ] || die "libjna-java installed but $JNA_JAR is missing"

have=$(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' "$KDIR/package.json" 2>/dev/null | head -n1) || true
if [ "$have" != "$KOTLIN_VERSION" ] || [ ! -x "$KDIR/bin/kotlinc" ]; then
    command -v npm >/dev/null || apt_install npm
    mkdir -p "$PREFIX"
    step "npm: kotlin-compiler@$KOTLIN_VERSION into $PREFIX" \
        gentle npm install --prefix "$PREFIX" --cache "$TROVE_CACHE/npm-cache" \
            --no-audit --no-fund --loglevel=error --save-exact \
            "kotlin-compiler@$KOTLIN_VERSION"
fi

KOTLINC=$KDIR/bin/kotlinc
KOTLIN_COROUTINES_JAR=$KDIR/lib/kotlinx-coroutines-core-jvm.jar
[ -x "$KOTLINC" ] || die "no kotlinc at $KOTLINC"
[ -f "$KOTLIN_COROUTINES_JAR" ] || die "no coroutines jar at $KOTLIN_COROUTINES_JAR"

say "kotlinc:         $KOTLINC ($(cat "$KDIR/build.txt" 2>/dev/null || echo "$KOTLIN_VERSION"))"
say "coroutines jar:  $KOTLIN_COROUTINES_JAR"
say "jna.jar:         $JNA_JAR ($(dpkg-query -W -f='${Version}' libjna-java))"
say "java:            $(command -v java) ($(java -version 2>&1 | head -n1))"
say "ready in $(elapsed)s"

if [ $env_mode = 1 ]; then
    printf 'export KOTLINC=%q\nexport KOTLIN_COROUTINES_JAR=%q\nexport JNA_JAR=%q\n' \
        "$KOTLINC" "$KOTLIN_COROUTINES_JAR" "$JNA_JAR" >&3
fi
