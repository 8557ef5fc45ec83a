import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import lockfile from 'proper-lockfile';
import { PostgresSqlClient } from './adapters/postgres-sql-client.adapter';
import { PgliteSqlClient } from './adapters/pglite-sql-client.adapter';
import type { SqlClient } from './sql-client.port';
import { DatabaseInUseError } from './sql-errors';

export interface DatabaseSettings {
  /** PostgreSQL URL; when absent, PGlite under `dataDir`. */
  readonly databaseUrl?: string;
  readonly dataDir: string;
  readonly poolSize?: number;
  readonly connectTimeoutMs?: number;
  readonly onBackgroundError?: (what: string, error: unknown) => void;
}

/** Opens the configured database: PostgreSQL when a URL is given, else embedded PGlite. */
export async function openDatabase(settings: DatabaseSettings): Promise<SqlClient> {
  if (settings.databaseUrl) {
    return PostgresSqlClient.connect({
      connectionString: settings.databaseUrl,
      poolSize: settings.poolSize,
      connectTimeoutMs: settings.connectTimeoutMs,
      onBackgroundError: settings.onBackgroundError,
    });
  }
  const dir = resolve(settings.dataDir, 'pglite');
  mkdirSync(dir, { recursive: true });
  // PGlite is one process's database: a second process opening the same directory (a CLI next to
  // the running server) would corrupt it. The lock is refreshed while held; a crashed holder's
  // lock goes stale and is taken over. Stale only after 30 s: PGlite's start-up is WASM work that
  // can hold the event loop (and so the refresh) for seconds on a loaded machine. A lock found
  // taken over is reported, never thrown from the refresh timer. The holder writes its pid and host
  // name beside the lock, so a restart after a crash (SIGKILL, OOM) on the same host takes a lock
  // whose holder is no longer alive at once instead of waiting for it to go stale.
  const options: Parameters<typeof lockfile.lock>[1] = {
    realpath: false,
    stale: 30_000,
    update: 5_000,
    onCompromised: (error) => settings.onBackgroundError?.('embedded database lock', error),
  };
  let release: () => Promise<void>;
  try {
    try {
      release = await lockfile.lock(dir, options);
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'ELOCKED' || !holderIsGone(dir)) throw error;
      rmSync(lockPath(dir), { recursive: true, force: true });
      release = await lockfile.lock(dir, options);
    }
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ELOCKED') {
      throw new DatabaseInUseError(
        `the embedded database at ${dir} is in use by another Ledgerline process; stop it first (or use PostgreSQL via DATABASE_URL)`,
      );
    }
    throw error;
  }
  recordHolder(dir);
  try {
    return await PgliteSqlClient.open(dir, { onClose: () => release() });
  } catch (error) {
    await release();
    throw error;
  }
}

/** This process, told apart from an earlier one that had the same pid (a container's pid 1). */
const THIS_PROCESS = randomUUID();

interface LockHolder {
  readonly pid: number;
  readonly hostname: string;
  readonly process: string;
  /** The inode of the lock directory it created: a holder record from an older lock never matches. */
  readonly lock: number;
}

const lockPath = (dir: string) => `${dir}.lock`;
const holderPath = (dir: string) => `${dir}.lock-holder.json`;

function recordHolder(dir: string): void {
  const holder: LockHolder = {
    pid: process.pid,
    hostname: hostname(),
    process: THIS_PROCESS,
    lock: statSync(lockPath(dir)).ino,
  };
  writeFileSync(holderPath(dir), `${JSON.stringify(holder)}\n`);
}

/**
 * Whether the lock on `dir` was left by a process of this host that no longer runs. Anything
 * uncertain (another host, no record, a record of an older lock, a pid that answers) says no: the
 * lock is then only taken once it goes stale.
 */
function holderIsGone(dir: string): boolean {
  let holder: Partial<LockHolder>;
  try {
    holder = JSON.parse(readFileSync(holderPath(dir), 'utf8')) as Partial<LockHolder>;
    if (holder.lock !== statSync(lockPath(dir)).ino) return false;
  } catch {
    return false;
  }
  if (holder.hostname !== hostname() || typeof holder.pid !== 'number') return false;
  if (holder.pid === process.pid) return holder.process !== THIS_PROCESS;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (error) {
    return (error as { code?: unknown }).code === 'ESRCH';
  }
}
