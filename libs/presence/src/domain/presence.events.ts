/** What a user is, as others see it. `offline` is also the state of a user never seen. */
export type PresenceStatus = 'online' | 'away' | 'offline';

export const PRESENCE_STATUSES: readonly PresenceStatus[] = ['online', 'away', 'offline'];

/** Who has presence: end users and agents. A service (an API key) never does. */
export type PresenceSubjectKind = 'user' | 'agent';

/**
 * Why the status changed:
 * - `connected`: a first realtime connection opened (on any node) while the user was offline;
 * - `disconnected`: no connection was left on any node for the whole grace period (closed, or the
 *   node holding it stopped renewing its lease);
 * - `status_set`: the client said it is away, or back.
 */
export type PresenceCause = 'connected' | 'disconnected' | 'status_set';

/**
 * The one presence event, in the user's own stream (`presence:<tenant>:<user>`). It carries the
 * whole state, so the last event alone says where a user stands. Ids, statuses and times only.
 */
export interface PresenceChanged {
  readonly type: 'PresenceChanged';
  readonly v: 1;
  readonly data: {
    readonly tenantId: string;
    readonly userId: string;
    readonly userKind: PresenceSubjectKind;
    readonly status: PresenceStatus;
    readonly previousStatus: PresenceStatus;
    /** When this status began (ISO 8601). */
    readonly at: string;
    /** Offline: when the user was last connected anywhere (ISO 8601). Null otherwise. */
    readonly lastSeenAt: string | null;
    readonly cause: PresenceCause;
  };
}

export type PresenceEvent = PresenceChanged;
export type PresenceEventType = PresenceEvent['type'];

export const PRESENCE_EVENT_VERSIONS: { readonly [T in PresenceEventType]: number } = {
  PresenceChanged: 1,
};
