import { Inject, UseFilters } from '@nestjs/common';
import { Args, Query, Resolver } from '@nestjs/graphql';
import { CurrentPrincipal } from '@ledgerline/graphql';
import type { Principal } from '@ledgerline/identity';
import { encodePosition, formatAsOf, LATEST, parseAsOf } from '@ledgerline/kernel';
import { AuditorReplay } from '../auditor/auditor-replay.handler';
import { InvalidAsOfError } from '../auditor/auditor.errors';
import type {
  ReplayedContent,
  ReplayedConversation,
  ReplayedMessage,
} from '../auditor/conversation-replay.port';
import { AuditErrorFilter } from './audit-api.errors';
import {
  AuditConversationHistory,
  AuditConversationHistoryArgs,
  type AuditContentStatus,
  type AuditHistoryMessage,
} from './audit-history.dto';

/**
 * The auditor's full history of a conversation (`audit.read`): every message with the text it had,
 * edits and redactions included, as of a moment. Each answer is an access event
 * (`audit.conversation_history.read`), recorded before it is returned. The history comes from the
 * conversations' replay, through AuditorReplay and its port; errors pass to the edge as they are
 * (NOT_FOUND `conversation_not_found` for an unknown conversation, BAD_USER_INPUT for a bad
 * `asOf` or `contentReason`, FORBIDDEN without the permission).
 */
@Resolver(() => AuditConversationHistory)
@UseFilters(AuditErrorFilter)
export class AuditConversationHistoryResolver {
  constructor(@Inject(AuditorReplay) private readonly replay: AuditorReplay) {}

  @Query(() => AuditConversationHistory, {
    description:
      'For auditors (`audit.read`): a conversation’s full history as of a moment (default now): who was in it, who wrote, edited, redacted and reacted, and when. Text, titles, redaction reasons and reactions are WITHHELD unless `contentReason` is given by an auditor who also holds `audit.content`; then they are shown as they were, redacted and edited content included. Recorded as an access event naming the permission and the reason.',
  })
  async auditConversationHistory(
    @CurrentPrincipal() principal: Principal,
    @Args() args: AuditConversationHistoryArgs,
  ): Promise<AuditConversationHistory> {
    const asOf = args.asOf == null ? LATEST : parseAsOf(args.asOf);
    if (!asOf) throw new InvalidAsOfError('asOf');
    const history = await this.replay.conversationHistory(
      principal,
      args.conversationId,
      asOf,
      args.contentReason,
    );
    return toAuditHistory(history);
  }
}

export function toAuditHistory(c: ReplayedConversation): AuditConversationHistory {
  const title = c.title === undefined ? undefined : content(c.title);
  return {
    conversationId: c.conversationId,
    asOf: formatAsOf(c.asOf),
    existed: c.existed,
    kind: c.kind ?? null,
    createdAt: c.createdAt ?? null,
    createdBy: c.createdById ?? null,
    titleStatus: title?.status ?? null,
    title: title?.text ?? null,
    archived: c.archived,
    members: c.members.map((m) => ({
      id: m.id,
      kind: m.kind,
      role: m.role,
      isMember: m.isMember,
      memberships: m.memberships.map((p) => ({
        joinedAt: p.joinedAt,
        addedBy: p.addedById,
        leftAt: p.leftAt ?? null,
        removed: p.leftHow === undefined ? null : p.leftHow === 'removed',
        removedBy: p.removedById ?? null,
      })),
    })),
    messages: c.messages.map(toAuditMessage),
    gaps: c.gaps.map((g) => ({
      eventId: g.eventId,
      type: g.type,
      recordedAt: g.recordedAt,
      actorId: g.actorId ?? null,
      reason: g.reason,
    })),
    position: c.lastPosition ? encodePosition(c.lastPosition) : null,
  };
}

function toAuditMessage(m: ReplayedMessage): AuditHistoryMessage {
  const now = content(m.content);
  return {
    id: m.messageId ?? null,
    eventId: m.eventId,
    sequence: m.sequence ?? null,
    authorId: m.authorId,
    authorKind: m.authorKind,
    sentAt: m.sentAt,
    threadRootId: m.threadRootId ?? null,
    position: encodePosition(m.position),
    contentStatus: now.status,
    text: now.text,
    versions: m.versions.map((v) => {
      const version = content(v.content);
      return {
        editNumber: v.editNumber,
        at: v.at,
        editorId: v.editorId,
        contentStatus: version.status,
        text: version.text,
      };
    }),
    redaction: m.redaction
      ? {
          at: m.redaction.at,
          redactedBy: m.redaction.byId ?? null,
          reason: m.redaction.reason ?? null,
        }
      : null,
    reactions: m.reactions.map((r) => ({ emoji: r.emoji, memberIds: [...r.memberIds] })),
    reactionsIncomplete: m.reactionsIncomplete,
    editedLater: m.later.edits,
    redactedLater: m.later.redactedAt ?? null,
  };
}

function content(c: ReplayedContent): { status: AuditContentStatus; text: string | null } {
  switch (c.status) {
    case 'available':
      return { status: 'available', text: c.text };
    case 'redacted':
      return { status: 'redacted', text: null };
    case 'unavailable':
      return { status: 'shredded', text: null };
    case 'withheld':
      return { status: 'withheld', text: null };
  }
}
