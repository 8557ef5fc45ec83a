/** One item waiting for its group, and who waits for its answer. */
export interface PendingItem<I, R> {
  readonly item: I;
  readonly resolve: (result: R) => void;
  readonly reject: (error: unknown) => void;
}

export interface GroupCommitOptions<I> {
  /** Groups being sent at once (connections used); 1 on a single-connection database. */
  readonly maxInFlight: number;
  /** Items in one group at most. */
  readonly maxItems: number;
  /** The weight of a group at most (one item over it still goes, alone); needs `weigh`. */
  readonly maxWeight?: number;
  /** An item's weight (its bytes, say); counted against `maxWeight`. */
  readonly weigh?: (item: I) => number;
  /**
   * The order items are sent in within a group (stable: equal items keep their arrival order),
   * e.g. by the row they lock, so that concurrent groups lock rows in one order.
   */
  readonly order?: (a: I, b: I) => number;
}

/**
 * Group commit: an item that arrives while `maxInFlight` groups are being sent waits and joins the
 * next group, which goes as soon as a group finishes. An idle sender adds no latency (the first
 * item goes at once, alone); a busy one pays one statement (and one commit) per group instead of
 * per item. `send` answers every item of its group (resolve or reject); if it throws, every item
 * of the group that it has not answered is rejected with the error.
 *
 * Users: the event store's appends (one `ll_append_many` per group), presence and call connection
 * writes, call signal claims.
 */
export class GroupCommit<I, R> {
  private queue: PendingItem<I, R>[] = [];
  private inFlight = 0;

  constructor(
    private readonly send: (group: readonly PendingItem<I, R>[]) => Promise<void>,
    private readonly options: GroupCommitOptions<I>,
  ) {}

  submit(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.options.maxInFlight && this.queue.length > 0) {
      const group = this.take();
      this.inFlight += 1;
      this.send(group)
        .catch((error: unknown) => {
          // A promise already settled ignores the rejection.
          for (const pending of group) pending.reject(error);
        })
        .finally(() => {
          this.inFlight -= 1;
          this.pump();
        });
    }
  }

  private take(): PendingItem<I, R>[] {
    const { maxItems, maxWeight, weigh, order } = this.options;
    let weight = 0;
    let count = 0;
    for (const pending of this.queue) {
      if (count >= maxItems) break;
      if (maxWeight !== undefined && weigh) {
        const w = weigh(pending.item);
        if (count > 0 && weight + w > maxWeight) break;
        weight += w;
      }
      count += 1;
    }
    const group = this.queue.slice(0, count);
    this.queue = this.queue.slice(count);
    if (!order) return group;
    return group
      .map((pending, arrival) => ({ pending, arrival }))
      .sort((a, b) => order(a.pending.item, b.pending.item) || a.arrival - b.arrival)
      .map(({ pending }) => pending);
  }
}
