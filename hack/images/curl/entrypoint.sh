#!/bin/sh
# Entrypoint of obsdemo.local/curl: arguments that are not a command (options, a URL) are passed to curl, as
# `docker run curlimages/curl -fsS URL` does; a command (the charts' `/bin/sh -ec ...`) runs as it is.
set -e
if [ "${1#-}" != "$1" ] || [ -z "$(command -v "$1" || true)" ]; then
  set -- curl "$@"
fi
exec "$@"
