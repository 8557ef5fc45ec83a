/** One append waiting for its group: what the SQL function takes, and who waits for the answer. */
export interface PendingAppend<R> {
  readonly streamId: string;
  /** The JSON object `ll_append_many` takes for this append. */
  readonly json: string;
  readonly resolve: (result: R) => void;
  readonly reject: (error: unknown) => void;
}

export interface AppendGroupsOptions {
  /** Groups being committed at once (connections used); 1 on a single-connection database. */
  readonly maxInFlight: number;
  /** Appends in one group at most. */
  readonly maxAppends: number;
  /** JSON bytes in one group at most (one append over it still goes, alone). */
  readonly maxBytes: number;
}

/**
 * Group commit for appends: an append that arrives while `maxInFlight` groups are being committed
 * waits and joins the next group, which is sent as soon as a group finishes. So an idle store adds
 * no latency (the first append goes at once, alone), and a busy one pays one statement and one
 * commit per group instead of per append. Within a group, appends are sorted by stream id (stable,
 * so two appends to one stream keep their order): concurrent groups then lock stream rows in the
 * same order and cannot deadlock.
 */
export class AppendGroups<R> {
  private queue: PendingAppend<R>[] = [];
  private inFlight = 0;

  constructor(
    private readonly send: (group: readonly PendingAppend<R>[]) => Promise<void>,
    private readonly options: AppendGroupsOptions,
  ) {}

  submit(append: Omit<PendingAppend<R>, 'resolve' | 'reject'>): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ ...append, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.options.maxInFlight && this.queue.length > 0) {
      const group = this.take();
      this.inFlight += 1;
      this.send(group)
        .catch((error: unknown) => {
          for (const append of group) append.reject(error);
        })
        .finally(() => {
          this.inFlight -= 1;
          this.pump();
        });
    }
  }

  private take(): PendingAppend<R>[] {
    let bytes = 0;
    let count = 0;
    for (const append of this.queue) {
      if (count >= this.options.maxAppends) break;
      if (count > 0 && bytes + append.json.length > this.options.maxBytes) break;
      bytes += append.json.length;
      count += 1;
    }
    const group = this.queue.slice(0, count);
    this.queue = this.queue.slice(count);
    return group
      .map((append, arrival) => ({ append, arrival }))
      .sort((a, b) =>
        a.append.streamId < b.append.streamId
          ? -1
          : a.append.streamId > b.append.streamId
            ? 1
            : a.arrival - b.arrival,
      )
      .map(({ append }) => append);
  }
}
