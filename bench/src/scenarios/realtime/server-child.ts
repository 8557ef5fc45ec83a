import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { MEMORY_REQUEST, type MemoryReading } from './memory-probe';

/** How long a server child may take to say where it listens. */
const START_TIMEOUT_MS = 60_000;
/** How long it may take to answer a memory reading, or to exit once asked to. */
const ANSWER_TIMEOUT_MS = 15_000;
/** Output kept for the error message of a child that fails. */
const OUTPUT_TAIL = 16 * 1024;

/** A server the bench started in a process of its own: its own core, its own memory to measure. */
export interface ServerChild {
  readonly url: string;
  readonly pid: number;
  /** RSS and heap after two full collections in the child (memory-probe.ts). */
  memory(): Promise<MemoryReading>;
  /**
   * The first match of `pattern` in what the child printed (stdout and stderr, the last 16 KiB),
   * waiting for it up to a start-up time-out; rejects if the child exits first.
   */
  printed(pattern: RegExp): Promise<RegExpExecArray>;
  /** SIGTERM, then SIGKILL if it has not exited in time. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Starts `node --expose-gc --require memory-probe.js <main>` with exactly `env` (plus PATH) and
 * waits for the JSON line carrying `"url"` that both the Ledgerline server and the bench's
 * broadcast server print once they listen.
 */
export async function startServerChild(
  main: string,
  env: Readonly<Record<string, string>>,
): Promise<ServerChild> {
  // BENCH_CPU_PROFILE_DIR: each server child writes a V8 CPU profile there when it stops (open it
  // in Chrome's DevTools, or `node bench/profile-summary.mjs <file>`): where the time goes.
  const profileDir = process.env['BENCH_CPU_PROFILE_DIR'];
  const profiling = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const child = spawn(
    process.execPath,
    ['--expose-gc', ...profiling, '--require', join(__dirname, 'memory-probe.js'), main],
    {
      env: { PATH: process.env['PATH'] ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    },
  );
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_TAIL);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const printed = (pattern: RegExp) => waitForOutput(child, () => output, pattern);
    const url = (await printed(/"url":"(http:\/\/[^"]+)"/))[1]!;
    return {
      url,
      pid: child.pid!,
      memory: () => readMemory(child, () => output),
      printed,
      stop: () => stop(child, exited),
    };
  } catch (error) {
    await stop(child, exited);
    throw error;
  }
}

function waitForOutput(
  child: ChildProcess,
  output: () => string,
  pattern: RegExp,
): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const found = pattern.exec(output());
    if (found) {
      resolve(found);
      return;
    }
    if (child.exitCode !== null || child.signalCode !== null) {
      reject(
        new Error(`the server exited (${child.exitCode}) before printing ${pattern}:\n${output()}`),
      );
      return;
    }
    const timer = setTimeout(() => {
      cleanUp();
      reject(
        new Error(
          `the server did not print ${pattern} within ${START_TIMEOUT_MS} ms:\n${output()}`,
        ),
      );
    }, START_TIMEOUT_MS);
    const onData = (): void => {
      const match = pattern.exec(output());
      if (!match) return;
      cleanUp();
      resolve(match);
    };
    const onExit = (code: number | null): void => {
      cleanUp();
      reject(new Error(`the server exited (${code}) before printing ${pattern}:\n${output()}`));
    };
    const cleanUp = (): void => {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.stderr!.off('data', onData);
      child.off('exit', onExit);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', onExit);
  });
}

function readMemory(child: ChildProcess, output: () => string): Promise<MemoryReading> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanUp();
      reject(new Error('the server did not answer a memory reading'));
    }, ANSWER_TIMEOUT_MS);
    const onMessage = (message: unknown): void => {
      if ((message as { type?: unknown } | null)?.type !== MEMORY_REQUEST.type) return;
      cleanUp();
      resolve(message as MemoryReading);
    };
    const onExit = (code: number | null): void => {
      cleanUp();
      reject(new Error(`the server exited (${code}):\n${output()}`));
    };
    const cleanUp = (): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.send(MEMORY_REQUEST);
  });
}

async function stop(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), ANSWER_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}
