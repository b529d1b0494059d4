#!/usr/bin/env bash
# Python for the UniFFI Python bindings' tests: a venv with pytest (pinned),
# made from the python3 on PATH, in $TROVE_CACHE/py-venv. The generated
# bindings are pure Python (ctypes), so nothing else is needed.
#
#   scripts/setup-python.sh           set up (idempotent; ~instant when done)
#   eval "$(scripts/setup-python.sh --env)"
#                                     same, then export TROVE_PYTHON (the
#                                     venv's python; logs go to stderr)
#   "$TROVE_PYTHON" -m pytest -q DIR
#
# Why a venv and not apt's python3-pytest: python3 on PATH may not be
# Debian's /usr/bin/python3 (here it is pyenv's 3.11), and apt's pytest is
# only importable from Debian's interpreter.
#
# Environment: TROVE_CACHE (default ~/.cache/trove), PYTEST_VERSION,
#              TROVE_PYTHON_BASE (interpreter to build the venv from; python3).
set -euo pipefail
TC_NAME=setup-python
source "$(dirname "${BASH_SOURCE[0]}")/toolchains-lib.sh"

PYTEST_VERSION=${PYTEST_VERSION:-9.2.0}
VENV=$TROVE_CACHE/py-venv
BASE=${TROVE_PYTHON_BASE:-python3}
PY=$VENV/bin/python

env_mode=0
[ "${1:-}" = --env ] && { env_mode=1; exec 3>&1 1>&2; }

command -v "$BASE" >/dev/null || apt_install python3 python3-venv
"$BASE" -c 'import sys; sys.exit(sys.version_info < (3, 9))' ||
    die "$("$BASE" --version) is too old: the generated bindings want 3.9+"

# The venv is rebuilt when the base interpreter changed (path or version).
base_id=$("$BASE" -c 'import os, sys; print(os.path.realpath(sys.executable), sys.version.split()[0])')
if [ ! -x "$PY" ] || [ "$(cat "$VENV/.trove-base" 2>/dev/null)" != "$base_id" ]; then
    rm -rf "$VENV"
    "$BASE" -m venv "$VENV" 2>/dev/null || {
        apt_install python3-venv
        "$BASE" -m venv "$VENV"
    }
    printf '%s\n' "$base_id" >"$VENV/.trove-base"
fi
have=$("$PY" -c 'import pytest; print(pytest.__version__)' 2>/dev/null) || true
if [ "$have" != "$PYTEST_VERSION" ]; then
    step "pip: pytest==$PYTEST_VERSION into $VENV" \
        gentle "$PY" -m pip install -q --disable-pip-version-check \
            --cache-dir "$TROVE_CACHE/pip-cache" "pytest==$PYTEST_VERSION"
    have=$("$PY" -c 'import pytest; print(pytest.__version__)')
fi

say "python: $PY (from $base_id)"
say "pytest: $have"
say "ready in $(elapsed)s"
[ $env_mode = 1 ] && printf 'export TROVE_PYTHON=%q\n' "$PY" >&3
exit 0
