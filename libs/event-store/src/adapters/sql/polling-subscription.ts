import { LedgerlineError, START_POSITION, comparePositions } from '@ledgerline/kernel';
import type { EventStore, SubscribeOptions, Subscription } from '../../event-store.port';

const PAGE = 500;
const MAX_BACKOFF_MS = 5_000;

/**
 * A catch-up subscription over `readAll`: it pages through the log, then waits for a wake-up (a
 * database notification) or the poll interval, and reads again. Because `readAll` only returns
 * rows that can no longer be preceded by a later commit, reading on from the last position never
 * skips an event; catch-up and live are the same loop, so there is no hand-over gap.
 */
export class PollingSubscription implements Subscription {
  readonly done: Promise<void>;
  private resolveDone!: () => void;
  private rejectDone!: (error: unknown) => void;
  private stopped = false;
  private signalled = false;
  private waiter: (() => void) | undefined;

  constructor(
    private readonly store: Pick<EventStore, 'readAll'>,
    private readonly options: SubscribeOptions,
    private readonly pollIntervalMs: number,
    private readonly onEnd: () => void,
  ) {
    this.done = new Promise<void>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    // `done` is often awaited only on stop(); a handler error must not become an unhandled rejection.
    this.done.catch(() => undefined);
  }

  start(): void {
    this.run().then(
      () => {
        this.onEnd();
        this.resolveDone();
      },
      (error: unknown) => {
        this.stopped = true;
        this.onEnd();
        this.rejectDone(error);
      },
    );
  }

  /** Something was committed: read again now rather than at the next poll. */
  wake(): void {
    this.signalled = true;
    this.waiter?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.waiter?.();
    await this.done.catch(() => undefined);
  }

  private async run(): Promise<void> {
    let after = this.options.after ?? START_POSITION;
    let failures = 0;
    // After a wake-up that found nothing new (a commit still hidden behind an older open
    // transaction), look again soon instead of waiting a whole poll interval.
    let quickRetry = 0;
    while (!this.stopped) {
      this.signalled = false;
      let page;
      try {
        page = await this.store.readAll({ after, maxCount: PAGE, filter: this.options.filter });
        failures = 0;
      } catch (error) {
        if (!(error instanceof LedgerlineError) || !error.retryable) throw error;
        failures += 1;
        this.options.onRetry?.(error, failures);
        await this.sleep(Math.min(MAX_BACKOFF_MS, 100 * 2 ** failures));
        continue;
      }
      for (const event of page.events) {
        if (this.stopped) return;
        await this.options.onEvent(event);
      }
      const moved = comparePositions(page.next, after) !== 0;
      after = page.next;
      if (page.more) continue;
      if (this.options.onCaughtUp) await this.options.onCaughtUp(after);
      if (this.signalled) continue;
      const woke = await this.sleep(
        quickRetry > 0 ? Math.min(this.pollIntervalMs, 10 * 2 ** quickRetry) : this.pollIntervalMs,
      );
      quickRetry = woke && !moved ? Math.min(quickRetry + 1, 8) : woke ? 1 : 0;
    }
  }

  /** Resolves true when woken by a signal, false on timeout or stop. */
  private sleep(ms: number): Promise<boolean> {
    if (this.stopped) return Promise.resolve(false);
    if (this.signalled) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        resolve(false);
      }, ms);
      this.waiter = () => {
        clearTimeout(timer);
        this.waiter = undefined;
        resolve(!this.stopped);
      };
    });
  }
}
