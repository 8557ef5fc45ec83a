import { randomBytes } from 'node:crypto';
import {
  PgliteSqlClient,
  PostgresSqlClient,
  describeDatabase,
  type SqlClient,
  migrateSchema,
} from '@ledgerline/database';
import { schemaOf } from '@ledgerline/kernel';
import { Client } from 'pg';
import { LEDGERLINE_LIBS } from '../../apps/server/src/lib-manifests';

/** The database a run writes to: private to the run, removed by `close`. */
export interface BenchDatabase {
  readonly kind: 'postgres' | 'pglite';
  readonly client: SqlClient;
  /** Where and what the figures were measured on, without credentials. */
  readonly description: string;
  /**
   * PostgreSQL only: a connection URL that lands in this schema (through `search_path`), for a
   * server booted in-process to use the same database and tables. Undefined for PGlite.
   */
  readonly url?: string;
  /**
   * PostgreSQL only: another fresh schema on the same PostgreSQL, with the same pool size, closed
   * (and dropped) by its own `close`. For a scenario that needs tables no other scenario wrote to,
   * e.g. a server that refuses data keys wrapped by a key ring it does not have.
   */
  openSibling?(): Promise<BenchDatabase>;
  /**
   * Called before each measured row: flushes the previous rows' dirty pages (CHECKPOINT, where the
   * role may) so a checkpoint forced by their WAL does not land in the middle of this row.
   */
  settle(): Promise<void>;
  close(): Promise<void>;
}

export class DatabaseUnreachableError extends Error {}

/**
 * A fresh schema on the PostgreSQL at `url`, reached through `search_path` (as libs/testing does),
 * so the run sees empty tables and leaves nothing behind once closed.
 */
export async function openPostgres(url: string, poolSize: number): Promise<BenchDatabase> {
  const where = describeDatabase(url);
  const admin = new Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  try {
    await admin.connect();
  } catch (error) {
    await admin.end().catch(() => undefined);
    throw new DatabaseUnreachableError(`PostgreSQL at ${where} is unreachable`, { cause: error });
  }
  const schema = `bench_${randomBytes(6).toString('hex')}`;
  let settings: { version: string; sync: string };
  try {
    await admin.query(`create schema ${schema}`);
    const { rows } = await admin.query<{ version: string; sync: string }>(
      `select current_setting('server_version') as version,
              current_setting('synchronous_commit') as sync`,
    );
    settings = rows[0]!;
  } finally {
    await admin.end();
  }
  const dropSchema = async (): Promise<void> => {
    const cleanup = new Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
    try {
      await cleanup.connect();
      await cleanup.query(`drop schema ${schema} cascade`);
    } catch (error) {
      throw new Error(`could not drop schema ${schema} on ${where}; drop it by hand`, {
        cause: error,
      });
    } finally {
      await cleanup.end().catch(() => undefined);
    }
  };
  const schemaUrl = withSearchPath(url, schema);
  let client: SqlClient;
  try {
    client = await PostgresSqlClient.connect({
      connectionString: schemaUrl,
      poolSize,
    });
    await migrateSchema(client, schemaOf(LEDGERLINE_LIBS));
  } catch (error) {
    await dropSchema();
    throw error;
  }
  let mayCheckpoint = true;
  return {
    kind: 'postgres',
    client,
    url: schemaUrl,
    openSibling: () => openPostgres(url, poolSize),
    description: `PostgreSQL ${settings.version} at ${where} (synchronous_commit=${settings.sync})`,
    async settle() {
      if (!mayCheckpoint) return;
      // Superusers and pg_checkpoint members only; without it rows are just noisier.
      await client.exec('checkpoint').catch(() => {
        mayCheckpoint = false;
      });
    },
    async close() {
      await client.close();
      await dropSchema();
    },
  };
}

/** Embedded in-memory PGlite: one connection, so every concurrency level runs serialised. */
export async function openPglite(): Promise<BenchDatabase> {
  const client = await PgliteSqlClient.open();
  await migrateSchema(client, schemaOf(LEDGERLINE_LIBS));
  return {
    kind: 'pglite',
    client,
    description: 'PGlite in memory (one connection: concurrent workers are serialised)',
    settle: () => Promise.resolve(),
    close: () => client.close(),
  };
}

function withSearchPath(url: string, schema: string): string {
  const u = new URL(url);
  const options = u.searchParams.get('options');
  u.searchParams.set('options', `${options ? `${options} ` : ''}-c search_path=${schema}`);
  return u.toString();
}
