#!/usr/bin/env bash
# The charts on real pods, a step of `make test-kind` (after the cluster check, before the operator tests):
#   1. `ct install` (chart-testing) of every chart whose images exist offline: helm install --wait with the chart's
#      ci/ci-values.yaml (and, for nats, ci/cluster-values.yaml: three servers) and its offline overlay
#      (ci/offline.yaml, the images `make images` built), then `helm test`
#      against the real pods, in a namespace that enforces PodSecurity "restricted". demo-services needs Postgres,
#      NATS and its upstreams, so its own `helm test` runs inside the umbrella's (helm test runs the subcharts'
#      test hooks too). Grafana, Tempo and Loki have no image here (AGPL: never built), so they are not installed; their
#      manifests are applied under "restricted" by `make test-charts` on the local control plane.
#   2. `helm upgrade` of the umbrella release with changed values (every service's log level, a pod annotation on
#      NATS and Postgres): every pod is replaced, and an order placed before the upgrade is still in Postgres, its
#      invoice still there, the ORDERS stream still holds its message, and an order placed after it is invoiced.
# Writes .tmp/test-results/kind-charts.json (one test per chart installed, plus one for the upgrade).
# Environment: KIND_CLUSTER (the cluster; its kubeconfig is .tmp/kind/<cluster>.kubeconfig), CHARTS="a b" to
# install fewer charts.
set -euo pipefail
KIND_SCRIPT=chart-install.sh
# shellcheck source=hack/kind/lib.sh
source "$(dirname "$0")/lib.sh"
require_tools kubectl helm ct curl jq
export KUBECONFIG="$KIND_ROOT/.tmp/kind/$KIND_CLUSTER.kubeconfig"
[[ -f $KUBECONFIG ]] || die "no kubeconfig at $KUBECONFIG: bring the cluster up first (hack/kind/kind-up.sh)"
cache=${OBSDEMO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/obsdemo}
# helm keeps its plugins, repositories and cache under our cache dir, never in the user's helm setup.
export HELM_CACHE_HOME="$cache/helm/cache" HELM_CONFIG_HOME="$cache/helm/config" HELM_DATA_HOME="$cache/helm/data"
CT_CONFIG_DIR="$(cd "$KIND_ROOT/hack/tools/chart-testing" && go list -m -f '{{.Dir}}' github.com/helm/chart-testing/v3)/etc"
export CT_CONFIG_DIR
results="$KIND_ROOT/.tmp/test-results"
mkdir -p "$results"

CHARTS=${CHARTS:-"postgres nats prometheus otel-collector jaeger obsdemo-operator observability-demo"}
NS=charts-on-kind
RELEASE=
passed=0
failed=0
forwards=()
stage=$(mktemp -d)
CRD=observabilitydemos.obsdemo.dev
crd_before=1

cleanup() {
  local status=$?
  for pid in "${forwards[@]}"; do kill "$pid" 2>/dev/null || true; done
  # Waited for, so the next step does not share the node with this one's pods.
  kubectl delete namespace "$NS" --wait=true --timeout=300s >/dev/null 2>&1 || log "namespace $NS not deleted within 5 minutes"
  # helm installs a chart's crds/ but never deletes them: the operator chart's CRD goes, unless it was there before.
  ((crd_before)) || kubectl delete crd "$CRD" --ignore-not-found --timeout=120s >/dev/null 2>&1 || true
  rm -rf "$stage"
  printf '{"numPassedTests": %d, "numFailedTests": %d}\n' "$passed" "$failed" >"$results/kind-charts.json"
  exit "$status"
}
trap cleanup EXIT

kubectl get crd "$CRD" >/dev/null 2>&1 || crd_before=0
kubectl create namespace "$NS" >/dev/null
kubectl label namespace "$NS" pod-security.kubernetes.io/enforce=restricted \
  pod-security.kubernetes.io/warn=restricted >/dev/null

# A copy of charts/ in which ci/ holds only ci-values.yaml: the other ci/*-values.yaml variants (NetworkPolicies,
# an existing Secret, HA) are rendered and applied under "restricted" by `make test-charts`; installing each of them
# on pods too would double this step. The exception is the nats chart's cluster-values.yaml: a 3-server JetStream
# cluster (routes, an R3 stream in its helm test) is something only real pods show. Copied, so `helm dependency
# build` writes nothing into the tree.
cp -r "$KIND_ROOT/charts" "$stage/"
for dir in "$stage"/charts/*/ci; do
  find "$dir" -name '*-values.yaml' ! -name ci-values.yaml ! -path '*/nats/ci/cluster-values.yaml' -delete
done

# ct_install CHART [ct flags...]: install, wait, helm test; counts the result.
ct_install() {
  local chart=$1 start=$SECONDS
  shift
  log "ct install $chart"
  if ct install --charts "$stage/charts/$chart" --namespace "$NS" --release-label app.kubernetes.io/instance \
    --helm-extra-args "--timeout 600s" --helm-extra-set-args "--values=$stage/charts/$chart/ci/offline.yaml" \
    "$@" >"$stage/ct-$chart.log" 2>&1; then
    passed=$((passed + 1))
    log "ok   $chart: installed and its helm test passed on real pods ($((SECONDS - start)) s)"
  else
    failed=$((failed + 1))
    cat "$stage/ct-$chart.log" >&2
    log "FAIL $chart: ct install failed (output above)"
    return 1
  fi
}

status=0
for chart in $CHARTS; do
  [[ $chart == observability-demo ]] && continue
  ct_install "$chart" || status=1
done

# port_forward SERVICE PORT: forwards to a free local port and prints it.
port_forward() {
  local out="$stage/pf-$1" pid port
  kubectl -n "$NS" port-forward --address 127.0.0.1 "svc/$1" ":$2" >"$out" 2>&1 &
  pid=$!
  forwards+=("$pid")
  for _ in $(seq 1 100); do
    port=$(sed -nE 's/^Forwarding from 127\.0\.0\.1:([0-9]+).*/\1/p' "$out" | head -1)
    [[ -n $port ]] && { echo "$port"; return; }
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  cat "$out" >&2
  return 1
}

stop_forwards() {
  for pid in "${forwards[@]}"; do kill "$pid" 2>/dev/null || true; done
  forwards=()
}

# until_ok SECONDS COMMAND...: retries COMMAND every 2 s until it succeeds.
until_ok() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 2
  done
}

place_order() {
  curl -fsS -X POST -H 'content-type: application/json' \
    -d '{"customer":"chart-upgrade","items":[{"productId":1,"quantity":2}]}' \
    "http://127.0.0.1:$gateway/api/v1/catalog/orders" | jq -er .id
}
order_exists() { curl -fsS "http://127.0.0.1:$gateway/api/v1/catalog/orders/$1" | jq -e ".id == $1" >/dev/null; }
invoiced_once() {
  curl -fsS "http://127.0.0.1:$gateway/api/v1/invoices?orderId=$1" | jq -e '.items | length == 1' >/dev/null
}
stream_messages() {
  curl -fsS "http://127.0.0.1:$nats/jsz?streams=true" |
    jq -er '[.account_details[]?.stream_detail[]? | select(.name == "ORDERS") | .state.messages][0] // empty'
}
# The release's pods (not the helm test pods), one name=uid per line; pods already terminating do not count.
pod_uids() {
  kubectl -n "$NS" get pods -l "app.kubernetes.io/instance=$RELEASE" -o json |
    jq -r '.items[] | select(.metadata.deletionTimestamp == null) | "\(.metadata.name)=\(.metadata.uid)"' |
    grep -v -- '-test' | sort
}
forward_all() {
  gateway=$(port_forward "$RELEASE-gateway" 8080)
  nats=$(port_forward "$RELEASE-nats" 8222)
}

# upgrade_keeps_data: the umbrella release ct left installed, upgraded with changed values.
upgrade_keeps_data() {
  local before_order before_messages before_pods after_pods after_order messages kept
  forward_all
  until_ok 120 order_exists_or_place || { log "no order could be placed through the gateway"; return 1; }
  before_order=$order
  until_ok 180 invoiced_once "$before_order" || { log "order $before_order was not invoiced before the upgrade"; return 1; }
  before_messages=$(stream_messages) || { log "no ORDERS stream in NATS"; return 1; }
  before_pods=$(pod_uids)
  stop_forwards
  log "upgrading $RELEASE with changed values (order $before_order, $before_messages messages in ORDERS)"
  helm upgrade "$RELEASE" "$stage/charts/observability-demo" -n "$NS" --wait --timeout 600s --reuse-values \
    --set demo-services.logLevel=debug \
    --set-string 'nats.podAnnotations.obsdemo\.dev/upgraded=true' \
    --set-string 'postgres.podAnnotations.obsdemo\.dev/upgraded=true' >/dev/null
  after_pods=$(pod_uids)
  kept=$(comm -12 <(echo "$before_pods") <(echo "$after_pods"))
  for name in postgres nats catalog invoices gateway; do
    grep -q -- "-$name-" <<<"$before_pods" || { log "no $name pod before the upgrade"; return 1; }
    if grep -q -- "-$name-" <<<"$kept"; then
      log "the $name pod was not replaced by the upgrade"
      return 1
    fi
  done
  forward_all
  until_ok 120 order_exists "$before_order" || { log "order $before_order is gone after the upgrade"; return 1; }
  until_ok 60 invoiced_once "$before_order" || { log "the invoice of order $before_order is gone after the upgrade"; return 1; }
  messages=$(stream_messages) || { log "no ORDERS stream after the upgrade"; return 1; }
  ((messages >= before_messages)) || { log "ORDERS held $before_messages messages, now $messages"; return 1; }
  until_ok 120 order_exists_or_place || { log "no order could be placed after the upgrade"; return 1; }
  after_order=$order
  until_ok 180 invoiced_once "$after_order" || { log "order $after_order, placed after the upgrade, was not invoiced"; return 1; }
  helm test "$RELEASE" -n "$NS" --timeout 300s >/dev/null || { log "helm test failed after the upgrade"; return 1; }
  log "ok   upgrade: every pod replaced; order $before_order, its invoice and $before_messages ORDERS messages kept ($messages now); order $after_order invoiced after it"
}
order_exists_or_place() { order=$(place_order 2>/dev/null); }

if [[ " $CHARTS " == *" observability-demo "* ]]; then
  # Left installed (--skip-clean-up) for the upgrade below.
  if ct_install observability-demo --skip-clean-up; then
    start=$SECONDS
    # ct names the release after the chart with a random suffix.
    RELEASE=$(helm list -n "$NS" -o json | jq -r '.[] | select(.chart | startswith("observability-demo-")) | .name')
    if upgrade_keeps_data; then
      passed=$((passed + 1))
      log "upgrade checked in $((SECONDS - start)) s"
    else
      failed=$((failed + 1))
      status=1
      kubectl -n "$NS" get pods -o wide >&2 || true
    fi
    stop_forwards
  else
    status=1
  fi
  [[ -z $RELEASE ]] || helm uninstall "$RELEASE" -n "$NS" --wait --timeout 300s >/dev/null 2>&1 || true
fi
exit "$status"
