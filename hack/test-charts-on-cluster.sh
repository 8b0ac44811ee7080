#!/usr/bin/env bash
# `make test-charts`: hack/test-charts.sh with its cluster step, on a local control plane started for the run and
# stopped afterwards whatever happens. Writes the result counts for make test's closing line.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export OBSDEMO_CLUSTER_DIR="$root/.tmp/charts-cluster"
cli=(node "$root/packages/testenv/dist/cli.js")
trap '"${cli[@]}" down >/dev/null 2>&1 || true' EXIT
"${cli[@]}" up >/dev/null
out=$(mktemp)
status=0
"$root/hack/test-charts.sh" --kubeconfig "$OBSDEMO_CLUSTER_DIR/admin.kubeconfig" "$@" 2>&1 | tee "$out" || status=$?
summary=$(grep -E '^charts: [0-9]+ passed, [0-9]+ failed' "$out" | tail -1 || true)
rm -f "$out"
if [[ -n "$summary" ]]; then
  read -r passed failed < <(sed -E 's/^charts: ([0-9]+) passed, ([0-9]+) failed.*/\1 \2/' <<<"$summary")
  mkdir -p "$root/.tmp/test-results"
  printf '{"numPassedTests": %d, "numFailedTests": %d}\n' "$passed" "$failed" >"$root/.tmp/test-results/charts.json"
fi
exit "$status"
