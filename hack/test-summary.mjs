// Prints the closing lines of `make test` from the JSON results the test tiers wrote: per tier its counts (and,
// for jest tiers, the slowest test files and every failed test), then one line:
//   tests: N passed, N failed
// Usage: node hack/test-summary.mjs .tmp/test-results/*.json
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

const SLOWEST = 5;
let passed = 0;
let failed = 0;
for (const file of process.argv.slice(2)) {
  const r = JSON.parse(readFileSync(file, 'utf8'));
  // jest --json: numPassedTests/numFailedTests; other tiers write the same two fields.
  passed += r.numPassedTests ?? 0;
  failed += (r.numFailedTests ?? 0) + (r.numRuntimeErrorTestSuites ?? 0);
  console.log(`  ${file}: ${r.numPassedTests ?? 0} passed, ${r.numFailedTests ?? 0} failed`);
  if (!Array.isArray(r.testResults)) continue;
  const files = r.testResults.map((t) => ({
    name: relative(process.cwd(), t.name),
    seconds: (t.endTime - t.startTime) / 1000,
    failures: (t.assertionResults ?? []).filter((a) => a.status === 'failed').map((a) => a.fullName),
    suiteError: t.status === 'failed' && (t.assertionResults ?? []).every((a) => a.status !== 'failed'),
  }));
  const slowest = [...files].sort((a, b) => b.seconds - a.seconds).slice(0, SLOWEST);
  console.log(`    slowest: ${slowest.map((f) => `${f.name} ${f.seconds.toFixed(0)} s`).join(', ')}`);
  for (const f of files) {
    for (const name of f.failures) console.log(`    failed: ${f.name}: ${name}`);
    if (f.suiteError) console.log(`    failed to run: ${f.name}`);
  }
}
console.log(`tests: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
