import {
  startDurableSubscriptionWith,
  type CheckpointStore,
  type DurableSubscriptionOptions,
  type Subscription,
} from '@ledgerline/event-store';
import type { Ledger, OpenedEvent } from './ledger';

/**
 * A durable subscription that hands over opened (verified, decrypted) events: the ledger's
 * `subscribe` under event-store's checkpointing. At-least-once across restarts, like
 * `startDurableSubscription`; an event whose data key was shredded arrives as `shredded`.
 */
export function startDurableLedgerSubscription(
  ledger: Pick<Ledger, 'subscribe'>,
  checkpoints: CheckpointStore,
  options: DurableSubscriptionOptions<OpenedEvent>,
): Promise<Subscription> {
  return startDurableSubscriptionWith((o) => ledger.subscribe(o), checkpoints, options);
}
