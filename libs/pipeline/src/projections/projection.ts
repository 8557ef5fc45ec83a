import type { SqlExecutor } from '@ledgerline/database';
import type { OpenedEvent } from '@ledgerline/ledger';

/**
 * A read model fed by the event log through the one ProjectionProcessor. What every projection
 * must guarantee:
 *
 * - `apply` writes only through `tx` and reads only its own tables, and depends on nothing but
 *   the event (no clock, no other reads): a rebuild then produces the same rows as the live run.
 *   The processor applies each event once per projection: the batch's writes and the projection's
 *   checkpoint commit in one transaction, so redelivery cannot apply an event twice.
 * - `apply` throws only for an event it cannot project (a bug, an unknown schema version) or a
 *   database failure. The processor stops that projection alone (the others go on) and raises an
 *   alert naming the event's position; it never skips the event.
 * - An event whose data key was shredded arrives with `body.status === 'shredded'`.
 */
export interface Projection {
  /** Stable name: its checkpoint row and `ledgerline projections rebuild <name>`. */
  readonly name: string;
  /** The streams it reads (`conversation:`); events of other streams never reach it. */
  readonly streamPrefixes: readonly string[];
  /**
   * The tables it owns. A rebuild builds copies of them beside the live ones (blue/green) and
   * swaps them in once caught up. Empty: the projection cannot be rebuilt, only replayed over its
   * own rows (the append-only audit log).
   */
  readonly tables: readonly string[];
  apply(tx: SqlExecutor, event: OpenedEvent): Promise<void>;
  /**
   * Optional: what `apply` on each of `events` in turn would do, in fewer statements (multi-row
   * writes for runs of one kind of event). It must leave exactly the rows `apply` one by one would
   * leave, under the same rules. When it throws (not a database outage), the processor applies the
   * batch again one event at a time, so that a failure is pinned to its event.
   */
  applyBatch?(tx: SqlExecutor, events: readonly OpenedEvent[]): Promise<void>;
}

/** Applies `events` (already the projection's own) in order: as one batch when it takes batches. */
export async function applyAll(
  tx: SqlExecutor,
  projection: Projection,
  events: readonly OpenedEvent[],
): Promise<void> {
  if (events.length === 0) return;
  if (projection.applyBatch && events.length > 1) return projection.applyBatch(tx, events);
  for (const event of events) await projection.apply(tx, event);
}

/**
 * Walks `items` in order, handing each maximal run of consecutive items that `inRun` accepts to
 * `run` in one call and every other item to `one`: how a projection's `applyBatch` writes a run of
 * one kind of event (messages sent) with multi-row statements and everything else as `apply` does.
 */
export async function inRuns<T, R extends T>(
  items: readonly T[],
  inRun: (item: T) => item is R,
  run: (items: readonly R[]) => Promise<void>,
  one: (item: T) => Promise<void>,
): Promise<void> {
  let pending: R[] = [];
  for (const item of items) {
    if (inRun(item)) {
      pending.push(item);
      continue;
    }
    if (pending.length > 0) await run(pending);
    pending = [];
    await one(item);
  }
  if (pending.length > 0) await run(pending);
}

/** True when the event belongs to one of the projection's streams. */
export function projects(projection: Projection, event: OpenedEvent): boolean {
  return projection.streamPrefixes.some((prefix) => event.streamId.startsWith(prefix));
}
