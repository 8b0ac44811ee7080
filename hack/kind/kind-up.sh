#!/usr/bin/env bash
# Creates (or reuses) the kind cluster `obsdemo` and a local registry container `kind-registry` on localhost:5001,
# following kind's "local registry" guide, so `tilt up` and hack/kind/demo.sh push images the nodes can pull.
# Idempotent: running it again changes nothing that is already in place.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=hack/kind/lib.sh
source "$here/lib.sh"
require_docker_and_kind "make kind-up"

if [[ "$(docker inspect -f '{{.State.Running}}' "$REGISTRY_NAME" 2>/dev/null || true)" != 'true' ]]; then
  if docker inspect "$REGISTRY_NAME" >/dev/null 2>&1; then
    docker start "$REGISTRY_NAME" >/dev/null
  else
    docker run -d --restart=always -p "127.0.0.1:$REGISTRY_PORT:5000" --network bridge --name "$REGISTRY_NAME" registry:3 >/dev/null
  fi
fi

if cluster_exists; then
  echo "kind cluster $KIND_CLUSTER exists; reusing it" >&2
  # The context may be gone from the kubeconfig (another KUBECONFIG, a cleaned-up file): write it again.
  kind export kubeconfig --name "$KIND_CLUSTER"
else
  kind create cluster --name "$KIND_CLUSTER" --config "$here/cluster.yaml" --wait 120s
fi

# Inside a node, localhost is the node itself: map localhost:<port> to the registry container on the kind network.
registry_dir="/etc/containerd/certs.d/localhost:$REGISTRY_PORT"
for node in $(kind get nodes --name "$KIND_CLUSTER"); do
  docker exec "$node" mkdir -p "$registry_dir"
  printf '[host."http://%s:5000"]\n' "$REGISTRY_NAME" | docker exec -i "$node" cp /dev/stdin "$registry_dir/hosts.toml"
done

if [[ "$(docker inspect -f '{{json .NetworkSettings.Networks.kind}}' "$REGISTRY_NAME")" == 'null' ]]; then
  docker network connect kind "$REGISTRY_NAME"
fi

# Tells tools (Tilt among them) where to push: KEP-1755's local-registry-hosting ConfigMap.
kubectl --context "$KIND_CONTEXT" apply --server-side -f - >/dev/null <<YAML
apiVersion: v1
kind: ConfigMap
metadata:
  name: local-registry-hosting
  namespace: kube-public
data:
  localRegistryHosting.v1: |
    host: "localhost:$REGISTRY_PORT"
    help: "https://kind.sigs.k8s.io/docs/user/local-registry/"
YAML

echo "kind cluster $KIND_CLUSTER is up (kubectl context $KIND_CONTEXT), registry localhost:$REGISTRY_PORT" >&2
