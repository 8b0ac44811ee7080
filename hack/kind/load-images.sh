#!/usr/bin/env bash
# Copies images from the container engine into the node(s) of the kind cluster (there is no registry: the node's
# containerd gets them with `kind load docker-image`). Pods should use imagePullPolicy IfNotPresent or Never.
# Usage: hack/kind/load-images.sh IMAGE...
set -euo pipefail
KIND_SCRIPT=load-images.sh
# shellcheck source=hack/kind/lib.sh
source "$(dirname "$0")/lib.sh"
[[ $# -ge 1 ]] || { echo "usage: hack/kind/load-images.sh IMAGE..." >&2; exit 2; }
ensure_engine
require_tools kind
cluster_exists || die "kind cluster $KIND_CLUSTER does not exist: run 'make kind-up'"
for image in "$@"; do
  docker image inspect "$image" >/dev/null 2>&1 || die "image $image is not in the container engine ($DOCKER_HOST)"
done
load_images "$@"
