#!/usr/bin/env bash
# Fails unless `npm audit --omit=dev` could run and found no high or critical advisory in the production
# dependency tree. A registry that does not serve the audit endpoint is a failure (exit 2), never a pass.
# Usage: hack/npm-audit.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# npm exits non-zero both for findings and for an unreachable endpoint; the JSON tells them apart.
npm audit --omit=dev --json >"$out" 2>/dev/null || true
node - "$out" <<'JS'
const fs = require('node:fs');
const text = fs.readFileSync(process.argv[2], 'utf8');
let report;
try {
  report = JSON.parse(text);
} catch {
  console.error(`npm-audit: npm audit printed no JSON report:\n${text.slice(0, 500)}`);
  process.exit(2);
}
const counts = report.metadata?.vulnerabilities;
if (counts === undefined) {
  const why = report.message ?? report.error?.summary ?? JSON.stringify(report).slice(0, 300);
  console.error(`npm-audit: the audit could not run, so nothing is proven: ${why}`);
  process.exit(2);
}
const bad = Object.values(report.vulnerabilities ?? {}).filter((v) => v.severity === 'high' || v.severity === 'critical');
for (const v of bad) console.error(`npm-audit: ${v.severity}: ${v.name} ${v.range} (${v.via.map((x) => (typeof x === 'string' ? x : x.title)).join('; ')})`);
console.error(`npm-audit: ${JSON.stringify(counts)}`);
process.exit(bad.length > 0 ? 1 : 0);
JS
