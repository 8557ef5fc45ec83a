import {
  accessActorOf,
  type AccessPolicy,
  type AccessRecord,
  type AccessRecorder,
  type Principal,
} from '@ledgerline/identity';
import { type Clock, type IdGenerator } from '@ledgerline/kernel';
import type { Ledger } from '@ledgerline/ledger';
import { InvalidConversationInput } from '../../domain/conversation.errors';
import { isValidMemberId } from '../../domain/conversation.validation';
import type { ConversationMemberships } from '../queries/conversation-memberships.port';
import type { EmergencyGrant, EmergencyGrants } from './emergency-grants.port';

export type { EmergencyGrant } from './emergency-grants.port';
import { EmergencyGrantNotFoundError, EmergencyGrantRefusedError } from './emergency-access.errors';

/** Where break-glass alerts go: the tenant's auditors are told at once (ids and codes only). */
export interface EmergencyAlerts {
  raise(alert: EmergencyAlert): void;
}

export interface EmergencyAlert {
  readonly kind: 'granted' | 'used' | 'revoked';
  readonly tenantId: string;
  readonly grantId: string;
  readonly granteeId: string;
  readonly conversationId: string;
  /** Who granted, read or revoked. */
  readonly actorId: string;
}

export interface GrantEmergencyAccess {
  readonly userId: string;
  readonly conversationId: string;
  /** Mandatory; sealed in the grant's event, never in clear. */
  readonly reason: string;
  readonly minutes: number;
}

export interface EmergencyAccessOptions {
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly alerts: EmergencyAlerts;
  /** Longest grant (default 24 hours). */
  readonly maxMinutes?: number;
}

export const EMERGENCY_GRANTED = 'EmergencyAccessGranted';
export const EMERGENCY_REVOKED = 'EmergencyAccessRevoked';
export const emergencyStreamId = (tenantId: string) => `emergency-access:${tenantId}`;
const MAX_REASON_CHARS = 1_000;

/**
 * Break-glass access (45 CFR 164.312(a)(2)(ii)): a grant, by someone holding `emergency.grant`,
 * for a named person to read one conversation they are not a member of, until it expires or is
 * revoked. The reason is mandatory and sealed in the grant's event. Granting, revoking and every
 * read under a grant are access records (the reads are ordinary `phi.*` records, so they are in
 * the accounting of disclosures) and alerts to the tenant's auditors. Reads only: a grant never
 * lets anyone write.
 */
export class EmergencyAccess {
  private readonly maxMinutes: number;

  private constructor(
    private readonly grants: EmergencyGrants,
    private readonly memberships: Pick<ConversationMemberships, 'membersOf'>,
    private readonly ledger: Pick<Ledger, 'append'>,
    private readonly access: Pick<AccessPolicy, 'check'>,
    private readonly accessLog: AccessRecorder,
    private readonly options: EmergencyAccessOptions,
  ) {
    this.maxMinutes = options.maxMinutes ?? 24 * 60;
  }

  static create(
    grants: EmergencyGrants,
    memberships: Pick<ConversationMemberships, 'membersOf'>,
    ledger: Pick<Ledger, 'append'>,
    access: Pick<AccessPolicy, 'check'>,
    accessLog: AccessRecorder,
    options: EmergencyAccessOptions,
  ): EmergencyAccess {
    return new EmergencyAccess(grants, memberships, ledger, access, accessLog, options);
  }

  async grant(principal: Principal, request: GrantEmergencyAccess): Promise<EmergencyGrant> {
    const { tenantId } = principal;
    await this.access.check(principal, 'emergency.grant', {
      tenantId,
      type: 'conversation',
      id: request.conversationId,
    });
    const reason = this.validReason(request.reason);
    if (!isValidMemberId(request.userId)) {
      throw new InvalidConversationInput('userId', 'invalid_format');
    }
    if (!Number.isInteger(request.minutes) || request.minutes < 1) {
      throw new InvalidConversationInput('minutes', 'invalid_format');
    }
    if (request.minutes > this.maxMinutes) {
      throw new InvalidConversationInput('minutes', 'too_long', this.maxMinutes);
    }
    const members = await this.memberships.membersOf(tenantId, request.conversationId);
    if (members.size === 0) throw new EmergencyGrantRefusedError('no_such_conversation');
    if (members.has(request.userId)) throw new EmergencyGrantRefusedError('already_a_member');

    const grantedAt = this.options.clock.now();
    const grant: EmergencyGrant = {
      grantId: this.options.ids.next(),
      granteeId: request.userId,
      conversationId: request.conversationId,
      grantedBy: principal.id,
      grantedAt,
      expiresAt: new Date(grantedAt.getTime() + request.minutes * 60_000),
      revokedAt: undefined,
    };
    await this.ledger.append(
      tenantId,
      emergencyStreamId(tenantId),
      [
        {
          eventId: this.options.ids.next(),
          type: EMERGENCY_GRANTED,
          schemaVersion: 1,
          metadata: { actor: { id: principal.id, kind: principal.kind } },
          payload: Buffer.from(
            JSON.stringify({
              grantId: grant.grantId,
              granteeId: grant.granteeId,
              conversationId: grant.conversationId,
              expiresAt: grant.expiresAt.toISOString(),
              reason,
            }),
          ),
        },
      ],
      'any',
    );
    await this.grants.insert(tenantId, grant);
    await this.accessLog.record(
      this.record(principal, 'emergency.access.granted', grant, [...members, grant.granteeId]),
    );
    this.alert('granted', tenantId, grant, principal.id);
    return grant;
  }

  async revoke(principal: Principal, grantId: string, reason: string): Promise<EmergencyGrant> {
    const { tenantId } = principal;
    await this.access.check(principal, 'emergency.grant', { tenantId, type: 'conversation' });
    const why = this.validReason(reason);
    const grant = await this.byId(tenantId, grantId);
    if (!grant) throw new EmergencyGrantNotFoundError(grantId);
    if (grant.revokedAt) throw new EmergencyGrantRefusedError('already_revoked');
    const now = this.options.clock.now();
    await this.ledger.append(
      tenantId,
      emergencyStreamId(tenantId),
      [
        {
          eventId: this.options.ids.next(),
          type: EMERGENCY_REVOKED,
          schemaVersion: 1,
          metadata: { actor: { id: principal.id, kind: principal.kind } },
          payload: Buffer.from(JSON.stringify({ grantId, reason: why })),
        },
      ],
      'any',
    );
    await this.grants.revoke(tenantId, grantId, now, principal.id);
    const revoked = { ...grant, revokedAt: now };
    await this.accessLog.record(
      this.record(principal, 'emergency.access.revoked', revoked, [grant.granteeId]),
    );
    this.alert('revoked', tenantId, revoked, principal.id);
    return revoked;
  }

  /** The grant that lets `userId` read the conversation now, if any (not expired, not revoked). */
  activeGrant(
    tenantId: string,
    userId: string,
    conversationId: string,
  ): Promise<EmergencyGrant | undefined> {
    return this.grants.active(tenantId, userId, conversationId, this.options.clock.now());
  }

  /**
   * A read under a grant: its own access record (`emergency.access.used`, naming the grant and
   * the read) beside the read's, and an alert to the tenant's auditors.
   */
  async used(
    principal: Principal,
    grant: EmergencyGrant,
    operation: string,
    memberIds: readonly string[],
  ): Promise<void> {
    await this.accessLog.record({
      ...this.record(principal, 'emergency.access.used', grant, memberIds),
      operation,
    });
    this.alert('used', principal.tenantId, grant, principal.id);
  }

  private byId(tenantId: string, grantId: string): Promise<EmergencyGrant | undefined> {
    return this.grants.byId(tenantId, grantId);
  }

  private validReason(reason: string): string {
    const trimmed = reason.trim();
    if (trimmed.length === 0) throw new InvalidConversationInput('reason', 'required');
    if ([...trimmed].length > MAX_REASON_CHARS) {
      throw new InvalidConversationInput('reason', 'too_long', MAX_REASON_CHARS);
    }
    return trimmed;
  }

  private record(
    principal: Principal,
    action: 'emergency.access.granted' | 'emergency.access.revoked' | 'emergency.access.used',
    grant: EmergencyGrant,
    subjects: Iterable<string>,
  ): AccessRecord {
    const subjectUserIds = [...new Set(subjects)].filter((id) => id !== principal.id).sort();
    return {
      tenantId: principal.tenantId,
      actor: accessActorOf(principal),
      action,
      outcome: 'allowed',
      permission: action === 'emergency.access.used' ? 'conversation.read' : 'emergency.grant',
      conversationId: grant.conversationId,
      resourceType: 'emergency_grant',
      targetIds: [grant.grantId],
      subjectUserIds,
      ...(principal.origin ? { origin: principal.origin } : {}),
    };
  }

  private alert(
    kind: EmergencyAlert['kind'],
    tenantId: string,
    grant: EmergencyGrant,
    actorId: string,
  ): void {
    this.options.alerts.raise({
      kind,
      tenantId,
      grantId: grant.grantId,
      granteeId: grant.granteeId,
      conversationId: grant.conversationId,
      actorId,
    });
  }
}
