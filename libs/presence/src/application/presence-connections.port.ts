import type { PresenceSubjectKind } from '../domain/presence.events';

export interface ConnectionRef {
  readonly nodeId: string;
  /** Unique within its node. */
  readonly connectionId: string;
}

export interface ConnectionSubject {
  readonly tenantId: string;
  readonly userId: string;
  readonly userKind: PresenceSubjectKind;
}

/** A user's connections on every node, as of `liveAfter` (a lease renewed after it is live). */
export interface ConnectionObservation {
  readonly liveConnections: number;
  /** The latest close, or last renewal of an expired lease, among the user's other rows. */
  readonly lastConnectedAt: Date | undefined;
}

/**
 * Realtime connections of every node of the deployment, shared so that a node closing a user's
 * last connection can tell whether another node still holds one.
 *
 * Every adapter guarantees:
 * - A row is live while it is open and its node renewed it after `liveAfter`; every query takes
 *   `liveAfter` (now minus the lease) from the caller, whose clock is the only time used.
 * - `open` is idempotent per (node, connection) and makes the row live again; `close` keeps the
 *   row, closed, so the user's last-seen time survives until they have gone offline.
 * - Writes are visible to every node as soon as the call resolves (one database).
 * - Failures raise a retryable UnavailableError, never a message with ids beyond these.
 */
export interface PresenceConnections {
  open(ref: ConnectionRef, subject: ConnectionSubject, at: Date): Promise<void>;
  /** Closes the row; answers whose it was (undefined when the node holds no such connection). */
  close(ref: ConnectionRef, at: Date): Promise<ConnectionSubject | undefined>;
  observe(tenantId: string, userId: string, liveAfter: Date): Promise<ConnectionObservation>;
  /** Removes the user's rows that are not live and were last connected no later than `upTo`. */
  forget(tenantId: string, userId: string, liveAfter: Date, upTo: Date): Promise<void>;
  /** Renews the lease of the node's open rows; answers the ids of the rows it renewed. */
  renew(nodeId: string, at: Date): Promise<ReadonlySet<string>>;
  /** Closes every open row of a node (its shutdown, or a restart under the same node id). */
  closeNode(nodeId: string, at: Date | 'last_renewal'): Promise<void>;
  /** Users with rows but none live, last connected no later than `seenBefore`: due to go offline. */
  dueForOffline(
    liveAfter: Date,
    seenBefore: Date,
    limit: number,
  ): Promise<readonly ConnectionSubject[]>;
}
