import { randomBytes } from 'node:crypto';
import {
  PgliteSqlClient,
  PostgresSqlClient,
  migrateSchema,
  type SqlClient,
} from '@ledgerline/database';
import { schemaOf, type LibManifest } from '@ledgerline/kernel';
import { Client } from 'pg';

/**
 * Tests run on real PostgreSQL when TEST_DATABASE_URL is set (CI sets it) and on PGlite otherwise.
 * Each opened database is private to its caller: a fresh schema on PostgreSQL (dropped on close),
 * a fresh in-memory instance on PGlite.
 */
export const TEST_DATABASE_URL = process.env['TEST_DATABASE_URL'] || undefined;

export interface TestDatabase {
  readonly name: 'postgres' | 'pglite';
  readonly client: SqlClient;
  /** A connection string for this database (PostgreSQL only), e.g. to start a second process. */
  readonly url?: string;
  close(): Promise<void>;
}

export type TestDatabaseKind = 'postgres' | 'pglite';

/** The kinds of database available to this run: always PGlite, PostgreSQL when configured. */
export function availableDatabases(): TestDatabaseKind[] {
  return TEST_DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];
}

/**
 * A private database with the tables of `libs` (their manifests' schema, migrated as a server does
 * at start); none when `libs` is empty.
 */
export async function openTestDatabase(
  kind: TestDatabaseKind = TEST_DATABASE_URL ? 'postgres' : 'pglite',
  libs: readonly LibManifest[] = [],
): Promise<TestDatabase> {
  const db = await openEmpty(kind);
  if (libs.length > 0) {
    try {
      await migrateSchema(db.client, schemaOf(libs));
    } catch (error) {
      await db.close();
      throw error;
    }
  }
  return db;
}

async function openEmpty(kind: TestDatabaseKind): Promise<TestDatabase> {
  if (kind === 'pglite') {
    const client = await PgliteSqlClient.open();
    return { name: 'pglite', client, close: () => client.close() };
  }
  if (!TEST_DATABASE_URL) throw new Error('TEST_DATABASE_URL is not set');
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const admin = new Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.end();
  const url = withSearchPath(TEST_DATABASE_URL, schema);
  const client = await PostgresSqlClient.connect({ connectionString: url, poolSize: 20 });
  return {
    name: 'postgres',
    client,
    url,
    async close() {
      await client.close();
      const cleanup = new Client({ connectionString: TEST_DATABASE_URL });
      await cleanup.connect();
      await cleanup.query(`drop schema ${schema} cascade`);
      await cleanup.end();
    },
  };
}

function withSearchPath(url: string, schema: string): string {
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}
