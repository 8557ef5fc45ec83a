/**
 * An interruptible delay, for the restart back-off of a long-running loop: `sleep` resolves after
 * `ms`, or at once when `interrupt` is called (the loop is stopping). One sleep at a time.
 */
export class Pause {
  private wake: (() => void) | undefined;

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  /** Ends the current sleep now (nothing when none is in progress). */
  interrupt(): void {
    this.wake?.();
  }
}
