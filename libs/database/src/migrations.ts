import { createHash } from 'node:crypto';
import { LedgerlineError, type Migration, type SchemaPart } from '@ledgerline/kernel';
import type { SqlClient, SqlExecutor } from './sql-client.port';
import { SqlError } from './sql-errors';

export type { Migration, SchemaPart } from '@ledgerline/kernel';

export class MigrationDriftError extends LedgerlineError {
  readonly code = 'migration_drift';
}

export function migrationChecksum(m: Migration): string {
  return createHash('sha256').update(m.sql).digest('hex');
}

const LOCK_KEY = 7_341_509; // arbitrary, constant: serialises migrators across processes

/** The schema is older than this build: `ledgerline migrate` (or a server start) brings it up. */
export class SchemaBehindError extends LedgerlineError {
  readonly code = 'schema_behind';
}

const LEDGER_TABLE = `
  create table if not exists ll_schema_migrations (
    namespace text not null,
    version integer not null,
    name text not null,
    checksum text not null,
    applied_at timestamptz not null default now(),
    primary key (namespace, version)
  )`;

/**
 * Applies every pending migration of `parts`, in order, in one transaction under an advisory lock,
 * so concurrent start-ups apply each migration once. Refuses to run when an applied migration's
 * text changed (its checksum differs) or the database knows a version this code does not. A server
 * does this once at start and `ledgerline migrate` on demand; stores never migrate themselves.
 */
export async function migrateSchema(
  client: SqlClient,
  parts: readonly SchemaPart[],
): Promise<{ applied: string[] }> {
  return client.transaction(async (tx) => {
    await tx.query('select pg_advisory_xact_lock($1)', [LOCK_KEY]);
    await tx.exec(LEDGER_TABLE);
    const done = await appliedVersions(tx);
    const applied: string[] = [];
    for (const part of parts) {
      const pending = checkApplied(part, done.get(part.namespace));
      for (const m of pending) {
        await tx.exec(m.sql);
        await tx.query(
          'insert into ll_schema_migrations (namespace, version, name, checksum) values ($1, $2, $3, $4)',
          [part.namespace, m.version, m.name, migrationChecksum(m)],
        );
        applied.push(`${part.namespace}/${m.version}-${m.name}`);
      }
    }
    return { applied };
  });
}

/**
 * One read: the database holds exactly the migrations of `parts` (what operator commands check
 * instead of migrating). Throws SchemaBehindError naming what is missing, MigrationDriftError on
 * an edited or unknown migration.
 */
export async function verifySchema(
  client: SqlExecutor,
  parts: readonly SchemaPart[],
): Promise<void> {
  let done: Map<string, Map<number, AppliedRow>>;
  try {
    done = await appliedVersions(client);
  } catch (error) {
    // 42P01: undefined table. Anything else (an outage) is not a schema question.
    if (error instanceof SqlError && error.sqlState === '42P01') {
      throw new SchemaBehindError(
        'the database has no Ledgerline schema yet: run `ledgerline migrate`',
      );
    }
    throw error;
  }
  const missing = parts.flatMap((part) =>
    checkApplied(part, done.get(part.namespace)).map(
      (m) => `${part.namespace}/${m.version}-${m.name}`,
    ),
  );
  if (missing.length > 0) {
    throw new SchemaBehindError(
      `the database schema is older than this build (missing ${missing.join(', ')}): run \`ledgerline migrate\``,
    );
  }
}

/** Applies one namespace's migrations (a lib's own tests; everything else uses migrateSchema). */
export function migrate(
  client: SqlClient,
  namespace: string,
  migrations: readonly Migration[],
): Promise<{ applied: string[] }> {
  return migrateSchema(client, [{ namespace, migrations }]);
}

interface AppliedRow {
  readonly version: number;
  readonly checksum: string;
  readonly name: string;
}

async function appliedVersions(client: SqlExecutor): Promise<Map<string, Map<number, AppliedRow>>> {
  const rows = await client.query<AppliedRow & { namespace: string }>(
    'select namespace, version, checksum, name from ll_schema_migrations',
  );
  const byNamespace = new Map<string, Map<number, AppliedRow>>();
  for (const row of rows) {
    const versions = byNamespace.get(row.namespace) ?? new Map<number, AppliedRow>();
    versions.set(Number(row.version), row);
    byNamespace.set(row.namespace, versions);
  }
  return byNamespace;
}

/** The migrations of `part` not applied yet, in version order; throws on drift. */
function checkApplied(
  part: SchemaPart,
  done: ReadonlyMap<number, AppliedRow> | undefined,
): Migration[] {
  const sorted = [...part.migrations].sort((a, b) => a.version - b.version);
  for (const [version, row] of done ?? []) {
    const known = sorted.find((m) => m.version === version);
    if (!known) {
      throw new MigrationDriftError(
        `${part.namespace}: the database has migration ${version} (${row.name}), which this build does not know; refusing to run an older build`,
      );
    }
    if (migrationChecksum(known) !== row.checksum) {
      throw new MigrationDriftError(
        `${part.namespace}: migration ${version} (${known.name}) was edited after it was applied`,
      );
    }
  }
  return sorted.filter((m) => !done?.has(m.version));
}
