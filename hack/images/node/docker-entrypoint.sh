#!/bin/sh
# Entrypoint of the node stand-in image, with the official image's behaviour: arguments that are not a command
# (an option such as --version, a script file, nothing found on PATH) are passed to node.
set -e
if [ "${1#-}" != "$1" ] || [ -z "$(command -v "$1" || true)" ] || { [ -f "$1" ] && ! [ -x "$1" ]; }; then
  set -- node "$@"
fi
exec "$@"
