#!/usr/bin/env node
// Summarises a V8 CPU profile (node --cpu-prof) by self time: per package or source file, then the
// hottest functions. Usage: node scripts/cpu-profile-summary.mjs <file.cpuprofile> [rows]
import { readFileSync } from 'node:fs';

const [file, rowsArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: node scripts/cpu-profile-summary.mjs <file.cpuprofile> [rows]');
  process.exit(64);
}
const rows = Number(rowsArg ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));

const selfUs = new Map();
profile.samples.forEach((id, i) =>
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)),
);

/** `pg`, `@nestjs/core`, `libs/ledger/src/ledger.js`, `node:internal/…`, `(garbage collector)`. */
function where(frame) {
  const url = frame.url;
  if (!url)
    return frame.functionName.startsWith('(')
      ? frame.functionName
      : `(${frame.functionName || 'anonymous'})`;
  const inModules = url.split('node_modules/').at(-1);
  if (inModules !== url) {
    const parts = inModules.split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  const dist = url.indexOf('/dist/');
  return dist >= 0 ? url.slice(dist + 6) : url.replace(/^file:\/\//, '');
}

const byWhere = new Map();
const byFunction = new Map();
let total = 0;
for (const [id, us] of selfUs) {
  const frame = nodes.get(id).callFrame;
  const w = where(frame);
  byWhere.set(w, (byWhere.get(w) ?? 0) + us);
  const fn = `${frame.functionName || '(anonymous)'}  ${w}:${frame.lineNumber + 1}`;
  byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
  total += us;
}
const idle = byWhere.get('(idle)') ?? 0;
const busy = total - idle;
const line = (us, label) =>
  `${(us / 1000).toFixed(0).padStart(8)} ms ${((100 * us) / busy).toFixed(1).padStart(5)} %  ${label}`;
console.log(
  `profile ${(total / 1e6).toFixed(1)} s, busy ${(busy / 1e6).toFixed(1)} s (percentages of busy)`,
);
console.log('\nby package or file (self time)');
for (const [w, us] of [...byWhere]
  .filter(([w]) => w !== '(idle)')
  .sort((a, b) => b[1] - a[1])
  .slice(0, rows)) {
  console.log(line(us, w));
}
console.log('\nhottest functions (self time)');
for (const [fn, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, rows)) {
  if (!fn.startsWith('(idle)')) console.log(line(us, fn));
}
