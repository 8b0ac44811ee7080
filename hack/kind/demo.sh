#!/usr/bin/env bash
# The Docker path of `make demo`: the kind cluster with its local registry, the images `make images` builds pushed
# there, the CRD and the operator (manifests/install.yaml), the minimal sample in namespace `demo`, and
# port-forwards to the gateway, Grafana, Prometheus and Tempo until Ctrl-C.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=hack/kind/lib.sh
source "$here/lib.sh"
require_docker_and_kind "make demo"
command -v kubectl >/dev/null 2>&1 || { echo "make demo: kubectl is not on PATH (make tools builds bin/kubectl)" >&2; exit 1; }

namespace=demo
name=shop
registry="localhost:$REGISTRY_PORT/obsdemo"
# The tag `make images` uses: the operator chart's appVersion.
version=$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}/\1/p' "$root/charts/obsdemo-operator/Chart.yaml")
kubectl=(kubectl --context "$KIND_CONTEXT")

"$here/kind-up.sh"

# The same Dockerfiles, names and tag as `make images`, under the local registry instead of ghcr.io.
make -C "$root" --no-print-directory images IMAGE_REGISTRY="$registry" VERSION="$version"
for image in operator catalog processor invoices gateway loadgen; do
  docker push --quiet "$registry/$image:$version"
done

"${kubectl[@]}" apply --server-side -f "$root/crds/"
"${kubectl[@]}" wait --for=condition=Established crd/observabilitydemos.obsdemo.dev --timeout=60s
released="image: \"ghcr.io/obsdemo/operator:$version\""
grep -qF "$released" "$root/manifests/install.yaml" || {
  echo "make demo: manifests/install.yaml has no line '$released' to point at the local registry (make manifests?)" >&2
  exit 1
}
sed "s#$released#image: \"$registry/operator:$version\"#" "$root/manifests/install.yaml" |
  "${kubectl[@]}" apply --server-side -f -
"${kubectl[@]}" -n obsdemo-system rollout status deployment/obsdemo-operator --timeout=300s

"${kubectl[@]}" create namespace "$namespace" --dry-run=client -o yaml | "${kubectl[@]}" apply -f -
"${kubectl[@]}" label --overwrite namespace "$namespace" pod-security.kubernetes.io/enforce=restricted
# The minimal sample, with each service's image from the local registry (spec.services.<name>.image).
images=$(for s in catalog processor invoices gateway loadgen; do
  printf '"%s":{"image":{"repository":"%s/%s","tag":"%s"}},' "$s" "$registry" "$s" "$version"
done)
kubectl patch --local -o yaml --type merge -f "$root/manifests/samples/minimal.yaml" \
  -p "{\"spec\":{\"profile\":\"small\",\"services\":{${images%,}}}}" |
  "${kubectl[@]}" apply -n "$namespace" -f -
"${kubectl[@]}" -n "$namespace" wait --for=condition=Ready "observabilitydemo/$name" --timeout=900s
"${kubectl[@]}" -n "$namespace" get "observabilitydemo/$name"

pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
for forward in gateway:8080 grafana:3000 prometheus:9090 tempo:3200; do
  port=${forward#*:}
  KUBECTL_CONTEXT=$KIND_CONTEXT "$here/port-forward.sh" "$namespace" "$name-${forward%:*}" "$port:$port" \
    >"${TMPDIR:-/tmp}/obsdemo-port-forward-${forward%:*}.log" 2>&1 &
  pids+=($!)
done
cat <<TEXT

The demo runs on kind (context $KIND_CONTEXT, namespace $namespace):
  gateway     http://localhost:8080/api/v1/catalog/products
  grafana     http://localhost:3000  (user and password: kubectl -n $namespace get secret $name-grafana-admin -o yaml)
  prometheus  http://localhost:9090
  tempo       http://localhost:3200/ready
Ctrl-C stops the port-forwards; make kind-down deletes the cluster.
TEXT
wait
