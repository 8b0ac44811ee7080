#!/usr/bin/env bash
# The kind path of `make demo`: real pods on a kind cluster, offline where no registry answers.
#   1. the cluster (hack/kind/kind-up.sh: the user's Docker, else the project's own daemon; the node image);
#   2. the images (`make images`, cached by content) copied into the node (`make images-kind-load`);
#   3. the CRD and the operator from manifests/install.yaml; offline (the third-party images were built here), the
#      operator gets charts/obsdemo-operator/ci/offline.yaml's componentDefaults, which point every chart at them;
#   4. a sample ObservabilityDemo in namespace `demo` (PodSecurity restricted): manifests/samples/minimal.yaml
#      (Tempo) online, manifests/samples/local.yaml offline (Jaeger; no Loki, no Grafana: they are AGPL, the
#      project builds none of them, so offline there are no images for them);
#   5. waits until the operator reports Ready (every pod Ready for real) and TelemetryVerified (the service-graph
#      edges in Prometheus), then port-forwards to 127.0.0.1 and prints the URLs until Ctrl-C.
# `make demo-down` deletes the cluster (and stops the project's own Docker daemon if it started one).
# Environment: DEMO_SAMPLE=<file> applies another sample; OPERATOR_REPLICAS=2 runs the operator highly available
# (leader election is on in install.yaml); DEMO_NO_WAIT=1 returns after printing instead of keeping the
# port-forwards (for scripts).
set -euo pipefail
KIND_SCRIPT=demo.sh
# shellcheck source=hack/kind/lib.sh
source "$(dirname "$0")/lib.sh"
require_tools kind kubectl helm
ensure_engine
start=$SECONDS
namespace=demo
name=shop
kubeconfig="$KIND_ROOT/.tmp/kind/$KIND_CLUSTER.kubeconfig"
k() { kubectl --kubeconfig "$kubeconfig" "$@"; }

# wait_condition OBJECT CONDITION SECONDS [kubectl args]: kubectl wait, retried, because it fails at once instead of
# waiting while an object is new and has no status.conditions yet.
wait_condition() {
  local object=$1 condition=$2 deadline=$((SECONDS + $3))
  shift 3
  until k wait "$@" --for="condition=$condition" "$object" --timeout=10s >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 2
  done
}

# COMPONENT_DEFAULTS as the operator chart sets it with the offline overlay: one source for both install paths.
offline_component_defaults() {
  helm template obsdemo-operator "$KIND_ROOT/charts/obsdemo-operator" -f "$KIND_ROOT/charts/obsdemo-operator/ci/offline.yaml" \
    --show-only templates/deployment.yaml |
    k create --dry-run=client -f - -o jsonpath='{.spec.template.spec.containers[0].env[?(@.name=="COMPONENT_DEFAULTS")].value}'
}

"$KIND_DIR/kind-up.sh" >/dev/null
log "building the images (cached by content) and loading them into the node"
make -C "$KIND_ROOT" --no-print-directory images
make -C "$KIND_ROOT" --no-print-directory images-kind-load

offline=0
[[ -n $("$KIND_ROOT/hack/images/list.sh" --third-party --present) ]] && offline=1

log "installing the CRD and the operator (manifests/install.yaml)"
# --force-conflicts: a CRD an earlier `helm install` of the operator chart created is taken over, not refused.
k apply --server-side --force-conflicts -f "$KIND_ROOT/crds/" >/dev/null
wait_condition crd/observabilitydemos.obsdemo.dev Established 60 || die "the ObservabilityDemo CRD was not Established within a minute"
# --force-conflicts: a second run takes back what the first changed by hand below (`kubectl scale` owns
# .spec.replicas once OPERATOR_REPLICAS was set), then changes it again.
k apply --server-side --force-conflicts -f "$KIND_ROOT/manifests/install.yaml" >/dev/null
if ((offline)); then
  defaults=$(offline_component_defaults)
  log "offline: the operator points every chart at the images built here (COMPONENT_DEFAULTS)"
  k -n obsdemo-system set env deployment/obsdemo-operator "COMPONENT_DEFAULTS=$defaults" >/dev/null
fi
if [[ -n ${OPERATOR_REPLICAS:-} ]]; then
  k -n obsdemo-system scale deployment/obsdemo-operator "--replicas=$OPERATOR_REPLICAS" >/dev/null
fi
k -n obsdemo-system rollout status deployment/obsdemo-operator --timeout=300s >/dev/null
# `rollout status` returns while the previous ReplicaSet's pods may still be shutting down, one of them holding the
# Lease: it would reconcile the sample with the old environment (offline: upstream images that cannot be pulled, and a
# StatefulSet pod stuck on one is never replaced). Wait until only the current pods are left.
deadline=$((SECONDS + 180))
while [[ -n $(k -n obsdemo-system get pods -l app.kubernetes.io/name=obsdemo-operator \
  -o jsonpath='{.items[?(@.metadata.deletionTimestamp)].metadata.name}') ]]; do
  ((SECONDS < deadline)) || die "the operator's previous pods did not stop within 3 minutes"
  sleep 1
done

k create namespace "$namespace" --dry-run=client -o yaml | k apply -f - >/dev/null
k label --overwrite namespace "$namespace" pod-security.kubernetes.io/enforce=restricted >/dev/null
if [[ -n ${DEMO_SAMPLE:-} ]]; then
  k apply -n "$namespace" -f "$DEMO_SAMPLE" >/dev/null
elif ((offline)); then
  k apply -n "$namespace" -f "$KIND_ROOT/manifests/samples/local.yaml" >/dev/null
else
  k apply -n "$namespace" -f "$KIND_ROOT/manifests/samples/minimal.yaml" >/dev/null
fi
log "waiting for ObservabilityDemo $namespace/$name to be Ready (every pod Ready)"
wait_condition "observabilitydemo/$name" Ready 900 -n "$namespace" ||
  die "not Ready after 15 minutes: kubectl --kubeconfig $kubeconfig -n $namespace describe od $name"
log "waiting for TelemetryVerified (the service-graph edges in the demo's Prometheus)"
wait_condition "observabilitydemo/$name" TelemetryVerified 600 -n "$namespace" ||
  log "TelemetryVerified is not True yet: kubectl --kubeconfig $kubeconfig -n $namespace get od $name -o yaml"
k -n "$namespace" get "observabilitydemo/$name" -o wide

# Port-forwards to the Services that exist (the backend and Grafana follow the sample).
forwards=(gateway:8080 prometheus:9090)
for optional in jaeger:16686 tempo:3200 grafana:3000; do
  k -n "$namespace" get service "$name-${optional%:*}" >/dev/null 2>&1 && forwards+=("$optional")
done
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
for forward in "${forwards[@]}"; do
  port=${forward#*:}
  KUBECONFIG=$kubeconfig "$KIND_DIR/port-forward.sh" "$namespace" "$name-${forward%:*}" "$port:$port" \
    >"${TMPDIR:-/tmp}/obsdemo-port-forward-${forward%:*}.log" 2>&1 &
  pids+=($!)
done
urls() {
  local forward
  for forward in "${forwards[@]}"; do
    case ${forward%:*} in
      gateway) echo "  gateway     http://127.0.0.1:8080/api/v1/catalog/products" ;;
      prometheus) echo "  prometheus  http://127.0.0.1:9090   (service graph: traces_service_graph_request_total)" ;;
      jaeger) echo "  traces      http://127.0.0.1:16686   (Jaeger UI and API: /api/v3/traces/<trace id>)" ;;
      tempo) echo "  traces      http://127.0.0.1:3200   (Tempo API: /api/traces/<trace id>; search in Grafana)" ;;
      grafana) echo "  grafana     http://127.0.0.1:3000   (admin password: kubectl -n $namespace get secret $name-grafana-admin -o jsonpath='{.data.password}' | base64 -d)" ;;
    esac
  done
}
cat <<TEXT

The demo runs on kind ($((SECONDS - start)) s), namespace $namespace:
  export DOCKER_HOST=$DOCKER_HOST
  export KUBECONFIG=$kubeconfig
$(urls)
$(((offline)) && echo "  offline: Grafana and Tempo have no images here (AGPL; never built), nor the NATS exporter sidecar")
Ctrl-C stops the port-forwards; make demo-down deletes the cluster.
TEXT
[[ ${DEMO_NO_WAIT:-} == 1 ]] && exit 0
wait
