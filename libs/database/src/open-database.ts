import { mkdirSync } from 'node:fs';
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
  // taken over is reported, never thrown from the refresh timer.
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(dir, {
      realpath: false,
      stale: 30_000,
      update: 5_000,
      onCompromised: (error) => settings.onBackgroundError?.('embedded database lock', error),
    });
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ELOCKED') {
      throw new DatabaseInUseError(
        `the embedded database at ${dir} is in use by another Ledgerline process; stop it first (or use PostgreSQL via DATABASE_URL)`,
      );
    }
    throw error;
  }
  try {
    return await PgliteSqlClient.open(dir, { onClose: () => release() });
  } catch (error) {
    await release();
    throw error;
  }
}
