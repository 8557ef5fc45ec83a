import type { Permission } from './permissions';

/** What an access check was about: ids only, never content. */
export interface ResourceRef {
  readonly tenantId: string;
  /** e.g. `conversation`, `file`. */
  readonly type?: string;
  readonly id?: string;
}

/**
 * Where a request came from, as far as the edge can tell. Set by the edge on the principal it
 * authenticated (`Principal.origin`) and copied into every access record.
 */
export interface RequestOrigin {
  /** `internal` for work no client asked for (jobs, projections). */
  readonly transport: 'http' | 'graphql-ws' | 'realtime' | 'cli' | 'internal';
  /** The peer address as the server saw it (a proxy's, unless the deployment trusts its header). */
  readonly clientAddress?: string;
  /** Capped and stripped of control characters by the edge. */
  readonly userAgent?: string;
  /** The client's own device id, when it sent one. */
  readonly deviceId?: string;
}

/**
 * What an access record says was done. Reads of PHI (`phi.*`) name the ids they returned; the
 * others name the ids they touched.
 */
export const ACCESS_ACTIONS = [
  'phi.history.read',
  'phi.message.read',
  'phi.thread.read',
  'phi.edit_history.read',
  'phi.conversation_list.read',
  'phi.realtime.sync',
  /** A live feed of a conversation's (or all the caller's conversations') events began. */
  'phi.live.subscribed',
  'signin.succeeded',
  'signin.failed',
  'access.denied',
  'apikey.created',
  'apikey.revoked',
  'keys.rotated',
  'keys.shredded',
  'audit.exported',
  'audit.searched',
  'audit.disclosures.read',
  'audit.conversation_history.read',
  'audit.replayed',
  /** A TURN allocation ended (libs/turn): who relayed, from where, for how long. */
  'turn.allocation',
  /** A legal hold was placed on a stream or prefix (its reason is sealed in the key stream). */
  'keys.hold.placed',
  'keys.hold.released',
  /** A KEK version was destroyed in the local key ring once nothing was wrapped under it. */
  'keys.kek.retired',
  // libs/calls
  /** A device joined a call (who, which device, from where). */
  'call.joined',
  /** A device left a call (why; the call's events hold when). */
  'call.left',
  /** An SFU media session ended: participant, device, bytes each way, the remote address. */
  'call.media',
  /** The SFU engine failed under a call. */
  'call.engine_failed',
] as const;

export type AccessAction = (typeof ACCESS_ACTIONS)[number];

export type AccessOutcome = 'allowed' | 'denied' | 'failed';

/** Who acted: a principal, an operator at the CLI, or nobody yet (a refused sign-in). */
export interface AccessActor {
  readonly id: string;
  readonly kind: 'user' | 'service' | 'agent' | 'operator' | 'anonymous';
  readonly roles: readonly string[];
  /** The API key that authenticated a service. */
  readonly credentialId?: string;
}

/**
 * One access event: who, what, on whose data, where from, and how it ended. Ids and codes only;
 * never a message text, a title, a token or any claim beyond ids.
 */
export interface AccessRecord {
  readonly tenantId: string;
  readonly actor: AccessActor;
  readonly action: AccessAction;
  readonly outcome: AccessOutcome;
  /** A code saying why it was denied or failed (`missing_permission`, `expired`…). */
  readonly reason?: string;
  /** The permission checked, for a denial. */
  readonly permission?: Permission;
  /**
   * The operation that was refused, for a denial: the API's name for it (`messages`,
   * `editHistory`, `sync`…), since one permission guards several reads. A fixed name, never input.
   */
  readonly operation?: string;
  readonly conversationId?: string;
  /** The kind of thing acted on when it is not a conversation (`api_key`, `tenant_keys`, `audit_log`). */
  readonly resourceType?: string;
  /** Every id touched: message ids of a page, an API key id, a stream id… */
  readonly targetIds: readonly string[];
  /** The users whose data it was, for the accounting of disclosures. */
  readonly subjectUserIds: readonly string[];
  /** Where from; the recorder adds the node that served it. Unset: `internal`. */
  readonly origin?: RequestOrigin;
}

/**
 * Where access events go: libs/audit appends them to the tenant's audit stream, batching
 * concurrent records into one append.
 *
 * Every adapter guarantees: when `record` resolves, the record is durable, unless the tenant is
 * configured to fail open (then it resolves at once and a failure is logged, never dropped
 * silently); when it cannot be recorded it rejects with a retryable error, and the caller must not
 * answer the request it describes. It never throws for a tenant, actor or id it has not seen.
 */
export interface AccessRecorder {
  record(record: AccessRecord): Promise<void>;
}
