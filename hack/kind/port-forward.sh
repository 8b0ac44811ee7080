#!/usr/bin/env bash
# Forwards a local port to a Service and starts the forward again whenever it ends: kubectl port-forward binds to one
# pod and exits when that pod goes away, and the operator creates the Services only after the demo is applied.
# KUBECTL_CONTEXT, when set, selects the kubeconfig context.
# Usage: hack/kind/port-forward.sh NAMESPACE SERVICE LOCAL_PORT:REMOTE_PORT
set -uo pipefail
[[ $# -eq 3 ]] || { echo "usage: hack/kind/port-forward.sh NAMESPACE SERVICE LOCAL_PORT:REMOTE_PORT" >&2; exit 2; }
namespace=$1 service=$2 ports=$3
child=
# Children run in the background so a signal is handled at once, and end with this script.
trap '[[ -n $child ]] && kill "$child" 2>/dev/null; exit 0' INT TERM
while true; do
  kubectl ${KUBECTL_CONTEXT:+--context "$KUBECTL_CONTEXT"} port-forward --address 127.0.0.1 -n "$namespace" \
    "svc/$service" "$ports" &
  child=$!
  wait "$child"
  echo "port-forward svc/$service $ports ended; starting it again in 2 s" >&2
  sleep 2 &
  child=$!
  wait "$child"
done
