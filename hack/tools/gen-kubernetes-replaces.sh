#!/usr/bin/env bash
# Regenerates hack/tools/kubernetes/go.mod for one Kubernetes version: k8s.io/kubernetes requires its staging
# modules at v0.0.0 with replaces into ./staging, so a consumer must pin each one to the matching v0.x.y.
# Usage: hack/tools/gen-kubernetes-replaces.sh v1.36.3
set -euo pipefail
version=${1:?usage: $0 vMAJOR.MINOR.PATCH}
staging=v0.${version#v1.}
dir=$(cd "$(dirname "$0")/kubernetes" && pwd)
gomod=$(go mod download -json "k8s.io/kubernetes@${version}" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
{
  echo "// Builds kube-apiserver, kube-controller-manager, kube-scheduler and kubectl of one Kubernetes version."
  echo "// The replace block is generated from k8s.io/kubernetes' own go.mod by ../gen-kubernetes-replaces.sh."
  echo "module obsdemo.dev/hack/tools/kubernetes"
  echo
  echo "go 1.26.0"
  echo
  echo "require k8s.io/kubernetes ${version}"
  echo
  echo "replace ("
  grep -E '^\s+k8s.io/\S+ => ./staging' "$gomod" | awk -v v="$staging" '{print "\t"$1" => "$1" "v}'
  echo ")"
} >"$dir/go.mod"
(cd "$dir" && go mod tidy)
