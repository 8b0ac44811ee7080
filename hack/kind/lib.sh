# Shared by the hack/kind scripts (sourced): names, paths, the container engine, and one-line failures.
# shellcheck shell=bash
KIND_CLUSTER=${KIND_CLUSTER:-obsdemo}
# shellcheck disable=SC2034 # read by the scripts that source this file
KIND_CONTEXT="kind-$KIND_CLUSTER"
# The Kubernetes version of the node image; kubeadm, kubelet and the control plane come from hack/tools/kubernetes.
# shellcheck disable=SC2034 # this and KIND_CACHE are read by the scripts that source this file
KIND_K8S_VERSION=v1.36.3
KIND_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KIND_ROOT=$(cd "$KIND_DIR/../.." && pwd)
# shellcheck disable=SC2034
KIND_CACHE=${OBSDEMO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/obsdemo}/kind
# The tools `make kind-tools` builds are linked into bin/.
export PATH="$KIND_ROOT/bin:$PATH"
KIND_SCRIPT=${KIND_SCRIPT:-$(basename "$0")}

log() { echo "$KIND_SCRIPT: $*" >&2; }
die() { echo "$KIND_SCRIPT: $*" >&2; exit 1; }

# Makes `docker` talk to a usable engine: the user's Docker when it answers, else the project's own daemon
# (hack/container/dockerd.sh; needs root). Exports DOCKER_HOST for kind and docker alike.
ensure_engine() {
  local env
  env=$("$KIND_ROOT/hack/container/dockerd.sh" up) || die "no usable container engine (see the dockerd.sh message above)"
  eval "$env"
  export DOCKER_HOST
  command -v docker >/dev/null || die "the docker CLI is not installed: run 'make deps' as root (Debian package docker.io)"
}

# require_tools TOOL...: fails in one line when a tool `make kind-tools` builds into bin/ is missing (one on PATH,
# such as a kind a CI action installed, does too).
require_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || die "$tool is missing: run 'make kind-tools' (it builds bin/$tool)"
  done
}

# Kept for the scripts written before the own engine existed (hack/kind/demo.sh): NAME is the command being run.
require_docker_and_kind() {
  KIND_SCRIPT=$1 ensure_engine
  KIND_SCRIPT=$1 require_tools kind
}

cluster_exists() {
  local clusters
  clusters=$(kind get clusters 2>&1) || die "kind get clusters failed: $clusters"
  grep -qx "$KIND_CLUSTER" <<<"$clusters"
}

# The node image name for the current inputs, as hack/kind/node-image.sh builds and prints it.
node_image() {
  "$KIND_DIR/node-image.sh"
}

# load_images IMAGE...: copies images from the engine into every node of the cluster (there is no registry).
load_images() {
  kind load docker-image --name "$KIND_CLUSTER" "$@"
}
