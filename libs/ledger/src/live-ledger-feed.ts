import type { EventStore, Subscription } from '@ledgerline/event-store';
import { Pause, comparePositions, describeError, type GlobalPosition } from '@ledgerline/kernel';
import type { Ledger, OpenedEvent } from './ledger';

/** Where a feed reports trouble: ids, positions and error codes only, never an event. */
export interface LiveFeedLog {
  warn(fields: Record<string, unknown>): void;
  error(fields: Record<string, unknown>): void;
}

export interface LiveLedgerFeedOptions {
  /** The streams followed (`conversation:`, `presence:`). */
  readonly streamPrefix: string;
  /** What the log lines call it (`conversation events`). */
  readonly name: string;
  /** Routes one event. A throw is logged and the event passed over: it never ends the feed. */
  readonly onEvent: (event: OpenedEvent) => Promise<void>;
  /** What `whenLive` rejects with when the feed is not live in time. */
  readonly unavailable: () => Error;
  readonly restartDelayMs?: number;
  readonly maxRestartDelayMs?: number;
  readonly log?: LiveFeedLog;
}

const SILENT: LiveFeedLog = { warn: () => undefined, error: () => undefined };

/**
 * A process's live fan-out over one stream prefix, from the end of the log as it was when the
 * process's tail started (the event store's head position): a restart neither replays history nor
 * decrypts it. Events reach `onEvent` one at a time in `$all` order.
 *
 * Every feed over one ledger rides on that ledger's one `LiveLedgerTail`: the conversations',
 * presence and calls fan-outs of a node read each wake-up's events in one `$all` read, not one
 * each.
 */
export class LiveLedgerFeed {
  private readonly tail: LiveLedgerTail;
  private unfollow: (() => Promise<void>) | undefined;

  constructor(
    ledger: Pick<Ledger, 'subscribe'>,
    store: Pick<EventStore, 'headPosition'>,
    private readonly options: LiveLedgerFeedOptions,
  ) {
    this.tail = LiveLedgerTail.of(ledger, store);
  }

  /** Starts following (the tail starts when it is the first); no-op when following. */
  start(): void {
    this.unfollow ??= this.tail.follow(this.options);
  }

  /** Stops following, letting the event in hand finish (the tail stops with its last follower). */
  async stop(): Promise<void> {
    const unfollow = this.unfollow;
    this.unfollow = undefined;
    await unfollow?.();
    await this.tail.settled();
  }

  /** Resolves once events of this feed's streams are flowing; rejects with `unavailable()` after `timeoutMs`. */
  whenLive(timeoutMs: number): Promise<void> {
    return this.tail.whenLive(this.options, timeoutMs);
  }
}

interface Route {
  readonly options: LiveLedgerFeedOptions;
  /** The head of the log when it joined: it is handed only what comes after (unset: joining). */
  after: GlobalPosition | undefined;
  /** Its prefix has been in the filter of a running subscription (it stays so across restarts). */
  live: boolean;
}

const TAILS = new WeakMap<object, LiveLedgerTail>();

/**
 * One ledger subscription from the head of the log over the union of its followers' prefixes,
 * handing each event to the followers whose prefix it has and that joined before it (each follower
 * starts at the head as it was when it joined). A follower added while it runs restarts the
 * subscription (from the last event routed) with the wider filter. A failed subscription
 * restarts, with a doubling delay, from the last event routed: followers see a delay, not a gap.
 */
class LiveLedgerTail {
  private readonly routes = new Map<LiveLedgerFeedOptions, Route>();
  /** Who waits for a follower (started or not yet) to be live. */
  private readonly waiters = new Map<LiveLedgerFeedOptions, Set<() => void>>();
  private readonly pause = new Pause();
  private position: GlobalPosition | undefined;
  private subscription: Subscription | undefined;
  private loop: Promise<void> | undefined;

  private constructor(
    private readonly ledger: Pick<Ledger, 'subscribe'>,
    private readonly store: Pick<EventStore, 'headPosition'>,
  ) {}

  /** The ledger's one tail (a ledger is one per process; tests build several). */
  static of(ledger: Pick<Ledger, 'subscribe'>, store: Pick<EventStore, 'headPosition'>) {
    let tail = TAILS.get(ledger);
    if (!tail) {
      tail = new LiveLedgerTail(ledger, store);
      TAILS.set(ledger, tail);
    }
    return tail;
  }

  /** Adds a follower; the returned function removes it, letting the event in hand finish. */
  follow(options: LiveLedgerFeedOptions): () => Promise<void> {
    this.routes.set(options, { options, after: undefined, live: false });
    if (this.loop)
      void this.subscription?.stop(); // read on with the wider filter
    else this.loop = this.run();
    return async () => {
      this.routes.delete(options);
      if (this.routes.size === 0) this.pause.interrupt();
      await this.subscription?.stop(); // read on without it (or end, when it was the last)
    };
  }

  /** Resolves once the loop has ended when no one follows, at once otherwise. */
  async settled(): Promise<void> {
    if (this.routes.size === 0) await this.loop;
  }

  whenLive(options: LiveLedgerFeedOptions, timeoutMs: number): Promise<void> {
    if (this.routes.get(options)?.live) return Promise.resolve();
    let waiting = this.waiters.get(options);
    if (!waiting) {
      waiting = new Set();
      this.waiters.set(options, waiting);
    }
    const set = waiting;
    return new Promise((resolve, reject) => {
      const ready = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        set.delete(ready);
        reject(options.unavailable());
      }, timeoutMs);
      set.add(ready);
    });
  }

  private get log(): LiveFeedLog {
    return this.first?.log ?? SILENT;
  }

  private get first(): LiveLedgerFeedOptions | undefined {
    return this.routes.keys().next().value;
  }

  private async run(): Promise<void> {
    let delay = this.first?.restartDelayMs ?? 500;
    try {
      while (this.routes.size > 0) {
        try {
          if (this.position === undefined || [...this.routes.values()].some((r) => !r.after)) {
            const head = await this.store.headPosition();
            this.position ??= head;
            for (const route of this.routes.values()) route.after ??= head;
          }
          const routes = [...this.routes.values()];
          if (routes.length === 0) return;
          const subscription = this.ledger.subscribe({
            after: this.position,
            filter: { streamPrefixes: [...new Set(routes.map((r) => r.options.streamPrefix))] },
            onEvent: (event) => this.route(event),
            onCaughtUp: (position) => this.advance(position),
            onRetry: (error, attempt) =>
              this.log.warn({ msg: 'live events read retried', attempt, ...describeError(error) }),
          });
          this.subscription = subscription;
          for (const route of routes) this.setLive(route);
          await subscription.done;
          delay = this.first?.restartDelayMs ?? 500;
        } catch (error) {
          if (this.routes.size === 0) return;
          this.log.error({
            msg: 'live events subscription stopped; restarting',
            retryInMs: delay,
            ...describeError(error),
          });
          await this.pause.sleep(delay);
          delay = Math.min(delay * 2, this.first?.maxRestartDelayMs ?? 30_000);
        } finally {
          this.subscription = undefined;
        }
      }
    } finally {
      // No one follows: the next follower starts from the head as it will be then.
      this.loop = undefined;
      this.position = undefined;
    }
  }

  private async route(opened: OpenedEvent): Promise<void> {
    for (const { options, after } of this.routes.values()) {
      if (!opened.streamId.startsWith(options.streamPrefix)) continue;
      if (!after || comparePositions(opened.position, after) <= 0) continue; // before it joined
      try {
        await options.onEvent(opened);
      } catch (error) {
        // A throw would end the subscription for every follower; this event is passed over instead.
        (options.log ?? SILENT).error({
          msg: `${options.name}: event not delivered`,
          eventId: opened.eventId,
          streamId: opened.streamId,
          ...describeError(error),
        });
      }
    }
    this.advance(opened.position);
  }

  private setLive(route: Route): void {
    if (route.live) return;
    route.live = true;
    const waiting = this.waiters.get(route.options);
    this.waiters.delete(route.options);
    for (const ready of waiting ?? []) ready();
  }

  private advance(position: GlobalPosition): void {
    if (this.position === undefined || comparePositions(position, this.position) > 0) {
      this.position = position;
    }
  }
}
