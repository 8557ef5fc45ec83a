/**
 * Conditions a test peer waits on, looked at again whenever it sends or receives a packet: the
 * peers' `until` (a silent stream is the failure, not slowness, so the backstop is generous).
 */
export class PacketWatchers {
  private readonly watchers = new Set<() => void>();

  /** Something moved: every waiting condition is looked at again. */
  notify(): void {
    for (const watcher of this.watchers) watcher();
  }

  /** Resolves once `check` holds; rejects at the backstop naming `what`. */
  until(check: () => boolean, what: string, backstopMs = 120_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const watcher = () => {
        if (!check()) return;
        this.watchers.delete(watcher);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.watchers.delete(watcher);
        reject(new Error(`${what}: never happened`));
      }, backstopMs);
      this.watchers.add(watcher);
      watcher();
    });
  }
}
