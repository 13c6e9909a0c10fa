#!/usr/bin/env bash
# A real single-node Kubernetes cluster for the Kubernetes backends' tests, made only from what this machine's
# registries serve (no kind, k3s or prebuilt binaries can be downloaded here):
#
#   scripts/test-cluster.sh build   builds what is missing into a cache keyed by version: the Kubernetes components
#                                   (k8s.io/kubernetes from the Go module proxy, one multi-call binary), etcd, a
#                                   directory-backed volume provisioner, BuildKit and kube-router (cold: ~20 min on 2
#                                   cores)
#   scripts/test-cluster.sh up      builds what is missing, then starts etcd, the API server, controller manager,
#                                   scheduler, containerd (Debian) and a kubelet on 127.0.0.1, imports the pause image,
#                                   starts kube-proxy and kube-router's network-policy controller and waits until the
#                                   node is Ready and the default StorageClass exists
#   scripts/test-cluster.sh down    stops what `up` started and removes its bridge, firewall rules and ipsets
#   scripts/test-cluster.sh env     prints KUBECONFIG=… and GANYMEDE_K8S_BIN=… (the binaries, BuildKit's included)
#   scripts/test-cluster.sh import <archive.tar>   loads an image (`docker save`) into the node's containerd
#
# Binaries: ${GANYMEDE_K8S_CACHE:-~/.cache/ganymede/k8s}/<versions>/ (kept between runs; a fresh machine rebuilds).
# State (certificates, etcd, containerd, logs, PID files): ${GANYMEDE_K8S_DIR:-.data/k8s}; `up` starts from empty
# state every time, so a test run never sees the previous run's objects.
#
# Networking: everything listens on 127.0.0.1; pods live on the bridge ganymede-k8s (10.245.0.0/24), reachable from
# this machine, and a tagged FORWARD rule plus an nftables table of the bridge's name keep their traffic on it (nothing
# a pod sends leaves the machine). NetworkPolicies are enforced, as a CNI plugin with policy support would: by
# kube-router's network-policy controller alone (no router, no service proxy) on this machine, with iptables rules and
# ipsets of its own in the filter table; Services are kube-proxy's (nftables).
# What each workaround below is for (cgroup v1, oom_score_adj, no registry for the pause image) is said where it is.
set -euo pipefail
cd "$(dirname "$0")/.."
k8s_version=v1.37.2
etcd_version=v3.7.3
provisioner_lib=v11.0.1
buildkit_version=v0.35.0
rootlesskit_version=v2.3.6
# The newest release the Go module proxy here serves (later tags are refused: 403).
kube_router_version=v2.1.0
cache=${GANYMEDE_K8S_CACHE:-$HOME/.cache/ganymede/k8s}/$k8s_version-etcd$etcd_version-buildkit$buildkit_version
state=${GANYMEDE_K8S_DIR:-$PWD/.data/k8s}
sources=$PWD/scripts/k8s
bridge=ganymede-k8s
pod_cidr=10.245.0.0/24
bridge_ip=10.245.0.1
pause_image=registry.k8s.io/pause:3.10.1
export PATH=/usr/local/go/bin:$PATH GOFLAGS=-buildvcs=false CGO_ENABLED=0
export KUBECONFIG=$state/admin.kubeconfig

log() { printf '\033[1m[test-cluster %s]\033[0m %s\n' "$(date +%T)" "$*" >&2; }
fail() { printf '\033[1;31m[test-cluster] %s\033[0m\n' "$*" >&2; exit 1; }

install_missing() {
  local missing=() package
  for package in "$@"; do dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package"); done
  (( ${#missing[@]} )) || return 0
  log "installing from Debian: ${missing[*]}"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; } ||
    fail "apt-get could not install ${missing[*]}"
}

# Builds in the background of everything else on the machine: nice, one package at a time.
go_build() { nice -n 19 go build -p 1 -trimpath "$@"; }

# A Go module in $cache/src/$1 from the sources in scripts/k8s/$1 (if any) and `go.mod` on stdin, tidied.
go_module() {
  local dir=$cache/src/$1
  rm -rf "$dir" && mkdir -p "$dir"
  [[ -d $sources/$1 ]] && cp "$sources/$1"/*.go "$dir/"
  cat >"$dir/go.mod"
  (cd "$dir" && nice -n 19 go mod tidy) >"$cache/build-$1.log" 2>&1 || fail "go mod tidy failed for $1: $cache/build-$1.log"
  echo "$dir"
}

# k8s.io/kubernetes replaces its staging modules (k8s.io/api, client-go, …) with ./staging paths, which a module
# depending on it does not see: pin each one to its published v0.<minor>.<patch> instead.
build_kubernetes() {
  # A kubeall from before kube-proxy joined it is rebuilt (the Go build cache makes that a few minutes).
  [[ -x $cache/kubeall ]] && "$cache/kubeall" kube-proxy --version >/dev/null 2>&1 && return 0
  log "building Kubernetes $k8s_version from the Go module proxy (cold: ~15 min)"
  local modfile go_version staging dir started=$SECONDS
  modfile=$(go mod download -json "k8s.io/kubernetes@$k8s_version" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')
  go_version=$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$modfile")
  staging="v0.${k8s_version#v1.}"
  dir=$(go_module kubeall <<EOF
module kubeall

go $go_version

godebug default=go${go_version%.*}

require k8s.io/kubernetes $k8s_version

replace (
$(sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\t\1 => \1 '"$staging"'#p' "$modfile")
)
EOF
  )
  local minor=${k8s_version#v1.} flags="-s -w" package
  minor=${minor%%.*}
  for package in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $package.gitVersion=$k8s_version -X $package.gitMajor=1 -X $package.gitMinor=$minor -X $package.gitTreeState=clean"
  done
  (cd "$dir" && go_build -ldflags "$flags" -o "$cache/kubeall.part" .) >>"$cache/build-kubeall.log" 2>&1 ||
    fail "the Kubernetes build failed: $cache/build-kubeall.log"
  mv "$cache/kubeall.part" "$cache/kubeall"
  log "built Kubernetes in $((SECONDS - started)) s"
}

# etcd's server module has replace directives of its own, so `go install …@version` refuses it: wrap it in a module.
build_etcd() {
  [[ -x $cache/etcd ]] && return 0
  log "building etcd $etcd_version"
  local dir
  dir=$(go_module etcd <<EOF
module etcdbuild

go 1.26.0

require go.etcd.io/etcd/server/v3 $etcd_version
EOF
  )
  printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' >"$dir/tools.go"
  (cd "$dir" && nice -n 19 go mod tidy && go_build -ldflags "-s -w" -o "$cache/etcd.part" go.etcd.io/etcd/server/v3) \
    >>"$cache/build-etcd.log" 2>&1 || fail "the etcd build failed: $cache/build-etcd.log"
  mv "$cache/etcd.part" "$cache/etcd"
}

build_provisioner() {
  [[ -x $cache/provisioner ]] && return 0
  log "building the volume provisioner"
  local staging="v0.${k8s_version#v1.}" dir
  dir=$cache/src/provisioner
  rm -rf "$dir" && mkdir -p "$dir" && cp "$sources/provisioner/main.go" "$dir/"
  printf 'module provisioner\n\ngo 1.26.0\n' >"$dir/go.mod"
  (cd "$dir" && nice -n 19 go get "sigs.k8s.io/sig-storage-lib-external-provisioner/v11@$provisioner_lib" \
      "k8s.io/client-go@$staging" "k8s.io/api@$staging" "k8s.io/apimachinery@$staging" &&
    nice -n 19 go mod tidy && go_build -ldflags "-s -w" -o "$cache/provisioner" .) >"$cache/build-provisioner.log" 2>&1 ||
    fail "the provisioner build failed: $cache/build-provisioner.log"
}

# BuildKit's daemon and client, for the Kubernetes build backend's build pods (their image is made by `up`).
build_buildkit() {
  [[ -x $cache/buildkitd && -x $cache/buildctl ]] && return 0
  log "building BuildKit $buildkit_version"
  local dir=$cache/src/buildkit
  rm -rf "$dir" && mkdir -p "$dir"
  printf 'module buildkitbuild\n\ngo 1.26.0\n\nrequire github.com/moby/buildkit %s\n' "$buildkit_version" >"$dir/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport (\n\t_ "github.com/moby/buildkit/cmd/buildkitd"\n\t_ "github.com/moby/buildkit/cmd/buildctl"\n)\n' >"$dir/tools.go"
  (cd "$dir" && nice -n 19 go mod tidy &&
    go_build -ldflags "-s -w" -o "$cache/buildkitd" github.com/moby/buildkit/cmd/buildkitd &&
    go_build -ldflags "-s -w" -o "$cache/buildctl" github.com/moby/buildkit/cmd/buildctl) >"$cache/build-buildkit.log" 2>&1 ||
    fail "the BuildKit build failed: $cache/build-buildkit.log"
}

# RootlessKit, for rootless build pods: buildkitd in a user namespace of its own (builder.kubernetes.rootless).
build_rootlesskit() {
  # Its version is not in the cache key: that would rebuild everything else for a 10-second build.
  [[ -x $cache/rootlesskit ]] && return 0
  log "building RootlessKit $rootlesskit_version"
  local dir=$cache/src/rootlesskit
  rm -rf "$dir" && mkdir -p "$dir"
  printf 'module rootlesskitbuild\n\ngo 1.26.0\n\nrequire github.com/rootless-containers/rootlesskit/v2 %s\n' "$rootlesskit_version" >"$dir/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/rootless-containers/rootlesskit/v2/cmd/rootlesskit"\n' >"$dir/tools.go"
  (cd "$dir" && nice -n 19 go mod tidy &&
    go_build -ldflags "-s -w" -o "$cache/rootlesskit" github.com/rootless-containers/rootlesskit/v2/cmd/rootlesskit) \
    >"$cache/build-rootlesskit.log" 2>&1 || fail "the RootlessKit build failed: $cache/build-rootlesskit.log"
}

# kube-router, for its network-policy controller only: it enforces NetworkPolicies next to the bridge CNI plugin (which
# has no policy support) and kube-proxy, with iptables rules and ipsets. Its go.mod has no replace directives; the
# wrapper module only keeps the build like the others.
build_kube_router() {
  # Its version is not in the cache key either (a 2-minute build); the binary says which one it is.
  [[ -x $cache/kube-router && $("$cache/kube-router" --version 2>&1) == *"version $kube_router_version,"* ]] && return 0
  log "building kube-router $kube_router_version"
  local dir=$cache/src/kube-router package=github.com/cloudnativelabs/kube-router/v2
  rm -rf "$dir" && mkdir -p "$dir"
  printf 'module kuberouterbuild\n\ngo 1.26.0\n\nrequire %s %s\n' "$package" "$kube_router_version" >"$dir/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "%s/cmd/kube-router"\n' "$package" >"$dir/tools.go"
  (cd "$dir" && nice -n 19 go mod tidy &&
    go_build -ldflags "-s -w -X $package/pkg/version.Version=$kube_router_version" -o "$cache/kube-router.part" \
      "$package/cmd/kube-router") >"$cache/build-kube-router.log" 2>&1 ||
    fail "the kube-router build failed: $cache/build-kube-router.log"
  mv "$cache/kube-router.part" "$cache/kube-router"
}

build_pause() {
  [[ -x $cache/pause ]] && return 0
  install_missing gcc libc6-dev
  nice -n 19 gcc -Os -static -o "$cache/pause" "$sources/pause.c" && strip "$cache/pause"
}

build() {
  command -v go >/dev/null || fail "building the cluster needs Go (1.26 or later) on PATH or in /usr/local/go"
  mkdir -p "$cache"
  build_pause
  build_etcd
  build_provisioner
  build_kubernetes
  build_buildkit
  build_rootlesskit
  build_kube_router
  log "binaries ready in $cache"
}

# ---------------------------------------------------------------------------------------------------------- up/down
pidfile() { echo "$state/run/$1.pid"; }
running() { [[ -f $(pidfile "$1") ]] && kill -0 "$(cat "$(pidfile "$1")")" 2>/dev/null; }

# Starts "$@" detached (it outlives the script), logging to $state/logs/<name>.log.
start_daemon() {
  local name=$1
  shift
  setsid "$@" >>"$state/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$(pidfile "$name")"
}

# Waits up to $2 seconds for "${@:3}" to succeed while $1 runs; fails naming $1 and the end of its log.
wait_for() {
  local name=$1 seconds=$2
  shift 2
  for ((i = 0; i < seconds * 5; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    running "$name" || break
    sleep 0.2
  done
  tail -n 20 "$state/logs/$name.log" >&2 || true
  fail "$name did not come up (its last log lines are above; all logs in $state/logs)"
}

# A certificate signed by the cluster's CA: name, subject, subjectAltName (optional).
issue() {
  local pki=$state/pki extensions="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth"
  [[ -n ${3:-} ]] && extensions+=$'\n'"subjectAltName=$3"
  openssl req -newkey rsa:2048 -nodes -keyout "$pki/$1.key" -out "$pki/$1.csr" -subj "$2" 2>/dev/null
  openssl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial -out "$pki/$1.crt" -days 30 \
    -extfile <(echo "$extensions") 2>/dev/null
  rm -f "$pki/$1.csr"
}

certificates() {
  local pki=$state/pki who
  mkdir -p "$pki"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$pki/ca.key" -out "$pki/ca.crt" -days 30 -subj "/CN=ganymede-test-cluster" 2>/dev/null
  issue apiserver "/CN=kube-apiserver" "DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:127.0.0.1,IP:10.96.0.1,IP:$bridge_ip"
  issue admin "/O=system:masters/CN=admin"
  issue apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
  issue controller-manager "/CN=system:kube-controller-manager"
  issue scheduler "/CN=system:kube-scheduler"
  issue kubelet "/O=system:nodes/CN=system:node:localhost" "DNS:localhost,IP:127.0.0.1"
  issue kube-proxy "/CN=system:kube-proxy"
  openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
  openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
  for who in admin controller-manager scheduler kubelet kube-proxy; do
    cat >"$state/$who.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority-data: $(base64 -w0 "$pki/ca.crt")
users:
- name: $who
  user:
    client-certificate-data: $(base64 -w0 "$pki/$who.crt")
    client-key-data: $(base64 -w0 "$pki/$who.key")
contexts:
- name: test
  context: {cluster: test, user: $who}
current-context: test
EOF
  done
}

control_plane() {
  local pki=$state/pki kubeconfig
  start_daemon etcd "$cache/etcd" --name test --data-dir "$state/etcd" \
    --listen-client-urls http://127.0.0.1:12379 --advertise-client-urls http://127.0.0.1:12379 \
    --listen-peer-urls http://127.0.0.1:12380 --initial-advertise-peer-urls http://127.0.0.1:12380 \
    --initial-cluster test=http://127.0.0.1:12380 --listen-metrics-urls http://127.0.0.1:12381
  wait_for etcd 30 curl -sf http://127.0.0.1:12379/health
  # Pods reach the API server as in any cluster, at the `kubernetes` Service (10.96.0.1:443), which kube-proxy sends to
  # the bridge's address: it listens there too, and tagged rules keep everyone else off its port.
  api_server_guard add
  start_daemon kube-apiserver "$cache/kubeall" kube-apiserver \
    --etcd-servers=http://127.0.0.1:12379 --bind-address=0.0.0.0 --advertise-address="$bridge_ip" --secure-port=6443 \
    --service-cluster-ip-range=10.96.0.0/24 \
    --client-ca-file="$pki/ca.crt" --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
    --kubelet-client-certificate="$pki/apiserver-kubelet-client.crt" --kubelet-client-key="$pki/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority="$pki/ca.crt" --kubelet-preferred-address-types=Hostname,InternalIP \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
    --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction --profiling=false \
    --allow-privileged=true
  wait_for kube-apiserver 120 kubectl get --raw /readyz
  # The controller manager even where no pod runs: it makes namespaces' default service accounts and deletes namespaces.
  kubeconfig=$state/controller-manager.kubeconfig
  start_daemon kube-controller-manager "$cache/kubeall" kube-controller-manager \
    --kubeconfig="$kubeconfig" --authentication-kubeconfig="$kubeconfig" --authorization-kubeconfig="$kubeconfig" \
    --bind-address=127.0.0.1 --secure-port=10257 --leader-elect=false \
    --service-account-private-key-file="$pki/sa.key" --root-ca-file="$pki/ca.crt" \
    --cluster-signing-cert-file="$pki/ca.crt" --cluster-signing-key-file="$pki/ca.key" \
    --use-service-account-credentials=true --service-cluster-ip-range=10.96.0.0/24 --profiling=false
  kubeconfig=$state/scheduler.kubeconfig
  start_daemon kube-scheduler "$cache/kubeall" kube-scheduler --kubeconfig="$kubeconfig" \
    --authentication-kubeconfig="$kubeconfig" --authorization-kubeconfig="$kubeconfig" \
    --bind-address=127.0.0.1 --secure-port=10259 --leader-elect=false --profiling=false
  wait_for kube-controller-manager 60 kubectl get serviceaccount default -n default
}

start_node() {
  local ctr=(ctr -a "$state/containerd-run/containerd.sock" -n k8s.io) registry=127.0.0.1:${GANYMEDE_BINDER_REGISTRY_PORT:-5000}
  install_missing containerd runc containernetworking-plugins iptables nftables kubectl
  mkdir -p "$state/cni" "$state/containerd-run"
  cat >"$state/containerd.toml" <<EOF
version = 2
root = "$state/containerd"
state = "$state/containerd-run"
[grpc]
  address = "$state/containerd-run/containerd.sock"
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$pause_image"
  disable_apparmor = true
  # This VM withholds CAP_SYS_RESOURCE: the negative oom_score_adj of pause and Guaranteed pods is refused, which runc
  # reports as "can't get final child's PID from pipe: EOF". Clamping it to what may be set makes pods start.
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$state/cni"
  # Binder images come from the registry on this machine, which speaks plain HTTP.
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."$registry"]
    endpoint = ["http://$registry"]
EOF
  cat >"$state/cni/10-ganymede.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "ganymede-test",
  "plugins": [{
    "type": "bridge", "bridge": "$bridge", "isGateway": true, "ipMasq": false, "hairpinMode": true,
    "ipam": {"type": "host-local", "dataDir": "$state/ipam", "ranges": [[{"subnet": "$pod_cidr"}]], "routes": [{"dst": "0.0.0.0/0"}]}
  }]
}
EOF
  if ! ip link show "$bridge" >/dev/null 2>&1; then
    ip link add "$bridge" type bridge && ip addr add "$bridge_ip/24" dev "$bridge" && ip link set "$bridge" up
  fi
  # Pods talk to each other and to this machine; nothing they send is forwarded anywhere else. (With Docker on the
  # machine FORWARD drops by default, so traffic within the bridge needs its own accept.)
  iptables -C FORWARD -i "$bridge" -o "$bridge" -m comment --comment "$bridge" -j ACCEPT 2>/dev/null ||
    iptables -I FORWARD 1 -i "$bridge" -o "$bridge" -m comment --comment "$bridge" -j ACCEPT
  # The drop is not a rule in iptables' FORWARD: kube-router keeps its jump first in that chain and ACCEPTs there all
  # the traffic of pods that NetworkPolicies allow (pods without any policy included), so a DROP after it would never
  # see a pod's packet. A drop in an nftables table of its own is final whatever other tables accept.
  nft -f - <<EOF
table inet $bridge
delete table inet $bridge
table inet $bridge {
  chain forward {
    type filter hook forward priority filter - 1; policy accept;
    iifname "$bridge" oifname != "$bridge" drop
  }
}
EOF
  start_daemon containerd /usr/bin/containerd --config "$state/containerd.toml"
  wait_for containerd 30 "${ctr[@]}" version
  # The pause image cannot be pulled here: a one-file image of the static pause built above.
  mkdir -p "$state/pause-root"
  cp "$cache/pause" "$state/pause-root/pause"
  python3 "$sources/image-archive.py" "$pause_image" "$state/pause-root" "$state/pause.tar" --entrypoint /pause
  "${ctr[@]}" images import "$state/pause.tar" >/dev/null
  echo "nameserver 127.0.0.1" >"$state/pod-resolv.conf"
  cat >"$state/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# Machines on cgroup v1 are refused from Kubernetes 1.35 on unless this is said.
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$state/containerd-run/containerd.sock
address: 127.0.0.1
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
authentication: {anonymous: {enabled: false}, webhook: {enabled: true}, x509: {clientCAFile: $state/pki/ca.crt}}
authorization: {mode: Webhook}
tlsCertFile: $state/pki/kubelet.crt
tlsPrivateKeyFile: $state/pki/kubelet.key
resolvConf: $state/pod-resolv.conf
failSwapOn: false
# The machine's firewall is shared with Docker: the kubelet leaves it alone.
makeIPTablesUtilChains: false
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
podPidsLimit: 1024
# How often the kubelet syncs each pod, and with it the files of mounted ConfigMaps (1 min by default): an edited
# policy ConfigMap reaches the hub in seconds, not a minute and a half.
syncFrequency: 10s
EOF
  start_daemon kubelet "$cache/kubeall" kubelet --config="$state/kubelet.yaml" --kubeconfig="$state/kubelet.kubeconfig" \
    --root-dir="$state/kubelet" --hostname-override=localhost
  wait_for kubelet 120 sh -c "kubectl get node localhost -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -q True"
  mkdir -p "$state/volumes"
  start_daemon provisioner "$cache/provisioner" --kubeconfig="$state/admin.kubeconfig" --dir="$state/volumes"
  kubectl apply -f - >/dev/null <<EOF
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: local-directories
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: ganymede.test/hostpath
reclaimPolicy: Delete
volumeBindingMode: Immediate
EOF
  start_kube_proxy
  start_network_policies
}

# The API server's port for this machine and its pods only: add|remove the tagged INPUT rules.
api_server_guard() {
  local rule
  for rule in "-i lo -j ACCEPT" "-i $bridge -j ACCEPT" "-j DROP"; do
    # shellcheck disable=SC2086 # the rule's words
    if [[ $1 == add ]]; then
      iptables -C INPUT -p tcp --dport 6443 $rule -m comment --comment "$bridge" 2>/dev/null ||
        iptables -A INPUT -p tcp --dport 6443 $rule -m comment --comment "$bridge"
    else
      while iptables -D INPUT -p tcp --dport 6443 $rule -m comment --comment "$bridge" 2>/dev/null; do :; done
    fi
  done
}

# Services: kube-proxy in nftables mode (tables of its own, "ip/ip6 kube-proxy", so Docker's iptables rules are left
# alone), for Services' cluster IPs from pods and from this machine. No cluster DNS: pods find Services through the
# environment variables the kubelet gives them (<NAME>_SERVICE_HOST), and resolve nothing else.
start_kube_proxy() {
  install_missing nftables
  cat >"$state/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: nftables
clientConnection: {kubeconfig: $state/kube-proxy.kubeconfig}
hostnameOverride: localhost
clusterCIDR: $pod_cidr
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: ["$bridge_ip/32"]
# Leave the machine's conntrack settings as they are (this VM may refuse them).
conntrack: {maxPerCore: 0, min: 0}
EOF
  start_daemon kube-proxy "$cache/kubeall" kube-proxy --config="$state/kube-proxy.yaml"
  wait_for kube-proxy 30 nft list table ip kube-proxy
}

# NetworkPolicies: kube-router's network-policy controller (see build_kube_router), without its router (the bridge
# plugin wires the pods) or its service proxy (kube-proxy's job). It takes this node's pods to be those whose host IP is
# the node's InternalIP, and adds to iptables' filter table chains of its own (KUBE-ROUTER-*, KUBE-NWPLCY-*,
# KUBE-POD-FW-*), jumped to first from INPUT, FORWARD and OUTPUT, and ipsets (KUBE-SRC-*, KUBE-DST-*). It leaves all of
# them behind when it stops: `down` removes them (remove_network_policy_rules).
start_network_policies() {
  install_missing ipset
  # The admin's credentials: it watches pods, namespaces, NetworkPolicies, nodes, Services and endpoints. No health
  # port: it would listen on every address.
  start_daemon kube-router "$cache/kube-router" --run-firewall=true --run-router=false --run-service-proxy=false \
    --kubeconfig="$state/admin.kubeconfig" --hostname-override=localhost --service-cluster-ip-range=10.96.0.0/24 \
    --health-port=0
  # Its first full sync ends by adding the ACCEPT for traffic that passed the policies; from then on it enforces them.
  wait_for kube-router 60 sh -c "iptables -w -S KUBE-ROUTER-FORWARD | grep -q 0x20000/0x20000"
}

# What kube-router leaves in the firewall: the jumps to its chains in the built-in ones, its chains, its ipsets (which
# can only go once no rule refers to them). Rules are found by number: their comments hold spaces and quotes.
remove_network_policy_rules() {
  local command chain chains number
  for command in iptables ip6tables; do
    command -v "$command" >/dev/null || continue
    for chain in INPUT FORWARD OUTPUT; do
      while number=$("$command" -w -t filter -L "$chain" -n --line-numbers 2>/dev/null |
        awk '$2 ~ /^KUBE-ROUTER-/ { print $1; exit }') && [[ -n $number ]]; do
        "$command" -w -t filter -D "$chain" "$number"
      done
    done
    chains=$("$command-save" -t filter 2>/dev/null | sed -n 's/^:\(KUBE-\(ROUTER\|NWPLCY\|POD-FW\)-[^ ]*\) .*/\1/p')
    for chain in $chains; do "$command" -w -t filter -F "$chain" || true; done
    for chain in $chains; do "$command" -w -t filter -X "$chain" || true; done
  done
  command -v ipset >/dev/null || return 0
  ipset list -n | { grep -E '^(inet6:)?(KUBE-(SRC|DST)-|TMP-)[A-Z2-7]{16}$' || true; } | xargs -r -n 1 ipset destroy ||
    log "some of kube-router's ipsets are still in use: see \`ipset list -n\`"
}

# Loads a docker-archive tarball (`docker save`) into the cluster's containerd, for pods that never pull.
import_image() {
  ctr -a "$state/containerd-run/containerd.sock" -n k8s.io images import "${1:?usage: import <archive.tar>}" >/dev/null
}

up() {
  [[ $(id -u) == 0 ]] || fail "a kubelet and containerd need root (this is uid $(id -u))"
  build
  if running kube-apiserver; then
    log "already up (KUBECONFIG=$KUBECONFIG)"
    return 0
  fi
  down quietly
  rm -rf "$state"
  mkdir -p "$state/run" "$state/logs"
  local started=$SECONDS
  certificates
  control_plane
  start_node
  log "ready in $((SECONDS - started)) s: KUBECONFIG=$KUBECONFIG"
}

down() {
  local name pid chain rules
  for name in kube-router kube-proxy provisioner kubelet containerd kube-scheduler kube-controller-manager \
    kube-apiserver etcd; do
    [[ -f $(pidfile "$name") ]] || continue
    pid=$(cat "$(pidfile "$name")")
    rm -f "$(pidfile "$name")"
    kill -TERM "$pid" 2>/dev/null || continue
    for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  # Pods' processes (containerd's shims and what they run) outlive containerd: end them, then their mounts.
  pkill -KILL -f "containerd-shim-runc-v2 .*$state/containerd-run" 2>/dev/null || true
  # What the containers ran is reparented, not killed, when its shim dies; the kubelet's cgroups (kubepods, in any
  # hierarchy) hold all of it.
  local cgroup
  for cgroup in /sys/fs/cgroup/pids/kubepods /sys/fs/cgroup/kubepods; do
    [[ -d $cgroup ]] || continue
    # shellcheck disable=SC2038 # xargs reads process IDs, not file names
    { find "$cgroup" -name cgroup.procs -exec cat {} + | xargs -r kill -KILL; } 2>/dev/null || true
  done
  if [[ -d $state ]]; then
    awk -v root="$state/" 'index($5, root) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
      while read -r mount; do umount -l "$mount" 2>/dev/null || true; done
  fi
  local family
  for family in ip ip6; do nft delete table "$family" kube-proxy 2>/dev/null || true; done
  remove_network_policy_rules
  api_server_guard remove
  while iptables -D FORWARD -i "$bridge" -o "$bridge" -m comment --comment "$bridge" -j ACCEPT 2>/dev/null; do :; done
  # The DROP rule of earlier versions of this script, which kept pods' traffic on the bridge before its nftables table.
  while iptables -D FORWARD -i "$bridge" ! -o "$bridge" -m comment --comment "$bridge" -j DROP 2>/dev/null; do :; done
  nft delete table inet "$bridge" 2>/dev/null || true
  # iptables-nft leaves behind the empty base chains it made for the rules above (INPUT for api_server_guard, OUTPUT
  # for kube-router): gone too when empty and accepting, as before `up` (nft refuses to delete a chain with rules).
  for chain in INPUT OUTPUT; do
    rules=$(nft list chain ip filter "$chain" 2>/dev/null) || continue
    [[ $(grep -cv '^[[:space:]]*}$' <<<"$rules") == 3 && $rules == *"policy accept;"* ]] &&
      { nft delete chain ip filter "$chain" || true; }
  done
  ip link del "$bridge" 2>/dev/null || true
  [[ ${1:-} == quietly ]] || log "down"
}

case "${1:-}" in
  build) build ;;
  up) up ;;
  down) down ;;
  import) import_image "${2:-}" ;;
  env) printf 'KUBECONFIG=%s\nGANYMEDE_K8S_BIN=%s\n' "$KUBECONFIG" "$cache" ;;
  *) echo "usage: $0 build|up|down|import <archive.tar>|env" >&2; exit 2 ;;
esac
