import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PostgresSqlClient } from './adapters/postgres-sql-client.adapter';
import { PgliteSqlClient } from './adapters/pglite-sql-client.adapter';
import type { SqlClient } from './sql-client.port';

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
  return PgliteSqlClient.open(join(dir));
}
