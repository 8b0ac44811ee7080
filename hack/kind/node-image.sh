#!/usr/bin/env bash
# Builds the kind node image for Kubernetes v1.36.3 offline and prints its name (obsdemo/kind-node:v1.36.3-<hash>).
# The hash covers every input (this script, the root filesystem's recipe, hack/kind/node/, the binaries from
# bin/, busybox); a warm run only prints the name. Nothing is pulled: the root filesystem comes from debootstrap
# (hack/kind/rootfs.sh), the binaries from `make tools kind-tools`, and the control-plane images are FROM-scratch
# archives (hack/kind/image-archive.sh) preloaded into the node's containerd under the names kubeadm expects:
#   registry.k8s.io/kube-{apiserver,controller-manager,scheduler,proxy}:v1.36.3   bin/kube-*
#   registry.k8s.io/etcd:3.6.8-0       bin/etcd v3.6.16 (kubeadm asks for 3.6.8-0; a newer patch release)
#   registry.k8s.io/coredns/coredns:v1.14.2   bin/coredns
#   registry.k8s.io/pause:3.10.2       bin/pause (our own program)
#   docker.io/obsdemo/kind-network:v0.8.0   busybox + bin/kube-network-policies (the default CNI's DaemonSet)
#   docker.io/obsdemo/kind-storage:v0.0.30  busybox + bin/local-path-provisioner (the default StorageClass)
# OBSDEMO_KIND_IPTABLES=nft|legacy (default nft) picks the iptables backend of the node and of kube-proxy.
set -euo pipefail
KIND_SCRIPT=node-image.sh
# shellcheck source=hack/kind/lib.sh
source "$(dirname "$0")/lib.sh"

iptables_mode=${OBSDEMO_KIND_IPTABLES:-nft}
[[ $iptables_mode == nft || $iptables_mode == legacy ]] || die "OBSDEMO_KIND_IPTABLES must be nft or legacy, not '$iptables_mode'"
node_binaries=(kubeadm kubelet kubectl crictl)
image_binaries=(kube-apiserver kube-controller-manager kube-scheduler kube-proxy etcd etcdctl coredns pause
  kube-network-policies local-path-provisioner)
for b in "${node_binaries[@]}" "${image_binaries[@]}"; do
  [[ -x $KIND_ROOT/bin/$b ]] || die "bin/$b is missing: run 'make kind-tools'"
done
busybox=${OBSDEMO_BUSYBOX:-/bin/busybox}
[[ -x $busybox && $(LC_ALL=C ldd "$busybox" 2>&1 || true) == *'not a dynamic executable'* ]] ||
  die "$busybox is not a static busybox: run 'make deps' as root (Debian package busybox-static)"
# build.sh keys the pause tool on go.mod, go.sum and tool.env only: a changed main.go must come with a new version.
pause_source=$(sed -n 's/^PAUSE_SOURCE=//p' "$KIND_ROOT/hack/tools/pause/tool.env")
# A file of the node's layout missing (e.g. ignored by git in a fresh clone) would build an image kind cannot start.
for required in usr/local/bin/entrypoint kind/bin/kubelet-cgroups.sh kind/bin/undo-mounts.sh etc/containerd/config.toml; do
  [[ -f "$KIND_DIR/node/$required" ]] || die "hack/kind/node/$required is missing: the node image would not start"
done
[[ $(sha256sum "$KIND_ROOT/hack/tools/pause/main.go" | cut -c1-16) == "$pause_source" ]] ||
  die "hack/tools/pause/main.go changed: set PAUSE_SOURCE (sha256, 16 chars) and a new PAUSE_VERSION in hack/tools/pause/tool.env"

ensure_engine
rootfs=$("$KIND_DIR/rootfs.sh")
rootfs_key=$(basename "$rootfs" .tar)
rootfs_key=${rootfs_key#rootfs-}

key=$( {
  cat "$0" "$KIND_DIR/image-archive.sh"
  echo "$rootfs_key $iptables_mode $KIND_K8S_VERSION"
  (cd "$KIND_DIR/node" && find . -type f -print0 | sort -z | xargs -0 sha256sum && find . -print0 | sort -z | xargs -0 stat -c '%n %a')
  for b in "${node_binaries[@]}" "${image_binaries[@]}"; do sha256sum <"$KIND_ROOT/bin/$b"; done
  sha256sum <"$busybox"
} | sha256sum | cut -c1-12)
image="obsdemo/kind-node:$KIND_K8S_VERSION-$key"
if docker image inspect "$image" >/dev/null 2>&1; then
  echo "$image"
  exit 0
fi

start=$SECONDS
log "building $image"
work=$(mktemp -d "${TMPDIR:-/tmp}/obsdemo-kind-node.XXXXXX")
builder="obsdemo-kind-build-$key"
cleanup() {
  docker rm -f "$builder" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# 1. The root filesystem as an image of its own (reused while the recipe is unchanged), and a container of it in
#    which the node's own containerd takes the preloaded images.
rootfs_image="obsdemo/kind-rootfs:$rootfs_key"
if ! docker image inspect "$rootfs_image" >/dev/null 2>&1; then
  log "importing the root filesystem as $rootfs_image"
  docker import "$rootfs" "$rootfs_image" >/dev/null
fi
docker rm -f "$builder" >/dev/null 2>&1 || true
docker run -d --name "$builder" --network none --entrypoint sleep "$rootfs_image" infinity >/dev/null

# 2. Our files and the node's binaries.
stage=$work/node
mkdir -p "$stage" && chmod 0755 "$stage" # its mode becomes the mode of / in the node
mkdir -p "$stage/usr/bin" "$stage/etc/kubernetes/manifests" "$stage/etc/cni/net.d"
cp -a "$KIND_DIR/node/." "$stage/"
for b in "${node_binaries[@]}"; do install -m 0755 "$KIND_ROOT/bin/$b" "$stage/usr/bin/$b"; done
printf '%s' "$KIND_K8S_VERSION" >"$stage/kind/version"
printf '%s' "$iptables_mode" >"$stage/kind/iptables-mode"
tar -C "$stage" --owner=0 --group=0 --numeric-owner -cf - . | docker cp - "$builder:/"
docker exec "$builder" systemctl enable --quiet containerd.service kubelet.service obsdemo-undo-mounts.service

# 3. The images kubeadm, kind's default CNI and the sandbox need, as one-layer archives.
archive() { # NAME:TAG ENTRYPOINT_JSON [USER]: archives $work/img (then emptied) as $work/images/<n>.tar
  local n
  mkdir -p "$work/images"
  n=$(find "$work/images" -name '*.tar' | wc -l)
  "$KIND_DIR/image-archive.sh" "$work/img" "$1" "$work/images/$n.tar" "$2" null "${3:-}"
  rm -rf "$work/img"
}
component() { # NAME:TAG BINARY...: /usr/local/bin/BINARY..., the first one the entrypoint
  local ref=$1 b
  shift
  mkdir -p "$work/img/usr/local/bin" "$work/img/tmp" && chmod 1777 "$work/img/tmp"
  for b in "$@"; do install -m 0755 "$KIND_ROOT/bin/$b" "$work/img/usr/local/bin/$b"; done
  archive "$ref" "[\"/usr/local/bin/$1\"]"
}
component "registry.k8s.io/kube-apiserver:$KIND_K8S_VERSION" kube-apiserver
component "registry.k8s.io/kube-controller-manager:$KIND_K8S_VERSION" kube-controller-manager
component "registry.k8s.io/kube-scheduler:$KIND_K8S_VERSION" kube-scheduler
component "registry.k8s.io/etcd:3.6.8-0" etcd etcdctl

# kube-proxy (iptables mode) runs iptables, ip6tables and their -save/-restore: both backends from the node's own
# Debian packages, with every library they and their extension modules load (libxt_statistic.so needs libm:
# without it Services with two or more endpoints fail), and the plain names pointing at $iptables_mode.
mkdir -p "$work/img"
docker exec "$builder" bash -c '
  set -euo pipefail
  mods=(/usr/lib/*-linux-gnu/xtables/*.so)
  bins=(/usr/sbin/xtables-nft-multi /usr/sbin/xtables-legacy-multi)
  { printf "%s\n" "${bins[@]}" "${mods[@]}" /etc/ld.so.cache
    ldd "${bins[@]}" "${mods[@]}" | awk "/=> \\// {print \$3} /^\t\\/lib/ {print \$1}"; } |
    sed "s|^/||" | sort -u | tar -C / -chf - --files-from -' | tar -C "$work/img" -xf -
mkdir -p "$work/img/usr/local/bin" "$work/img/tmp" "$work/img/run" "$work/img/etc" && chmod 1777 "$work/img/tmp"
install -m 0755 "$KIND_ROOT/bin/kube-proxy" "$work/img/usr/local/bin/kube-proxy"
for family in iptables ip6tables; do
  for suffix in "" -save -restore; do
    ln -sfn xtables-nft-multi "$work/img/usr/sbin/$family-nft$suffix"
    ln -sfn xtables-legacy-multi "$work/img/usr/sbin/$family-legacy$suffix"
    ln -sfn "$family-$iptables_mode$suffix" "$work/img/usr/sbin/$family$suffix"
  done
done
archive "registry.k8s.io/kube-proxy:$KIND_K8S_VERSION" '["/usr/local/bin/kube-proxy"]'

mkdir -p "$work/img" && install -m 0755 "$KIND_ROOT/bin/coredns" "$work/img/coredns"
archive registry.k8s.io/coredns/coredns:v1.14.2 '["/coredns"]'
mkdir -p "$work/img" && install -m 0755 "$KIND_ROOT/bin/pause" "$work/img/pause"
archive registry.k8s.io/pause:3.10.2 '["/pause"]' 65535:65535
mkdir -p "$work/img/bin" && install -m 0755 "$busybox" "$work/img/bin/busybox"
for applet in sh cp mv cat ls mkdir rm; do ln -s busybox "$work/img/bin/$applet"; done
install -m 0755 "$KIND_ROOT/bin/kube-network-policies" "$work/img/bin/kube-network-policies"
archive docker.io/obsdemo/kind-network:v0.8.0 '["/bin/kube-network-policies"]'
# local-path-provisioner's helper pods run `sh /script/setup` (mkdir) and `sh /script/teardown` (rm -rf).
mkdir -p "$work/img/bin" "$work/img/tmp" && chmod 1777 "$work/img/tmp" && install -m 0755 "$busybox" "$work/img/bin/busybox"
for applet in $("$busybox" --list); do [[ -e $work/img/bin/$applet ]] || ln -s busybox "$work/img/bin/$applet"; done
install -m 0755 "$KIND_ROOT/bin/local-path-provisioner" "$work/img/bin/local-path-provisioner"
archive docker.io/obsdemo/kind-storage:v0.0.30 '["/bin/local-path-provisioner"]'

# 4. Preload them into the node's containerd (k8s.io namespace, not unpacked: the CRI unpacks on first use),
#    pinned so kubelet's image garbage collection keeps them.
docker exec "$builder" bash -c '
  printf "version = 2\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n" >/tmp/build-containerd.toml
  nohup containerd --config /tmp/build-containerd.toml >/tmp/build-containerd.log 2>&1 &
  for _ in $(seq 1 30); do ctr version >/dev/null 2>&1 && exit 0; sleep 1; done
  tail -n 5 /tmp/build-containerd.log >&2; exit 1' || die "containerd did not start in the build container"
for a in "$work"/images/*.tar; do
  ref=$(tar -xOf "$a" manifest.json | jq -r '.[0].RepoTags[0]')
  docker exec -i "$builder" ctr -n k8s.io images import --no-unpack - <"$a" >/dev/null
  docker exec "$builder" ctr -n k8s.io images label "$ref" io.cri-containerd.pinned=pinned >/dev/null
done
log "preloaded: $(docker exec "$builder" ctr -n k8s.io images list -q | tr '\n' ' ')"
docker exec "$builder" bash -c '
  pkill -x containerd
  for _ in $(seq 1 30); do pgrep -x containerd >/dev/null || break; sleep 1; done
  rm -rf /run/containerd /tmp/build-containerd.* /var/lib/containerd/tmpmounts'

# 5. The node image: the container committed, then kind's entrypoint, environment and stop signal (systemd halts
#    on SIGRTMIN+3; `docker commit` and `docker import` do not accept STOPSIGNAL, a metadata-only build does).
docker commit "$builder" "$image-commit" >/dev/null
printf 'FROM %s\nENV container=docker\nSTOPSIGNAL SIGRTMIN+3\nENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]\nCMD []\n' "$image-commit" |
  DOCKER_BUILDKIT=0 docker build -q -t "$image" - >/dev/null 2>"$work/build.log" ||
  { cat "$work/build.log" >&2; die "docker build of the node image's metadata failed"; }
docker rmi "$image-commit" >/dev/null
docker tag "$image" "obsdemo/kind-node:$KIND_K8S_VERSION"
# Node images and root filesystem images of earlier inputs go (docker keeps an image a cluster still runs on).
{
  docker images --format '{{.Repository}}:{{.Tag}}' obsdemo/kind-node
  docker images --format '{{.Repository}}:{{.Tag}}' obsdemo/kind-rootfs
} | grep -v -x -e "$image" -e "obsdemo/kind-node:$KIND_K8S_VERSION" -e "$rootfs_image" |
  xargs -r docker rmi >/dev/null 2>&1 || true
log "built $image in $((SECONDS - start)) s"
echo "$image"
