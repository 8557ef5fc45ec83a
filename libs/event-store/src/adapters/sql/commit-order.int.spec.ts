import { randomUUID } from 'node:crypto';
import { ManualClock, comparePositions, type RecordedEvent } from '@ledgerline/kernel';
import { describeWhenEnv, openTestDatabase, type TestDatabase } from '@ledgerline/testing';
import { Client } from 'pg';
import { CONTRACT_LIMITS } from '../../contract/event-store.contract';
import { SqlEventStore } from './sql-event-store.adapter';
import { eventStoreManifest } from '../../manifest';

// Real concurrency needs several connections, so these run on PostgreSQL only (PGlite has one).

function appendSql(stream: string, body: string): [string, unknown[]] {
  const events = [
    {
      id: randomUUID(),
      type: 'Written',
      v: 1,
      tenant: 't',
      meta: {},
      data: Buffer.from(body).toString('base64'),
    },
  ];
  return [
    `select o_event_id::text as id, o_position as position from ll_append($1, 'any', now(), $2::jsonb)`,
    [stream, JSON.stringify(events)],
  ];
}

describeWhenEnv(
  'TEST_DATABASE_URL',
  'SqlEventStore $all under out-of-order commits (PostgreSQL)',
  () => {
    let db: TestDatabase;
    let store: SqlEventStore;
    const clients: Client[] = [];

    async function connection(): Promise<Client> {
      const c = new Client({ connectionString: db.url });
      await c.connect();
      clients.push(c);
      return c;
    }

    beforeAll(async () => {
      db = await openTestDatabase('postgres', [eventStoreManifest]);
      store = SqlEventStore.create(db.client, {
        limits: CONTRACT_LIMITS,
        clock: new ManualClock(),
        pollIntervalMs: 50,
      });
    });
    afterAll(async () => {
      await store.close();
      await Promise.all(clients.map((c) => c.end()));
      await db.close();
    });

    it('hides a later-numbered commit until the earlier open transaction ends, then shows both in order', async () => {
      const prefix = `o${randomUUID().slice(0, 8)}-`;
      const t1 = await connection();
      const t2 = await connection();
      await t1.query('begin');
      const [sql1, p1] = appendSql(`${prefix}a`, 'first-taken');
      const first = (await t1.query(sql1, p1)).rows[0] as { position: string };
      await t2.query('begin');
      const [sql2, p2] = appendSql(`${prefix}b`, 'second-taken');
      const second = (await t2.query(sql2, p2)).rows[0] as { position: string };
      expect(BigInt(second.position)).toBeGreaterThan(BigInt(first.position));
      await t2.query('commit');

      // A plain `position > last` reader would now see 'second-taken' and move past 'first-taken'.
      const during = await store.readAll({ filter: { streamPrefixes: [prefix] } });
      expect(during.events).toEqual([]);

      await t1.query('commit');
      const after = await store.readAll({ filter: { streamPrefixes: [prefix] } });
      expect(after.events.map((e) => Buffer.from(e.data).toString())).toEqual([
        'first-taken',
        'second-taken',
      ]);
    });

    it('keeps an order in which nothing can appear behind a read event when ids and positions disagree', async () => {
      const prefix = `x${randomUUID().slice(0, 8)}-`;
      const older = await connection();
      const younger = await connection();
      await older.query('begin');
      await older.query('select pg_current_xact_id()'); // the older transaction id, but no position yet
      await younger.query('begin');
      const [ySql, yParams] = appendSql(`${prefix}y`, 'lower-position');
      await younger.query(ySql, yParams);
      const [oSql, oParams] = appendSql(`${prefix}o`, 'higher-position');
      await older.query(oSql, oParams);
      await younger.query('commit');
      expect((await store.readAll({ filter: { streamPrefixes: [prefix] } })).events).toEqual([]);
      await older.query('commit');
      const seen = (await store.readAll({ filter: { streamPrefixes: [prefix] } })).events;
      expect(seen.map((e) => Buffer.from(e.data).toString())).toEqual([
        'higher-position',
        'lower-position',
      ]);
    });

    it('a live subscriber sees exactly the committed set, in order, under random concurrent writers', async () => {
      const prefix = `r${randomUUID().slice(0, 8)}-`;
      const writers = 8;
      const perWriter = 25;
      const committed = new Set<string>();
      const seen: RecordedEvent[] = [];
      const sub = store.subscribeToAll({
        filter: { streamPrefixes: [prefix] },
        onEvent: async (e) => {
          seen.push(e);
        },
      });

      const conns = await Promise.all(Array.from({ length: writers }, () => connection()));
      await Promise.all(
        conns.map(async (c, w) => {
          for (let i = 0; i < perWriter; i++) {
            await c.query('begin');
            const [sql, params] = appendSql(`${prefix}w${w}-${i % 3}`, `w${w}-${i}`);
            const row = (await c.query(sql, params)).rows[0] as { id: string };
            // Hold the transaction open for a random time after taking a position.
            await new Promise((r) => setTimeout(r, Math.random() * 30));
            if (Math.random() < 0.1) {
              await c.query('rollback');
            } else {
              await c.query('commit');
              committed.add(row.id);
            }
          }
        }),
      );

      const until = Date.now() + 15_000;
      while (seen.length < committed.size && Date.now() < until)
        await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 200)); // anything extra would arrive now
      await sub.stop();

      const ids = seen.map((e) => e.eventId);
      expect(new Set(ids).size).toBe(ids.length); // no duplicates
      expect(new Set(ids)).toEqual(committed); // nothing skipped, nothing rolled back
      for (let i = 1; i < seen.length; i++)
        expect(comparePositions(seen[i - 1]!.position, seen[i]!.position)).toBe(-1);
      // The run really did commit out of sequence order: a `position > last` poll could have skipped.
      const sequence = seen.map((e) => e.position.prepare);
      expect(sequence.some((p, i) => i > 0 && p < sequence[i - 1]!)).toBe(true);
    });
  },
);
