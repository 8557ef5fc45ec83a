import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import type { ServerMemory } from '../../report';
import type { ClientSpec, RealtimeClientPool } from './realtime-clients';
import type { ServerChild } from './server-child';

/** Descriptors this process keeps for everything but its clients (database pool, pipes, files). */
const FD_RESERVE = 1_000;
/** Upgrades in flight at once while connecting. */
const CONNECT_CONCURRENCY = 32;
/** The server counts as settled once no unsolicited frame came for this long (or `settleMaxMs`). */
const QUIET_MS = 750;

/**
 * How many clients this process can hold open: Node raises its soft descriptor limit to the hard
 * one at start (as `ulimit -n` in a child shows), and a server child inherits the same.
 */
export function clientLimit(): number {
  try {
    const limit = Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim());
    return Number.isFinite(limit) ? Math.max(0, limit - FD_RESERVE) : Number.POSITIVE_INFINITY;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/** The timing figure of connecting `clients` clients, as both realtime scenarios show it. */
export function connectFigure(clients: number): string {
  return (
    `connecting ${clients.toLocaleString('en-US')} clients (upgrade, hello, sync; ` +
    `${CONNECT_CONCURRENCY} at a time)`
  );
}

export interface MeasuredConnections {
  readonly memory: ServerMemory;
  /** How long connecting the measured clients took (upgrade, hello, sync), to the last synced. */
  readonly connectMs: number;
}

export interface MeasureOptions {
  readonly label: string;
  /** Connected first, unmeasured: the server's lazy start-up (JIT, key fetches, pools). */
  readonly warm: readonly ClientSpec[];
  readonly measured: readonly ClientSpec[];
  /**
   * How long to wait at most, after the last client synced, for the server to stop sending
   * unsolicited frames (Ledgerline announcing the new connections' presence).
   */
  readonly settleMaxMs: number;
  readonly signal: AbortSignal;
  readonly progress: (line: string) => void;
}

/**
 * Connects the warm-up clients, reads the server's memory, connects the measured ones, lets the
 * server settle, and reads it again: the difference over the measured clients is what a
 * connection costs.
 */
export async function connectMeasured(
  server: ServerChild,
  pool: RealtimeClientPool,
  options: MeasureOptions,
): Promise<MeasuredConnections> {
  const { label, warm, measured, signal, progress } = options;
  await pool.connect(warm, { concurrency: CONNECT_CONCURRENCY, signal });
  await pool.quiet(QUIET_MS, options.settleMaxMs, signal);
  const before = await server.memory();
  const start = performance.now();
  await pool.connect(measured, { concurrency: CONNECT_CONCURRENCY, signal });
  const connectMs = performance.now() - start;
  progress(
    `${label}: ${measured.length} clients connected in ${(connectMs / 1000).toFixed(1)} s ` +
      `(${Math.round(measured.length / (connectMs / 1000))}/s)`,
  );
  await pool.quiet(QUIET_MS, options.settleMaxMs, signal);
  const after = await server.memory();
  const memory: ServerMemory = {
    label,
    connections: measured.length,
    rssBeforeBytes: before.rss,
    rssAfterBytes: after.rss,
    heapBeforeBytes: before.heapUsed + before.external,
    heapAfterBytes: after.heapUsed + after.external,
  };
  return { memory, connectMs };
}

/** The timing figure of reconnecting `clients` clients that had just closed. */
export function reconnectFigure(clients: number): string {
  return (
    `reconnecting ${clients.toLocaleString('en-US')} clients (the same users and devices, ` +
    `right after all closed: upgrade, hello, sync; ${CONNECT_CONCURRENCY} at a time)`
  );
}

/**
 * Connects `specs` again on a fresh pool (the users, devices and their keys exist: what a node's
 * clients do after it restarts) and returns how long it took; the pool is closed afterwards.
 */
export async function reconnectMeasured(
  pool: RealtimeClientPool,
  specs: readonly ClientSpec[],
  options: Pick<MeasureOptions, 'label' | 'signal' | 'progress'>,
): Promise<number> {
  const start = performance.now();
  try {
    await pool.connect(specs, { concurrency: CONNECT_CONCURRENCY, signal: options.signal });
  } finally {
    await pool.close();
  }
  const ms = performance.now() - start;
  options.progress(
    `${options.label}: ${specs.length} clients reconnected in ${(ms / 1000).toFixed(1)} s ` +
      `(${Math.round(specs.length / (ms / 1000))}/s)`,
  );
  return ms;
}
