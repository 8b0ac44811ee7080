#!/usr/bin/env bash
# Tests the Helm charts under charts/. For every chart (or the ones named as arguments):
#   lint      helm lint --strict with the chart defaults, each ci/*-values.yaml and each values-*.yaml preset
#             shipped with the chart, yamllint of the chart's plain YAML files (Chart.yaml, values*.yaml, ci/,
#             tests/), and every value in values.yaml documented by a comment
#   ct        ct lint (chart-testing) with its own yamllint and yamale rules, offline (no maintainer or version
#             increment checks)
#   unittest  the helm-unittest suites in tests/*_test.yaml (a chart without suites fails)
#   schema    each tests/invalid/*.yaml must be rejected by values.schema.json (a chart without one fails)
#   checksum  rendering with tests/checksum-values.yaml changes every checksum/* pod annotation, so a config
#             change rolls the pods (required when the chart renders such annotations)
#   config    the rendered configuration checked by the real program where one is installed here
#             (promtool for Prometheus rules, nats-server -t for the NATS config, Postgres for the init script,
#             otelcol validate and jaeger validate for the Collector's and Jaeger's config with the defaults and each
#             ci/*-values.yaml, and both run as a trace pipeline into Prometheus:
#             charts/otel-collector/tests/check_pipeline.py)
#   cluster   only with --kubeconfig: the chart, rendered with its defaults, each ci/*-values.yaml and each
#             values-*.yaml preset (helm test pods included), server-side applied into a namespace that enforces PodSecurity "restricted"; no
#             warning may name a violation and every Deployment and StatefulSet must get its pods created;
#             charts with a cluster_<chart> function get a real helm install on top (postgres: upgrade keeps
#             the generated passwords)
# Usage: hack/test-charts.sh [--kubeconfig PATH] [CHART...]
# Tools: bin/helm, bin/helm-unittest, bin/ct, bin/otelcol and bin/jaeger (hack/tools/build.sh), promtool,
# prometheus, nats-server and Postgres (hack/deps.sh), yamllint and yamale (installed from PyPI into a virtualenv in
# the cache on first use).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${OBSDEMO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/obsdemo}
export PATH="$root/bin:$PATH"

# helm keeps its plugins, repositories and cache under our cache dir, never in the user's helm setup.
export HELM_CACHE_HOME="$cache/helm/cache" HELM_CONFIG_HOME="$cache/helm/config" HELM_DATA_HOME="$cache/helm/data"
export HELM_PLUGINS="$cache/helm/plugins"

# The steps every chart goes through, in order; each is a function chart_<step> taking the chart directory.
# --kubeconfig appends the cluster step.
steps=(lint ct unittest schema checksum config)

log() { printf '%s\n' "$*" >&2; }
die() { log "test-charts: $*"; exit 2; }

ensure_tools() {
  "$root/hack/tools/build.sh" helm helm-unittest chart-testing otelcol
  command -v helm >/dev/null || die "helm missing: run hack/tools/build.sh helm"
  install_unittest_plugin
  ensure_venv
  # ct reads chart_schema.yaml and lintconf.yaml from the etc/ of its own module, which the build downloaded.
  CT_CONFIG_DIR="$(cd "$root/hack/tools/chart-testing" && go list -m -f '{{.Dir}}' github.com/helm/chart-testing/v3)/etc"
  [[ -f "$CT_CONFIG_DIR/chart_schema.yaml" ]] || die "chart-testing config missing in $CT_CONFIG_DIR"
  export CT_CONFIG_DIR
}

# Pinned Python tools for the YAML checks.
python_tools=(yamllint==1.38.0 yamale==6.1.0)
venv="$cache/charts-venv"
ensure_venv() {
  local want
  want=$(printf '%s\n' "${python_tools[@]}" | sha256sum | cut -c1-16)
  [[ -f "$venv/.stamp" && "$(cat "$venv/.stamp")" == "$want" ]] && return
  log "installing ${python_tools[*]} into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv" || die "python3 -m venv failed: run hack/deps.sh (Debian package python3-venv)"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${python_tools[@]}"
  echo "$want" >"$venv/.stamp"
}

# Long lines only warn: test patterns and descriptions are clearer unbroken.
yamllint_config='{extends: default, rules: {line-length: {max: 120, level: warning}, document-start: disable,
  truthy: {check-keys: false}, comments: {min-spaces-from-content: 1}, braces: {max-spaces-inside: 1},
  brackets: {max-spaces-inside: 1}}}'

# helm-unittest is built from its Go module, so it is installed from a generated plugin directory instead of
# the upstream installer (which downloads a release). Reinstalled whenever the binary changes.
install_unittest_plugin() {
  local bin src stamp
  bin=$(readlink -f "$root/bin/helm-unittest") || die "helm-unittest missing: run hack/tools/build.sh helm-unittest"
  src="$cache/helm/plugin-src/unittest"
  stamp=$(sha256sum "$bin" | cut -c1-16)
  if [[ -f "$src/.stamp" && "$(cat "$src/.stamp")" == "$stamp" ]] &&
    helm plugin list 2>/dev/null | grep -q '^unittest'; then
    return
  fi
  helm plugin uninstall unittest >/dev/null 2>&1 || true
  rm -rf "$src" && mkdir -p "$src" "$HELM_PLUGINS"
  cp "$bin" "$src/untt"
  cat >"$src/plugin.yaml" <<'EOF'
name: unittest
version: 1.1.2
usage: unittest for helm charts
description: Unit test for helm charts in YAML (built locally from github.com/helm-unittest/helm-unittest).
ignoreFlags: false
platformCommand:
  - command: $HELM_PLUGIN_DIR/untt
EOF
  helm plugin install "$src" >/dev/null
  echo "$stamp" >"$src/.stamp"
}

# Every value in values.yaml is documented: each leaf key has a comment directly above it or above one of its
# ancestors (a commented block such as podSecurityContext documents its fields). List entries are covered by
# the list's comment.
check_values_documented() {
  python3 - "$1" <<'PY'
import re, sys
lines = open(sys.argv[1]).read().splitlines()
key_re = re.compile(r'^(\s*)([A-Za-z0-9_.\-/"]+):(.*)$')
stack = []  # (indent, documented)
list_indent = None
missing = []
prev = ''
for n, line in enumerate(lines, 1):
    stripped = line.strip()
    if not stripped:
        continue
    indent = len(line) - len(line.lstrip())
    if stripped.startswith('#'):
        prev = line
        continue
    if list_indent is not None and indent > list_indent:
        prev = line
        continue
    list_indent = None
    if stripped.startswith('- '):
        list_indent = indent
        prev = line
        continue
    m = key_re.match(line)
    if not m:
        prev = line
        continue
    while stack and stack[-1][0] >= indent:
        stack.pop()
    documented = prev.strip().startswith('#') or any(d for _, d in stack)
    value = m.group(3).split(' #')[0].strip()
    # A leaf: a value on the line, or the next meaningful line is not more indented.
    nxt = next((l for l in lines[n:] if l.strip() and not l.strip().startswith('#')), '')
    nxt_indent = len(nxt) - len(nxt.lstrip())
    leaf = value != '' or nxt_indent <= indent or nxt.strip().startswith('- ') and nxt_indent == indent
    if leaf and not documented:
        missing.append(f"{sys.argv[1]}:{n}: {m.group(2)} has no comment")
    stack.append((indent, prev.strip().startswith('#')))
    prev = line
if missing:
    sys.exit("\n".join(missing))
PY
}

# The values files a chart is tested with besides its defaults: ci/*-values.yaml (chart-testing's) and the
# values-*.yaml presets it ships for users (e.g. the umbrella's values-jaeger.yaml).
values_variants() {
  local chart=$1 values
  for values in "$chart"/ci/*-values.yaml "$chart"/values-*.yaml; do
    [[ -e "$values" ]] && echo "$values"
  done
  return 0
}

chart_lint() {
  local chart=$1 values files
  mapfile -t files < <(find "$chart/Chart.yaml" "$chart"/values*.yaml "$chart/ci" "$chart/tests" -name '*.yaml' 2>/dev/null)
  "$venv/bin/yamllint" -d "$yamllint_config" "${files[@]}" || return 1
  check_values_documented "$chart/values.yaml" || return 1
  helm lint --strict "$chart" >/dev/null || { helm lint --strict "$chart"; return 1; }
  for values in $(values_variants "$chart"); do
    [[ -e "$values" ]] || continue
    helm lint --strict "$chart" -f "$values" >/dev/null || { helm lint --strict "$chart" -f "$values"; return 1; }
    log "    lint ok with ${values#"$chart"/}"
  done
}

chart_ct() {
  local chart=$1 out
  # ct finds yamllint and yamale on PATH.
  if ! out=$(PATH="$venv/bin:$PATH" ct lint --charts "$chart" --validate-maintainers=false \
    --check-version-increment=false 2>&1); then
    log "$out"
    return 1
  fi
}

chart_unittest() {
  local chart=$1
  compgen -G "$chart/tests/*_test.yaml" >/dev/null || { log "    no helm-unittest suites in $chart/tests"; return 1; }
  helm unittest --color=false "$chart"
}

# A strict schema is only worth something if it rejects bad input: every file in tests/invalid/ must fail lint
# with a schema error (not some other template failure).
chart_schema() {
  local chart=$1 bad out
  compgen -G "$chart/tests/invalid/*.yaml" >/dev/null || { log "    no invalid values in $chart/tests/invalid"; return 1; }
  for bad in "$chart"/tests/invalid/*.yaml; do
    if out=$(helm lint --strict "$chart" -f "$bad" 2>&1); then
      log "    schema accepted ${bad#"$chart"/}"
      return 1
    fi
    grep -q "values don't meet the specifications of the schema" <<<"$out" || {
      log "    ${bad#"$chart"/} failed, but not on the schema:"
      log "$out"
      return 1
    }
    log "    schema rejects ${bad#"$chart"/}"
  done
}

# Prints "<kind>/<name> <annotation>=<value>" for every checksum/* annotation on a pod template.
checksum_annotations() {
  helm template ct "$@" | python3 -c 'import sys, yaml
for doc in yaml.safe_load_all(sys.stdin):
    annotations = ((((doc or {}).get("spec") or {}).get("template") or {}).get("metadata") or {}).get("annotations") or {}
    for key, value in sorted(annotations.items()):
        if key.startswith("checksum/"):
            print(doc["kind"] + "/" + doc["metadata"]["name"], key + "=" + value)'
}

chart_checksum() {
  local chart=$1 before after
  before=$(checksum_annotations "$chart")
  if [[ -z "$before" ]]; then
    log "    no checksum annotations rendered"
    return
  fi
  [[ -f "$chart/tests/checksum-values.yaml" ]] || { log "    add tests/checksum-values.yaml (a config change)"; return 1; }
  after=$(checksum_annotations "$chart" -f "$chart/tests/checksum-values.yaml")
  # Same objects and annotations, every value different.
  if [[ "$(cut -d= -f1 <<<"$before")" != "$(cut -d= -f1 <<<"$after")" ]] ||
    [[ -n "$(comm -12 <(sort <<<"$before") <(sort <<<"$after"))" ]]; then
    log "    checksums did not all change with tests/checksum-values.yaml:"
    diff <(echo "$before") <(echo "$after") >&2 || true
    return 1
  fi
  log "    $(wc -l <<<"$before") checksum annotation(s) change with the config"
}

# Writes one data key of the ConfigMap that templates/<template> renders to a file; extra args go to helm.
render_config() {
  local chart=$1 template=$2 key=$3 out=$4
  shift 4
  helm template ct "$chart" "$@" --show-only "templates/$template" |
    python3 -c 'import sys, yaml
key = sys.argv[1]
for doc in yaml.safe_load_all(sys.stdin):
    if doc and doc.get("kind") == "ConfigMap" and key in doc.get("data", {}):
        sys.stdout.write(doc["data"][key]); break
else:
    sys.exit("no ConfigMap key " + key)' "$key" >"$out"
}

# Waits (up to 2 minutes) until every Deployment and StatefulSet in the namespace has created all its pods;
# prints the ones that have not.
pods_created() {
  local ns=$1 pending deadline=$((SECONDS + 120))
  while :; do
    pending=$(kubectl --kubeconfig "$kubeconfig" -n "$ns" get deployments,statefulsets -o \
      jsonpath='{range .items[*]}{.kind}/{.metadata.name} {.spec.replicas} {.status.replicas}{"\n"}{end}' |
      awk '$2 != $3 && $2 != ""')
    [[ -z "$pending" ]] && return 0
    ((SECONDS < deadline)) || { echo "$pending (kind/name wanted created)"; return 1; }
    sleep 2
  done
}

kubeconfig=""
# Namespaces of earlier runs may still be terminating: every run uses fresh names.
run_id=$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')
chart_cluster() {
  local chart=$1 name values ns i=0 work rc=0
  name=$(basename "$chart")
  work=$(mktemp -d)
  local label
  for values in "" $(values_variants "$chart"); do
    label=${values:+${values#"$chart"/}}
    label=${label:-defaults}
    ns=$(restricted_namespace "$name-$i")
    i=$((i + 1))
    helm template ct "$chart" --namespace "$ns" ${values:+-f "$values"} >"$work/rendered.yaml"
    if ! kubectl --kubeconfig "$kubeconfig" apply --server-side --field-manager=test-charts -n "$ns" \
      -f "$work/rendered.yaml" >"$work/out" 2>&1; then
      log "    apply failed with $label:"
      cat "$work/out" >&2
      rc=1
    elif grep -q "violate PodSecurity" "$work/out"; then
      log "    PodSecurity restricted violations with $label:"
      grep "violate PodSecurity" "$work/out" >&2
      rc=1
    elif ! pods_created "$ns" >"$work/out"; then
      # Pods that admission refuses never exist; the controller only records events.
      log "    workload pods not created with $label:"
      cat "$work/out" >&2
      kubectl --kubeconfig "$kubeconfig" -n "$ns" get events --field-selector type=Warning >&2 || true
      rc=1
    else
      log "    applied under PodSecurity restricted with $label"
    fi
    kubectl --kubeconfig "$kubeconfig" delete namespace "$ns" --wait=false >/dev/null
  done
  rm -rf "$work"
  if ((rc == 0)) && declare -F "cluster_$name" >/dev/null; then
    "cluster_$name" "$chart" || rc=1
  fi
  return $rc
}

# Creates a namespace that enforces PodSecurity "restricted" and prints its name.
restricted_namespace() {
  local ns
  ns=$(printf 'charts-%s-%s' "$1" "$run_id" | cut -c1-63)
  kubectl --kubeconfig "$kubeconfig" create namespace "$ns" --dry-run=client -o yaml |
    kubectl --kubeconfig "$kubeconfig" label --local -f - -o yaml \
      pod-security.kubernetes.io/enforce=restricted pod-security.kubernetes.io/warn=restricted |
    kubectl --kubeconfig "$kubeconfig" apply --server-side --field-manager=test-charts -f - >/dev/null
  echo "$ns"
}

# A real helm install, upgrade and uninstall: the generated passwords survive the upgrade (lookup), and the
# Secret survives the uninstall (resource-policy keep).
cluster_postgres() {
  local chart=$1 ns before after rc=0
  ns=$(restricted_namespace postgres-upgrade)
  local h=(helm --kubeconfig "$kubeconfig" --namespace "$ns")
  local get=(kubectl --kubeconfig "$kubeconfig" -n "$ns" get secret pg-postgres-credentials -o jsonpath='{.data}')
  "${h[@]}" install pg "$chart" --set persistence.enabled=false >/dev/null
  before=$("${get[@]}")
  "${h[@]}" upgrade pg "$chart" --set persistence.enabled=false --set profile=standard >/dev/null
  after=$("${get[@]}")
  "${h[@]}" uninstall pg >/dev/null
  if [[ -z "$before" || "$before" != "$after" ]]; then
    log "    helm upgrade changed the generated passwords"
    rc=1
  elif [[ "$("${get[@]}")" != "$before" ]]; then
    log "    helm uninstall removed the credentials Secret"
    rc=1
  else
    log "    helm upgrade kept the generated passwords; uninstall kept the Secret"
  fi
  kubectl --kubeconfig "$kubeconfig" delete namespace "$ns" --wait=false >/dev/null
  return $rc
}

# The whole system without the operator: a real helm install of the umbrella must reach `deployed` with every
# Deployment and StatefulSet Ready (kwok plays the kubelets) in a namespace that enforces PodSecurity restricted.
cluster_observability-demo() {
  local chart=$1 ns rc=0 status
  ns=$(restricted_namespace umbrella)
  local h=(helm --kubeconfig "$kubeconfig" --namespace "$ns")
  if ! "${h[@]}" install demo "$chart" -f "$chart/ci/ci-values.yaml" --wait --timeout 180s >/dev/null; then
    log "    helm install of the umbrella did not become ready"
    kubectl --kubeconfig "$kubeconfig" -n "$ns" get deploy,sts,pods >&2 || true
    rc=1
  fi
  status=$("${h[@]}" status demo -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["info"]["status"])')
  if [[ "$status" != deployed ]]; then
    log "    helm status is '$status', not deployed"
    rc=1
  elif ! kubectl --kubeconfig "$kubeconfig" -n "$ns" wait --for=condition=Available deploy --all --timeout=60s >/dev/null ||
    ! kubectl --kubeconfig "$kubeconfig" -n "$ns" get sts -o name |
    xargs -r -n1 kubectl --kubeconfig "$kubeconfig" -n "$ns" rollout status --timeout=60s >/dev/null; then
    log "    not every Deployment and StatefulSet is ready"
    rc=1
  else
    log "    helm install of the umbrella: deployed, $(kubectl --kubeconfig "$kubeconfig" -n "$ns" get deploy,sts --no-headers | wc -l) workloads ready"
  fi
  "${h[@]}" uninstall demo --wait=false >/dev/null 2>&1 || true
  kubectl --kubeconfig "$kubeconfig" delete namespace "$ns" --wait=false >/dev/null
  return $rc
}

chart_config() {
  local chart=$1 name
  name=$(basename "$chart")
  if declare -F "config_$name" >/dev/null; then
    "config_$name" "$chart"
  else
    log "    no program-level config check for $name"
  fi
}

# Every in-cluster URL, DB host and secretKeyRef in the umbrella's render resolves to a Service port or a Secret
# key of the same release (tests/check_wiring.py), so the charts agree on each other's names.
config_observability-demo() {
  local chart=$1 backend
  # With Tempo (the defaults) and with Jaeger (the values-jaeger.yaml preset) as the trace backend.
  for backend in "" "$chart/values-jaeger.yaml"; do
    helm template ct "$chart" --namespace ct ${backend:+-f "$backend"} |
      python3 "$chart/tests/check_wiring.py" --namespace ct || return 1
    # Every NetworkPolicy on: exactly the documented flows between the demo's pods, nothing more, nothing less.
    helm template ct "$chart" --namespace ct -f "$chart/ci/networkpolicy-values.yaml" ${backend:+-f "$backend"} |
      python3 "$chart/tests/check_networkpolicies.py" --namespace ct || return 1
  done
}

# The operator chart installs the CRD from its crds/ folder: it must be the API's source of truth, byte for byte.
config_obsdemo-operator() {
  local chart=$1
  cmp "$root/crds/obsdemo.dev_observabilitydemos.yaml" "$chart/crds/obsdemo.dev_observabilitydemos.yaml" ||
    { log "    charts/obsdemo-operator/crds differs from crds/: copy crds/obsdemo.dev_observabilitydemos.yaml"; return 1; }
  log "    crds/ copy is identical to crds/obsdemo.dev_observabilitydemos.yaml"
}

config_prometheus() {
  local chart=$1 work
  command -v promtool >/dev/null || die "promtool missing: run hack/deps.sh (Debian package prometheus)"
  work=$(mktemp -d)
  render_config "$chart" configmap.yaml alerts.yml "$work/alerts.yml"
  if ! promtool check rules "$work/alerts.yml" >"$work/out" 2>&1; then
    cat "$work/out" >&2
    rm -rf "$work"
    return 1
  fi
  # The rule tests reference alerts.yml next to themselves; they prove each alert fires on the seeded condition
  # and stays quiet below it.
  cp "$chart"/tests/rules/*.yaml "$work/"
  local t rc=0
  for t in "$work"/*_promtest.yaml; do
    promtool test rules "$t" || rc=1
  done
  rm -rf "$work"
  return $rc
}

# `<program> validate` on the config.yaml the chart renders with its defaults and with each ci/*-values.yaml.
validate_collector_config() {
  local chart=$1 program=$2 work values label rc=0
  work=$(mktemp -d)
  for values in "" $(values_variants "$chart"); do
    label=${values:+${values#"$chart"/}}
    label=${label:-defaults}
    render_config "$chart" configmap.yaml config.yaml "$work/config.yaml" ${values:+-f "$values"}
    if "$program" validate --config="$work/config.yaml" >"$work/out" 2>&1; then
      log "    $(basename "$program") validate: ok with $label"
    else
      log "    $(basename "$program") validate rejects the config rendered with $label:"
      cat "$work/out" >&2
      rc=1
    fi
  done
  rm -rf "$work"
  return $rc
}

config_jaeger() {
  [[ -x "$root/bin/jaeger" ]] || die "bin/jaeger missing: run hack/tools/build.sh otelcol"
  validate_collector_config "$1" "$root/bin/jaeger"
}

# The Collector's config is validated like Jaeger's, then run: the Collector and Jaeger on their charts' configs
# (Jaeger with memory and with Badger storage) and a Prometheus with the remote-write receiver, fed one trace of the
# demo's shape; the series must carry Tempo's names and labels (charts/otel-collector/tests/check_pipeline.py).
config_otel-collector() {
  local chart=$1 work storage rc=0
  [[ -x "$root/bin/otelcol" ]] || die "bin/otelcol missing: run hack/tools/build.sh otelcol"
  command -v prometheus >/dev/null || die "prometheus missing: run hack/deps.sh (Debian package prometheus)"
  validate_collector_config "$chart" "$root/bin/otelcol" || return 1
  work=$(mktemp -d)
  # A short flush interval, so the connectors' first series arrive within seconds.
  render_config "$chart" configmap.yaml config.yaml "$work/otelcol.yaml" --set metricsFlushInterval=2s
  for storage in memory badger; do
    render_config "$root/charts/jaeger" configmap.yaml config.yaml "$work/jaeger.yaml" --set storage.type=$storage
    python3 "$chart/tests/check_pipeline.py" --bin "$root/bin" --collector-config "$work/otelcol.yaml" \
      --jaeger-config "$work/jaeger.yaml" >"$work/out" 2>&1 || rc=1
    if ((rc)); then cat "$work/out" >&2; break; fi
    log "    $(tail -1 "$work/out")"
  done
  rm -rf "$work"
  return $rc
}

config_nats() {
  local chart=$1 work rc=0
  command -v nats-server >/dev/null || die "nats-server missing: run hack/deps.sh (Debian package nats-server)"
  work=$(mktemp -d)
  render_config "$chart" configmap.yaml nats.conf "$work/nats.conf"
  POD_NAME=ct-nats-0 nats-server -c "$work/nats.conf" -t >"$work/out" 2>&1 || { cat "$work/out"; rc=1; }
  # The cluster block (routes) exists only with replicas > 1.
  render_config "$chart" configmap.yaml nats.conf "$work/cluster.conf" --set replicas=3
  POD_NAME=ct-nats-0 nats-server -c "$work/cluster.conf" -t >"$work/out" 2>&1 || { cat "$work/out"; rc=1; }
  rm -rf "$work"
  return $rc
}

# Runs the chart's init script against a throwaway local Postgres the way the image's entrypoint does (local
# trust, superuser "postgres"), then switches to password authentication and checks that every user logs in to
# its own database with the password from its Secret key, and is refused by the others.
config_postgres() {
  local chart=$1 bindir work rc=0
  bindir=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -1)
  if [[ ! -x "$bindir/initdb" ]] || ! command -v psql >/dev/null; then
    die "Postgres missing: run hack/deps.sh (Debian package postgresql)"
  fi
  work=$(mktemp -d)
  render_config "$chart" configmap-initdb.yaml 10-create-databases.sh "$work/initdb.sh" \
    --set 'databases[0].name=alpha,databases[0].user=alpha,databases[1].name=beta,databases[1].user=beta_owner'
  mkdir -p "$work/credentials" "$work/sock"
  local user
  for user in alpha beta_owner; do
    head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$work/credentials/$user-password"
  done
  # initdb refuses to run as root; the Debian package's postgres user owns the throwaway cluster then.
  local as=()
  if ((EUID == 0)); then
    chown -R postgres "$work"
    as=(runuser -u postgres --)
  fi
  # set -e is void inside a subshell whose status is tested, so the status is taken afterwards.
  set +e
  (
    set -e
    cd "$work"
    "${as[@]}" "$bindir/initdb" -D "$work/data" -U postgres --auth=trust >/dev/null
    local server_opts="-c listen_addresses='' -k $work/sock"
    "${as[@]}" "$bindir/pg_ctl" -D "$work/data" -w -l "$work/log" -o "$server_opts" start >/dev/null
    trap '"${as[@]}" "$bindir/pg_ctl" -D "$work/data" -m fast -w stop >/dev/null' EXIT
    export PGHOST="$work/sock"
    "${as[@]}" env PGHOST="$PGHOST" POSTGRES_USER=postgres POSTGRES_CREDENTIALS_DIR="$work/credentials" \
      bash "$work/initdb.sh" >"$work/init.out" 2>&1 || { cat "$work/init.out" >&2; exit 1; }
    echo "local all all scram-sha-256" >"$work/data/pg_hba.conf"
    "${as[@]}" "$bindir/pg_ctl" -D "$work/data" -w -l "$work/log" -o "$server_opts" restart >/dev/null
    login() { PGPASSWORD=$2 psql -X -At -U "$1" -d "$3" -c 'SELECT current_database() || chr(47) || current_user' 2>&1; }
    [[ "$(login alpha "$(cat credentials/alpha-password)" alpha)" == alpha/alpha ]]
    [[ "$(login beta_owner "$(cat credentials/beta_owner-password)" beta)" == beta/beta_owner ]]
    # A refused login exits non-zero; its message says why.
    grep -q "permission denied for database" <<<"$(login alpha "$(cat credentials/alpha-password)" beta || true)"
    grep -q "password authentication failed" <<<"$(login alpha wrong-password alpha || true)"
  )
  rc=$?
  set -e
  ((rc == 0)) || { log "    init script check failed; server log:"; cat "$work/log" >&2 2>/dev/null || true; }
  rm -rf "$work"
  return $rc
}

declare -a passed=() failed=()
main() {
  local charts=() arg chart step ok rc
  if [[ "${1:-}" == --kubeconfig ]]; then
    kubeconfig=$(readlink -f "${2:?--kubeconfig needs a path}")
    [[ -r "$kubeconfig" ]] || die "cannot read kubeconfig $kubeconfig"
    command -v kubectl >/dev/null || die "kubectl missing: run hack/tools/build.sh kubernetes"
    steps+=(cluster)
    shift 2
  fi
  if (($#)); then
    for arg in "$@"; do
      [[ -f "$root/charts/$arg/Chart.yaml" ]] || die "no chart named '$arg' under charts/"
      charts+=("$root/charts/$arg")
    done
  else
    for chart in "$root"/charts/*/Chart.yaml; do charts+=("$(dirname "$chart")"); done
  fi
  ((${#charts[@]})) || die "no charts under charts/"
  ensure_tools

  for chart in "${charts[@]}"; do
    log "chart $(basename "$chart")"
    ok=1
    # Charts with file:// dependencies (the umbrella) package them first, freshly, so lint and render see the
    # charts as they are in this tree rather than a stale archive.
    if grep -q 'repository: *"\?file://' "$chart/Chart.yaml"; then
      rm -rf "$chart/charts" "$chart/Chart.lock"
      helm dependency build "$chart" >/dev/null || { log "  helm dependency build: FAILED"; ok=0; }
    fi
    for step in "${steps[@]}"; do
      # Each step runs in a subshell outside any condition, so that set -e holds inside it.
      set +e
      (
        set -e
        "chart_$step" "$chart"
      )
      rc=$?
      set -e
      if ((rc == 0)); then
        log "  $step: ok"
      else
        log "  $step: FAILED"
        ok=0
      fi
    done
    if ((ok)); then passed+=("$(basename "$chart")"); else failed+=("$(basename "$chart")"); fi
  done

  echo "charts: ${#passed[@]} passed, ${#failed[@]} failed${failed[*]:+ (${failed[*]})}"
  ((${#failed[@]} == 0))
}

main "$@"
