import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { PgliteSqlClient, SqlError } from '@ledgerline/database';
import { ManualClock, type EventToAppend } from '@ledgerline/kernel';
import { availableDatabases, openTestDatabase } from '@ledgerline/testing';
import { CONTRACT_LIMITS } from '../../contract/event-store.contract';
import { eventStoreMigrations } from './event-store.migrations';
import { SqlEventStore } from './sql-event-store.adapter';

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
    const db = await openTestDatabase(kind);
    try {
      const store = await SqlEventStore.create(db.client, options);
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

  it('applies its migrations idempotently when two stores open the same database', async () => {
    const db = await openTestDatabase(kind);
    try {
      await Promise.all([
        SqlEventStore.create(db.client, options),
        SqlEventStore.create(db.client, options),
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
  it('keeps events in its data directory across restarts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ledgerline-pglite-'));
    try {
      const first = await PgliteSqlClient.open(dir);
      const store = await SqlEventStore.create(first, options);
      const appended = await store.appendToStream('persist-1', [event('survives')], 'no_stream');
      await store.close();
      await first.close();

      const second = await PgliteSqlClient.open(dir);
      const reopened = await SqlEventStore.create(second, options);
      const [stored] = await reopened.readStream('persist-1');
      expect(new TextDecoder().decode(stored!.data)).toBe('survives');
      expect(stored!.position).toEqual(appended.position);
      await reopened.close();
      await second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
