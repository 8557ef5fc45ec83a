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
 * One ledger subscription over a stream prefix, from the end of the log as it was at start (the
 * event store's head position), for a process's live fan-out: a restart neither replays history
 * nor decrypts it. Events reach `onEvent` one at a time in `$all` order. A failed subscription
 * restarts, with a doubling delay, from the last event routed: listeners see a delay, not a gap.
 */
export class LiveLedgerFeed {
  private readonly restartDelayMs: number;
  private readonly maxRestartDelayMs: number;
  private readonly log: LiveFeedLog;
  private position: GlobalPosition | undefined;
  private subscription: Subscription | undefined;
  private loop: Promise<void> | undefined;
  private stopped = false;
  private live = false;
  private readonly liveWaiters = new Set<() => void>();
  private readonly pause = new Pause();

  constructor(
    private readonly ledger: Pick<Ledger, 'subscribe'>,
    private readonly store: Pick<EventStore, 'headPosition'>,
    private readonly options: LiveLedgerFeedOptions,
  ) {
    this.restartDelayMs = options.restartDelayMs ?? 500;
    this.maxRestartDelayMs = options.maxRestartDelayMs ?? 30_000;
    this.log = options.log ?? SILENT;
  }

  /** Starts the subscription (in the background). */
  start(): void {
    if (this.loop) return;
    this.stopped = false;
    this.loop = this.run();
  }

  /** Stops the subscription, letting the event in hand finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.pause.interrupt();
    await this.subscription?.stop();
    await this.loop;
    this.loop = undefined;
  }

  /** Resolves once events are flowing; rejects with `unavailable()` after `timeoutMs`. */
  whenLive(timeoutMs: number): Promise<void> {
    if (this.live) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const ready = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.liveWaiters.delete(ready);
        reject(this.options.unavailable());
      }, timeoutMs);
      this.liveWaiters.add(ready);
    });
  }

  private async run(): Promise<void> {
    const { name } = this.options;
    let delay = this.restartDelayMs;
    while (!this.stopped) {
      try {
        this.position ??= await this.store.headPosition();
        if (this.stopped) return;
        const subscription = this.ledger.subscribe({
          after: this.position,
          filter: { streamPrefixes: [this.options.streamPrefix] },
          onEvent: (event) => this.onEvent(event),
          onCaughtUp: (position) => this.advance(position),
          onRetry: (error, attempt) =>
            this.log.warn({ msg: `${name} read retried`, attempt, ...describeError(error) }),
        });
        this.subscription = subscription;
        this.setLive();
        await subscription.done;
        delay = this.restartDelayMs;
      } catch (error) {
        if (this.stopped) return;
        this.log.error({
          msg: `${name} subscription stopped; restarting`,
          retryInMs: delay,
          ...describeError(error),
        });
        await this.pause.sleep(delay);
        delay = Math.min(delay * 2, this.maxRestartDelayMs);
      }
    }
  }

  private async onEvent(opened: OpenedEvent): Promise<void> {
    try {
      await this.options.onEvent(opened);
    } catch (error) {
      // A throw would end the subscription for every listener; this event is passed over instead.
      this.log.error({
        msg: `${this.options.name}: event not delivered`,
        eventId: opened.eventId,
        streamId: opened.streamId,
        ...describeError(error),
      });
    }
    this.advance(opened.position);
  }

  private advance(position: GlobalPosition): void {
    if (this.position === undefined || comparePositions(position, this.position) > 0) {
      this.position = position;
    }
  }

  private setLive(): void {
    if (this.live) return;
    this.live = true;
    for (const ready of this.liveWaiters) ready();
    this.liveWaiters.clear();
  }
}
