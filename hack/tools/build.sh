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
  # Files under overlay/ (see modfile below) are inputs too.
  key=$(cat "$dir/go.mod" "$dir/go.sum" "$dir/tool.env" $(find "$dir/overlay" -type f 2>/dev/null | sort) |
    sha256sum | cut -c1-16)
  local out="$cache/$tool-$key"
  # shellcheck source=/dev/null
  # sets BINARIES ("name=package ...") and LDFLAGS; may define post_build, LINKS, and modfile (writes a go.mod and
  # go.sum into the directory it is given, for go build -modfile: e.g. a module replaced by a patched copy)
  source "$dir/tool.env"
  if [[ ! -f "$out/.complete" ]]; then
    echo "building $tool ($key) into $out" >&2
    local tmp="$out.tmp.$$"
    rm -rf "$tmp" && mkdir -p "$tmp"
    local start=$SECONDS spec mod_args=()
    if declare -F modfile >/dev/null; then
      (cd "$dir" && modfile "$tmp/mod")
      mod_args=(-modfile "$tmp/mod/go.mod")
    fi
    for spec in $BINARIES; do
      (cd "$dir" && CGO_ENABLED=${CGO_ENABLED:-0} go build -trimpath "${mod_args[@]}" -ldflags "${LDFLAGS:-} -s -w" \
        -o "$tmp/${spec%%=*}" "${spec#*=}")
    done
    rm -rf "$tmp/mod"
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
  unset -f post_build modfile
}

for t in "$@"; do build_one "$t"; done
