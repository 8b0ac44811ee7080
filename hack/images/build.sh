#!/usr/bin/env bash
# Builds the images the product needs, offline where no image registry answers, cached by content.
#
#   hack/images/build.sh            the six project images, and the third-party images when this host is offline
#                                   (a base image could not be pulled) or some of them were built before
#   hack/images/build.sh NAME...    only these (operator, catalog, processor, invoices, gateway, loadgen; postgres,
#                                   nats, nats-box, prometheus, curl, otelcol, jaeger)
#
# Project images come from their own Dockerfiles, with the build context Tilt uses (the workspace, the packages it
# references, the npm manifests and lockfile), tagged $IMAGE_REGISTRY/<name>:$VERSION. The official base images they
# start from (node:24-bookworm-slim, golang:1.26-bookworm) are used when present or pullable; otherwise a stand-in is
# built under the same name (hack/images/node, hack/images/golang, on debian:bookworm-slim, itself a debootstrap
# stand-in from hack/images/rootfs.sh when it cannot be pulled). Third-party images (hack/images/<name>/) are built
# from Debian packages and Go modules and tagged obsdemo.local/<name>:local.
#
# Each image is labelled dev.obsdemo.inputs-hash with the hash of everything it is built from (context files,
# Dockerfile, base image ids, binaries, versions); a build whose hash matches the existing image's is skipped.
#
# Environment: IMAGES_FORCE=1 rebuilds the images asked for even when the hash is unchanged (IMAGES_NO_CACHE=1:
# without BuildKit's layer cache too; a stand-in base is rebuilt only when its own inputs change, or after
# `docker rmi` of it); IMAGES_PULL=0 never tries to pull a base;
# IMAGES_THIRD_PARTY=1|0 builds the third-party images always|never (default: auto, as above); EXTRA_CA_FILE=<pem>
# adds a CA to the bundle the builds trust (CA_BUNDLE replaces the host's); DOCKER_CLI picks the docker CLI.
set -euo pipefail
# shellcheck source=hack/images/lib.sh
source "$(dirname "$0")/lib.sh"

require_docker
pick_builder
mkdir -p "$cache/ctx" "$cache/go" "$cache/logs"
# One build at a time per cache (build contexts and logs live there); a second `make images` waits.
exec 9>"$cache/build.lock"
if ! flock -n 9; then
  log "another hack/images/build.sh is running; waiting for it"
  flock 9
fi
ca_secret
trap ca_secret_cleanup EXIT
trap 'exit 130' INT TERM

OFFLINE=0   # set when an official base image could not be pulled
SUMMARY=()  # "name<TAB>ref<TAB>what<TAB>seconds"

record() { SUMMARY+=("$1"$'\t'"$2"$'\t'"$3"$'\t'"$4"); }

# Copies files into a fresh context directory: the paths given, as far as git does not ignore them (tracked and
# untracked files of this working tree), minus what Tilt's build ignores.
stage_tree() {
  local ctx=$1
  shift
  rm -rf "$ctx" && mkdir -p "$ctx"
  (cd "$root" && git ls-files -z --cached --others --exclude-standard -- "$@") |
    (cd "$root" && while IFS= read -r -d '' f; do if [[ -e $f ]]; then printf '%s\0' "$f"; fi; done) |
    grep -zvE '(^|/)(node_modules|test|coverage)/|\.tsbuildinfo$|(^|/)README\.md$' |
    tar -C "$root" --null -T - -cf - | tar -C "$ctx" -xf -
}

# The workspaces a workspace's tsconfig.json references, transitively (as the Tiltfile computes them).
references() {
  local pending=("$1") found=() ws ref path
  while ((${#pending[@]})); do
    ws=${pending[0]}
    pending=("${pending[@]:1}")
    while IFS= read -r ref; do
      [[ -n $ref ]] || continue
      path=$(realpath -m --relative-to="$root" "$root/$ws/$ref")
      if [[ " ${found[*]} " != *" $path "* ]]; then
        found+=("$path")
        pending+=("$path")
      fi
    done < <(jq -r '.references[]?.path' "$root/$ws/tsconfig.json")
  done
  echo "${found[@]}"
}

# --- base images --------------------------------------------------------------------------------------------------

# The stand-in recipe for an official base image, or nothing when there is none.
standin_recipe() {
  case $1 in
    debian:bookworm-slim) echo rootfs ;;
    node:"${NODE_VERSION%%.*}"-bookworm-slim) echo node ;;
    golang:"$(cut -d. -f1-2 <<<"$GO_VERSION")"-bookworm) echo golang ;;
  esac
}

npm_version() {
  [[ -n ${IMAGES_NPM_VERSION:-} ]] && { echo "$IMAGES_NPM_VERSION"; return; }
  # The npm that this Node.js release bundles: the latest "upgrade npm to X" in the release's own changelog.
  local changelog
  changelog="$("$root/hack/ensure-node.sh")/../CHANGELOG.md"
  grep -m1 -oE 'upgrade npm to [0-9]+\.[0-9]+\.[0-9]+' "$changelog" | awk '{print $4}' ||
    die "cannot tell the npm version of Node.js $NODE_VERSION from $changelog; set IMAGES_NPM_VERSION"
}

standin_hash() {
  local recipe=$1
  case $recipe in
    rootfs) "$images_dir/rootfs.sh" --key ;;
    node) { tree_hash "$images_dir/node"; image_id "$BASE_REF"; echo "node $NODE_VERSION npm $(npm_version)"; } | lines_hash ;;
    golang) { tree_hash "$images_dir/golang"; image_id "$BASE_REF"; echo "go $GO_VERSION"; } | lines_hash ;;
  esac
}

build_standin() {
  local ref=$1 recipe=$2 hash=$3 ctx="$cache/ctx/standin-$2" start=$SECONDS
  case $recipe in
    rootfs)
      "$images_dir/rootfs.sh"
      record "$ref" "$ref" "stand-in built (debootstrap)" $((SECONDS - start))
      return
      ;;
    node)
      local node_dir npm_ver
      node_dir=$(dirname "$("$root/hack/ensure-node.sh")")
      npm_ver=$(npm_version)
      mkdir -p "$cache/npm"
      if [[ ! -f $cache/npm/npm-$npm_ver.tgz ]]; then
        command -v npm >/dev/null || die "npm is needed to fetch npm@$npm_ver from the registry (make deps)"
        (cd "$cache/npm" && npm pack --silent "npm@$npm_ver" >/dev/null) || die "npm pack npm@$npm_ver failed"
      fi
      rm -rf "$ctx" && mkdir -p "$ctx/node" "$ctx/npm"
      cp -a "$images_dir/node/." "$ctx/"
      cp -al "$node_dir/bin" "$node_dir/include" "$node_dir/share" "$ctx/node/"
      tar -C "$ctx/npm" --strip-components=1 -xzf "$cache/npm/npm-$npm_ver.tgz"
      build_image "standin-node" "$ref" "$hash" "$ctx" "$ctx/Dockerfile" \
        --label "$STANDIN_LABEL=true" --build-arg "NODE_VERSION=$NODE_VERSION" --build-arg "NPM_VERSION=$npm_ver"
      ;;
    golang)
      command -v go >/dev/null || die "go is needed to fetch the Go toolchain $GO_VERSION from the module proxy"
      local module dir
      module="golang.org/toolchain@v0.0.1-go$GO_VERSION.linux-$(go env GOARCH)"
      dir=$(cd /tmp && GOFLAGS=-mod=mod go mod download -json "$module" | jq -r '.Dir // empty') ||
        die "go mod download $module failed"
      [[ -d $dir ]] || die "go mod download $module gave no directory"
      rm -rf "$ctx" && mkdir -p "$ctx"
      cp -a "$images_dir/golang/." "$ctx/"
      cp -a "$dir" "$ctx/go"
      # The module cache stores files read-only and without execute bits.
      chmod -R u+w "$ctx/go"
      chmod a+x "$ctx"/go/bin/* "$ctx"/go/pkg/tool/*/*
      build_image "standin-golang" "$ref" "$hash" "$ctx" "$ctx/Dockerfile" \
        --label "$STANDIN_LABEL=true" --build-arg "GO_VERSION=$GO_VERSION"
      ;;
  esac
  rm -rf "$ctx"
  record "$ref" "$ref" "stand-in built" $((SECONDS - start))
}

declare -A BASE_DONE=()
# Makes sure an official base image exists locally: present, pulled, or (where it cannot be pulled) a stand-in.
ensure_base() {
  local ref=$1 recipe hash err
  [[ -n ${BASE_DONE[$ref]:-} ]] && return 0
  recipe=$(standin_recipe "$ref")
  # The stand-ins of node and golang start from debian:bookworm-slim.
  [[ -z $recipe || $recipe == rootfs ]] || ensure_base "$BASE_REF"
  if [[ -n $(image_id "$ref") && -z $(image_label "$ref" "$STANDIN_LABEL") ]]; then
    BASE_DONE[$ref]=1
    return 0
  fi
  if [[ -n $recipe ]]; then
    # IMAGES_FORCE is about the images asked for: a rebuilt stand-in would change the hash of every image on it.
    hash=$(standin_hash "$recipe")
    if [[ $(image_label_hash "$ref") == "$hash" ]]; then
      OFFLINE=1
      BASE_DONE[$ref]=1
      return 0
    fi
  fi
  if [[ ${IMAGES_PULL:-1} != 0 ]]; then
    if err=$(docker pull --quiet "$ref" 2>&1); then
      log "pulled $ref"
      record "$ref" "$ref" "pulled" 0
      BASE_DONE[$ref]=1
      return 0
    fi
    log "cannot pull $ref: $(tail -n 1 <<<"$err" | cut -c1-160)"
  fi
  OFFLINE=1
  [[ -n $recipe ]] || die "$ref is not here, cannot be pulled, and hack/images has no stand-in for it"
  log "building a stand-in for $ref (hack/images/$recipe)"
  build_standin "$ref" "$recipe" "$hash"
  BASE_DONE[$ref]=1
}

# The external images a Dockerfile starts from (FROM lines that do not name an earlier stage).
dockerfile_bases() {
  awk 'toupper($1) == "FROM" {
         ref = $2; if (ref ~ /^--/) ref = $3
         if (!(ref in stages)) print ref
         for (i = 1; i <= NF; i++) if (toupper($i) == "AS") stages[$(i + 1)] = 1
       }' "$1" | sort -u
}

# Builds an image unless its inputs hash is unchanged: build_if_changed NAME REF CONTEXT DOCKERFILE [build args...]
build_if_changed() {
  local name=$1 ref=$2 ctx=$3 dockerfile=$4 start=$SECONDS hash base
  shift 4
  hash=$({
    echo "dockerfile $(sha256sum <"$dockerfile" | cut -d' ' -f1)"
    echo "context $(tree_hash "$ctx")"
    while IFS= read -r base; do echo "base $base $(image_id "$base")"; done < <(dockerfile_bases "$dockerfile")
    printf 'arg %s\n' "$@"
  } | lines_hash)
  if [[ ${IMAGES_FORCE:-0} != 1 && $(image_label_hash "$ref") == "$hash" ]]; then
    record "$name" "$ref" "unchanged (${hash:0:12})" 0
    return 0
  fi
  log "building $ref"
  build_image "$name" "$ref" "$hash" "$ctx" "$dockerfile" "$@"
  record "$name" "$ref" "built (${hash:0:12})" $((SECONDS - start))
}

# --- project images -----------------------------------------------------------------------------------------------

build_project() {
  local name=$1 dockerfile=${PROJECT_DOCKERFILE[$1]} workspace ctx="$cache/ctx/$1" base
  workspace=$(dirname "$dockerfile")
  local paths=(package.json package-lock.json tsconfig.base.json)
  local ws
  for ws in $(jq -r '.workspaces[]' "$root/package.json"); do paths+=("$ws/package.json"); done
  # shellcheck disable=SC2207
  paths+=("$workspace" $(references "$workspace"))
  # The operator image also holds the charts and builds helm from hack/tools/helm (the Tiltfile's `extra`).
  [[ $name == operator ]] && paths+=(charts hack/tools/helm)
  stage_tree "$ctx" "${paths[@]}"
  while IFS= read -r base; do ensure_base "$base"; done < <(dockerfile_bases "$root/$dockerfile")
  build_if_changed "$name" "$(image_ref "$name")" "$ctx" "$root/$dockerfile"
}

# --- third-party images -------------------------------------------------------------------------------------------

# A hard link where the cache and the context share a file system (no copy of 100 MB binaries on every run).
link_or_copy() { ln -f "$(readlink -f "$1")" "$2" 2>/dev/null || cp -L "$1" "$2"; }

# A static Go binary of a module's package at a version, built on this host (its Go caches and CA) into the cache.
go_binary() {
  local pkg=$1 version=$2 name=$3 ldflags=${4:-} dir
  dir="$cache/go/$name-$version"
  if [[ ! -x $dir/$name ]]; then
    command -v go >/dev/null || die "go is needed to build $pkg@$version (Go >= 1.26, see README.md)"
    log "building $pkg@$version with go install"
    local tmp start=$SECONDS
    tmp=$(mktemp -d "$cache/go/.tmp.XXXXXX")
    if ! GOBIN=$tmp CGO_ENABLED=0 GOFLAGS=-buildvcs=false go install -trimpath -ldflags "-s -w $ldflags" \
      "$pkg@$version" >"$cache/logs/go-$name.log" 2>&1; then
      tail -n 15 "$cache/logs/go-$name.log" >&2
      rm -rf "$tmp"
      die "go install $pkg@$version failed (log $cache/logs/go-$name.log)"
    fi
    rm -rf "$dir" && mv "$tmp" "$dir"
    log "built $name $version in $((SECONDS - start)) s"
  fi
  echo "$dir/$name"
}

build_third_party() {
  local name=$1 ctx="$cache/ctx/$1"
  rm -rf "$ctx" && mkdir -p "$ctx"
  cp -a "$images_dir/$name/." "$ctx/"
  case $name in
    nats) link_or_copy "$(go_binary github.com/nats-io/nats-server/v2 "$NATS_SERVER_VERSION" nats-server)" "$ctx/nats-server" ;;
    nats-box) link_or_copy "$(go_binary github.com/nats-io/natscli/nats "$NATSCLI_VERSION" nats "-X main.version=$NATSCLI_VERSION")" "$ctx/nats" ;;
    prometheus)
      local stamp=github.com/prometheus/common/version
      local ldflags="-X $stamp.Version=${PROMETHEUS_VERSION#v} -X $stamp.Revision=$PROMETHEUS_MODULE_VERSION -X $stamp.Branch=HEAD"
      link_or_copy "$(go_binary github.com/prometheus/prometheus/cmd/prometheus "$PROMETHEUS_MODULE_VERSION" prometheus "$ldflags")" "$ctx/prometheus"
      link_or_copy "$(go_binary github.com/prometheus/prometheus/cmd/promtool "$PROMETHEUS_MODULE_VERSION" promtool "$ldflags")" "$ctx/promtool"
      ;;
    otelcol | jaeger)
      # bin/otelcol and bin/jaeger: hack/tools/otelcol (cached; a warm run only re-links them).
      [[ -x $root/bin/$name ]] || "$root/hack/tools/build.sh" otelcol
      link_or_copy "$root/bin/$name" "$ctx/$name"
      ;;
  esac
  ensure_base "$BASE_REF"
  build_if_changed "$name" "$(image_ref "$name")" "$ctx" "$ctx/Dockerfile" \
    --label "org.opencontainers.image.source=hack/images/$name"
}

# --- main ---------------------------------------------------------------------------------------------------------

# All in one function, read whole before it runs: an edit of this file during a build cannot derail it.
main() {
  local selected explicit name third total_start line ref what secs
  selected=("$@")
  explicit=$((${#selected[@]} > 0))
  ((explicit)) || selected=("${PROJECT_IMAGES[@]}")
  for name in "${selected[@]}"; do image_ref "$name" >/dev/null; done

  total_start=$SECONDS
  for name in "${selected[@]}"; do
    if [[ -n ${PROJECT_DOCKERFILE[$name]:-} ]]; then build_project "$name"; else build_third_party "$name"; fi
  done

  if ((!explicit)); then
    third=${IMAGES_THIRD_PARTY:-auto}
    if [[ $third == auto ]]; then
      third=$OFFLINE
      for name in "${THIRD_PARTY_IMAGES[@]}"; do [[ -n $(image_id "$(image_ref "$name")") ]] && third=1; done
    fi
    if [[ $third == 1 ]]; then
      for name in "${THIRD_PARTY_IMAGES[@]}"; do build_third_party "$name"; done
    else
      log "third-party images skipped: the official base images were found here, so the charts' upstream images should be pullable (IMAGES_THIRD_PARTY=1 builds them anyway)"
    fi
  fi

  printf '%-26s %-44s %8s %7s  %s\n' IMAGE REFERENCE SIZE TIME RESULT >&2
  for line in "${SUMMARY[@]}"; do
    IFS=$'\t' read -r name ref what secs <<<"$line"
    printf '%-26s %-44s %5s MB %5s s  %s\n' "$name" "$ref" "$(image_size_mb "$ref")" "$secs" "$what" >&2
  done
  log "done in $((SECONDS - total_start)) s"
}

main "$@"; exit
