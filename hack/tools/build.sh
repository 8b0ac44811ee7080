#!/usr/bin/env bash
# Builds one pinned tool from its Go module under hack/tools/<tool>/ into a cache outside the repository, keyed by
# the hash of the module's go.mod, go.sum and tool.env, and links its binaries into bin/. A warm build is a no-op.
# Usage: hack/tools/build.sh TOOL...
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${OBSDEMO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/obsdemo}/tools
mkdir -p "$cache" "$root/bin"

build_one() {
  local tool=$1 dir="$here/$1"
  [[ -f "$dir/tool.env" ]] || { echo "hack/tools/build.sh: unknown tool '$tool' (no $dir/tool.env)" >&2; return 2; }
  local key
  key=$(cat "$dir/go.mod" "$dir/go.sum" "$dir/tool.env" | sha256sum | cut -c1-16)
  local out="$cache/$tool-$key"
  # shellcheck source=/dev/null
  source "$dir/tool.env" # sets BINARIES ("name=package ...") and LDFLAGS; may define post_build and LINKS
  if [[ ! -f "$out/.complete" ]]; then
    echo "building $tool ($key) into $out" >&2
    local tmp="$out.tmp.$$"
    rm -rf "$tmp" && mkdir -p "$tmp"
    local start=$SECONDS spec
    for spec in $BINARIES; do
      (cd "$dir" && CGO_ENABLED=${CGO_ENABLED:-0} go build -trimpath -ldflags "${LDFLAGS:-} -s -w" -o "$tmp/${spec%%=*}" "${spec#*=}")
    done
    if declare -F post_build >/dev/null; then (cd "$dir" && post_build "$tmp"); fi
    echo "$tool built in $((SECONDS - start)) s" >&2
    touch "$tmp/.complete"
    rm -rf "$out" && mv "$tmp" "$out"
  fi
  local name
  for name in $(for spec in $BINARIES; do echo "${spec%%=*}"; done) ${LINKS:-}; do
    ln -sfn "$out/$name" "$root/bin/$name"
  done
  unset BINARIES LDFLAGS LINKS CGO_ENABLED
  unset -f post_build
}

for t in "$@"; do build_one "$t"; done
