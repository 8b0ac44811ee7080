#!/usr/bin/env bash
# Deletes the kind cluster `obsdemo` and the registry container `kind-registry` that kind-up.sh created.
# Idempotent: what does not exist is skipped.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=hack/kind/lib.sh
source "$here/lib.sh"
require_docker_and_kind "make kind-down"

if cluster_exists; then
  kind delete cluster --name "$KIND_CLUSTER"
else
  echo "kind cluster $KIND_CLUSTER does not exist" >&2
fi
if docker inspect "$REGISTRY_NAME" >/dev/null 2>&1; then
  docker rm -f "$REGISTRY_NAME" >/dev/null
  echo "removed registry container $REGISTRY_NAME" >&2
fi
