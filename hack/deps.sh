#!/usr/bin/env bash
# Installs what the tests need from Debian when run as root and something is missing; otherwise prints the exact
# command to run. Idempotent.
set -euo pipefail
# debootstrap and yq: hack/images (the Debian base image where none can be pulled; make images-check).
packages=(postgresql nats-server prometheus openssl ca-certificates git python3-venv jq gcc debootstrap yq
  # Containers and the offline kind cluster (docs/development.md, "Containers and kind offline"): the engine
  # (dockerd, containerd, runc), iptables for Docker's networks, busybox-static for the small images kind's node
  # and smoke test use, python3 for hack/container/runc-capfilter (debootstrap, above, makes the node's rootfs).
  docker.io iptables busybox-static python3)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "deps: Debian packages present (${packages[*]})"
  exit 0
fi
cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
  echo "deps: missing Debian packages: ${missing[*]}. Run as root: $cmd" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts the packaged servers; the tests run their own instances on free ports, so stop the system ones.
# Docker too: it was not there before, and hack/container/dockerd.sh starts the project's own daemon, which also
# works on hosts whose capability bounding set is short.
for svc in postgresql nats-server prometheus docker; do
  command -v service >/dev/null && service "$svc" stop >/dev/null 2>&1 || true
done
