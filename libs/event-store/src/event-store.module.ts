import { Global, Inject, Module, type BeforeApplicationShutdown } from '@nestjs/common';
import { SQL_CLIENT, type SqlClient } from '@ledgerline/database';
import { CLOCK, CONFIG, type Clock, type LedgerlineConfig } from '@ledgerline/kernel';
import { SqlCheckpointStore } from './adapters/sql/sql-checkpoint-store.adapter';
import { SqlEventStore } from './adapters/sql/sql-event-store.adapter';
import type { EventStore } from './event-store.port';

export const EVENT_STORE = Symbol('EventStore');
export const CHECKPOINT_STORE = Symbol('CheckpointStore');

class EventStoreLifecycle implements BeforeApplicationShutdown {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}
  // Before the database closes: stop subscriptions and let in-flight handlers finish.
  async beforeApplicationShutdown(): Promise<void> {
    await this.store.close();
  }
}

/**
 * The event store chosen by configuration: EventStoreDB when EVENTSTORE_URL is set, otherwise the
 * SQL adapter on the process's database (PostgreSQL or PGlite). Checkpoints always live in SQL.
 */
@Global()
@Module({
  providers: [
    {
      provide: EVENT_STORE,
      inject: [CONFIG, CLOCK, SQL_CLIENT],
      useFactory: async (
        config: LedgerlineConfig,
        clock: Clock,
        client: SqlClient,
      ): Promise<EventStore> => {
        if (config.storage.eventStoreUrl) {
          // Loaded only when configured: its gRPC client is a large part of any process's start.
          const { EventStoreDbEventStore } =
            await import('./adapters/eventstoredb/eventstoredb-event-store.adapter');
          return EventStoreDbEventStore.connect(config.storage.eventStoreUrl, {
            limits: config.eventStore,
            clock,
          });
        }
        return SqlEventStore.create(client, {
          limits: config.eventStore,
          clock,
          pollIntervalMs: config.eventStore.pollIntervalMs,
        });
      },
    },
    {
      provide: CHECKPOINT_STORE,
      inject: [SQL_CLIENT],
      useFactory: (client: SqlClient) => SqlCheckpointStore.create(client),
    },
    EventStoreLifecycle,
  ],
  exports: [EVENT_STORE, CHECKPOINT_STORE],
})
export class EventStoreModule {}
