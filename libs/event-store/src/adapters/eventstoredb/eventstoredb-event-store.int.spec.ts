import { ManualClock } from '@ledgerline/kernel';
import { describeWhenEnv, openTestDatabase } from '@ledgerline/testing';
import { CONTRACT_LIMITS, eventStoreContract } from '../../contract/event-store.contract';
import { SqlCheckpointStore } from '../sql/sql-checkpoint-store.adapter';
import { EventStoreDbEventStore } from './eventstoredb-event-store.adapter';
import { eventStoreManifest } from '../../manifest';

// EventStoreDB cannot be installed on this project's machines; CI reports this suite as skipped,
// by name, unless EVENTSTORE_URL points at a server (e.g. `esdb://localhost:2113?tls=false`).
describeWhenEnv('EVENTSTORE_URL', 'EventStoreDB adapter', () => {
  eventStoreContract(
    'eventstoredb',
    async () => {
      const clock = new ManualClock();
      const store = await EventStoreDbEventStore.connect(process.env['EVENTSTORE_URL']!, {
        limits: CONTRACT_LIMITS,
        clock,
      });
      // Checkpoints live in SQL whichever adapter holds the events.
      const db = await openTestDatabase(undefined, [eventStoreManifest]);
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
    },
    { crossStreamEventIds: 'EventStoreDB does not index event ids across streams' },
  );
});
