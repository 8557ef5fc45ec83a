import { createHash } from 'node:crypto';
import { LedgerlineError } from '@ledgerline/kernel';
import type { SqlClient } from './sql-client.port';

/** One schema change, owned by one lib (`namespace`). Applied migrations must never be edited. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export class MigrationDriftError extends LedgerlineError {
  readonly code = 'migration_drift';
}

export function migrationChecksum(m: Migration): string {
  return createHash('sha256').update(m.sql).digest('hex');
}

const LOCK_KEY = 7_341_509; // arbitrary, constant: serialises migrators across processes

/**
 * Applies a lib's pending migrations in one transaction under an advisory lock, so concurrent
 * start-ups apply each migration once. Refuses to start when an applied migration's text changed
 * (its checksum differs) or when the database knows a version this code does not.
 */
export async function migrate(
  client: SqlClient,
  namespace: string,
  migrations: readonly Migration[],
): Promise<{ applied: string[] }> {
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  return client.transaction(async (tx) => {
    await tx.query('select pg_advisory_xact_lock($1)', [LOCK_KEY]);
    await tx.exec(`
      create table if not exists ll_schema_migrations (
        namespace text not null,
        version integer not null,
        name text not null,
        checksum text not null,
        applied_at timestamptz not null default now(),
        primary key (namespace, version)
      )`);
    const rows = await tx.query<{ version: number; checksum: string; name: string }>(
      'select version, checksum, name from ll_schema_migrations where namespace = $1',
      [namespace],
    );
    const done = new Map(rows.map((r) => [Number(r.version), r]));
    for (const [version, row] of done) {
      const known = sorted.find((m) => m.version === version);
      if (!known) {
        throw new MigrationDriftError(
          `${namespace}: the database has migration ${version} (${row.name}), which this build does not know; refusing to run an older build`,
        );
      }
      if (migrationChecksum(known) !== row.checksum) {
        throw new MigrationDriftError(
          `${namespace}: migration ${version} (${known.name}) was edited after it was applied`,
        );
      }
    }
    const applied: string[] = [];
    for (const m of sorted) {
      if (done.has(m.version)) continue;
      await tx.exec(m.sql);
      await tx.query(
        'insert into ll_schema_migrations (namespace, version, name, checksum) values ($1, $2, $3, $4)',
        [namespace, m.version, m.name, migrationChecksum(m)],
      );
      applied.push(`${namespace}/${m.version}-${m.name}`);
    }
    return { applied };
  });
}
