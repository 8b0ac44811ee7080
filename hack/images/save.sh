#!/usr/bin/env bash
# Saves every image `make images` built into one tarball (docker save), to carry them to a machine that cannot build
# or pull them: `docker load -i FILE` there, or `kind load image-archive FILE`.
#
#   hack/images/save.sh FILE
set -euo pipefail
# shellcheck source=hack/images/lib.sh
source "$(dirname "$0")/lib.sh"
out=${1:?usage: hack/images/save.sh FILE}
require_docker
mapfile -t refs < <("$images_dir/list.sh" --present)
((${#refs[@]})) || die "no image to save: run make images first"
mkdir -p "$(dirname "$out")"
docker save -o "$out.tmp" "${refs[@]}"
mv "$out.tmp" "$out"
log "saved ${#refs[@]} images to $out ($(du -m "$out" | cut -f1) MB)"
