import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { assertBuilt } from './server-process';

/** The compiled `ledgerline` CLI (`npm test` builds first). */
export const CLI_MAIN = resolve(__dirname, '../../../dist/apps/cli/src/main.js');

/** What one run of the CLI returned. */
export interface CliRun {
  /** The exit code; null when it was ended by a signal (or the backstop, see runCli). */
  readonly code: number | null;
  readonly out: string;
  readonly err: string;
  /** stdout then stderr. */
  readonly all: string;
}

/**
 * A CLI run that has not finished in this long is hung, not slow: it is killed. Generous, since a
 * command takes seconds on a quiet machine and several times that while the cores are busy.
 */
const CLI_BACKSTOP_MS = 300_000;

/**
 * Runs the compiled CLI to completion, as an operator would, with only PATH and `env` in its
 * environment. The run is synchronous, so a spec's per-test timeout cannot end it: only the
 * backstop does (CLI_BACKSTOP_MS), and a spec that runs the CLI gives its tests time for the runs.
 */
export function runCli(env: Record<string, string>, ...args: string[]): CliRun {
  assertBuilt(CLI_MAIN);
  const r = spawnSync(process.execPath, [CLI_MAIN, ...args], {
    env: { PATH: process.env['PATH'] ?? '', ...env },
    encoding: 'utf8',
    timeout: CLI_BACKSTOP_MS,
  });
  return { code: r.status, out: r.stdout, err: r.stderr, all: r.stdout + r.stderr };
}
