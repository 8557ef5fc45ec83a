// `npm run test:loaded -- <jest args>`: runs `npm test` with the same arguments while every core
// is kept busy by a CPU hog (a child process that spins), the way a shared CI machine or a
// developer's laptop running other work is. The suite must pass this way too: its waits are on
// readiness signals, not on budgets that a loaded machine misses.
//
// The hogs are children of this process, run at the default priority (as competing work would),
// and are killed on every way out: the tests' exit, an error, or SIGINT/SIGTERM/SIGHUP. A hog also
// exits by itself when this process is gone (its IPC channel closes), so none outlives a crash.
// TEST_LOAD_HOGS overrides the count (default: one per core).
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';

const HOG = `
process.on('disconnect', () => process.exit(0));
let x = 0;
const spin = () => { const until = Date.now() + 50; while (Date.now() < until) x = (x + Math.sqrt(x + 1)) % 1e9; setImmediate(spin); };
spin();
`;

const count = Number(process.env.TEST_LOAD_HOGS ?? availableParallelism());
const hogs = [];
for (let i = 0; i < count; i++) {
  hogs.push(
    spawn(process.execPath, ['-e', HOG], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] }),
  );
}
console.error(
  `test:loaded: ${count} CPU hog(s) running beside npm test (pids ${hogs.map((h) => h.pid).join(' ')})`,
);

let stopped = false;
function stopHogs() {
  if (stopped) return;
  stopped = true;
  for (const hog of hogs) if (hog.exitCode === null && hog.signalCode === null) hog.kill('SIGKILL');
}
process.on('exit', stopHogs);

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
// In a process group of its own, so that a signal reaches jest and its workers, not only npm (which
// runs the script through a shell that does not pass signals on).
const tests = spawn(npm, ['test', '--', ...process.argv.slice(2)], {
  stdio: 'inherit',
  detached: true,
});

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    stopHogs();
    if (tests.exitCode === null && tests.signalCode === null) {
      try {
        process.kill(-tests.pid, signal);
      } catch {
        // Already gone.
      }
    }
  });
}

tests.on('error', (error) => {
  console.error(`test:loaded: could not run npm test: ${error.message}`);
  stopHogs();
  process.exit(1);
});
tests.on('exit', (code, signal) => {
  stopHogs();
  process.exit(code ?? (signal ? 1 : 0));
});
