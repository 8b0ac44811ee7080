#!/usr/bin/env bash
# Creates (or reuses) the kind cluster `obsdemo` offline: a container engine (the user's Docker when it answers,
# else the project's own daemon, hack/container/dockerd.sh), the node image (hack/kind/node-image.sh, cached by
# the hash of its inputs), `kind create cluster` with hack/kind/cluster.yaml, a kubeconfig, and how to use it.
# No registry: images go into the node with hack/kind/load-images.sh (`kind load docker-image`).
# OBSDEMO_KIND_NODE_IMAGE=<image> skips the offline build and uses that node image (e.g. kind's published one).
# Idempotent: a running cluster is reused, a stopped one (its engine was stopped) is started again.
set -euo pipefail
KIND_SCRIPT=kind-up.sh
# shellcheck source=hack/kind/lib.sh
source "$(dirname "$0")/lib.sh"
require_tools kind kubectl
ensure_engine
# OBSDEMO_KIND_NODE_IMAGE: a node image to use instead (kind's published kindest/node where a registry answers).
image=${OBSDEMO_KIND_NODE_IMAGE:-$("$KIND_DIR/node-image.sh")}
kubeconfig="$KIND_ROOT/.tmp/kind/$KIND_CLUSTER.kubeconfig"
start=$SECONDS

if cluster_exists; then
  for node in $(kind get nodes --name "$KIND_CLUSTER"); do
    if [[ $(docker inspect -f '{{.State.Running}}' "$node") != true ]]; then
      log "starting the stopped node $node"
      docker start "$node" >/dev/null
    fi
    running=$(docker inspect -f '{{.Config.Image}}' "$node")
    [[ $running == "$image" ]] || log "note: $node runs $running; the current inputs build $image (make kind-down kind-up to switch)"
  done
  log "kind cluster $KIND_CLUSTER exists; reusing it"
  # The context may be gone from the kubeconfig (another KUBECONFIG, a cleaned-up file): write it again.
  kind export kubeconfig --name "$KIND_CLUSTER" >/dev/null 2>&1
else
  kind create cluster --name "$KIND_CLUSTER" --image "$image" --config "$KIND_DIR/cluster.yaml" --wait 180s
fi
mkdir -p "$(dirname "$kubeconfig")"
kind get kubeconfig --name "$KIND_CLUSTER" >"$kubeconfig"
kubectl=(kubectl --kubeconfig "$kubeconfig")
# A restarted node's API server answers before it has loaded its RBAC roles: wait for /readyz first.
for _ in $(seq 1 90); do
  "${kubectl[@]}" get --raw=/readyz >/dev/null 2>&1 && break
  sleep 2
done
"${kubectl[@]}" wait --for=condition=Ready node --all --timeout=180s >/dev/null ||
  die "the node did not turn Ready; look at: docker exec $KIND_CLUSTER-control-plane journalctl -u kubelet"
"${kubectl[@]}" -n kube-system wait --for=condition=Ready pod -l k8s-app=kube-dns --timeout=180s >/dev/null ||
  die "CoreDNS did not become available; look at: kubectl --kubeconfig $kubeconfig -n kube-system get pods"
log "kind cluster $KIND_CLUSTER is ready ($((SECONDS - start)) s; node image $image)"

own=""
[[ $DOCKER_HOST == unix:///run/obsdemo-docker/* ]] && own="   # the project's own Docker daemon (make docker-down stops it)"
cat <<TEXT

Kubernetes $KIND_K8S_VERSION on kind, one node (context $KIND_CONTEXT, also merged into ${KUBECONFIG:-~/.kube/config}):
  export DOCKER_HOST=$DOCKER_HOST$own
  export KUBECONFIG=$kubeconfig
  kubectl get nodes
  hack/kind/load-images.sh IMAGE...   # images from the engine into the node (there is no registry)
  make kind-smoke                     # DNS, a volume, a Service and a NetworkPolicy, checked from pods
  make kind-down                      # deletes the cluster
TEXT
