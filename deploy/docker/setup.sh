#!/usr/bin/env bash
# Brings a Debian machine to what `docker compose up` needs, for CI and for machines without an image
# registry: a running Docker engine, the compose v2 and buildx CLI plugins, and local builds of the base
# images that compose.yml and deploy/Dockerfile name, under those exact names and tags. On an ordinary
# machine none of this is needed: Docker Desktop or docker-ce ship compose, and the images are pulled.
#
#   bash deploy/docker/setup.sh            # idempotent: a second run checks and returns in seconds
#   bash deploy/docker/setup.sh registry   # prints the path of a distribution registry binary (built
#                                          # once), for the compose test's private-registry step
#
# Everything machine-specific stays in this script and deploy/docker/local-images/ (the stand-in
# images' recipes); compose.yml and deploy/Dockerfile run unchanged. Built pieces are cached under
# ${PODSTORE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/podstore} (docker/ and go-bin/), like
# deploy/provision.sh's MinIO and nats-server builds, which the MinIO and NATS images reuse.
#
# The stand-ins, each from Debian bookworm (debootstrap from the machine's own Debian mirror):
#   node:20-bookworm-slim                     the machine's Node 20 (node, npm, corepack), user node
#   minio/minio:RELEASE...                    MinIO from deploy/provision.sh, mc from its Go module
#   nats:2.12-alpine                          nats-server from deploy/provision.sh, busybox wget
#   nginxinc/nginx-unprivileged:1.28-alpine   nginx 1.28 compiled from its release source (Go module proxy)
# Each image carries a label with a hash of its recipe and inputs; a changed recipe rebuilds it.
set -euo pipefail
cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.."

readonly COMPOSE_VERSION='v2.29.7'
readonly BUILDX_VERSION='v0.38.2'
readonly REGISTRY_MODULE='github.com/distribution/distribution/v3/cmd/registry'
readonly REGISTRY_VERSION='v3.1.2'
readonly MC_MODULE='github.com/minio/mc'
readonly MC_VERSION='v0.0.0-20250313080218-cf909e1063a9'
# The nginx/nginx repository's commit tagged release-1.28.3, as the Go module proxy serves it.
readonly NGINX_MODULE='github.com/nginx/nginx'
readonly NGINX_VERSION='v0.0.0-20260324183323-9b958b000776'
readonly DEBIAN_SUITE='bookworm'

readonly CACHE_DIR="${PODSTORE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/podstore}"
readonly DOCKER_CACHE="$CACHE_DIR/docker"
readonly GO_BIN="$CACHE_DIR/go-bin"
readonly PLUGIN_DIR='/usr/local/lib/docker/cli-plugins'
readonly LOCAL_IMAGES='deploy/docker/local-images'
mkdir -p -- "$DOCKER_CACHE" "$GO_BIN"

log() { printf 'docker-setup: %s\n' "$*" >&2; }
die() {
  log "$@"
  exit 1
}
seconds() { date +%s; }
readonly STARTED="$(seconds)"

work=''
cleanup() { if [[ -n "$work" ]]; then rm -rf -- "$work"; fi; }
trap cleanup EXIT

# ---------------------------------------------------------------------------------------------------
# The engine
# ---------------------------------------------------------------------------------------------------
ensure_packages() {
  local missing=()
  command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
  command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
  if ((${#missing[@]})); then
    log "installing ${missing[*]} from Debian"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2 ||
      { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2; }
  fi
}

ensure_engine() {
  if docker info >/dev/null 2>&1; then return; fi
  # No init system starts the daemon here; an ordinary machine's service manager does this.
  log "starting dockerd (log: $DOCKER_CACHE/dockerd.log)"
  nohup dockerd >"$DOCKER_CACHE/dockerd.log" 2>&1 &
  for _ in $(seq 1 60); do
    if docker info >/dev/null 2>&1; then return; fi
    sleep 0.5
  done
  tail -20 "$DOCKER_CACHE/dockerd.log" >&2 || true
  die "dockerd did not answer within 30 s"
}

# go_build <module@version> <binary the build makes> <cached name> [-ldflags value]: prints the cached
# binary's path.
go_build() {
  local target="$1" made="$2" cached="$GO_BIN/$3" ldflags="${4:-}"
  if [[ ! -x "$cached" ]]; then
    log "building $target from its Go module (minutes, once)"
    rm -rf -- "$GO_BIN/.build-$3".*
    work="$(mktemp -d "$GO_BIN/.build-$3.XXXXXX")"
    (cd -- "$work" && GOBIN="$work/bin" GOWORK=off go install -ldflags="$ldflags" "$target" >&2) ||
      die "go install $target failed"
    mv -f -- "$work/bin/$made" "$cached"
    rm -rf -- "$work"
    work=''
  fi
  printf '%s\n' "$cached"
}

ensure_plugins() {
  mkdir -p -- "$PLUGIN_DIR"
  local compose buildx
  # The version flags make `docker compose version` and `docker buildx version` tell the truth.
  compose="$(go_build "github.com/docker/compose/v2/cmd@$COMPOSE_VERSION" cmd "compose-$COMPOSE_VERSION" \
    "-X github.com/docker/compose/v2/internal.Version=$COMPOSE_VERSION")"
  buildx="$(go_build "github.com/docker/buildx/cmd/buildx@$BUILDX_VERSION" buildx "buildx-$BUILDX_VERSION" \
    "-X github.com/docker/buildx/version.Version=$BUILDX_VERSION")"
  cmp -s -- "$compose" "$PLUGIN_DIR/docker-compose" || install -m 0755 -- "$compose" "$PLUGIN_DIR/docker-compose"
  cmp -s -- "$buildx" "$PLUGIN_DIR/docker-buildx" || install -m 0755 -- "$buildx" "$PLUGIN_DIR/docker-buildx"
}

# ---------------------------------------------------------------------------------------------------
# The base images
# ---------------------------------------------------------------------------------------------------
# The machine's own Debian mirror (deb822 or one-line sources), else Debian's default.
debian_mirror() {
  local uri
  uri="$(grep -hoE 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null |
    head -1 | tr -d ' ')" || true
  printf '%s\n' "${uri:-http://deb.debian.org/debian}"
}

image_recipe() { docker image inspect -f '{{index .Config.Labels "podstore.local-recipe"}}' "$1" 2>/dev/null || true; }

# build_image <name:tag> <recipe hash> <context dir> <Dockerfile>: builds unless the recipe is unchanged.
build_image() {
  local name="$1" recipe="$2" context="$3" dockerfile="$4"
  if [[ "$(image_recipe "$name")" == "$recipe" ]]; then return; fi
  log "building local image $name"
  docker buildx build --load --label "podstore.local-recipe=$recipe" -t "$name" -f "$dockerfile" "$context" >&2 ||
    die "building $name failed"
}

ensure_debian() {
  local name="podstore-local/debian:$DEBIAN_SUITE" mirror recipe tarball="$DOCKER_CACHE/debian-$DEBIAN_SUITE.tar"
  mirror="$(debian_mirror)"
  recipe="$DEBIAN_SUITE minbase $mirror"
  if [[ "$(image_recipe "$name")" == "$recipe" ]]; then return; fi
  if [[ ! -s "$tarball" ]]; then
    log "debootstrap $DEBIAN_SUITE from $mirror (about a minute, once)"
    work="$(mktemp -d "$DOCKER_CACHE/.rootfs.XXXXXX")"
    debootstrap --variant=minbase "$DEBIAN_SUITE" "$work/rootfs" "$mirror" >&2 || die "debootstrap failed"
    rm -rf -- "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
    tar -C "$work/rootfs" -cf "$tarball.tmp" . && mv -f -- "$tarball.tmp" "$tarball"
    rm -rf -- "$work"
    work=''
  fi
  docker import -c "LABEL podstore.local-recipe=\"$recipe\"" -c 'CMD ["bash"]' "$tarball" "$name" >/dev/null
}

# A hash of files and words, for the recipe labels.
recipe_of() { cat "$@" 2>/dev/null | sha256sum | cut -c1-16; }

# The exact names the project uses, read from its own files so that they cannot drift apart.
image_in_compose() { sed -nE "s|^ *image: ($1[^ ]*)$|\1|p" compose.yml | head -1; }
NODE_IMAGE="$(sed -nE 's/^ARG NODE_IMAGE=(.+)$/\1/p' deploy/Dockerfile)"
MINIO_IMAGE="$(image_in_compose 'minio/minio')"
NATS_IMAGE="$(image_in_compose 'nats')"
PROXY_IMAGE="$(image_in_compose 'nginxinc/')"
[[ -n "$NODE_IMAGE" && -n "$MINIO_IMAGE" && -n "$NATS_IMAGE" && -n "$PROXY_IMAGE" ]] ||
  die "could not read the image names from compose.yml and deploy/Dockerfile"

ensure_node_image() {
  local ctx="$DOCKER_CACHE/ctx-node" node_version
  node_version="$(node --version)"
  [[ "$node_version" == v20.* ]] || die "the Node base image takes this machine's Node, which is $node_version, not 20"
  rm -rf -- "$ctx" && mkdir -p -- "$ctx/ca"
  # The files of the machine's Node package, as the official image lays them out (/usr/local).
  tar -C /usr -cf "$ctx/node-dist.tar" bin/node lib/node_modules/npm lib/node_modules/corepack
  cp /usr/local/share/ca-certificates/*.crt "$ctx/ca/" 2>/dev/null || true
  build_image "$NODE_IMAGE" "$(recipe_of "$LOCAL_IMAGES/node.Dockerfile" "$ctx"/ca/* <<<"$node_version")-$node_version" \
    "$ctx" "$LOCAL_IMAGES/node.Dockerfile"
}

ensure_minio_image() {
  local ctx="$DOCKER_CACHE/ctx-minio" bins minio_bin mc_bin
  bins="$(bash deploy/provision.sh)"
  minio_bin="$(sed -n 's/^MINIO_BIN=//p' <<<"$bins")"
  mc_bin="$(go_build "$MC_MODULE@$MC_VERSION" mc "mc-$MC_VERSION")"
  rm -rf -- "$ctx" && mkdir -p -- "$ctx"
  cp -- "$minio_bin" "$ctx/minio" && cp -- "$mc_bin" "$ctx/mc"
  build_image "$MINIO_IMAGE" "$(recipe_of "$LOCAL_IMAGES/minio.Dockerfile")-$(basename "$minio_bin")-$MC_VERSION" \
    "$ctx" "$LOCAL_IMAGES/minio.Dockerfile"
}

ensure_nats_image() {
  local ctx="$DOCKER_CACHE/ctx-nats" nats_bin
  nats_bin="$(bash deploy/provision.sh | sed -n 's/^NATS_BIN=//p')"
  rm -rf -- "$ctx" && mkdir -p -- "$ctx"
  cp -- "$nats_bin" "$ctx/nats-server"
  build_image "$NATS_IMAGE" "$(recipe_of "$LOCAL_IMAGES/nats.Dockerfile")-$(basename "$nats_bin")" \
    "$ctx" "$LOCAL_IMAGES/nats.Dockerfile"
}

ensure_proxy_image() {
  local ctx="$DOCKER_CACHE/ctx-nginx" recipe src
  recipe="$(recipe_of "$LOCAL_IMAGES/nginx.Dockerfile")-$NGINX_VERSION"
  if [[ "$(image_recipe "$PROXY_IMAGE")" == "$recipe" ]]; then return; fi
  src="$(cd / && GOWORK=off go mod download -json "$NGINX_MODULE@$NGINX_VERSION" |
    sed -nE 's/^\s*"Dir": "(.+)",?$/\1/p')"
  [[ -d "$src/auto" ]] || die "could not download the nginx source ($NGINX_MODULE@$NGINX_VERSION)"
  rm -rf -- "$ctx" && mkdir -p -- "$ctx"
  cp -r -- "$src" "$ctx/nginx-src" && chmod -R u+w "$ctx/nginx-src"
  build_image "$PROXY_IMAGE" "$recipe" "$ctx" "$LOCAL_IMAGES/nginx.Dockerfile"
}

registry_bin() { go_build "$REGISTRY_MODULE@$REGISTRY_VERSION" registry "registry-$REGISTRY_VERSION"; }

if [[ "${1:-}" == registry ]]; then
  registry_bin
  exit 0
fi
ensure_packages
ensure_engine
ensure_plugins
registry_bin >/dev/null
ensure_debian
ensure_node_image
ensure_minio_image
ensure_nats_image
ensure_proxy_image
# Earlier builds of the stand-ins, replaced by these, take space and nothing else.
docker image prune -f --filter label=podstore.local-recipe >/dev/null
log "ready in $(($(seconds) - STARTED)) s: $(docker compose version --short) (compose), $NODE_IMAGE, $MINIO_IMAGE, $NATS_IMAGE, $PROXY_IMAGE"
