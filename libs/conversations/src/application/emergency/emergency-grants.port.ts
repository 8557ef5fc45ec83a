export interface EmergencyGrant {
  readonly grantId: string;
  readonly granteeId: string;
  readonly conversationId: string;
  readonly grantedBy: string;
  readonly grantedAt: Date;
  readonly expiresAt: Date;
  readonly revokedAt: Date | undefined;
}

/**
 * Break-glass grants as `ll_emergency_grants` keeps them, beside the sealed grant and revoke
 * events (which hold the reasons; this keeps ids and times only).
 *
 * Every adapter guarantees: each method is one statement, scoped to the tenant given; `revoke`
 * changes only a grant not revoked yet (a second revoke keeps the first's time and actor); a
 * revoked or expired grant is never `active`.
 */
export interface EmergencyGrants {
  insert(tenantId: string, grant: EmergencyGrant): Promise<void>;
  revoke(tenantId: string, grantId: string, at: Date, revokedBy: string): Promise<void>;
  /** The grant letting `userId` read the conversation at `now`, the latest-expiring one. */
  active(
    tenantId: string,
    userId: string,
    conversationId: string,
    now: Date,
  ): Promise<EmergencyGrant | undefined>;
  byId(tenantId: string, grantId: string): Promise<EmergencyGrant | undefined>;
}
