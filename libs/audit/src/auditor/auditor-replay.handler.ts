import {
  accessActorOf,
  type AccessPolicy,
  type Permission,
  type Principal,
} from '@ledgerline/identity';
import { LATEST, type AsOf } from '@ledgerline/kernel';
import { parseContentReason } from './content-reason';
import type {
  ConversationReplaySource,
  ReplayedConversation,
  ReplayedUserView,
  ReplayRequester,
} from './conversation-replay.port';

/**
 * Point-in-time replay and the auditor's full conversation history, for principals: the
 * permission first (`audit.replay` for replays, `audit.read` for the history, and `audit.content`
 * too when content is asked for with a reason; a refusal is recorded by the policy), then the
 * conversations' replay (ConversationReplaySource), which records the access and answers.
 */
export class AuditorReplay {
  constructor(
    private readonly access: Pick<AccessPolicy, 'check'>,
    private readonly source: ConversationReplaySource,
  ) {}

  /** What the conversation held at the moment, for an auditor: redacted and edited text included. */
  async replayConversation(
    principal: Principal,
    conversationId: string,
    asOf: AsOf,
  ): Promise<ReplayedConversation> {
    await this.check(principal, 'audit.replay', conversationId);
    return this.source.replayConversation(requesterOf(principal), conversationId, asOf);
  }

  /** What the user could see at the moment. */
  async replayUserView(
    principal: Principal,
    userId: string,
    asOf: AsOf,
  ): Promise<ReplayedUserView> {
    await this.check(principal, 'audit.replay');
    return this.source.replayUserView(requesterOf(principal), userId, asOf);
  }

  /**
   * A conversation's full history for an auditor, as of a moment (default: now): metadata only
   * (`audit.read`), or with its content when the auditor also holds `audit.content` and states a
   * reason, which the access record keeps.
   */
  async conversationHistory(
    principal: Principal,
    conversationId: string,
    asOf: AsOf = LATEST,
    contentReason?: string | null,
  ): Promise<ReplayedConversation> {
    await this.check(principal, 'audit.read', conversationId);
    const reason = parseContentReason(contentReason);
    if (reason !== undefined) await this.check(principal, 'audit.content', conversationId);
    return this.source.conversationHistory(
      requesterOf(principal),
      conversationId,
      asOf,
      reason === undefined ? undefined : { reason },
    );
  }

  private async check(principal: Principal, permission: Permission, conversationId?: string) {
    await this.access.check(principal, permission, {
      tenantId: principal.tenantId,
      type: 'conversation',
      ...(conversationId === undefined ? {} : { id: conversationId }),
    });
  }
}

function requesterOf(principal: Principal): ReplayRequester {
  return {
    tenantId: principal.tenantId,
    actor: accessActorOf(principal),
    ...(principal.origin ? { origin: principal.origin } : {}),
  };
}
