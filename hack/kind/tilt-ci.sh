#!/usr/bin/env bash
# The developer's loop on kind, a step of `make test-kind` (after the charts, on the same cluster; KIND_TILT=0 skips
# it there):
#   1. `tilt ci` on the Tiltfile: Tilt builds the operator and service images (each `make images ONLY=<name>`, served
#      by its cache when `make images` already ran, plus the live-update entrypoint layer), installs the CRD, the
#      operator chart and the demo, waits until every resource is ready and runs the smoke resource;
#   2. `tilt up` (headless) on the same Tiltfile, and one TypeScript edit: the gateway's /info gains a field, the
#      Tiltfile's `tsc -b --watch` compiles it, live_update copies the output into the running gateway pod, where
#      `node --watch` restarts the process; the field must appear through the gateway's port-forward without the
#      image being rebuilt (the pod is the same one). The edit is undone whatever happens.
# Then, whatever happened, `tilt up` is stopped and `tilt down` removes what Tilt deployed.
# Offline (the third-party images `make images` built are present) it passes the Tiltfile's --offline.
# Writes .tmp/test-results/kind-tilt.json (tilt ci, live update); Tilt's logs go to .tmp/tilt/.
# Environment: TILT_SKIP_CI=1 skips step 1; TILT_CI_TIMEOUT (default 20m) bounds it; TILT_PORT (default 10351).
set -euo pipefail
KIND_SCRIPT=tilt-ci.sh
# shellcheck source=hack/kind/lib.sh
source "$(dirname "$0")/lib.sh"
require_tools tilt kubectl helm kind curl jq
ensure_engine
export KUBECONFIG="$KIND_ROOT/.tmp/kind/$KIND_CLUSTER.kubeconfig"
[[ -f $KUBECONFIG ]] || die "no kubeconfig at $KUBECONFIG: bring the cluster up first (hack/kind/kind-up.sh)"
results="$KIND_ROOT/.tmp/test-results"
logs="$KIND_ROOT/.tmp/tilt"
mkdir -p "$results" "$logs"
cd "$KIND_ROOT"

args=()
[[ -n $("$KIND_ROOT/hack/images/list.sh" --third-party --present) ]] && args=(-- --offline)
# Tilt's API and file watching are served on its port: away from the default 10350 a developer's `tilt up` may hold.
# (Its browser page is a placeholder in a Tilt built from its module: hack/tools/tilt/tool.env.)
export TILT_PORT=${TILT_PORT:-10351}
tilt() { command tilt "$1" --port "$TILT_PORT" "${@:2}"; }
edited=services/gateway/src/wiring.ts
backup=$(mktemp)
cp "$edited" "$backup"
passed=0
failed=0
tilt_pid=
begin=$SECONDS

cleanup() {
  local status=$?
  cp "$backup" "$edited" && rm -f "$backup"
  [[ -z $tilt_pid ]] || { kill "$tilt_pid" 2>/dev/null; wait "$tilt_pid" 2>/dev/null; } || true
  # What Tilt deployed goes, also after a failure (the cluster may be a developer's); bounded, as Tilt may hang on a
  # cluster that is already gone.
  local down=$SECONDS
  if timeout 300 "$(command -v tilt)" down --delete-namespaces "${args[@]}" >"$logs/tilt-down.log" 2>&1; then
    log "tilt down: what Tilt deployed is deleted ($((SECONDS - down)) s)"
  else
    log "tilt down failed or timed out (log: $logs/tilt-down.log)"
  fi
  printf '{"numPassedTests": %d, "numFailedTests": %d}\n' "$passed" "$failed" >"$results/kind-tilt.json"
  log "done in $((SECONDS - begin)) s ($passed passed, $failed failed)"
  exit "$status"
}
trap cleanup EXIT

# A failure's cause first: Tilt's own lines (its builds, deploys, live updates, errors; not the services' JSON logs
# and port-forward chatter it streams), then, while Tilt runs, its view of the demo and of the gateway's live update.
explain() {
  local file=$1
  echo "----- Tilt's last 40 lines of its own in $file -----" >&2
  grep -vE '│ \{|Handling connection for' "$file" | tail -n 40 >&2 || true
  if [[ -n $tilt_pid ]] && kill -0 "$tilt_pid" 2>/dev/null; then
    echo "----- tilt get uiresource shop (status) -----" >&2
    tilt get uiresource shop -o json 2>/dev/null |
      jq -c '.status | {updateStatus, runtimeStatus, pendingBuildSince, buildHistory: [.buildHistory[]? | {startTime, error}][:3]}' >&2 || true
    echo "----- tilt get liveupdate shop:ghcr.io_obsdemo_gateway (status) -----" >&2
    tilt get liveupdate shop:ghcr.io_obsdemo_gateway -o json 2>/dev/null | jq -c .status >&2 || true
  fi
  echo "-----" >&2
}

start=$SECONDS
if [[ ${TILT_SKIP_CI:-0} == 1 ]]; then
  log "TILT_SKIP_CI=1: tilt ci not run"
elif log "tilt ci ${args[*]} (log: $logs/tilt-ci.log)" &&
  tilt ci --timeout "${TILT_CI_TIMEOUT:-20m}" "${args[@]}" >"$logs/tilt-ci.log" 2>&1; then
  passed=$((passed + 1))
  log "ok   tilt ci: built, deployed, every resource ready and the smoke test passed ($((SECONDS - start)) s)"
else
  failed=$((failed + 1))
  explain "$logs/tilt-ci.log"
  die "tilt ci failed after $((SECONDS - start)) s (whole log: $logs/tilt-ci.log)"
fi

start=$SECONDS
log "tilt up ${args[*]}, then a live update of the gateway (log: $logs/tilt-up.log)"
command tilt up --port "$TILT_PORT" --stream "${args[@]}" >"$logs/tilt-up.log" 2>&1 &
tilt_pid=$!
live_update() {
  # Tilt's own view: the demo's build and rollout done, the port-forward and the compiler running. Then no rollout
  # left in progress (an image Tilt rebuilt at start rolls the gateway), so the pod below is the one to keep.
  local deadline=$((SECONDS + 300))
  until tilt get uiresource shop >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { log "tilt up did not start its API server"; return 1; }
    sleep 2
  done
  tilt wait --for=condition=Ready --timeout=900s uiresource/shop uiresource/gateway uiresource/tsc-watch >/dev/null ||
    { log "the Tilt resources did not become ready under tilt up"; return 1; }
  # Tilt may have put another image tag into the CR than the one running; the operator then rolls the gateway.
  local tag
  tag=$(kubectl -n demo get observabilitydemo shop -o jsonpath='{.spec.services.gateway.image.tag}')
  deadline=$((SECONDS + 300))
  until kubectl -n demo get deployment shop-gateway -o jsonpath='{.spec.template.spec.containers[0].image}' |
    grep -q ":$tag\$"; do
    ((SECONDS < deadline)) || { log "the gateway Deployment never got the image tag $tag Tilt deployed"; return 1; }
    sleep 2
  done
  kubectl -n demo rollout status deployment/shop-gateway --timeout=300s >/dev/null ||
    { log "the gateway's rollout did not finish"; return 1; }
  # Tilt's live update follows the pods it discovers a moment after Kubernetes has them: an edit made before it has
  # attached to the gateway's pod would wait for a pod that never comes.
  local pods attached
  pods=$(kubectl -n demo get pods -l app.kubernetes.io/name=gateway -o json |
    jq -r '[.items[] | select(.metadata.deletionTimestamp == null) | .metadata.name] | sort | join(",")')
  deadline=$((SECONDS + 120))
  until attached=$(tilt get liveupdate shop:ghcr.io_obsdemo_gateway -o json 2>/dev/null |
    jq -r '[.status.containers[]?.podName] | sort | join(",")') && [[ $attached == "$pods" ]]; do
    ((SECONDS < deadline)) ||
      { log "Tilt's live update of the gateway is attached to '$attached', not to the gateway pod(s) $pods"; return 1; }
    sleep 2
  done
  log "the gateway's pod $pods is up, and Tilt's live update follows it ($((SECONDS - start)) s)"
  local before marker
  pod() {
    kubectl -n demo get pods -l app.kubernetes.io/name=gateway -o json |
      jq -r '[.items[] | select(.metadata.deletionTimestamp == null) | .metadata.uid] | join(",")'
  }
  before=$(pod)
  marker="live-update-$RANDOM$RANDOM"
  grep -q "name: 'gateway'," "$backup" || { log "$edited no longer has the line this test edits"; return 1; }
  # Written in place, so no temporary file appears in the watched tree.
  sed "s/name: 'gateway',/name: 'gateway', liveUpdate: '$marker',/" "$backup" >"$edited"
  deadline=$((SECONDS + 300))
  until curl -fsS http://127.0.0.1:8080/info 2>/dev/null | jq -e --arg m "$marker" '.liveUpdate == $m' >/dev/null; do
    ((SECONDS < deadline)) || { log "the edit did not reach the gateway within 5 minutes"; return 1; }
    sleep 2
  done
  [[ $(pod) == "$before" ]] || { log "the gateway pod was replaced ($before -> $(pod)): a rebuild, not a live update"; return 1; }
  log "ok   live update: $edited edited, /info answers liveUpdate=$marker from the same pod ($((SECONDS - start)) s)"
}
if live_update; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
  explain "$logs/tilt-up.log"
  die "the live update failed after $((SECONDS - start)) s (whole log: $logs/tilt-up.log)"
fi
