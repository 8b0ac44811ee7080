#!/usr/bin/env bash
# The demo answers end to end: the ObservabilityDemo is Ready, and the gateway serves the catalog through its route.
# Usage: hack/kind/smoke.sh NAMESPACE NAME GATEWAY_URL
set -euo pipefail
[[ $# -eq 3 ]] || { echo "usage: hack/kind/smoke.sh NAMESPACE NAME GATEWAY_URL" >&2; exit 2; }
namespace=$1 name=$2 gateway=$3
kubectl wait -n "$namespace" --for=condition=Ready "observabilitydemo/$name" --timeout=600s
# The forward may still be (re)connecting right after the demo turns Ready.
curl -fsS --retry 15 --retry-all-errors --retry-delay 2 "$gateway/api/v1/catalog/products" >/dev/null
kubectl get -n "$namespace" "observabilitydemo/$name"
echo "smoke: $name is Ready and $gateway/api/v1/catalog/products answers"
