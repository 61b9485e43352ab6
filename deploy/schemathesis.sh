#!/usr/bin/env bash
# Makes schemathesis (the property-based API fuzzer, from PyPI) available for the OpenAPI fuzz test.
#
# Prints exactly one line on stdout:
#   SCHEMATHESIS_BIN=<absolute path of the st command>
# Everything else goes to stderr. Installs a pinned version into a virtualenv under
# ${PODSTORE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/podstore}/venv/schemathesis-<version> once;
# later runs only check it. A lock keeps parallel callers from installing twice. Needs python3 (3.9+)
# with its venv module, and PyPI (or a mirror configured for pip) the first time.
set -euo pipefail

readonly VERSION='4.32.5'
readonly CACHE_DIR="${PODSTORE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/podstore}"
readonly VENV="$CACHE_DIR/venv/schemathesis-$VERSION"

log() { printf 'schemathesis: %s\n' "$*" >&2; }

ready() { [[ -x "$VENV/bin/st" && -f "$VENV/.complete" ]]; }

if ! ready; then
  # A clean Debian or Ubuntu machine may lack python3 or its venv module: install them when we can.
  if ! { command -v python3 >/dev/null 2>&1 && python3 -c 'import ensurepip, venv' >/dev/null 2>&1; }; then
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
      log 'installing python3 and python3-venv (apt-get)'
      apt-get install -y --no-install-recommends python3 python3-venv >&2 ||
        { apt-get update >&2 && apt-get install -y --no-install-recommends python3 python3-venv >&2; }
    fi
  fi
  command -v python3 >/dev/null 2>&1 || { log 'python3 is not on PATH (apt-get install -y python3 python3-venv)'; exit 1; }
  mkdir -p "$CACHE_DIR/venv"
  exec 9>"$CACHE_DIR/venv/.schemathesis.lock"
  flock 9
  if ! ready; then
    log "installing schemathesis $VERSION into $VENV (once)"
    rm -rf -- "$VENV"
    python3 -m venv "$VENV" >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "schemathesis==$VERSION" >&2
    touch "$VENV/.complete"
  fi
fi
printf 'SCHEMATHESIS_BIN=%s\n' "$VENV/bin/st"
