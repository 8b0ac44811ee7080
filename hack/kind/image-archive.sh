#!/usr/bin/env bash
# Writes a one-layer image archive in `docker save` format (which `docker load`, `kind load image-archive` and
# `ctr images import` read) from a directory, without a container engine or a base image: how the kind node's
# component images (FROM scratch plus a static binary) are made. The archive is reproducible: same files, same
# image ID.
# Usage: hack/kind/image-archive.sh DIR NAME:TAG OUT.tar [ENTRYPOINT_JSON [CMD_JSON [USER [ENV_JSON]]]]
#   e.g. hack/kind/image-archive.sh /tmp/pause registry.k8s.io/pause:3.10.2 pause.tar '["/pause"]' null 65535:65535
set -euo pipefail
KIND_SCRIPT=image-archive.sh
[[ $# -ge 3 ]] || { echo "usage: hack/kind/image-archive.sh DIR NAME:TAG OUT.tar [ENTRYPOINT_JSON [CMD_JSON [USER [ENV_JSON]]]]" >&2; exit 2; }
dir=$1 ref=$2 out=$3 entrypoint=${4:-null} cmd=${5:-null} user=${6:-} env=${7:-'["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]'}
[[ -d $dir ]] || { echo "$KIND_SCRIPT: $dir is not a directory" >&2; exit 1; }
command -v jq >/dev/null || { echo "$KIND_SCRIPT: jq is not installed: run 'make deps' as root" >&2; exit 1; }
case $(uname -m) in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; *) arch=$(uname -m) ;; esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu -C "$dir" -cf "$work/layer.tar" .
layer=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
mkdir "$work/$layer" && mv "$work/layer.tar" "$work/$layer/layer.tar"
jq -cn --arg arch "$arch" --arg layer "sha256:$layer" --arg user "$user" \
  --argjson entrypoint "$entrypoint" --argjson cmd "$cmd" --argjson env "$env" '{
    architecture: $arch, os: "linux", created: "1970-01-01T00:00:00Z",
    config: ({Env: $env, Entrypoint: $entrypoint, Cmd: $cmd} + (if $user == "" then {} else {User: $user} end)),
    rootfs: {type: "layers", diff_ids: [$layer]},
    history: [{created: "1970-01-01T00:00:00Z", created_by: "hack/kind/image-archive.sh"}]
  }' >"$work/config.json"
config=$(sha256sum "$work/config.json" | cut -d' ' -f1)
mv "$work/config.json" "$work/$config.json"
jq -cn --arg config "$config.json" --arg ref "$ref" --arg layer "$layer/layer.tar" \
  '[{Config: $config, RepoTags: [$ref], Layers: [$layer]}]' >"$work/manifest.json"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu -C "$work" \
  -cf "$out.tmp" manifest.json "$config.json" "$layer"
mv "$out.tmp" "$out"
