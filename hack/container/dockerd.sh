#!/usr/bin/env bash
# The project's container engine. Uses the Docker the user already has when it answers; otherwise starts a Docker
# daemon of the project's own (own socket, data root and exec root; no default bridge and no iptables changes),
# so that a user's Docker is never reconfigured.
#
#   hack/container/dockerd.sh up     start (or reuse) a usable engine; prints `export DOCKER_HOST=...` on stdout
#   hack/container/dockerd.sh env    prints the DOCKER_HOST line of the engine in use (nothing when none runs)
#   hack/container/dockerd.sh down   stops the project's own daemon if this script started one
#
# On a host whose capability bounding set lacks capabilities (some sandboxes lack CAP_SYS_RESOURCE), privileged
# containers (kind's nodes) fail in runc ("unable to apply caps"); the own daemon then runs every container
# through hack/container/runc-capfilter, which drops the capabilities the host cannot grant. See
# docs/development.md, "Containers on a restricted host".
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${OBSDEMO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/obsdemo}
run_dir=${OBSDEMO_DOCKER_RUN_DIR:-/run/obsdemo-docker}
data_root=${OBSDEMO_DOCKER_DATA_ROOT:-$cache/docker}
socket="$run_dir/docker.sock"
own_host="unix://$socket"

log() { echo "dockerd.sh: $*" >&2; }

usable() { DOCKER_HOST=$1 timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

# The full bounding set of this kernel, and ours: a short set means privileged containers need the filter.
short_bounding_set() {
  local last ours full
  last=$(cat /proc/sys/kernel/cap_last_cap)
  ours=$((16#$(awk '/^CapBnd:/ {print $2}' /proc/self/status)))
  full=$(((1 << (last + 1)) - 1))
  ((ours != full))
}

start_own() {
  [[ $(id -u) -eq 0 ]] || { log "no usable Docker engine, and starting one needs root (run make deps as root)"; exit 1; }
  command -v dockerd >/dev/null || { log "dockerd is not installed: run 'make deps' as root (Debian package docker.io)"; exit 1; }
  mkdir -p "$run_dir" "$data_root"
  local args=(--host "$own_host" --data-root "$data_root" --exec-root "$run_dir/exec" --pidfile "$run_dir/docker.pid"
    --bridge none --iptables=false --ip6tables=false --ip-masq=false --log-level warn)
  if short_bounding_set; then
    log "this host's capability bounding set is short: privileged containers run through hack/container/runc-capfilter"
    args+=(--add-runtime "obsdemo-runc=$here/runc-capfilter" --default-runtime obsdemo-runc)
  fi
  log "starting the project's own Docker daemon on $socket (data root $data_root; log $run_dir/dockerd.log)"
  # setsid: the daemon outlives the make target that started it; `down` stops it.
  setsid dockerd "${args[@]}" >"$run_dir/dockerd.log" 2>&1 </dev/null &
  local i
  for i in $(seq 1 60); do
    usable "$own_host" && return 0
    kill -0 "$!" 2>/dev/null || break
    sleep 1
  done
  log "the daemon did not answer; last lines of $run_dir/dockerd.log:"
  tail -n 5 "$run_dir/dockerd.log" >&2
  exit 1
}

case ${1:-} in
  up)
    if [[ -n ${DOCKER_HOST:-} && $DOCKER_HOST != "$own_host" ]] && usable "$DOCKER_HOST"; then
      echo "export DOCKER_HOST=$DOCKER_HOST"
    elif [[ -z ${DOCKER_HOST:-} ]] && usable "unix:///var/run/docker.sock"; then
      echo "export DOCKER_HOST=unix:///var/run/docker.sock"
    else
      usable "$own_host" || start_own
      echo "export DOCKER_HOST=$own_host"
    fi
    ;;
  env)
    if [[ -n ${DOCKER_HOST:-} ]] && usable "$DOCKER_HOST"; then echo "export DOCKER_HOST=$DOCKER_HOST"
    elif usable "unix:///var/run/docker.sock"; then echo "export DOCKER_HOST=unix:///var/run/docker.sock"
    elif usable "$own_host"; then echo "export DOCKER_HOST=$own_host"
    fi
    ;;
  down)
    if [[ -f $run_dir/docker.pid ]]; then
      pid=$(cat "$run_dir/docker.pid")
      if kill "$pid" 2>/dev/null; then
        for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
        log "stopped the project's own Docker daemon"
      fi
    fi
    ;;
  *) echo "usage: $0 up|env|down" >&2; exit 2 ;;
esac
