/**
 * What a live feed (a graphql-ws subscription, a socket) has delivered so far, in order, with
 * waits that are woken by each arrival, never by polling against a budget. A wait ends when what
 * it looks for arrives, when the feed fails, or at a generous backstop for a feed that went silent.
 */
export class Arrivals<T> {
  readonly items: T[] = [];
  readonly errors: unknown[] = [];
  private readonly watchers = new Set<() => void>();

  constructor(private readonly backstopMs = 120_000) {}

  push(item: T): void {
    this.items.push(item);
    this.wake();
  }

  fail(error: unknown): void {
    this.errors.push(error);
    this.wake();
  }

  /**
   * The first item (from index `from`) that matches, looked for again on every arrival (so a
   * predicate may come to match an item already there); rejects, naming `what`, if the feed fails.
   */
  next(predicate: (item: T) => boolean, what: string, from = 0): Promise<T> {
    return this.until(
      () => {
        for (let index = from; index < this.items.length; index++) {
          if (predicate(this.items[index]!)) return { found: this.items[index]! };
        }
        if (this.errors.length > 0) throw new Error(`${what}: ${JSON.stringify(this.errors)}`);
        return undefined;
      },
      () => `${what}: never arrived; got ${JSON.stringify(this.items)}`,
    ).then((r) => r.found);
  }

  /** Resolves with the errors once the feed has failed. */
  failure(what: string): Promise<unknown[]> {
    return this.until(
      () => (this.errors.length > 0 ? this.errors : undefined),
      () => `${what}: no error; got ${JSON.stringify(this.items)}`,
    );
  }

  private until<R>(check: () => R | undefined, silent: () => string): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const watcher = () => {
        try {
          const result = check();
          if (result !== undefined) settle(() => resolve(result));
        } catch (error) {
          settle(() => reject(error instanceof Error ? error : new Error(String(error))));
        }
      };
      const timer = setTimeout(() => settle(() => reject(new Error(silent()))), this.backstopMs);
      const settle = (done: () => void) => {
        clearTimeout(timer);
        this.watchers.delete(watcher);
        done();
      };
      this.watchers.add(watcher);
      watcher();
    });
  }

  private wake(): void {
    for (const watcher of [...this.watchers]) watcher();
  }
}

/**
 * Proves that a live feed is registered (graphql-ws has no "subscribed" reply): runs `probe`,
 * something only a registered feed would see, and waits for `arrived` for a window that doubles
 * with every probe (from `firstWindowMs`), so a busy machine gets more time, not a failure.
 * Rejects when `arrived` does (the feed failed) or after `maxProbes` probes.
 */
export async function probeUntilLive(
  probe: (attempt: number) => Promise<void>,
  arrived: Promise<unknown>,
  what: string,
  { firstWindowMs = 500, maxProbes = 8 }: { firstWindowMs?: number; maxProbes?: number } = {},
): Promise<void> {
  let live = false;
  const watched = arrived.then(() => {
    live = true;
  });
  for (let attempt = 0; attempt < maxProbes; attempt++) {
    await probe(attempt);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      watched,
      new Promise<void>((resolve) => (timer = setTimeout(resolve, firstWindowMs * 2 ** attempt))),
    ]);
    clearTimeout(timer);
    if (live) return;
  }
  throw new Error(`${what}: never went live after ${maxProbes} probes`);
}
