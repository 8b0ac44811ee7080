# Shared by the hack/kind scripts (sourced): names, and the checks that fail with one line.
# shellcheck shell=bash
KIND_CLUSTER=${KIND_CLUSTER:-obsdemo}
REGISTRY_NAME=${REGISTRY_NAME:-kind-registry}
REGISTRY_PORT=${REGISTRY_PORT:-5001}
# shellcheck disable=SC2034 # read by the scripts that source this file
KIND_CONTEXT="kind-$KIND_CLUSTER"

# require_docker_and_kind NAME: NAME is the command being run, for the message.
require_docker_and_kind() {
  docker info >/dev/null 2>&1 || {
    echo "$1: no Docker engine answers here (docker info failed); run it where Docker runs, or use the local control plane (make cluster-up)" >&2
    exit 1
  }
  command -v kind >/dev/null 2>&1 || {
    echo "$1: kind is not installed (https://kind.sigs.k8s.io/docs/user/quick-start/#installation)" >&2
    exit 1
  }
}

cluster_exists() {
  kind get clusters 2>/dev/null | grep -qx "$KIND_CLUSTER"
}
