#!/usr/bin/env bash
# The stand-in for debian:bookworm-slim where that image can be neither found nor pulled (hack/images/build.sh
# decides): a debootstrap'ed bookworm minbase rootfs, trimmed the way the official slim image is (no docs, man pages
# or translations; apt cleans up after itself; services never start during package installs), imported as
# debian:bookworm-slim with the label dev.obsdemo.stand-in=true.
#
#   hack/images/rootfs.sh          build the rootfs tarball (cached) and import it when the image is missing or stale
#   hack/images/rootfs.sh --key    print the inputs hash the imported image is labelled with
#
# The tarball is kept under ~/.cache/obsdemo/images/rootfs/, keyed by the hash of this script, the suite, the mirror
# and the architecture. Debian's mirror is plain HTTP (signed by the archive keys), so this needs no CA.
# ROOTFS_FORCE=1 rebuilds it. DEBIAN_MIRROR and DEBIAN_SECURITY_MIRROR point at other mirrors.
set -euo pipefail
# shellcheck source=hack/images/lib.sh
source "$(dirname "$0")/lib.sh"

suite=bookworm
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security_mirror=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)
# The script without its comments: a comment edit does not rebuild every image.
key=$({ grep -v '^[[:space:]]*#' "$0" | sha256sum; echo "$suite $mirror $security_mirror $arch"; } | lines_hash)
[[ ${1:-} == --key ]] && { echo "$key"; exit 0; }
dir="$cache/rootfs"
tarball="$dir/$suite-minbase-${key:0:16}.tar"
mkdir -p "$dir"

if [[ ! -f $tarball || ${ROOTFS_FORCE:-0} == 1 ]]; then
  [[ $(id -u) -eq 0 ]] || die "debootstrap needs root (the rootfs $tarball is not built yet)"
  command -v debootstrap >/dev/null || die "debootstrap is not installed: run 'make deps' as root (Debian package debootstrap)"
  tmp=$(mktemp -d "$dir/.tmp.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  log "debootstrap $suite (minbase, $arch) from $mirror into $tmp (log $dir/debootstrap.log)"
  start=$SECONDS
  if ! debootstrap --variant=minbase --arch="$arch" "$suite" "$tmp/root" "$mirror" >"$dir/debootstrap.log" 2>&1; then
    tail -n 15 "$dir/debootstrap.log" >&2
    die "debootstrap failed (log $dir/debootstrap.log)"
  fi
  r=$tmp/root
  # The archive, its updates and the security archive, as the official image lists them.
  rm -f "$r/etc/apt/sources.list"
  cat >"$r/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security_mirror
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  # Packages installed later leave out documentation, man pages and translations (copyright files stay).
  cat >"$r/etc/dpkg/dpkg.cfg.d/obsdemo-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
EOF
  # apt keeps neither downloaded packages nor translations; a container's package install starts no service.
  cat >"$r/etc/apt/apt.conf.d/obsdemo-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Acquire::Languages "none";
EOF
  printf '#!/bin/sh\nexit 101\n' >"$r/usr/sbin/policy-rc.d" && chmod 755 "$r/usr/sbin/policy-rc.d"
  # What debootstrap already installed, trimmed the same way; no package lists, caches, logs or machine identity.
  find "$r/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  find "$r/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$r"/usr/share/man/* "$r"/usr/share/info/* "$r"/usr/share/locale/* "$r"/usr/share/lintian/*
  rm -rf "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/* "$r"/var/cache/debconf/*-old "$r"/var/lib/dpkg/*-old
  find "$r/var/log" -type f -delete
  : >"$r/etc/machine-id"
  rm -f "$r/etc/hostname" "$r/etc/resolv.conf"
  rm -rf "${r:?}"/dev/* "${r:?}"/proc/* "${r:?}"/sys/* "${r:?}"/tmp/* "${r:?}"/run/*
  tar --numeric-owner -C "$r" -cf "$tmp/rootfs.tar" .
  mv "$tmp/rootfs.tar" "$tarball"
  # Older tarballs of this suite are superseded.
  find "$dir" -maxdepth 1 -name "$suite-minbase-*.tar" -not -path "$tarball" -delete
  log "rootfs built in $((SECONDS - start)) s: $tarball ($(du -m "$tarball" | cut -f1) MB)"
fi

require_docker
if [[ -n $(image_id "$BASE_REF") && -z $(image_label "$BASE_REF" "$STANDIN_LABEL") ]]; then
  log "$BASE_REF is the official image here: not replacing it with the stand-in"
  exit 0
fi
if [[ $(image_label_hash "$BASE_REF") == "$key" && ${ROOTFS_FORCE:-0} != 1 ]]; then
  exit 0
fi
docker import \
  --change "LABEL $STANDIN_LABEL=true" \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["bash"]' \
  --change "LABEL $HASH_LABEL=$key" \
  --change "LABEL org.opencontainers.image.description=\"Debian $suite minbase (debootstrap), built by hack/images/rootfs.sh\"" \
  "$tarball" "$BASE_REF" >/dev/null
log "imported $BASE_REF ($(image_size_mb "$BASE_REF") MB)"
