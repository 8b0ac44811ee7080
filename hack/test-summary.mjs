// Prints one closing line for `make test` from the JSON results the test tiers wrote:
//   tests: N passed, N failed
// Usage: node hack/test-summary.mjs .tmp/test-results/*.json
import { readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
for (const file of process.argv.slice(2)) {
  const r = JSON.parse(readFileSync(file, 'utf8'));
  // jest --json: numPassedTests/numFailedTests; other tiers write the same two fields.
  passed += r.numPassedTests ?? 0;
  failed += (r.numFailedTests ?? 0) + (r.numRuntimeErrorTestSuites ?? 0);
  console.log(`  ${file}: ${r.numPassedTests ?? 0} passed, ${r.numFailedTests ?? 0} failed`);
}
console.log(`tests: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
