import { comparePositions, type GlobalPosition, type RecordedEvent } from '@ledgerline/kernel';
import type {
  AllFilter,
  CheckpointStore,
  EventStore,
  SubscribeOptions,
  Subscription,
} from './event-store.port';

/** Anything a subscription delivers: it has a place in `$all`. */
export interface PositionedEvent {
  readonly position: GlobalPosition;
}

export interface DurableSubscriptionOptions<E extends PositionedEvent = RecordedEvent> {
  /** Unique, stable name: the checkpoint's key. */
  readonly name: string;
  readonly filter?: AllFilter;
  readonly onEvent: (event: E) => Promise<void>;
  /** Save the checkpoint after this many handled events (and whenever caught up, and on stop). */
  readonly checkpointEvery?: number;
  readonly onRetry?: (error: unknown, attempt: number) => void;
  /** Called, after the checkpoint is saved, each time everything committed so far was delivered. */
  readonly onCaughtUp?: (position: GlobalPosition) => void | Promise<void>;
}

/**
 * A `$all` subscription of some kind: the event store's own (`store.subscribeToAll`) or one that
 * hands over events transformed on the way (e.g. the ledger's, which opens sealed events).
 */
export type SubscribeFunction<E extends PositionedEvent> = (
  options: Omit<SubscribeOptions, 'onEvent'> & { readonly onEvent: (event: E) => Promise<void> },
) => Subscription;

/**
 * A subscription that resumes where it left off: it starts after the saved checkpoint and saves
 * the position of handled events. Delivery is at-least-once: events handled after the last save
 * are delivered again after a crash, so handlers must be idempotent.
 */
export async function startDurableSubscription(
  store: EventStore,
  checkpoints: CheckpointStore,
  options: DurableSubscriptionOptions,
): Promise<Subscription> {
  return startDurableSubscriptionWith((o) => store.subscribeToAll(o), checkpoints, options);
}

/** `startDurableSubscription` over any subscribe function (same checkpointing, same guarantees). */
export async function startDurableSubscriptionWith<E extends PositionedEvent>(
  subscribe: SubscribeFunction<E>,
  checkpoints: CheckpointStore,
  options: DurableSubscriptionOptions<E>,
): Promise<Subscription> {
  const every = options.checkpointEvery ?? 100;
  const start = await checkpoints.load(options.name);
  let handled: GlobalPosition | undefined;
  let saved: GlobalPosition | undefined = start;
  let sinceSave = 0;
  const save = async (position: GlobalPosition | undefined) => {
    if (!position || (saved && comparePositions(position, saved) === 0)) return;
    await checkpoints.save(options.name, position);
    saved = position;
    sinceSave = 0;
  };
  const inner = subscribe({
    after: start,
    filter: options.filter,
    onRetry: options.onRetry,
    onEvent: async (event) => {
      await options.onEvent(event);
      handled = event.position;
      sinceSave += 1;
      if (sinceSave >= every) await save(handled);
    },
    // Caught up: also move past filtered-out events so a sparse filter does not rescan them.
    onCaughtUp: async (position) => {
      await save(position);
      await options.onCaughtUp?.(position);
    },
  });
  return {
    done: inner.done,
    async stop() {
      await inner.stop();
      await save(handled);
    },
  };
}
