import {
  START,
  type AllStreamResolvedEvent,
  type AllStreamSubscription,
  type EventStoreDBClient,
} from '@eventstore/db-client';
import { START_POSITION, comparePositions, type GlobalPosition } from '@ledgerline/kernel';
import { EventStoreUnavailableError } from '../../event-store.errors';
import type { SubscribeOptions } from '../../event-store.port';
import { SubscriptionLoop } from '../../subscription-loop';
import {
  commandError,
  isAfter,
  isPermanent,
  matchesFilter,
  normaliseFilter,
  serverFilter,
  toRecordedEvent,
  toStoreError,
  type NormalisedFilter,
} from './eventstoredb-mapping';

const MAX_BACKOFF_MS = 5_000;

/** Wraps an error thrown by the caller's handler, so it ends the subscription instead of a retry. */
class HandlerFailure extends Error {
  constructor(readonly error: unknown) {
    super('subscription handler failed');
  }
}

/**
 * A catch-up subscription to `$all` on EventStoreDB's own subscription. Events are pulled one at a
 * time with `read()`, so the next is not taken before the handler's promise settles and the client
 * stream exerts back-pressure on the server. On a transient failure it resubscribes after the last
 * event it saw, with exponential back-off.
 */
export class EventStoreDbSubscription extends SubscriptionLoop {
  private readonly filter: NormalisedFilter;
  /** Last event the server sent (delivered or filtered out here): where a resubscription starts. */
  private last: GlobalPosition | undefined;
  private failures = 0;

  constructor(
    private readonly client: EventStoreDBClient,
    private readonly options: SubscribeOptions,
    onEnd: () => void,
  ) {
    super(onEnd);
    this.filter = normaliseFilter(options.filter);
    this.last = options.after;
  }

  protected async run(): Promise<void> {
    while (!this.stopped) {
      const from = this.last;
      const sub = this.client.subscribeToAll({
        fromPosition: from && comparePositions(from, START_POSITION) !== 0 ? from : START,
        filter: serverFilter(this.filter),
      });
      try {
        await this.pump(sub);
        return; // pump returns only once stopped
      } catch (error) {
        if (error instanceof HandlerFailure) throw error.error;
        if (this.stopped) return;
        const cause = commandError(error);
        if (isPermanent(cause)) throw toStoreError(cause);
        // Everything else (unavailable, not leader, reset streams, a stream the server ended) is retried.
        const retry =
          cause instanceof EventStoreUnavailableError
            ? cause
            : new EventStoreUnavailableError('EventStoreDB subscription dropped', { cause });
        this.failures += 1;
        this.options.onRetry?.(retry, this.failures);
        await this.sleep(Math.min(MAX_BACKOFF_MS, 100 * 2 ** this.failures));
      } finally {
        sub.on('error', () => undefined); // late errors of a cancelled call are expected
        await sub.unsubscribe().catch(() => undefined);
        sub.destroy();
      }
    }
  }

  /** Delivers events until stopped (returns) or until the client stream fails or ends (throws). */
  private async pump(sub: AllStreamSubscription): Promise<void> {
    let taken = 0;
    // The client emits 'caughtUp' when it transforms the server's message, possibly while events
    // before it still sit in the stream's buffer. Each mark is the number of events that must have
    // been taken from the stream before the caught-up notice is true.
    const caughtUpMarks: number[] = [];
    let failure: unknown;
    let ended = false;
    const onReadable = () => this.signal();
    const onCaughtUp = () => {
      caughtUpMarks.push(taken + sub.readableLength);
      this.signal();
    };
    const onError = (error: unknown) => {
      failure ??= error;
      this.signal();
    };
    const onEnd = () => {
      ended = true;
      this.signal();
    };
    sub.on('readable', onReadable).on('caughtUp', onCaughtUp).on('error', onError).on('end', onEnd);
    try {
      for (;;) {
        if (this.stopped) return;
        if (caughtUpMarks.length > 0 && caughtUpMarks[0]! <= taken) {
          while (caughtUpMarks.length > 0 && caughtUpMarks[0]! <= taken) caughtUpMarks.shift();
          this.failures = 0;
          await this.call(() => this.options.onCaughtUp?.(this.last ?? START_POSITION));
          continue;
        }
        this.signalled = false;
        const item = sub.read() as AllStreamResolvedEvent | null;
        if (item !== null) {
          taken += 1;
          await this.deliver(item);
          continue;
        }
        if (failure !== undefined)
          throw failure instanceof Error
            ? failure
            : new EventStoreUnavailableError('EventStoreDB subscription failed');
        if (ended) throw new EventStoreUnavailableError('EventStoreDB ended the subscription');
        await this.wait();
      }
    } finally {
      sub
        .off('readable', onReadable)
        .off('caughtUp', onCaughtUp)
        .off('error', onError)
        .off('end', onEnd);
    }
  }

  private async deliver(item: AllStreamResolvedEvent): Promise<void> {
    const rec = item.event;
    // Subscription positions are exclusive, but guard anyway: a replay must never deliver twice.
    if (!rec || !isAfter(rec.position, this.last)) return;
    this.last = rec.position;
    this.failures = 0;
    if (!matchesFilter(rec, this.filter)) return;
    const event = toRecordedEvent(rec);
    await this.call(() => this.options.onEvent(event));
  }

  private async call(handler: () => void | Promise<void>): Promise<void> {
    try {
      await handler();
    } catch (error) {
      throw new HandlerFailure(error);
    }
  }
}
