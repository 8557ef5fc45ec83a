import { randomUUID } from 'node:crypto';
import { ManualClock, comparePositions } from '@ledgerline/kernel';
import { availableDatabases, openTestDatabase } from '@ledgerline/testing';
import { CONTRACT_LIMITS } from '../../contract/event-store.contract';
import { SqlEventStore } from './sql-event-store.adapter';
import { eventStoreManifest } from '../../manifest';

const event = () => ({
  eventId: randomUUID(),
  type: 'Written',
  schemaVersion: 1,
  tenantId: 't',
  metadata: {},
  data: new Uint8Array([1]),
});

for (const kind of availableDatabases()) {
  describe(`$all order across transaction ids of different lengths (${kind})`, () => {
    // Positions compare as numbers. A text sort puts transaction 1000 before 999, moving a
    // reader's cursor backwards: it then re-reads events and misses others.
    it('stays numeric when transaction ids cross a power of ten', async () => {
      const db = await openTestDatabase(kind, [eventStoreManifest]);
      const store = SqlEventStore.create(db.client, {
        limits: CONTRACT_LIMITS,
        clock: new ManualClock(),
        pollIntervalMs: 50,
      });
      try {
        const xid = async () =>
          Number(
            (await db.client.query<{ x: string }>('select pg_current_xact_id()::text as x'))[0]!.x,
          );
        let current = await xid();
        const boundary = 10 ** String(current + 3).length;
        // Burn transaction ids up to just below the boundary (each call is its own transaction).
        if (boundary - current < 20_000) while (current < boundary - 3) current = await xid();
        const stream = `order-${randomUUID().slice(0, 8)}`;
        for (let i = 0; i < 8; i++) await store.appendToStream(stream, [event()], 'any');

        // $all shows only rows older than every running transaction (cluster-wide), so a busy
        // server may hold some back for a moment: read on from the cursor, as a subscription does.
        const mine = [];
        let after = undefined as undefined | Awaited<ReturnType<typeof store.readAll>>['next'];
        const deadline = Date.now() + 60_000;
        while (mine.length < 8 && Date.now() < deadline) {
          const page = await store.readAll({
            ...(after ? { after } : {}),
            maxCount: 3,
            filter: { streamPrefixes: [stream] },
          });
          if (after) expect(comparePositions(page.next, after)).toBeGreaterThanOrEqual(0);
          after = page.next;
          mine.push(...page.events);
          if (!page.more) await new Promise((resolve) => setTimeout(resolve, 50));
        }
        expect(mine.map((e) => e.revision)).toEqual([0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n]);
        for (let i = 1; i < mine.length; i++) {
          expect(comparePositions(mine[i - 1]!.position, mine[i]!.position)).toBe(-1);
        }
      } finally {
        await store.close();
        await db.close();
      }
    });
  });
}
