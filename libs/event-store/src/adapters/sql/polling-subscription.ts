import { LedgerlineError, START_POSITION, comparePositions } from '@ledgerline/kernel';
import type { EventStore, SubscribeOptions } from '../../event-store.port';
import { SubscriptionLoop } from '../../subscription-loop';

const PAGE = 500;
const MAX_BACKOFF_MS = 5_000;

/**
 * A catch-up subscription over `readAll`: it pages through the log, then waits for a wake-up (a
 * database notification) or the poll interval, and reads again. Because `readAll` only returns
 * rows that can no longer be preceded by a later commit, reading on from the last position never
 * skips an event; catch-up and live are the same loop, so there is no hand-over gap.
 */
export class PollingSubscription extends SubscriptionLoop {
  constructor(
    private readonly store: Pick<EventStore, 'readAll'>,
    private readonly options: SubscribeOptions,
    private readonly pollIntervalMs: number,
    onEnd: () => void,
  ) {
    super(onEnd);
  }

  /** Something was committed: read again now rather than at the next poll. */
  wake(): void {
    this.signal();
  }

  protected async run(): Promise<void> {
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
}
