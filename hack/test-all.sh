#!/usr/bin/env bash
# `make test`: the preparation steps, then every test tier (each runs even when an earlier one failed), then one
# summary. Each step's wall time goes to .tmp/test-results/steps.tsv, and the summary prints them with the
# slowest test files, so that a slow or failing CI run says where its time went.
# Usage: hack/test-all.sh <prep target>... -- <tier target>...
set -euo pipefail
cd "$(dirname "$0")/.."
results=.tmp/test-results
steps_file=$(mktemp)
print_steps() {
  local status=$?
  if [[ -s $steps_file ]]; then
    echo "make test, time per step (load average before -> after; $(nproc) CPUs):"
    awk -F'\t' '{ printf "  %-18s %5d s  load %s -> %s%s\n", $1, $2, $4, $5, ($3 == 0 ? "" : "  (failed)"); total += $2 }
      END { printf "  %-18s %5d s\n", "total", total }' "$steps_file"
  fi
  rm -f "$steps_file"
  exit "$status"
}
trap print_steps EXIT

run_step() {
  local target=$1 start=$SECONDS status=0 load_before
  load_before=$(cut -d' ' -f1-3 /proc/loadavg)
  make --no-print-directory "$target" || status=$?
  printf '%s\t%d\t%d\t%s\t%s\n' "$target" "$((SECONDS - start))" "$status" "$load_before" \
    "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$steps_file"
  return "$status"
}

while (($#)) && [[ $1 != -- ]]; do
  run_step "$1" || {
    echo "make test: $1 failed; no test tier ran" >&2
    exit 1
  }
  shift
done
shift || true

rm -rf "$results" && mkdir -p "$results"
status=0
for tier in "$@"; do
  run_step "$tier" || status=1
done
shopt -s nullglob
node hack/test-summary.mjs "$results"/*.json || status=1
exit "$status"
