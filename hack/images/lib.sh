# Shared by the scripts in hack/images/ (sourced, not run). See docs/development.md, "Images offline".
# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are read by the scripts that source this file
images_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$images_dir/../.." && pwd)
cache=${OBSDEMO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/obsdemo}/images

# The project's six images: the names the charts default to (ghcr.io/obsdemo/<name>:<the chart's appVersion>), the
# Makefile's IMAGE_REGISTRY and VERSION, the Tiltfile's IMAGE_REGISTRY.
IMAGE_REGISTRY=${IMAGE_REGISTRY:-ghcr.io/obsdemo}
VERSION=${VERSION:-$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}/\1/p' "$root/charts/obsdemo-operator/Chart.yaml")}
# The Makefile's IMAGES ("name:Dockerfile ...") is the list; the Makefile passes it as OBSDEMO_IMAGES, and a script
# run on its own asks make for it (or, failing that, takes operator/ and services/*/ with a Dockerfile).
OBSDEMO_IMAGES=${OBSDEMO_IMAGES:-$(make -s --no-print-directory -C "$root" images-spec 2>/dev/null || true)}
if [[ -z $OBSDEMO_IMAGES ]]; then
  for _dockerfile in "$root"/operator/Dockerfile "$root"/services/*/Dockerfile; do
    _dir=$(dirname "${_dockerfile#"$root"/}")
    OBSDEMO_IMAGES+=" $(basename "$_dir"):$_dir/Dockerfile"
  done
  unset _dockerfile _dir
fi
PROJECT_IMAGES=()
declare -A PROJECT_DOCKERFILE=()
for _spec in $OBSDEMO_IMAGES; do
  PROJECT_IMAGES+=("${_spec%%:*}")
  PROJECT_DOCKERFILE[${_spec%%:*}]=${_spec#*:}
done
unset _spec
# Third-party images the charts run, built here from Debian packages and Go modules. They are named
# obsdemo.local/<name>:local (never pushed anywhere); charts/*/ci/offline.yaml point the charts at them. Every image
# built here carries the hash of everything it was built from in the label below.
LOCAL_PREFIX=obsdemo.local
LOCAL_TAG=local
THIRD_PARTY_IMAGES=(postgres nats nats-box prometheus curl otelcol jaeger)
HASH_LABEL=dev.obsdemo.inputs-hash
# The official base images the Dockerfiles start from. Where one can be neither found locally nor pulled, a stand-in
# is built here under the same name, labelled dev.obsdemo.stand-in=true: debian:bookworm-slim from a debootstrap'ed
# rootfs (rootfs.sh), node and golang on top of it (hack/images/node, hack/images/golang).
BASE_REF=debian:bookworm-slim
STANDIN_LABEL=dev.obsdemo.stand-in

log() { echo "images: $*" >&2; }
die() {
  echo "images: $*" >&2
  exit 1
}

# The reference of an image by its short name (operator, catalog, ..., postgres, nats, ...).
image_ref() {
  local name=$1 n
  for n in "${PROJECT_IMAGES[@]}"; do [[ $n == "$name" ]] && { echo "$IMAGE_REGISTRY/$name:$VERSION"; return; }; done
  for n in "${THIRD_PARTY_IMAGES[@]}"; do [[ $n == "$name" ]] && { echo "$LOCAL_PREFIX/$name:$LOCAL_TAG"; return; }; done
  die "unknown image '$name' (known: ${PROJECT_IMAGES[*]} ${THIRD_PARTY_IMAGES[*]})"
}

# Versions of what the third-party images are built from. Where a chart pins the version, it is read from there.
chart_app_version() { sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}/\1/p' "$root/charts/$1/Chart.yaml"; }
NODE_VERSION=$(cat "$root/.node-version")
# golang:<GO_MINOR>-bookworm, a stand-in only where the official image cannot be pulled: the toolchain the Go
# module proxy serves as the module golang.org/toolchain.
GO_VERSION=${IMAGES_GO_VERSION:-1.26.8}
NATS_SERVER_VERSION=v$(chart_app_version nats)
# Prometheus 3.x releases are the Go module's v0.3XX.Y versions (v3.16.0 is v0.316.0).
PROMETHEUS_VERSION=$(chart_app_version prometheus)
PROMETHEUS_MODULE_VERSION=$(awk -F. '{sub(/^v/, "", $1); printf "v0.%d.%s", $1 * 100 + $2, $3}' <<<"$PROMETHEUS_VERSION")
# The nats CLI of the nats chart's `helm test` (natsio/nats-box runs it); github.com/nats-io/natscli.
NATSCLI_VERSION=${IMAGES_NATSCLI_VERSION:-v0.5.1}

# --- the docker CLI -----------------------------------------------------------------------------------------------
# Every build needs BuildKit (RUN --mount=type=secret). `docker buildx build --load` where the buildx plugin exists;
# otherwise a docker CLI older than 23, whose `docker build` is BuildKit with DOCKER_BUILDKIT=1 (Debian's docker.io
# 20.10 is one). A newer CLI without buildx has only the legacy builder, which cannot mount secrets.
# DOCKER_CLI=/path/to/docker picks the CLI.
BUILD=()
pick_builder() {
  ((${#BUILD[@]})) && return 0
  local candidates=() cli major
  if [[ -n ${DOCKER_CLI:-} ]]; then candidates=("$DOCKER_CLI"); else
    mapfile -t candidates < <(type -ap docker; echo /usr/bin/docker; echo /usr/local/bin/docker)
  fi
  for cli in "${candidates[@]}"; do
    [[ -x $cli ]] || continue
    if "$cli" buildx version >/dev/null 2>&1; then
      BUILD=("$cli" buildx build --load)
      return 0
    fi
  done
  for cli in "${candidates[@]}"; do
    [[ -x $cli ]] || continue
    major=$("$cli" version --format '{{.Client.Version}}' 2>/dev/null | cut -d. -f1) || continue
    if [[ $major =~ ^[0-9]+$ ]] && ((major < 23)); then
      BUILD=(env DOCKER_BUILDKIT=1 "$cli" build)
      return 0
    fi
  done
  die "no docker CLI here can run a BuildKit build: install the buildx plugin (docker-buildx-plugin, or Debian's docker-buildx from trixie on) or set DOCKER_CLI to a docker CLI older than 23"
}

# The engine: $DOCKER_HOST, else the one hack/container/dockerd.sh reports running (the project's own daemon).
require_docker() {
  command -v docker >/dev/null 2>&1 || die "docker is not installed (Debian: docker.io)"
  if ! docker info >/dev/null 2>&1 && [[ -z ${DOCKER_HOST:-} ]]; then
    eval "$("$root/hack/container/dockerd.sh" env)"
    export DOCKER_HOST
  fi
  docker info >/dev/null 2>&1 || die "no Docker engine answers (docker info failed); start one: make docker-up"
}

# --- the CA bundle, a build secret --------------------------------------------------------------------------------
# Builds that reach a registry over HTTPS (npm install, go mod download) trust what the host trusts: the host's CA
# bundle (CA_BUNDLE, default $SSL_CERT_FILE or /etc/ssl/certs/ca-certificates.crt) plus EXTRA_CA_FILE (a PEM file, for
# a TLS-intercepting proxy), handed to the build as the BuildKit secret `ca-bundle`. A secret is mounted only while
# a RUN step runs; it is never part of a layer or the build cache.
SECRET_ARGS=()
ca_secret() {
  local bundle=${CA_BUNDLE:-} f
  if [[ -z $bundle ]]; then
    for f in "${SSL_CERT_FILE:-}" /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt; do
      [[ -n $f && -r $f ]] && { bundle=$f; break; }
    done
  fi
  [[ -z $bundle || -r $bundle ]] || die "CA_BUNDLE=$bundle is not readable"
  [[ -z ${EXTRA_CA_FILE:-} || -r $EXTRA_CA_FILE ]] || die "EXTRA_CA_FILE=$EXTRA_CA_FILE is not readable"
  [[ -n $bundle || -n ${EXTRA_CA_FILE:-} ]] || return 0
  mkdir -p "$cache/secrets" && chmod 700 "$cache/secrets"
  CA_SECRET_FILE=$(mktemp "$cache/secrets/ca-bundle.XXXXXX")
  cat ${bundle:+"$bundle"} ${EXTRA_CA_FILE:+"$EXTRA_CA_FILE"} >"$CA_SECRET_FILE"
  SECRET_ARGS=(--secret "id=ca-bundle,src=$CA_SECRET_FILE")
}
ca_secret_cleanup() { [[ -z ${CA_SECRET_FILE:-} ]] || rm -f "$CA_SECRET_FILE"; }

# --- hashes -------------------------------------------------------------------------------------------------------
# The hash of a directory tree: every file's path and content (symlinks followed), in a stable order.
tree_hash() {
  (cd "$1" && find . \( -type f -o -type l \) -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum) | sha256sum | cut -d' ' -f1
}
# The hash of the lines on stdin.
lines_hash() { sha256sum | cut -d' ' -f1; }
# The inputs hash an image was built from (empty when the image is absent or has none).
image_label() { docker image inspect -f "{{index .Config.Labels \"$2\"}}" "$1" 2>/dev/null | sed 's/^<no value>$//'; }
image_label_hash() { image_label "$1" "$HASH_LABEL"; }
image_id() { docker image inspect -f '{{.Id}}' "$1" 2>/dev/null; }
image_size_mb() { docker image inspect -f '{{.Size}}' "$1" | awk '{printf "%.0f", $1 / 1000000}'; }

# docker build with BuildKit, the host's network (the project's own daemon has no bridge), the CA secret and the
# inputs hash as a label; the log goes to $cache/logs/<name>.log and its tail to stderr on failure.
build_image() {
  local name=$1 ref=$2 hash=$3 context=$4 dockerfile=$5
  shift 5
  pick_builder
  mkdir -p "$cache/logs"
  local logfile="$cache/logs/$name.log"
  local no_cache=()
  [[ ${IMAGES_NO_CACHE:-0} != 1 ]] || no_cache=(--no-cache)
  if ! "${BUILD[@]}" --progress plain --network host "${no_cache[@]}" "${SECRET_ARGS[@]}" --label "$HASH_LABEL=$hash" \
    -t "$ref" -f "$dockerfile" "$@" "$context" >"$logfile" 2>&1; then
    tail -n 25 "$logfile" >&2
    die "building $ref failed (whole log: $logfile)"
  fi
}
