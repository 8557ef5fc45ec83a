import type { LibManifest } from '@ledgerline/kernel';
import { eventStoreMigrations } from './adapters/sql/event-store.migrations';

/** What the event store brings to a process (docs/adr/0027); loaded without the rest of the lib. */
export const eventStoreManifest: LibManifest = {
  name: 'event-store',
  schema: [{ namespace: 'event-store', migrations: eventStoreMigrations }],
};
