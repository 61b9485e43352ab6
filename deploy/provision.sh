#!/usr/bin/env bash
# Makes a MinIO server binary and a nats-server binary available for tests and local runs.
#
# Prints exactly two lines on stdout:
#   MINIO_BIN=<absolute path>
#   NATS_BIN=<absolute path>
# Everything else (progress, build output, errors) goes to stderr.
#
# For each binary, in order of preference:
#   1. an explicit path in PODSTORE_MINIO_BIN / PODSTORE_NATS_BIN;
#   2. the cache: ${PODSTORE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/podstore}/bin/<name>-<version>;
#   3. a build from the pinned Go module (`go install`), moved into the cache once complete;
#   4. nats-server only: a `nats-server` on PATH (e.g. Debian's package);
#   5. otherwise exit 1 with instructions.
# A per-binary flock keeps parallel callers from building the same thing twice.
set -euo pipefail

readonly MINIO_MODULE='github.com/minio/minio'
readonly MINIO_VERSION='v0.0.0-20260212201848-7aac2a2c5b7c'
readonly NATS_MODULE='github.com/nats-io/nats-server/v2'
readonly NATS_VERSION='v2.12.3'

readonly CACHE_DIR="${PODSTORE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/podstore}"
readonly BIN_DIR="$CACHE_DIR/bin"

build_dir=''
cleanup() {
  if [[ -n "$build_dir" ]]; then rm -rf -- "$build_dir"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log() { printf 'provision: %s\n' "$*" >&2; }

die() {
  log "$@"
  exit 1
}

# Prints the absolute path of an existing file.
abs_path() {
  local dir
  dir="$(cd -- "$(dirname -- "$1")" && pwd -P)"
  printf '%s/%s\n' "$dir" "$(basename -- "$1")"
}

# go_install <module> <version> <binary name> <destination>
# Builds into a fresh temp folder beside the cache, then renames into place, so the cache only ever
# holds complete binaries. Returns non-zero if go is missing or the build fails. Call under the lock.
go_install() {
  local module="$1" version="$2" name="$3" dest="$4"
  if ! command -v go >/dev/null 2>&1; then
    log "go is not on PATH; cannot build $name"
    return 1
  fi
  # Leftovers of an interrupted build (we hold the lock, so nobody is using them).
  rm -rf -- "$BIN_DIR/.build-$name."*
  build_dir="$(mktemp -d "$BIN_DIR/.build-$name.XXXXXX")" || return 1
  log "building $name from $module@$version (takes a few minutes the first time)"
  # Run outside any Go module or workspace so the caller's go.mod / go.work cannot interfere.
  if ! (cd -- "$build_dir" && GOBIN="$build_dir/bin" GOWORK=off go install "$module@$version" >&2); then
    log "go install $module@$version failed"
    return 1
  fi
  if [[ ! -x "$build_dir/bin/$name" ]]; then
    log "go install finished but produced no $name binary"
    return 1
  fi
  mv -f -- "$build_dir/bin/$name" "$dest" || return 1
  rm -rf -- "$build_dir"
  build_dir=''
  log "built $dest"
}

# resolve <ENV_VAR> <binary name> <module> <version> <allow PATH fallback: yes|no>
# Sets `resolved` to the absolute path of a usable binary, or returns non-zero.
resolved=''
resolve() {
  local env_var="$1" name="$2" module="$3" version="$4" path_fallback="$5"
  local explicit="${!env_var:-}"
  local cached="$BIN_DIR/$name-$version"
  resolved=''

  if [[ -n "$explicit" ]]; then
    [[ -f "$explicit" && -x "$explicit" ]] || die "$env_var=$explicit is not an executable file"
    resolved="$(abs_path "$explicit")"
    return 0
  fi

  if [[ -f "$cached" && -x "$cached" ]]; then
    resolved="$cached"
    return 0
  fi

  command -v flock >/dev/null 2>&1 || die 'flock (from util-linux) is required'
  mkdir -p -- "$BIN_DIR"
  local lock_fd
  exec {lock_fd}>"$BIN_DIR/.$name.lock"
  if ! flock -n "$lock_fd"; then
    log "another process is provisioning $name; waiting for it"
    flock "$lock_fd"
  fi

  # Another caller may have finished the build while we waited for the lock.
  if [[ -f "$cached" && -x "$cached" ]] || go_install "$module" "$version" "$name" "$cached"; then
    resolved="$cached"
  elif [[ "$path_fallback" == yes ]] && command -v "$name" >/dev/null 2>&1; then
    resolved="$(abs_path "$(command -v "$name")")"
    log "using $name from PATH: $resolved"
  fi
  exec {lock_fd}>&-
  [[ -n "$resolved" ]]
}

resolve PODSTORE_MINIO_BIN minio "$MINIO_MODULE" "$MINIO_VERSION" no || die "$(
  cat <<MSG
no MinIO server binary available. Either:
  - install Go (https://go.dev/dl/) and rerun this script; it runs: go install $MINIO_MODULE@$MINIO_VERSION
  - or download a MinIO server binary (https://min.io/download) and set PODSTORE_MINIO_BIN=/path/to/minio
MSG
)"
minio_bin="$resolved"

resolve PODSTORE_NATS_BIN nats-server "$NATS_MODULE" "$NATS_VERSION" yes || die "$(
  cat <<MSG
no nats-server binary available. Either:
  - install Go (https://go.dev/dl/) and rerun this script; it runs: go install $NATS_MODULE@$NATS_VERSION
  - or install your distribution's package (Debian/Ubuntu: apt-get install nats-server)
  - or download one (https://github.com/nats-io/nats-server/releases) and set PODSTORE_NATS_BIN=/path/to/nats-server
MSG
)"
nats_bin="$resolved"

printf 'MINIO_BIN=%s\n' "$minio_bin"
printf 'NATS_BIN=%s\n' "$nats_bin"
