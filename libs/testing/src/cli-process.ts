import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { assertBuilt } from './server-process';

/** The compiled `ledgerline` CLI (`npm test` builds first). */
export const CLI_MAIN = resolve(__dirname, '../../../dist/apps/cli/src/main.js');

/** What one run of the CLI returned. */
export interface CliRun {
  /** The exit code; null when it was ended by a signal (or the 60 s timeout). */
  readonly code: number | null;
  readonly out: string;
  readonly err: string;
  /** stdout then stderr. */
  readonly all: string;
}

/**
 * Runs the compiled CLI to completion, as an operator would, with only PATH and `env` in its
 * environment; it is killed after 60 s.
 */
export function runCli(env: Record<string, string>, ...args: string[]): CliRun {
  assertBuilt(CLI_MAIN);
  const r = spawnSync(process.execPath, [CLI_MAIN, ...args], {
    env: { PATH: process.env['PATH'] ?? '', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr, all: r.stdout + r.stderr };
}
