#!/usr/bin/env bash
# Builds the Debian root filesystem of the obsdemo kind node image with debootstrap (over the Debian mirror; no
# image registry) and caches it as a tarball under ~/.cache/obsdemo/kind/, keyed by a hash of this script and its
# settings; prints the tarball's path. A warm run only prints it. Needs root (debootstrap, chroot).
#
#   OBSDEMO_DEBIAN_MIRROR           default http://deb.debian.org/debian
#   OBSDEMO_DEBIAN_SECURITY_MIRROR  default http://deb.debian.org/debian-security
set -euo pipefail
KIND_SCRIPT=rootfs.sh
# shellcheck source=hack/kind/lib.sh
source "$(dirname "$0")/lib.sh"

suite=bookworm
mirror=${OBSDEMO_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security_mirror=${OBSDEMO_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
# What kubelet, kubeadm, containerd, kube-proxy's host side and our entrypoint run on the node.
packages=(
  systemd containerd runc containernetworking-plugins
  iptables nftables conntrack iproute2 ethtool kmod procps util-linux mount
  ca-certificates libseccomp2 bash
)

key=$( {
  cat "$0"
  echo "$suite" "$mirror" "$security_mirror" "${packages[*]}"
} | sha256sum | cut -c1-16)
out="$KIND_CACHE/rootfs-$suite-$key.tar"
if [[ -f $out ]]; then
  echo "$out"
  exit 0
fi

[[ $(id -u) -eq 0 ]] || die "building the node's root filesystem needs root (debootstrap, chroot)"
command -v debootstrap >/dev/null || die "debootstrap is not installed: run 'make deps' as root"
mkdir -p "$KIND_CACHE"
work=$(mktemp -d "$KIND_CACHE/rootfs.XXXXXX")
trap 'rm -rf "$work"' EXIT
target=$work/rootfs
start=$SECONDS

# Own mount namespace: whatever debootstrap and apt mount inside the target (proc, sys) cannot leak to the host.
log "debootstrap $suite (minbase + ${#packages[@]} packages) from $mirror"
unshare --mount --propagation private \
  debootstrap --variant=minbase --include="$(IFS=,; echo "${packages[*]}")" "$suite" "$target" "$mirror" \
  >"$work/debootstrap.log" 2>&1 || { tail -n 5 "$work/debootstrap.log" >&2; die "debootstrap failed (log above)"; }

# Security and point-release updates (containerd and runc get fixes there), then apt's caches go.
cat >"$target/etc/apt/sources.list" <<EOF
deb $mirror $suite main
deb $mirror $suite-updates main
deb $security_mirror $suite-security main
EOF
printf '#!/bin/sh\nexit 101\n' >"$target/usr/sbin/policy-rc.d" # no service starts inside the chroot
chmod 755 "$target/usr/sbin/policy-rc.d"
log "apt-get upgrade ($suite-updates, $suite-security)"
unshare --mount --propagation private bash -c '
  set -euo pipefail
  mount -t proc proc "$1/proc"
  chroot "$1" apt-get -qq update
  DEBIAN_FRONTEND=noninteractive chroot "$1" apt-get -qq -y -o Dpkg::Options::=--force-confold upgrade
  chroot "$1" apt-get -qq clean
' upgrade "$target" >"$work/apt.log" 2>&1 || { tail -n 5 "$work/apt.log" >&2; die "apt-get upgrade in the root filesystem failed (log above)"; }
rm -f "$target/usr/sbin/policy-rc.d"

# systemd trimmed for a container (as kind's base image does): no units pulled in by default except the ones the
# node image enables, no udev or getty, journald without /dev/kmsg, no binfmt, /sbin/init.
(
  cd "$target"
  rm -f lib/systemd/system/multi-user.target.wants/* etc/systemd/system/*.wants/* \
    lib/systemd/system/local-fs.target.wants/* lib/systemd/system/sockets.target.wants/*udev* \
    lib/systemd/system/sockets.target.wants/*initctl* lib/systemd/system/basic.target.wants/* \
    lib/systemd/system/sysinit.target.wants/systemd-tmpfiles-setup.service
  ln -sfn /lib/systemd/systemd sbin/init
  ln -sfn /lib/systemd/system/multi-user.target etc/systemd/system/default.target
  for unit in systemd-binfmt.service getty.target console-getty.service systemd-udevd.service \
    systemd-udev-trigger.service systemd-modules-load.service; do
    ln -sfn /dev/null "etc/systemd/system/$unit"
  done
  mkdir -p etc/systemd/journald.conf.d
  printf '[Journal]\nReadKMsg=no\n' >etc/systemd/journald.conf.d/10-container.conf
  # Generated per node by the entrypoint; Docker bind-mounts its own resolv.conf, hostname and hosts.
  : >etc/machine-id
  : >etc/resolv.conf
  rm -rf var/lib/apt/lists/* var/cache/apt/*.bin var/log/*.log tmp/* \
    usr/share/man/* usr/share/info/* usr/share/locale/*
  find usr/share/doc -mindepth 2 ! -name copyright -delete 2>/dev/null || true
)

tar --numeric-owner --xattrs -C "$target" -cf "$work/rootfs.tar" .
mv "$work/rootfs.tar" "$out"
# Root filesystems of earlier recipes go.
find "$KIND_CACHE" -maxdepth 1 -name 'rootfs-*.tar' ! -path "$out" -delete
log "root filesystem built in $((SECONDS - start)) s: $out ($(du -h "$out" | cut -f1))"
echo "$out"
