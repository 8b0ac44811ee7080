#!/usr/bin/env bash
# `make test-kind`, the kind tier of `make test`: the product's real paths on real pods.
#   1. a kind cluster of its own (KIND_CLUSTER, default obsdemo-test, so a developer's `make kind-up` cluster is
#      left alone), offline, on the user's Docker or the project's own daemon (hack/kind/kind-up.sh);
#   2. the cluster checked from pods (hack/kind/cluster-smoke.sh: DNS, a volume, a Service, a NetworkPolicy);
#   3. the jest `kind` project: the operator installed from manifests/install.yaml with the images `make images`
#      built, a sample ObservabilityDemo reconciled on real pods (operator/test/kind/);
#   4. every chart installed and tested on real pods with chart-testing, and an upgrade of the umbrella chart that
#      keeps its data (hack/kind/chart-install.sh);
#   5. the Tilt loop: `tilt ci` on the Tiltfile, then a TypeScript edit reaching the running pod through live update
#      (hack/kind/tilt-ci.sh; its builds come from the cache step 3's `make images` filled). KIND_TILT=0 skips it.
# It always cleans up, also when a step fails: the cluster's logs go to .tmp/kind-logs (kind export logs), the
# cluster is deleted, and the project's own Docker daemon is stopped if this run started it.
set -euo pipefail
KIND_SCRIPT=test-kind.sh
export KIND_CLUSTER=${KIND_CLUSTER:-obsdemo-test}
# shellcheck source=hack/kind/lib.sh
source "$(dirname "$0")/lib.sh"
require_tools kind kubectl helm
results="$KIND_ROOT/.tmp/test-results"
logs="$KIND_ROOT/.tmp/kind-logs"
mkdir -p "$results"
engine_before=$("$KIND_ROOT/hack/container/dockerd.sh" env)
ensure_engine

cleanup() {
  local status=$?
  if cluster_exists; then
    rm -rf "$logs"
    if kind export logs --name "$KIND_CLUSTER" "$logs" >/dev/null 2>&1; then
      log "the cluster's logs (kubelet, containerd, every pod): $logs"
    fi
    kind delete cluster --name "$KIND_CLUSTER" >/dev/null 2>&1 || log "could not delete kind cluster $KIND_CLUSTER"
  fi
  # Its admin credentials too: a later `make test` scans the tree for secrets (hack/scan-secrets.sh).
  rm -f "$KIND_ROOT/.tmp/kind/$KIND_CLUSTER.kubeconfig"
  [[ -n $engine_before ]] || "$KIND_ROOT/hack/container/dockerd.sh" down
  exit "$status"
}
trap cleanup EXIT

# A cluster left by an interrupted run would carry its state into this one.
if cluster_exists; then
  log "deleting the kind cluster $KIND_CLUSTER left by an earlier run"
  kind delete cluster --name "$KIND_CLUSTER" >/dev/null
fi
start=$SECONDS
"$KIND_DIR/kind-up.sh" >/dev/null
log "cluster up in $((SECONDS - start)) s"

# The cluster check counts as one test per checked property in the tier's summary.
smoke_out=$(mktemp)
smoke_status=0
"$KIND_DIR/cluster-smoke.sh" | tee "$smoke_out" || smoke_status=$?
passed=$(grep -c '^ok ' "$smoke_out" || true)
failed=$((smoke_status == 0 ? 0 : 1))
printf '{"numPassedTests": %d, "numFailedTests": %d}\n' "$passed" "$failed" >"$results/kind-smoke.json"
rm -f "$smoke_out"
((smoke_status == 0)) || die "the cluster check failed: the operator tests would not tell anything"

log "building the images (cached by content) and loading them into the node"
make -C "$KIND_ROOT" --no-print-directory images images-kind-load >/dev/null
log "images loaded at $((SECONDS - start)) s"
# The operator first, on the fresh cluster (its last test deletes its demo), then the charts, each in a namespace of
# its own that is deleted before the step ends: a 2-core machine carries one whole demo at a time, not two. A
# failure in one does not stop the other: both results count, and the tier fails if either does.
operator_status=0
npm run --silent test:kind || operator_status=$?
log "operator tests done at $((SECONDS - start)) s"
# The charts install an operator of their own (and Tilt after them): the one from install.yaml goes first.
kubectl --kubeconfig "$KIND_ROOT/.tmp/kind/$KIND_CLUSTER.kubeconfig" delete -f "$KIND_ROOT/manifests/install.yaml" \
  --ignore-not-found --wait=true --timeout=300s >/dev/null 2>&1 || true
charts_status=0
"$KIND_DIR/chart-install.sh" || charts_status=$?
log "charts on kind done at $((SECONDS - start)) s"
# Then the developer's loop (docs/development.md, "The Tilt loop"); KIND_TILT=0 leaves it out.
tilt_status=0
if [[ ${KIND_TILT:-1} == 0 ]]; then
  log "KIND_TILT=0: the Tilt loop not run"
else
  "$KIND_DIR/tilt-ci.sh" || tilt_status=$?
  log "Tilt loop done at $((SECONDS - start)) s"
fi
log "kind tier done in $((SECONDS - start)) s"
((charts_status == 0 && operator_status == 0 && tilt_status == 0))
