// Prints Jest's totals as one plain line, and names every skipped test with its reason.
import { readFileSync } from 'node:fs';

const file = process.argv[2];
let report;
try {
  report = JSON.parse(readFileSync(file, 'utf8'));
} catch {
  console.log('tests: 0 passed, 1 failed (no Jest report was written)');
  process.exit(0);
}
const skipped = [];
for (const suite of report.testResults ?? []) {
  for (const t of suite.assertionResults ?? []) {
    if (t.status === 'pending' || t.status === 'skipped') skipped.push(t.fullName);
  }
}
if (skipped.length > 0) {
  console.log(`skipped (${skipped.length}), each with its reason in its name:`);
  for (const name of skipped) console.log(`  - ${name}`);
}
const failed = report.numFailedTests + (report.numRuntimeErrorTestSuites ?? 0);
console.log(
  `tests: ${report.numPassedTests} passed, ${failed} failed, ${report.numPendingTests} skipped`,
);
