#!/usr/bin/env bash
# Runs the images `make images` built the way the charts run them, and the charts' own `helm test` scripts against
# them: every container with the charts' security context (read-only root filesystem, the chart's uid and gid, every
# capability dropped, no privilege escalation, an emptyDir-like tmpfs where the chart mounts one), all of them in one
# private network namespace (loopback only: the charts' ports, nothing exposed on the host, no clash with it).
#
#   hack/images/check.sh
#
# What runs: postgres (the chart's initdb script and args, then its test-sql script), nats (the chart's nats.conf,
# then its JetStream test with nats-box), prometheus (the chart's configuration and rules, then its test with curl),
# the five services with the env the demo-services chart gives them (hosts pointed at 127.0.0.1), its /ready test,
# an order of traffic through the gateway, the trace pipeline services -> otelcol -> jaeger (spans found through
# Jaeger's query API), and the operator (starts; with no Kubernetes API it must say so, not crash on a module).
# The charts are rendered by bin/helm, or by the helm inside the operator image.
set -euo pipefail
# shellcheck source=hack/images/lib.sh
source "$(dirname "$0")/lib.sh"
require_docker
command -v yq >/dev/null || die "yq is not installed (Debian package yq; make deps)"
command -v jq >/dev/null || die "jq is not installed (Debian package jq; make deps)"

for name in "${PROJECT_IMAGES[@]}" "${THIRD_PARTY_IMAGES[@]}"; do
  [[ -n $(image_id "$(image_ref "$name")") ]] || die "$(image_ref "$name") is missing: run make images first"
done
ref() { image_ref "$1"; }

run_id=$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')
prefix=obsdemo-images-check-$run_id
work=$(mktemp -d)
containers=()
cleanup() {
  local c
  for c in "${containers[@]}"; do docker rm -f "$c" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

results=()
failed=0
pass() { results+=("ok    $*"); log "ok: $*"; }
fail() {
  results+=("FAIL  $*")
  failed=1
  log "FAIL: $*"
}

# The charts' container security context, and the network namespace every container joins.
restricted=(--read-only --cap-drop ALL --security-opt no-new-privileges)
pod=$prefix-pod
net=(--network "container:$pod")

# start NAME docker-run-arguments...: a detached container in the pod's network namespace.
start() {
  local name=$prefix-$1
  shift
  containers+=("$name")
  docker run -d --name "$name" "${net[@]}" "${restricted[@]}" "$@" >/dev/null
}
# run-once: a container that must exit 0 (a chart test pod).
run_once() { docker run --rm "${net[@]}" "${restricted[@]}" "$@"; }
# curl from the curl image, as the charts' test pods run it (uid 100, gid 101).
curl_in() { run_once --user 100:101 "$(ref curl)" curl "$@"; }
# wait_http URL SECONDS: until the URL answers 2xx.
wait_http() {
  local url=$1 i
  for ((i = 0; i < $2; i += 2)); do
    curl_in -fsS --max-time 2 -o /dev/null "$url" 2>/dev/null && return 0
    sleep 2
  done
  return 1
}
# Module, permission or read-only errors in a container's log are failures whatever else happened.
clean_log() {
  local name=$prefix-$1
  if docker logs "$name" 2>&1 | grep -E 'ERR_MODULE_NOT_FOUND|Cannot find (module|package)|ERR_REQUIRE_ESM|EACCES|EROFS|[Rr]ead-only file system|[Pp]ermission denied' >"$work/bad" 2>/dev/null; then
    fail "$1: its log has $(head -n 1 "$work/bad" | cut -c1-160)"
    return 1
  fi
}
show_log() { docker logs --tail "${2:-15}" "$prefix-$1" 2>&1 | sed "s/^/    $1| /" >&2; }
running() { [[ $(docker inspect -f '{{.State.Running}}' "$prefix-$1" 2>/dev/null) == true ]]; }

# --- helm -----------------------------------------------------------------------------------------------------------
if [[ -x $root/bin/helm ]]; then
  helm_template() { "$root/bin/helm" template ck "$root/charts/$1" --namespace ck "${@:2}"; }
else
  helm_template() {
    docker run --rm --network none "${restricted[@]}" --user 1000:1000 --tmpfs /tmp -e HOME=/tmp \
      -v "$root/charts:/charts:ro" --entrypoint helm "$(ref operator)" template ck "/charts/$1" --namespace ck "${@:2}"
  }
fi
# The object of a kind (and name suffix) from a render on stdin, as JSON.
object() { yq -c . | jq -c --arg k "$1" --arg n "${2:-}" 'select(.kind == $k and (.metadata.name | endswith($n)))'; }

# --- the offline overlays: every image they make a chart run is one make images builds --------------------------
# charts/<chart>/ci/offline.yaml, rendered (the umbrella with its dependencies packed in a copy of charts/), and
# each componentDefaults entry of the operator's overlay rendered with its chart.
built=$("$images_dir/list.sh")
cp -r "$root/charts" "$work/charts"
if [[ -x $root/bin/helm ]]; then
  helm_in_copy() { "$root/bin/helm" "$@"; }
  copy=$work/charts
else
  helm_in_copy() {
    docker run --rm --network none "${restricted[@]}" --user "$(id -u):$(id -g)" --tmpfs /tmp -e HOME=/tmp \
      -v "$work/charts:/charts" --entrypoint helm "$(ref operator)" "$@"
  }
  copy=/charts
fi
helm_in_copy dependency build "$copy/observability-demo" >/dev/null
images_of() { yq -r '.. | objects | select(has("image")) | .image | strings' | sort -u; }
check_overlay() {
  local what=$1 unknown
  shift
  if ! helm_in_copy template ck "$@" --namespace ck >"$work/render.yaml" 2>"$work/err"; then
    fail "overlay $what: helm template failed: $(head -n 2 "$work/err" | tr '\n' ' ')"
    return
  fi
  unknown=$(images_of <"$work/render.yaml" | grep -vxF "$built" || true)
  if [[ -n $unknown ]]; then fail "overlay $what runs images make images does not build: ${unknown//$'\n'/ }"; else
    pass "overlay $what: $(images_of <"$work/render.yaml" | wc -l) images, all built by make images"
  fi
}
for overlay in "$root"/charts/*/ci/offline.yaml; do
  chart=$(basename "$(dirname "$(dirname "$overlay")")")
  check_overlay "charts/$chart/ci/offline.yaml" "$copy/$chart" -f "$copy/$chart/ci/offline.yaml"
done
for chart in $(yq -r '.componentDefaults // {} | keys[]' "$root/charts/obsdemo-operator/ci/offline.yaml"); do
  # shellcheck disable=SC2016 # a jq program
  yq -y --arg c "$chart" '.componentDefaults[$c]' "$root/charts/obsdemo-operator/ci/offline.yaml" >"$work/charts/defaults-$chart.yaml"
  check_overlay "obsdemo-operator componentDefaults.$chart" "$copy/$chart" -f "$copy/defaults-$chart.yaml"
done

docker run -d --name "$pod" --network none "${restricted[@]}" --entrypoint sleep "$BASE_REF" infinity >/dev/null
containers+=("$pod")

# --- postgres -------------------------------------------------------------------------------------------------------
creds=$work/credentials
mkdir -p "$creds" "$work/initdb"
for key in postgres catalog processor invoices; do
  head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$creds/$key-password"
done
# The chart's Secret volume: mode 0440, group 999 (fsGroup).
chgrp -R 999 "$creds" && chmod 0750 "$creds" && chmod 0440 "$creds"/*
helm_template postgres >"$work/postgres.yaml"
object ConfigMap -initdb <"$work/postgres.yaml" | jq -r '.data["10-create-databases.sh"]' >"$work/initdb/10-create-databases.sh"
chmod 0555 "$work/initdb/10-create-databases.sh"
sts=$(object StatefulSet <"$work/postgres.yaml")
mapfile -t pg_args < <(jq -r '.spec.template.spec.containers[0].args[]' <<<"$sts")
mapfile -t pg_env < <(jq -r '.spec.template.spec.containers[0].env[] | "\(.name)=\(.value)"' <<<"$sts")
start postgres --user 999:999 \
  --tmpfs /var/lib/postgresql/data:uid=999,gid=999,mode=0770 --tmpfs /var/run/postgresql:uid=999,gid=999 \
  --tmpfs /tmp:uid=999,gid=999 -v "$creds:/etc/postgres-credentials:ro" -v "$work/initdb:/docker-entrypoint-initdb.d:ro" \
  "${pg_env[@]/#/--env=}" "$(ref postgres)" "${pg_args[@]}"
ready=0
for _ in $(seq 1 45); do
  docker exec "$prefix-postgres" pg_isready --host=127.0.0.1 --port=5432 --username=postgres --dbname=postgres \
    >/dev/null 2>&1 && { ready=1; break; }
  sleep 2
done
if ((ready)) && clean_log postgres; then
  pass "postgres: initdb with the chart's script and args as uid 999 on a read-only root; pg_isready answers"
  test_pod=$(object Pod -test-sql <"$work/postgres.yaml")
  if run_once --user 999:999 --group-add 999 -v "$creds:/etc/postgres-credentials:ro" \
    -e PGHOST=127.0.0.1 -e PGPORT=5432 -e PGCONNECT_TIMEOUT=10 --entrypoint /bin/bash "$(ref postgres)" \
    -ec "$(jq -r '.spec.containers[0].args[0]' <<<"$test_pod")" >"$work/out" 2>&1; then
    pass "postgres: the chart's test-sql script ($(tr '\n' ';' <"$work/out" | cut -c1-150))"
  else
    fail "postgres: the chart's test-sql script: $(tail -n 3 "$work/out" | tr '\n' ' ')"
  fi
else
  fail "postgres: not ready within 90 s"
  show_log postgres
fi

# --- nats -----------------------------------------------------------------------------------------------------------
mkdir -p "$work/nats"
helm_template nats >"$work/nats.yaml"
object ConfigMap -config <"$work/nats.yaml" | jq -r '.data["nats.conf"]' >"$work/nats/nats.conf"
chmod -R a+rX "$work/nats"
mapfile -t nats_args < <(object StatefulSet <"$work/nats.yaml" | jq -r '.spec.template.spec.containers[0].args[]')
start nats --user 1000:1000 --tmpfs /data:uid=1000,gid=1000 -v "$work/nats:/etc/nats:ro" -e POD_NAME=ck-nats-0 \
  "$(ref nats)" "${nats_args[@]}"
if wait_http 'http://127.0.0.1:8222/healthz?js-enabled-only=true' 40 && clean_log nats; then
  pass "nats: the chart's nats.conf as uid 1000, JetStream healthy"
  script=$(object Pod -test-jetstream <"$work/nats.yaml" | jq -r '.spec.containers[0].args[0]')
  if run_once --user 1000:1000 --tmpfs /tmp:uid=1000,gid=1000 -e NATS_URL=nats://127.0.0.1:4222 -e HOME=/tmp \
    "$(ref nats-box)" /bin/sh -ec "$script" >"$work/out" 2>&1; then
    pass "nats-box: the nats chart's JetStream test (stream, publish, pull consumer)"
  else
    fail "nats-box: the nats chart's JetStream test: $(tail -n 3 "$work/out" | tr '\n' ' ')"
  fi
else
  fail "nats: /healthz?js-enabled-only=true did not answer"
  show_log nats
fi

# --- prometheus -----------------------------------------------------------------------------------------------------
mkdir -p "$work/prometheus"
helm_template prometheus >"$work/prometheus.yaml"
cm=$(object ConfigMap -config <"$work/prometheus.yaml")
for f in prometheus.yml alerts.yml; do jq -r --arg f "$f" '.data[$f]' <<<"$cm" >"$work/prometheus/$f"; done
chmod -R a+rX "$work/prometheus"
mapfile -t prom_args < <(object StatefulSet <"$work/prometheus.yaml" | jq -r '.spec.template.spec.containers[0].args[]')
start prometheus --user 65534:65534 --tmpfs /prometheus:uid=65534,gid=65534 -v "$work/prometheus:/etc/prometheus:ro" \
  "$(ref prometheus)" "${prom_args[@]}"
if wait_http http://127.0.0.1:9090/-/ready 40 && clean_log prometheus; then
  pass "prometheus: the chart's flags, configuration and rules as nobody"
  # The chart's test runs after `helm install --wait`, by when Prometheus has scraped itself: wait for that here too.
  for _ in $(seq 1 20); do
    curl_in -fsS 'http://127.0.0.1:9090/api/v1/query?query=up%7Bjob%3D%22prometheus%22%7D' 2>/dev/null |
      grep -q '"result":\[{' && break
    sleep 2
  done
  script=$(object Pod -test-ready <"$work/prometheus.yaml" | jq -r '.spec.containers[0].args[0]' |
    sed 's#^base=http://[^:]*:#base=http://127.0.0.1:#')
  if run_once --user 100:101 "$(ref curl)" /bin/sh -ec "$script" >"$work/out" 2>&1; then
    pass "curl: the prometheus chart's test (ready, rules loaded, a query returns samples)"
  else
    fail "curl: the prometheus chart's test: $(tail -n 3 "$work/out" | tr '\n' ' ')"
  fi
else
  fail "prometheus: /-/ready did not answer"
  show_log prometheus
fi

# --- trace pipeline: otelcol (OTLP on 14317/14318) -> jaeger (OTLP on 4317, query on 16686) -------------------------
# Jaeger's all-in-one configuration takes 4317/4318, 8888 and 13133, so the Collector moves to other ports here.
mkdir -p "$work/otelcol"
cat >"$work/otelcol/config.yaml" <<'EOF'
extensions:
  health_check:
    endpoint: 127.0.0.1:23133
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:14317
      http:
        endpoint: 127.0.0.1:14318
processors:
  batch:
    timeout: 1s
exporters:
  otlp:
    endpoint: 127.0.0.1:4317
    tls:
      insecure: true
  debug:
    verbosity: basic
service:
  telemetry:
    metrics:
      level: none
  extensions: [health_check]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [otlp, debug]
EOF
chmod -R a+rX "$work/otelcol"
start jaeger --user 10001:10001 --tmpfs /tmp:uid=10001,gid=10001 "$(ref jaeger)"
start otelcol --user 10001:10001 -v "$work/otelcol:/etc/otelcol-contrib:ro" "$(ref otelcol)"
if wait_http http://127.0.0.1:16686/ 40 && clean_log jaeger; then pass "jaeger: all-in-one (memory storage) as uid 10001"; else
  fail "jaeger: the query port 16686 did not answer"
  show_log jaeger
fi
if wait_http http://127.0.0.1:23133/ 40 && clean_log otelcol; then pass "otelcol: /otelcol-contrib with a mounted --config as uid 10001"; else
  fail "otelcol: its health check did not answer"
  show_log otelcol
fi

# --- the services, with the env the demo-services chart gives them --------------------------------------------------
helm_template demo-services --set postgres.host=127.0.0.1 --set nats.url=nats://127.0.0.1:4222 \
  --set tracing.otlpEndpoint=http://127.0.0.1:14318 \
  --set services.gateway.config.CATALOG_URL=http://127.0.0.1:8000 \
  --set services.gateway.config.PROCESSOR_URL=http://127.0.0.1:8001 \
  --set services.gateway.config.INVOICES_URL=http://127.0.0.1:8002 \
  --set services.processor.config.CATALOG_URL=http://127.0.0.1:8000 \
  --set services.loadgen.config.LOADGEN_TARGET_URL=http://127.0.0.1:8080 \
  --set services.loadgen.config.LOADGEN_RPS=2 >"$work/services.yaml"
for svc in catalog processor invoices gateway loadgen; do
  deployment=$(object Deployment "-$svc" <"$work/services.yaml")
  image=$(jq -r '.spec.template.spec.containers[0].image' <<<"$deployment")
  [[ $image == "$(ref "$svc")" ]] || fail "$svc: the chart runs $image, make images built $(ref "$svc")"
  env_args=()
  while IFS=$'\t' read -r key value secret_key; do
    if [[ -n $secret_key ]]; then value=$(cat "$creds/$secret_key"); fi
    env_args+=(--env "$key=$value")
  done < <(jq -r '.spec.template.spec.containers[0].env[] | [.name, (.value // ""), (.valueFrom.secretKeyRef.key // "")] | @tsv' <<<"$deployment")
  start "$svc" --user 1000:1000 --tmpfs /tmp:uid=1000,gid=1000 "${env_args[@]}" "$image"
done
test_pod=$(object Pod -test <"$work/services.yaml")
mapfile -t urls < <(jq -r '.spec.containers[0].args[1:][]' <<<"$test_pod" | sed -E 's#^http://[^:/]+:#http://127.0.0.1:#')
if run_once --user 100:101 "$(ref curl)" /bin/sh -ec "$(jq -r '.spec.containers[0].command[2]' <<<"$test_pod")" ready \
  "${urls[@]}" >"$work/out" 2>&1; then
  pass "services: the demo-services chart's test, /ready of all five (${urls[*]})"
else
  fail "services: the demo-services chart's test: $(tail -n 3 "$work/out" | tr '\n' ' ')"
  for svc in catalog processor invoices gateway loadgen; do show_log "$svc" 8; done
fi
for svc in catalog processor invoices gateway loadgen; do
  if running "$svc" && clean_log "$svc"; then pass "$svc: runs as uid 1000 on a read-only root"; else
    fail "$svc: not running"
    show_log "$svc"
  fi
done
if curl_in -fsS --max-time 5 http://127.0.0.1:8000/health >/dev/null && curl_in -fsS --max-time 5 http://127.0.0.1:8000/ready >/dev/null; then
  pass "catalog: /health and /ready on 127.0.0.1:8000 (Postgres and NATS in containers)"
else fail "catalog: /health or /ready"; fi
if curl_in -fsS --max-time 5 http://127.0.0.1:8080/api/v1/catalog/products >"$work/out"; then
  pass "gateway -> catalog -> postgres: GET /api/v1/catalog/products ($(head -c 80 "$work/out"))"
else fail "gateway: GET /api/v1/catalog/products"; fi

# Spans: loadgen's traffic through the services, the collector, into Jaeger.
found=""
for _ in $(seq 1 20); do
  found=$(curl_in -fsS --max-time 5 http://127.0.0.1:16686/api/services 2>/dev/null | jq -r '.data // [] | sort | join(",")' || true)
  [[ $found == *catalog* && $found == *gateway* ]] && break
  sleep 3
done
if [[ $found == *catalog* && $found == *gateway* ]]; then
  pass "traces: services -> otelcol -> jaeger; Jaeger knows the services $found"
else
  fail "traces: Jaeger's /api/services has '$found' after 60 s"
  show_log otelcol
fi

# --- operator -------------------------------------------------------------------------------------------------------
helm_template obsdemo-operator >"$work/operator.yaml"
deployment=$(object Deployment <"$work/operator.yaml")
env_args=()
while IFS=$'\t' read -r key value; do env_args+=(--env "$key=$value"); done < <(
  jq -r '.spec.template.spec.containers[0].env[] | [.name, (.value // (if .valueFrom.fieldRef then "ck" else "" end))] | @tsv' <<<"$deployment")
image=$(jq -r '.spec.template.spec.containers[0].image' <<<"$deployment")
[[ $image == "$(ref operator)" ]] || fail "operator: the chart runs $image, make images built $(ref operator)"
# shellcheck disable=SC2016 # expanded in the container
if run_once --user 1000:1000 --tmpfs /tmp:uid=1000,gid=1000 "${env_args[@]}" --entrypoint /bin/sh "$image" -ec \
  'helm template ck "$CHARTS_DIR/postgres" >/dev/null && helm template ck "$CHARTS_DIR/demo-services" >/dev/null && helm version --short' \
  >"$work/out" 2>&1; then
  pass "operator: its helm renders its charts as uid 1000 on a read-only root ($(tail -n 1 "$work/out"))"
else
  fail "operator: helm in the image: $(tail -n 2 "$work/out" | tr '\n' ' ')"
fi
# No Kubernetes API here: with a kubeconfig naming an address where nothing listens, the operator must load its
# modules and fail on the connection, saying so.
mkdir -p "$work/kube"
cat >"$work/kube/config" <<'EOF'
apiVersion: v1
kind: Config
clusters: [{name: none, cluster: {server: "https://127.0.0.1:6443", insecure-skip-tls-verify: true}}]
users: [{name: none, user: {token: none}}]
contexts: [{name: none, context: {cluster: none, user: none}}]
current-context: none
EOF
chmod -R a+rX "$work/kube"
start operator --user 1000:1000 --tmpfs /tmp:uid=1000,gid=1000 "${env_args[@]}" -v "$work/kube:/kube:ro" \
  -e KUBECONFIG=/kube/config "$image"
sleep 10
if clean_log operator && docker logs "$prefix-operator" 2>&1 | grep -q 'ECONNREFUSED 127.0.0.1:6443'; then
  pass "operator: starts as uid 1000 and fails on the missing API ($(docker logs "$prefix-operator" 2>&1 | grep -m1 'ECONNREFUSED' | cut -c1-120))"
else
  fail "operator: no clear line about the Kubernetes API"
  show_log operator
fi

printf '%s\n' "${results[@]}" >&2
((failed == 0)) || die "some checks failed"
log "all ${#results[@]} checks passed"
