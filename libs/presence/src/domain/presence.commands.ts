import type { PresenceSubjectKind } from './presence.events';

interface Subject {
  readonly tenantId: string;
  readonly userId: string;
  readonly userKind: PresenceSubjectKind;
}

/**
 * Bring the stream in line with the user's connections, as observed across every node: live ones
 * (open, with an unexpired lease) and, when none is live, the last time one was.
 */
export interface ReconcilePresence {
  readonly type: 'ReconcilePresence';
  readonly data: Subject & {
    readonly liveConnections: number;
    /** The latest close (or last renewal of an expired lease) of the user's other connections. */
    readonly lastConnectedAt: Date | undefined;
    readonly at: Date;
    readonly graceMs: number;
  };
}

/** The client says it is away, or back. Only a connected user can say so. */
export interface SetPresenceStatus {
  readonly type: 'SetPresenceStatus';
  readonly data: Subject & {
    readonly status: 'online' | 'away';
    readonly liveConnections: number;
    readonly at: Date;
  };
}

export type PresenceCommand = ReconcilePresence | SetPresenceStatus;
