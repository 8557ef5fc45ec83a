export type {
  AllFilter,
  AppendOptions,
  AppendResult,
  CheckpointStore,
  EventStore,
  ExpectedRevision,
  ReadAllOptions,
  ReadAllPage,
  ReadStreamOptions,
  SubscribeOptions,
  Subscription,
} from './event-store.port';
export {
  WrongExpectedRevisionError,
  EventIdConflictError,
  InvalidStreamIdError,
  InvalidEventError,
  InvalidExpectedRevisionError,
  EventStoreUnavailableError,
} from './event-store.errors';
export { validateAppend, assertValidStreamId } from './append-validation';
export { SqlEventStore, type SqlEventStoreOptions } from './adapters/sql/sql-event-store.adapter';
export { SqlCheckpointStore } from './adapters/sql/sql-checkpoint-store.adapter';
export { eventStoreManifest } from './manifest';
export {
  startDurableSubscription,
  startDurableSubscriptionWith,
  type DurableSubscriptionOptions,
  type PositionedEvent,
  type SubscribeFunction,
} from './durable-subscription';
export { EventStoreModule, EVENT_STORE, CHECKPOINT_STORE } from './event-store.module';
