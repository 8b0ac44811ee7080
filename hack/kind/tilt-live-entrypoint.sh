#!/bin/sh
# Entrypoint of the images the Tiltfile builds (only there): runs one workspace's compiled code from a writable copy
# under /tmp with `node --watch`, so Tilt's live_update can replace files in a container whose root filesystem is
# read-only and owned by root (the charts' security context), and the process restarts when they change.
# Usage: tilt-live-entrypoint.sh WORKSPACE (e.g. services/catalog or operator)
set -eu
ws=${1:?usage: tilt-live-entrypoint.sh WORKSPACE}
# The two directories are settable only so a test can run this script outside a container.
src=${OBSDEMO_APP_DIR:-/app}
dst=${OBSDEMO_LIVE_DIR:-/tmp/app}

# Copies workspace directory $1 (relative to /app), linking rather than copying its own node_modules: third-party
# packages stay in the image, since the /tmp volume is small.
copy_workspace() {
  mkdir -p "$dst/$1"
  for entry in "$src/$1"/*; do
    if [ "${entry##*/}" = node_modules ]; then ln -s "$entry" "$dst/$1/node_modules"; else cp -R "$entry" "$dst/$1/"; fi
  done
}

rm -rf "$dst"
mkdir -p "$dst/node_modules"
cp "$src/package.json" "$dst/"
copy_workspace "$ws"
for package in "$src"/packages/*; do
  if [ -d "$package" ]; then copy_workspace "packages/${package##*/}"; fi
done
# The workspace links in node_modules/@obsdemo are relative (../../packages/<name>): copied as links, they point at
# the writable copies. Every other package is linked.
for entry in "$src"/node_modules/*; do
  name=${entry##*/}
  if [ "$name" = "@obsdemo" ]; then
    cp -RP "$entry" "$dst/node_modules/"
  else
    ln -s "$entry" "$dst/node_modules/$name"
  fi
done

cd "$dst/$ws"
exec node --watch --import @obsdemo/telemetry/register dist/main.js
