#!/usr/bin/env bash
# Loads the images `make images` built into the kind cluster's node(s), through hack/kind/load-images.sh (kind load
# docker-image; there is no registry), so pods with imagePullPolicy IfNotPresent run them.
#
#   hack/images/kind-load.sh [REF...]    default: every built image (hack/images/list.sh --present)
#
# KIND_CLUSTER names the cluster (default obsdemo, as in hack/kind).
set -euo pipefail
# shellcheck source=hack/images/lib.sh
source "$(dirname "$0")/lib.sh"
require_docker
refs=("$@")
if ((${#refs[@]} == 0)); then
  mapfile -t refs < <("$images_dir/list.sh" --present)
  ((${#refs[@]})) || die "no image to load: run make images first"
  missing=$(comm -23 <("$images_dir/list.sh" | sort) <(printf '%s\n' "${refs[@]}" | sort))
  [[ -z $missing ]] || log "not built, so not loaded: ${missing//$'\n'/ }"
fi
start=$SECONDS
"$root/hack/kind/load-images.sh" "${refs[@]}"
log "loaded ${#refs[@]} images into the kind cluster ${KIND_CLUSTER:-obsdemo} in $((SECONDS - start)) s"
