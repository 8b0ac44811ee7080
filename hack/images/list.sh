#!/usr/bin/env bash
# Prints the references of the images `make images` builds, one a line: the project's six
# ($IMAGE_REGISTRY/<name>:$VERSION), then the third-party ones (obsdemo.local/<name>:local).
#
#   hack/images/list.sh [--project|--third-party] [--present]
#
# --present leaves out images the Docker engine does not have (for `kind load docker-image $(...)`).
set -euo pipefail
# shellcheck source=hack/images/lib.sh
source "$(dirname "$0")/lib.sh"

which=all present=0
for arg; do
  case $arg in
    --project) which=project ;;
    --third-party) which=third-party ;;
    --present) present=1 ;;
    *) die "list.sh: unknown argument '$arg' (use --project, --third-party, --present)" ;;
  esac
done
names=()
[[ $which == third-party ]] || names+=("${PROJECT_IMAGES[@]}")
[[ $which == project ]] || names+=("${THIRD_PARTY_IMAGES[@]}")
((present)) && require_docker
for name in "${names[@]}"; do
  ref=$(image_ref "$name")
  if ((present)) && [[ -z $(image_id "$ref") ]]; then continue; fi
  echo "$ref"
done
