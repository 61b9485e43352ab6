#!/usr/bin/env bash
# A single-node Kubernetes on this machine, for trying podstore's manifests for real (npm run test:k8s).
#
#   deploy/k8s/setup.sh [up]   build what is missing (cached), start the cluster or reuse a running one;
#                              prints KUBECONFIG=<path> and CONTAINERD_ADDRESS=<socket> on stdout
#   deploy/k8s/setup.sh build  only build / install (cached)
#   deploy/k8s/setup.sh down   stop every process it started, unmount, remove its network state and
#                              the cluster's data (the binaries and the store of imported images stay)
#   deploy/k8s/setup.sh purge  down, and remove the store of imported images
#   deploy/k8s/setup.sh status which of its processes run
#
# Everything else (progress, build logs) goes to stderr. Needs root, Go, gcc and Debian's apt.
#
# What it runs, all as plain processes (no systemd), each with its own logs under $RUN/log:
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler, a containerd of its own (own root,
# state and socket: a Docker engine's containerd on the same machine is left alone), the kubelet,
# kube-proxy (iptables mode), metrics-server (for the HorizontalPodAutoscaler) and CoreDNS (Service
# names inside pods), the last two as host processes. Pods get addresses from the CNI bridge plugin.
#
# Kubernetes' own binaries are built from the k8s.io/kubernetes module: its go.mod points the staging
# modules at ./staging; the build points them at the published k8s.io/* modules of the same release.
# Nothing is pulled from an image registry: the sandbox ("pause") image is built here from the pause.c
# in that module, and the application's images are imported by the caller (ctr ... images import).
set -euo pipefail

readonly K8S_VERSION='v1.33.13'
readonly METRICS_SERVER_VERSION='v0.8.0'
readonly COREDNS_VERSION='v1.12.4'
readonly CRICTL_VERSION='v1.34.0'
readonly PAUSE_IMAGE='registry.k8s.io/pause:3.10'

readonly CACHE_DIR="${PODSTORE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/podstore}"
readonly K8S_CACHE="$CACHE_DIR/k8s"
readonly BIN="$K8S_CACHE/bin-$K8S_VERSION"
# Cluster state (certificates, etcd data, containerd root, kubelet dir, logs): removed by `down`.
readonly RUN="${PODSTORE_K8S_RUN:-$K8S_CACHE/run}"

# Address ranges. Pods: the CNI bridge. Services: virtual, held by a dummy interface so that a packet
# to a Service address that kube-proxy has no rule for (yet) is dropped here instead of leaving by the
# default route. DNS: a link-local address on that interface, where CoreDNS listens.
readonly POD_CIDR='10.244.0.0/16'
readonly POD_SUBNET='10.244.0.0/24'
readonly SERVICE_CIDR='10.96.0.0/16'
readonly FIRST_SERVICE_IP='10.96.0.1'
readonly DNS_IP='169.254.20.10'
readonly DUMMY_IF='podstore-k8s'
readonly BRIDGE_IF='podstore-cni0'
readonly NODE_NAME='podstore-node'
readonly CLUSTER_DOMAIN='cluster.local'

readonly APISERVER_PORT=6443
readonly CONTAINERD_SOCK="$RUN/containerd/containerd.sock"
# containerd's content store and unpacked layers: kept by `down` (a cache of imported images, like the
# binaries), removed by `purge`.
readonly IMAGE_STORE="$K8S_CACHE/containerd-root"

log() { printf 'k8s-setup: %s\n' "$*" >&2; }
die() {
  log "$@"
  exit 1
}

need_root() { [[ "$(id -u)" == 0 ]] || die "must run as root (it starts a kubelet and changes the network)"; }

# ---------------------------------------------------------------------------------------------------
# Build and install (cached)
# ---------------------------------------------------------------------------------------------------

apt_install() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    log "installing Debian packages: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2 ||
      { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2; }
  fi
}

build_kubernetes() {
  local names=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl) n all=1
  for n in "${names[@]}"; do [[ -x "$BIN/$n" ]] || all=0; done
  ((all)) && return 0
  command -v go >/dev/null || die "go is not on PATH"
  log "building Kubernetes $K8S_VERSION (the first time: 20 minutes or more on 2 cores)"
  local moddir src minor
  moddir="$(cd / && GOWORK=off GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$K8S_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [[ -d "$moddir" ]] || die "go mod download k8s.io/kubernetes@$K8S_VERSION failed"
  src="$K8S_CACHE/src-$K8S_VERSION"
  rm -rf -- "$src"
  mkdir -p -- "$K8S_CACHE"
  cp -r -- "$moddir" "$src"
  chmod -R u+w -- "$src"
  rm -f -- "$src/go.work" "$src/go.work.sum"
  # k8s.io/X => ./staging/src/k8s.io/X  becomes  k8s.io/X => k8s.io/X v0.<minor>.<patch>
  local staging_version="v0.${K8S_VERSION#v1.}"
  sed -i -E "s#^([[:space:]]*)(k8s\.io/[a-z0-9-]+) => \./staging/src/k8s\.io/[a-z0-9-]+#\1\2 => \2 $staging_version#" "$src/go.mod"
  grep -q 'staging/src' "$src/go.mod" && die "a staging replace is left in go.mod"
  minor="${K8S_VERSION#v1.}"
  minor="${minor%%.*}"
  local ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION"
  ldflags+=" -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
  ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"
  ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION"
  ldflags+=" -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor"
  local out="$K8S_CACHE/.build-bin"
  rm -rf -- "$out"
  mkdir -p -- "$out"
  (cd -- "$src" && GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out/" \
    ./cmd/kube-apiserver ./cmd/kube-controller-manager ./cmd/kube-scheduler ./cmd/kubelet ./cmd/kube-proxy \
    ./cmd/kubectl >&2) || die "building Kubernetes failed"
  mkdir -p -- "$BIN"
  for n in "${names[@]}"; do mv -f -- "$out/$n" "$BIN/$n"; done
  rm -rf -- "$out" "$src"
  log "built Kubernetes into $BIN"
}

go_install_cached() {
  local module="$1" version="$2" name="$3"
  [[ -x "$BIN/$name" ]] && return 0
  log "building $name from $module@$version"
  local tmp
  tmp="$(mktemp -d "$K8S_CACHE/.build-$name.XXXXXX")"
  (cd -- "$tmp" && GOWORK=off CGO_ENABLED=0 GOBIN="$tmp/bin" go install -trimpath -ldflags '-s -w' "$module@$version" >&2) ||
    die "go install $module@$version failed"
  mkdir -p -- "$BIN"
  mv -f -- "$tmp/bin/$name" "$BIN/$name"
  rm -rf -- "$tmp"
}

build_pause() {
  [[ -x "$BIN/pause" ]] && return 0
  local moddir
  moddir="$(cd / && GOWORK=off go mod download -json "k8s.io/kubernetes@$K8S_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  log "building the pause binary from the Kubernetes module's build/pause/linux/pause.c"
  gcc -Os -static -Wall -Werror -DVERSION="\"3.10\"" -o "$BIN/pause.tmp" "$moddir/build/pause/linux/pause.c" >&2
  strip "$BIN/pause.tmp"
  mv -f -- "$BIN/pause.tmp" "$BIN/pause"
}

do_build() {
  mkdir -p -- "$K8S_CACHE" "$BIN"
  # One build at a time (a second caller waits, then finds everything cached).
  exec 9>"$K8S_CACHE/.build.lock"
  flock 9
  apt_install etcd-server containerd runc containernetworking-plugins conntrack iptables iproute2 openssl gcc libc6-dev
  build_kubernetes
  go_install_cached "sigs.k8s.io/metrics-server/cmd/metrics-server" "$METRICS_SERVER_VERSION" metrics-server
  go_install_cached "github.com/coredns/coredns" "$COREDNS_VERSION" coredns
  go_install_cached "sigs.k8s.io/cri-tools/cmd/crictl" "$CRICTL_VERSION" crictl
  build_pause
  flock -u 9
  exec 9>&-
}

# ---------------------------------------------------------------------------------------------------
# Certificates and configuration (made once per cluster, under $RUN)
# ---------------------------------------------------------------------------------------------------

node_ip() {
  # The source address the routing table picks for an outside address (a documentation address, RFC
  # 5737: a lookup, nothing is sent); else the first global IPv4 address of the machine.
  local ip
  ip="$(ip -4 route get 192.0.2.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p' | head -1)"
  [[ -n "$ip" ]] || ip="$(ip -4 -o addr show scope global 2>/dev/null | awk '{ sub(/\/.*/, "", $4); print $4; exit }')"
  printf '%s\n' "$ip"
}

# sign <name> <subject> <ca> [<subjectAltName>] [<extendedKeyUsage>]
sign() {
  local name="$1" subject="$2" ca="$3" san="${4:-}" eku="${5:-clientAuth}" pki="$RUN/pki"
  openssl genrsa -out "$pki/$name.key" 2048 2>/dev/null
  openssl req -new -key "$pki/$name.key" -subj "$subject" -out "$pki/$name.csr" 2>/dev/null
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$eku"
    if [[ -n "$san" ]]; then echo "subjectAltName=$san"; fi
  } >"$pki/$name.ext"
  openssl x509 -req -in "$pki/$name.csr" -CA "$pki/$ca.crt" -CAkey "$pki/$ca.key" -CAcreateserial \
    -days 365 -sha256 -extfile "$pki/$name.ext" -out "$pki/$name.crt" 2>/dev/null
  rm -f -- "$pki/$name.csr" "$pki/$name.ext"
}

make_pki() {
  local pki="$RUN/pki" ip="$1"
  [[ -f "$pki/.done" ]] && return 0
  log "making certificates"
  rm -rf -- "$pki"
  mkdir -p -- "$pki"
  chmod 700 "$pki"
  local ca
  for ca in ca front-proxy-ca; do
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$pki/$ca.key" -out "$pki/$ca.crt" -days 365 \
      -subj "/CN=podstore-k8s-$ca" -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
  done
  sign apiserver "/CN=kube-apiserver" ca \
    "DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.$CLUSTER_DOMAIN,IP:127.0.0.1,IP:$FIRST_SERVICE_IP,IP:$ip" \
    serverAuth
  # The API server's client certificate towards kubelets (logs, exec, port-forward).
  sign apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" ca
  # For the aggregation layer (the metrics API served by metrics-server).
  sign front-proxy-client "/CN=front-proxy-client" front-proxy-ca
  openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
  openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
  # One administrator token (group system:masters) for kubectl and the components: a test cluster.
  printf '%s,admin,admin,system:masters\n' "$(openssl rand -hex 24)" >"$pki/tokens.csv"
  touch "$pki/.done"
}

write_configs() {
  local ip="$1" token
  token="$(cut -d, -f1 "$RUN/pki/tokens.csv")"
  mkdir -p -- "$RUN/log" "$RUN/pids" "$RUN/cni/net.d" "$RUN/cni/ipam" "$RUN/containerd" "$RUN/kubelet" \
    "$RUN/pod-logs" "$RUN/metrics-server"
  cat >"$RUN/admin.kubeconfig" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
  - name: podstore
    cluster:
      server: https://127.0.0.1:$APISERVER_PORT
      certificate-authority: $RUN/pki/ca.crt
users:
  - name: admin
    user:
      token: $token
contexts:
  - name: podstore
    context: { cluster: podstore, user: admin }
current-context: podstore
KUBECONFIG
  chmod 600 "$RUN/admin.kubeconfig"

  cat >"$RUN/containerd/config.toml" <<TOML
version = 2
root = "$IMAGE_STORE"
state = "$RUN/containerd/state"
[grpc]
  address = "$CONTAINERD_SOCK"
[ttrpc]
  address = "$CONTAINERD_SOCK.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$RUN/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  # root here lacks CAP_SYS_RESOURCE: runc must not try to lower oom_score_adj, or no pod starts.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$RUN/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$RUN/cni/net.d"
TOML

  cat >"$RUN/cni/net.d/10-podstore.conflist" <<JSON
{
  "cniVersion": "0.4.0",
  "name": "podstore-k8s",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE_IF",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{ "subnet": "$POD_SUBNET" }]],
        "routes": [{ "dst": "0.0.0.0/0" }],
        "dataDir": "$RUN/cni/ipam"
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
JSON

  cat >"$RUN/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $ip
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: $RUN/pki/ca.crt }
authorization: { mode: Webhook }
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
# This machine runs cgroup v1 without systemd as init.
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
clusterDNS: [$DNS_IP]
clusterDomain: $CLUSTER_DOMAIN
podCIDR: $POD_SUBNET
podLogsDir: $RUN/pod-logs
resolvConf: /etc/resolv.conf
serializeImagePulls: false
# A test node on a shared machine: evict late, never garbage-collect the imported images.
evictionHard: { memory.available: "200Mi", nodefs.available: "2%", imagefs.available: "2%" }
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
YAML

  cat >"$RUN/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: { kubeconfig: $RUN/admin.kubeconfig }
hostnameOverride: $NODE_NAME
mode: iptables
clusterCIDR: $POD_CIDR
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
# NodePorts answer on the loopback address only: nothing is published on the machine's network.
nodePortAddresses: [127.0.0.1/32]
# Leave the machine's conntrack table size alone.
conntrack: { maxPerCore: 0 }
YAML

  cat >"$RUN/Corefile" <<COREFILE
.:53 {
  bind $DNS_IP
  errors
  kubernetes $CLUSTER_DOMAIN in-addr.arpa ip6.arpa {
    kubeconfig $RUN/admin.kubeconfig podstore
    pods insecure
    fallthrough in-addr.arpa ip6.arpa
  }
  cache 5
}
COREFILE
}

# ---------------------------------------------------------------------------------------------------
# Network: the dummy interface, routes and the forwarding rules
# ---------------------------------------------------------------------------------------------------

readonly FWD_CHAIN='PODSTORE-K8S-FWD'
readonly SYSCTLS='net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables net.ipv4.conf.all.route_localnet'

# Removes the KUBE-* chains the kubelet and kube-proxy leave behind (kube-proxy --cleanup removes only
# its own rules, not the kubelet's KUBE-FIREWALL and canaries): first the jumps to them, then them.
remove_kube_chains() {
  local tool table rule chain
  for tool in iptables ip6tables; do
    command -v "$tool" >/dev/null || continue
    for table in filter nat mangle; do
      while read -r rule; do
        # shellcheck disable=SC2086 # the rule's words, as iptables -S printed them
        [[ -n "$rule" ]] && "$tool" -t "$table" ${rule/-A /-D } 2>/dev/null || true
      done < <("$tool" -t "$table" -S 2>/dev/null | grep -E '^-A (INPUT|OUTPUT|FORWARD|PREROUTING|POSTROUTING) .*-j KUBE-' || true)
      for chain in $("$tool" -t "$table" -S 2>/dev/null | sed -n 's/^-N \(KUBE-[A-Z0-9-]*\)$/\1/p'); do
        "$tool" -t "$table" -F "$chain" 2>/dev/null || true
      done
      for chain in $("$tool" -t "$table" -S 2>/dev/null | sed -n 's/^-N \(KUBE-[A-Z0-9-]*\)$/\1/p'); do
        "$tool" -t "$table" -X "$chain" 2>/dev/null || true
      done
    done
  done
}

network_up() {
  modprobe br_netfilter 2>/dev/null || true
  modprobe overlay 2>/dev/null || true
  [[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ]] || die "br_netfilter is not available"
  # Kernel settings changed here (and route_localnet, by kube-proxy): `down` puts back what was there.
  if [[ ! -f "$RUN/sysctl.orig" ]]; then
    sysctl -e $SYSCTLS >"$RUN/sysctl.orig.tmp" 2>/dev/null || true
    mv "$RUN/sysctl.orig.tmp" "$RUN/sysctl.orig"
  fi
  sysctl -qw net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1
  # A dummy interface where the kernel has them; else a bridge without ports, which drops what it gets
  # just the same (some VM kernels are built without the dummy driver).
  if ! ip link show "$DUMMY_IF" >/dev/null 2>&1; then
    ip link add "$DUMMY_IF" type dummy 2>/dev/null || ip link add "$DUMMY_IF" type bridge
  fi
  ip link set "$DUMMY_IF" up
  ip addr replace "$DNS_IP/32" dev "$DUMMY_IF"
  # Service addresses, and pod addresses off this node's subnet, go nowhere but this interface: a packet
  # kube-proxy has not (yet) rewritten is dropped here instead of leaving by the default route.
  ip route replace "$SERVICE_CIDR" dev "$DUMMY_IF"
  ip route replace "$POD_CIDR" dev "$DUMMY_IF"
  # The forwarding policy may be DROP (a Docker engine sets it): let pods on the bridge talk to each
  # other, and let nothing from a pod be forwarded off this machine.
  iptables -N "$FWD_CHAIN" 2>/dev/null || iptables -F "$FWD_CHAIN"
  iptables -A "$FWD_CHAIN" -s "$POD_SUBNET" ! -o "$BRIDGE_IF" -j DROP
  iptables -A "$FWD_CHAIN" -i "$BRIDGE_IF" -o "$BRIDGE_IF" -j ACCEPT
  iptables -A "$FWD_CHAIN" -o "$BRIDGE_IF" -j ACCEPT
  iptables -C FORWARD -j "$FWD_CHAIN" 2>/dev/null || iptables -I FORWARD 1 -j "$FWD_CHAIN"
}

network_down() {
  remove_kube_chains
  if [[ -f "$RUN/sysctl.orig" ]]; then
    sed 's/ //g' "$RUN/sysctl.orig" | xargs -r sysctl -qw 2>/dev/null || true
  fi
  while iptables -D FORWARD -j "$FWD_CHAIN" 2>/dev/null; do :; done
  iptables -F "$FWD_CHAIN" 2>/dev/null || true
  iptables -X "$FWD_CHAIN" 2>/dev/null || true
  ip link del "$DUMMY_IF" 2>/dev/null || true
  ip link del "$BRIDGE_IF" 2>/dev/null || true
}

# ---------------------------------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------------------------------

pid_of() {
  local f="$RUN/pids/$1.pid" pid
  [[ -f "$f" ]] || return 1
  pid="$(cat "$f")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && printf '%s\n' "$pid"
}

# start <name> <command...>: runs it in its own session, logs to $RUN/log/<name>.log; no-op if it runs.
start() {
  local name="$1"
  shift
  pid_of "$name" >/dev/null && return 0
  log "starting $name"
  setsid "$@" >>"$RUN/log/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN/pids/$name.pid"
}

# wait_for <what> <seconds> <command...>
wait_for() {
  local what="$1" seconds="$2" i
  shift 2
  for ((i = 0; i < seconds * 2; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  local f
  for f in "$RUN"/log/*.log; do
    printf '==> %s (last lines)\n' "$f" >&2
    tail -n 15 -- "$f" >&2
  done
  die "timed out after ${seconds}s waiting for $what (logs: $RUN/log)"
}

kubectl_() { "$BIN/kubectl" --kubeconfig "$RUN/admin.kubeconfig" "$@"; }

# stop <name> [seconds]: SIGTERM, then SIGKILL after the grace time.
stop() {
  local name="$1" grace="${2:-10}" pid i
  if pid="$(pid_of "$name")"; then
    log "stopping $name"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 10; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f -- "$RUN/pids/$name.pid"
}

ctr_() { ctr --address "$CONTAINERD_SOCK" --namespace k8s.io "$@"; }

import_pause_image() {
  ctr_ images ls -q | grep -qx "$PAUSE_IMAGE" && return 0
  log "importing the sandbox image $PAUSE_IMAGE (built here from pause.c)"
  # A one-layer OCI image archive, made by hand: no registry, no Docker needed.
  local d layer config manifest
  d="$(mktemp -d)"
  mkdir -p "$d/root" "$d/blobs/sha256"
  cp "$BIN/pause" "$d/root/pause"
  tar --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$d/root" -cf "$d/layer.tar" pause
  layer="$(blob "$d" "$d/layer.tar")"
  printf '{"architecture":"amd64","os":"linux","config":{"Entrypoint":["/pause"],"User":"65535:65535"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "${layer%% *}" >"$d/config.json"
  config="$(blob "$d" "$d/config.json")"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
    "${config%% *}" "${config##* }" "${layer%% *}" "${layer##* }" >"$d/manifest.json"
  manifest="$(blob "$d" "$d/manifest.json")"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"%s"}}]}' \
    "${manifest%% *}" "${manifest##* }" "$PAUSE_IMAGE" >"$d/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$d/oci-layout"
  tar -C "$d" -cf "$d/image.tar" oci-layout index.json blobs
  ctr_ images import --index-name "$PAUSE_IMAGE" "$d/image.tar" >&2
  rm -rf -- "$d"
}

# blob <layout dir> <file>: moves the file into the layout's blobs; prints "<sha256> <size>".
blob() {
  local digest size
  digest="$(sha256sum "$2" | cut -d' ' -f1)"
  size="$(stat -c %s "$2")"
  mv -- "$2" "$1/blobs/sha256/$digest"
  printf '%s %s\n' "$digest" "$size"
}

register_metrics_api() {
  local ip="$1"
  kubectl_ apply -f - >&2 <<YAML
apiVersion: v1
kind: Service
metadata: { name: metrics-server, namespace: kube-system }
spec:
  ports: [{ name: https, port: 443, targetPort: 4443 }]
---
apiVersion: v1
kind: Endpoints
metadata: { name: metrics-server, namespace: kube-system }
subsets:
  - addresses: [{ ip: "$ip" }]
    ports: [{ name: https, port: 4443 }]
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: { name: v1beta1.metrics.k8s.io }
spec:
  service: { name: metrics-server, namespace: kube-system, port: 443 }
  group: metrics.k8s.io
  version: v1beta1
  insecureSkipTLSVerify: true
  groupPriorityMinimum: 100
  versionPriority: 100
YAML
}

kube_proxy_ready() {
  # kube-proxy has written the rule of the `kubernetes` Service: Service traffic is rewritten from now on.
  iptables -t nat -S KUBE-SERVICES 2>/dev/null | grep -q -- "-d $FIRST_SERVICE_IP/32"
}

do_up() {
  need_root
  do_build
  local ip
  ip="$(node_ip)"
  [[ -n "$ip" ]] || die "cannot tell this machine's address"
  mkdir -p -- "$RUN"
  make_pki "$ip"
  write_configs "$ip"
  network_up
  local pki="$RUN/pki" kc="$RUN/admin.kubeconfig"

  start etcd etcd --name podstore --data-dir "$RUN/etcd" \
    --listen-client-urls http://127.0.0.1:23790 --advertise-client-urls http://127.0.0.1:23790 \
    --listen-peer-urls http://127.0.0.1:23800 --initial-advertise-peer-urls http://127.0.0.1:23800 \
    --initial-cluster podstore=http://127.0.0.1:23800
  start containerd containerd --config "$RUN/containerd/config.toml"
  start kube-apiserver "$BIN/kube-apiserver" \
    --etcd-servers=http://127.0.0.1:23790 \
    --bind-address=0.0.0.0 --secure-port="$APISERVER_PORT" --advertise-address="$ip" \
    --service-cluster-ip-range="$SERVICE_CIDR" --service-node-port-range=30000-32767 \
    --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
    --client-ca-file="$pki/ca.crt" --token-auth-file="$pki/tokens.csv" \
    --kubelet-client-certificate="$pki/apiserver-kubelet-client.crt" \
    --kubelet-client-key="$pki/apiserver-kubelet-client.key" \
    --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
    --service-account-issuer="https://kubernetes.default.svc.$CLUSTER_DOMAIN" \
    --authorization-mode=Node,RBAC --allow-privileged=true \
    --requestheader-client-ca-file="$pki/front-proxy-ca.crt" --requestheader-allowed-names=front-proxy-client \
    --requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group \
    --requestheader-extra-headers-prefix=X-Remote-Extra- \
    --proxy-client-cert-file="$pki/front-proxy-client.crt" --proxy-client-key-file="$pki/front-proxy-client.key" \
    --enable-aggregator-routing=true --kubelet-preferred-address-types=InternalIP
  wait_for "the API server" 90 kubectl_ get --raw /readyz
  start kube-controller-manager "$BIN/kube-controller-manager" --kubeconfig="$kc" \
    --authentication-kubeconfig="$kc" --authorization-kubeconfig="$kc" \
    --bind-address=127.0.0.1 --leader-elect=false \
    --service-account-private-key-file="$pki/sa.key" --root-ca-file="$pki/ca.crt" \
    --cluster-cidr="$POD_CIDR" --service-cluster-ip-range="$SERVICE_CIDR" \
    --use-service-account-credentials=false --horizontal-pod-autoscaler-sync-period=5s
  start kube-scheduler "$BIN/kube-scheduler" --kubeconfig="$kc" \
    --authentication-kubeconfig="$kc" --authorization-kubeconfig="$kc" \
    --bind-address=127.0.0.1 --leader-elect=false
  wait_for "containerd" 30 ctr_ version
  import_pause_image
  start kubelet "$BIN/kubelet" --config="$RUN/kubelet.yaml" --kubeconfig="$kc" \
    --hostname-override="$NODE_NAME" --node-ip="$ip" --root-dir="$RUN/kubelet" --cert-dir="$RUN/kubelet/pki"
  start kube-proxy "$BIN/kube-proxy" --config="$RUN/kube-proxy.yaml"
  start coredns "$BIN/coredns" -conf "$RUN/Corefile"
  start metrics-server "$BIN/metrics-server" --kubeconfig="$kc" \
    --authentication-kubeconfig="$kc" --authorization-kubeconfig="$kc" \
    --bind-address="$ip" --secure-port=4443 --cert-dir="$RUN/metrics-server" \
    --kubelet-insecure-tls --kubelet-preferred-address-types=InternalIP --metric-resolution=10s --kubelet-request-timeout=5s
  wait_for "the node to be Ready" 120 \
    kubectl_ wait --for=condition=Ready "node/$NODE_NAME" --timeout=1s
  wait_for "kube-proxy's rules" 60 kube_proxy_ready
  register_metrics_api "$ip"
  log "cluster up (logs in $RUN/log)"
  printf 'KUBECONFIG=%s\n' "$kc"
  printf 'CONTAINERD_ADDRESS=%s\n' "$CONTAINERD_SOCK"
  printf 'KUBECTL=%s\n' "$BIN/kubectl"
  printf 'CRICTL=%s\n' "$BIN/crictl"
}

# Mount points under $RUN (pods' volumes, containers' root filesystems, sandboxes' /dev/shm), deepest first.
our_mounts() {
  awk -v run="$RUN" -v store="$IMAGE_STORE" '{ gsub(/\\040/, " ", $2)
    if (index($2, run "/") == 1 || index($2, store "/") == 1) print $2 }' /proc/mounts | sort -r
}

# The runc shims of our containerd (they outlive it): found by the socket they were started with.
our_shims() {
  local p
  for p in /proc/[0-9]*; do
    if { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -q -- "containerd-shim.* -address $CONTAINERD_SOCK "; then
      basename "$p"
    fi
  done
}

do_down() {
  need_root
  if [[ ! -d "$RUN" ]]; then
    log "no cluster state; removing network leftovers only"
    network_down
    return 0
  fi
  stop kubelet 10
  if pid_of containerd >/dev/null; then
    log "removing pods"
    "$BIN/crictl" --runtime-endpoint "unix://$CONTAINERD_SOCK" rmp --all --force >/dev/null 2>&1 || true
  fi
  stop containerd 10
  local pid n m
  for pid in $(our_shims); do kill -KILL "$pid" 2>/dev/null || true; done
  for n in metrics-server coredns kube-scheduler kube-controller-manager kube-apiserver; do stop "$n" 10; done
  stop kube-proxy 5
  "$BIN/kube-proxy" --cleanup >>"$RUN/log/kube-proxy-cleanup.log" 2>&1 || true
  stop etcd 10
  while read -r m; do
    if [[ -n "$m" ]]; then umount -l "$m" 2>/dev/null || true; fi
  done < <(our_mounts)
  network_down
  rm -rf -- "$RUN"
  log "cluster down"
}

do_purge() {
  do_down
  log "removing the image store $IMAGE_STORE"
  rm -rf -- "$IMAGE_STORE"
}

do_status() {
  local n
  for n in etcd containerd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy coredns metrics-server; do
    if pid_of "$n" >/dev/null; then echo "$n: running"; else echo "$n: stopped"; fi
  done
}

case "${1:-up}" in
  build) do_build ;;
  up) do_up ;;
  down) do_down ;;
  purge) do_purge ;;
  status) do_status ;;
  *) die "unknown command: $1 (up, build, down, purge, status)" ;;
esac
