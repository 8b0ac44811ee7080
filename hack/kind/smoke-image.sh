#!/usr/bin/env bash
# Builds the test image of hack/kind/cluster-smoke.sh offline and prints its name, obsdemo/kind-smoke:local:
# FROM scratch plus Debian's static busybox (every applet: sh, wget, nslookup, httpd...), an /etc/passwd with
# nobody (65534) for non-root pods, and /tmp. Reproducible, so loading it again changes nothing.
set -euo pipefail
KIND_SCRIPT=smoke-image.sh
# shellcheck source=hack/kind/lib.sh
source "$(dirname "$0")/lib.sh"
image=obsdemo/kind-smoke:local
busybox=${OBSDEMO_BUSYBOX:-/bin/busybox}
[[ -x $busybox && $(LC_ALL=C ldd "$busybox" 2>&1 || true) == *'not a dynamic executable'* ]] ||
  die "$busybox is not a static busybox: run 'make deps' as root (Debian package busybox-static)"
ensure_engine
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root/bin" "$root/etc" "$root/tmp" && chmod 1777 "$root/tmp"
install -m 0755 "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do [[ -e $root/bin/$applet ]] || ln -s busybox "$root/bin/$applet"; done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
"$KIND_DIR/image-archive.sh" "$root" "$image" "$work/image.tar" null '["sh"]' "" '["PATH=/bin"]'
docker load -q -i "$work/image.tar" >/dev/null
echo "$image"
