import { Inject, UseFilters } from '@nestjs/common';
import { Args, Query, Resolver } from '@nestjs/graphql';
import { CurrentPrincipal } from '@ledgerline/graphql';
import type { AccessAction, Principal } from '@ledgerline/identity';
import { encodePosition } from '@ledgerline/kernel';
import {
  AuditorQueries,
  type AuditEntry,
  type AuditPage,
} from '../auditor/auditor-queries.handler';
import { auditPageCost } from './audit-api.config';
import { AuditErrorFilter } from './audit-api.errors';
import {
  AuditLogArgs,
  AuditLogPage,
  DisclosuresArgs,
  type AuditLogEntry,
  type AuditPageArgs,
} from './audit-log.dto';

/**
 * The auditor's API (permission `audit.read`, role `auditor`), over the caller's own tenant. Every
 * query waits until the audit log holds everything committed before it began, and is itself
 * recorded as an access event before it is answered.
 */
@Resolver()
@UseFilters(AuditErrorFilter)
export class AuditLogResolver {
  constructor(@Inject(AuditorQueries) private readonly queries: AuditorQueries) {}

  @Query(() => AuditLogPage, {
    description:
      'Searches the audit log by time range and any of actor, subject user, action and conversation; oldest first. Recorded as `audit.searched`.',
    complexity: auditPageCost,
  })
  async auditLog(
    @CurrentPrincipal() principal: Principal,
    @Args() args: AuditLogArgs,
  ): Promise<AuditLogPage> {
    const { filter } = args;
    const result = await this.queries.search(principal, {
      from: filter.from,
      to: filter.to,
      ...(filter.actorId == null ? {} : { actorId: filter.actorId }),
      ...(filter.subjectUserId == null ? {} : { subjectUserId: filter.subjectUserId }),
      // Well-formed at the edge; one the composed libs declare, in the handler.
      ...(filter.action == null ? {} : { action: filter.action as AccessAction }),
      ...(filter.conversationId == null ? {} : { conversationId: filter.conversationId }),
      ...pageOf(args),
    });
    return toPage(result);
  }

  @Query(() => AuditLogPage, {
    description:
      'The accounting of disclosures for a user: every allowed access to their PHI by someone else (who, when, why, from where); oldest first. Recorded as `audit.disclosures.read`.',
    complexity: auditPageCost,
  })
  async accountingOfDisclosures(
    @CurrentPrincipal() principal: Principal,
    @Args() args: DisclosuresArgs,
  ): Promise<AuditLogPage> {
    const result = await this.queries.disclosures(principal, args.subjectUserId, {
      from: args.from,
      to: args.to,
      ...pageOf(args),
    });
    return toPage(result);
  }
}

function pageOf(args: AuditPageArgs): { first?: number; after?: string } {
  return {
    ...(args.first == null ? {} : { first: args.first }),
    ...(args.after == null ? {} : { after: args.after }),
  };
}

function toPage(page: AuditPage): AuditLogPage {
  return {
    items: page.items.map(toEntry),
    hasMore: page.hasMore,
    endCursor: page.endCursor ?? null,
  };
}

function toEntry(e: AuditEntry): AuditLogEntry {
  return {
    eventId: e.eventId,
    position: encodePosition(e.position),
    cursor: e.cursor,
    at: e.at,
    recordedAt: e.recordedAt,
    actor: {
      id: e.actor.id,
      kind: e.actor.kind,
      roles: [...e.actor.roles],
      credentialId: e.actor.credentialId ?? null,
    },
    action: e.action,
    outcome: e.outcome,
    reason: e.reason ?? null,
    permission: e.permission ?? null,
    operation: e.operation ?? null,
    conversationId: e.conversationId ?? null,
    resourceType: e.resourceType ?? null,
    targetIds: [...e.targetIds],
    subjectUserIds: [...e.subjectUserIds],
    origin: e.origin
      ? {
          node: e.origin.node,
          transport: e.origin.transport,
          clientAddress: e.origin.clientAddress ?? null,
          userAgent: e.origin.userAgent ?? null,
          deviceId: e.origin.deviceId ?? null,
        }
      : null,
  };
}
