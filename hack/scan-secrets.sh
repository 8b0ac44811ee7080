#!/usr/bin/env bash
# Scans the working tree (what git would track: .gitignore'd files such as node_modules/ and dist/ are skipped) for
# hard-coded credentials with gitleaks and its default rules. Test fixtures are allowed: chart unit tests pin
# "kept" Secret values and unit tests sign tokens with throw-away keys; the rendered charts themselves are checked
# by packages/testenv/test/integration/security-manifests.test.ts. .tmp/ is skipped too: it holds the run-time
# credentials of local clusters (a kind cluster's kubeconfig), never anything committed.
# gitleaks is built once from its Go module (the Go proxy) into the cache.
# Usage: hack/scan-secrets.sh   (exit 1 when a leak is found, 2 when gitleaks cannot be built)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${OBSDEMO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/obsdemo}
version=v8.30.1
bin="$cache/gitleaks-$version/gitleaks"
if [[ ! -x "$bin" ]]; then
  command -v go >/dev/null || { echo "scan-secrets: go is needed to build gitleaks $version" >&2; exit 2; }
  echo "scan-secrets: building gitleaks $version into $(dirname "$bin")" >&2
  GOBIN=$(dirname "$bin") go install "github.com/zricethezav/gitleaks/v8@$version" || exit 2
fi
config=$(mktemp)
trap 'rm -f "$config"' EXIT
cat >"$config" <<'TOML'
[extend]
useDefault = true

[[allowlists]]
description = "test fixtures: pinned chart test values and throw-away signing keys"
paths = ['''(^|/)tests?/''', '''\.test\.ts$''', '''^\.tmp/''']
TOML
cd "$root"
exec "$bin" dir --no-banner --redact --config "$config" --exit-code 1 .
