import type { Subscription } from './event-store.port';

/**
 * What every adapter's subscription shares: a `run()` loop started once, `done` settling when it
 * ends (rejecting with a handler's error), `stop()` waking the loop and waiting for it, and a
 * signal that interrupts the loop's waits. Subclasses write only the loop.
 */
export abstract class SubscriptionLoop implements Subscription {
  readonly done: Promise<void>;
  protected stopped = false;
  protected signalled = false;
  private resolveDone!: () => void;
  private rejectDone!: (error: unknown) => void;
  private waiter: (() => void) | undefined;

  constructor(private readonly onEnd: () => void) {
    this.done = new Promise<void>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    // `done` is often awaited only on stop(); a handler error must not become an unhandled rejection.
    this.done.catch(() => undefined);
  }

  /** Delivers until stopped; resolves when stopped, throws to end the subscription with an error. */
  protected abstract run(): Promise<void>;

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

  async stop(): Promise<void> {
    this.stopped = true;
    this.waiter?.();
    await this.done.catch(() => undefined);
  }

  /** Something happened (new events, a failure): end the current wait now. */
  signal(): void {
    this.signalled = true;
    this.waiter?.();
  }

  /** Waits for a signal (or stop); returns at once when one is pending. */
  protected wait(): Promise<void> {
    if (this.signalled || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiter = () => {
        this.waiter = undefined;
        resolve();
      };
    });
  }

  /** Waits `ms`, a signal or stop; resolves true when a signal (not a timeout or stop) ended it. */
  protected sleep(ms: number): Promise<boolean> {
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
