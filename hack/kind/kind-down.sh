#!/usr/bin/env bash
# Deletes the kind cluster `obsdemo` that kind-up.sh created. The container engine keeps running (other work may
# use it); `make docker-down` stops the project's own daemon. Idempotent: a missing cluster is skipped.
set -euo pipefail
KIND_SCRIPT=kind-down.sh
# shellcheck source=hack/kind/lib.sh
source "$(dirname "$0")/lib.sh"
require_tools kind
# Only an engine that already runs: starting one just to find nothing to delete helps nobody.
env=$("$KIND_ROOT/hack/container/dockerd.sh" env)
if [[ -z $env ]]; then
  log "no container engine runs, so no kind cluster does (make kind-up starts one)"
  exit 0
fi
eval "$env"
export DOCKER_HOST

if cluster_exists; then
  kind delete cluster --name "$KIND_CLUSTER"
else
  log "kind cluster $KIND_CLUSTER does not exist"
fi
rm -f "$KIND_ROOT/.tmp/kind/$KIND_CLUSTER.kubeconfig"
