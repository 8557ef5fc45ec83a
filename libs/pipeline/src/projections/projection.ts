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
}

/** True when the event belongs to one of the projection's streams. */
export function projects(projection: Projection, event: OpenedEvent): boolean {
  return projection.streamPrefixes.some((prefix) => event.streamId.startsWith(prefix));
}
