import { ManualClock } from '@ledgerline/kernel';
import { availableDatabases, openTestDatabase } from '@ledgerline/testing';
import { CONTRACT_LIMITS, eventStoreContract } from '../../contract/event-store.contract';
import { SqlCheckpointStore } from './sql-checkpoint-store.adapter';
import { SqlEventStore } from './sql-event-store.adapter';
import { eventStoreManifest } from '../../manifest';

for (const kind of availableDatabases()) {
  eventStoreContract(kind === 'postgres' ? 'postgres (pg)' : 'pglite', async () => {
    const db = await openTestDatabase(kind, [eventStoreManifest]);
    const clock = new ManualClock();
    const store = SqlEventStore.create(db.client, {
      limits: CONTRACT_LIMITS,
      clock,
      pollIntervalMs: 200,
    });
    const checkpoints = SqlCheckpointStore.create(db.client);
    return {
      store,
      checkpoints,
      clock,
      async teardown() {
        await store.close();
        await db.close();
      },
    };
  });
}
