import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { PgliteSqlClient, SqlError, migrateSchema } from '@ledgerline/database';
import { ManualClock, type EventToAppend } from '@ledgerline/kernel';
import { STARTUP_TIMEOUT_MS, availableDatabases, openTestDatabase } from '@ledgerline/testing';
import { CONTRACT_LIMITS } from '../../contract/event-store.contract';
import { eventStoreMigrations } from './event-store.migrations';
import { SqlEventStore } from './sql-event-store.adapter';
import { eventStoreManifest } from '../../manifest';

const options = { limits: CONTRACT_LIMITS, clock: new ManualClock(), pollIntervalMs: 100 };
const event = (body: string): EventToAppend => ({
  eventId: randomUUID(),
  type: 'Noted',
  schemaVersion: 1,
  tenantId: 'tenant-a',
  metadata: {},
  data: new TextEncoder().encode(body),
});

describe.each(availableDatabases())('SQL event log storage on %s', (kind) => {
  it('is append-only: UPDATE, DELETE and TRUNCATE of events are refused by the database', async () => {
    const db = await openTestDatabase(kind, [eventStoreManifest]);
    try {
      const store = SqlEventStore.create(db.client, options);
      await store.appendToStream('s-1', [event('keep me')], 'no_stream');
      for (const sql of [
        `update ll_events set type = 'Changed'`,
        'delete from ll_events',
        'truncate ll_events',
      ]) {
        const error = await db.client.query(sql).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(SqlError);
        expect((error as SqlError).sqlState).toBe('LL403');
      }
      expect(await store.readStream('s-1')).toHaveLength(1);
      await store.close();
    } finally {
      await db.close();
    }
  });

  it('takes its migrations once when two processes start on the same database at once', async () => {
    const db = await openTestDatabase(kind);
    try {
      await Promise.all([
        migrateSchema(db.client, eventStoreManifest.schema!),
        migrateSchema(db.client, eventStoreManifest.schema!),
      ]);
      const rows = await db.client.query(
        `select version from ll_schema_migrations where namespace = 'event-store'`,
      );
      expect(rows).toHaveLength(eventStoreMigrations.length);
    } finally {
      await db.close();
    }
  });
});

describe('PGlite persistence', () => {
  it(
    'keeps events in its data directory across restarts',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ledgerline-pglite-'));
      try {
        const first = await PgliteSqlClient.open(dir);
        await migrateSchema(first, eventStoreManifest.schema!);
        const store = SqlEventStore.create(first, options);
        const appended = await store.appendToStream('persist-1', [event('survives')], 'no_stream');
        await store.close();
        await first.close();

        const second = await PgliteSqlClient.open(dir);
        const reopened = SqlEventStore.create(second, options);
        const [stored] = await reopened.readStream('persist-1');
        expect(new TextDecoder().decode(stored!.data)).toBe('survives');
        expect(stored!.position).toEqual(appended.position);
        await reopened.close();
        await second.close();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      // Two on-disk PGlite start-ups: seconds each on a quiet machine, far more on a busy one.
    },
    STARTUP_TIMEOUT_MS,
  );
});
