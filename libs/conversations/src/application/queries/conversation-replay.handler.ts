import type { EventStore } from '@ledgerline/event-store';
import type {
  AccessAction,
  AccessActor,
  AccessRecorder,
  Permission,
  RequestOrigin,
} from '@ledgerline/identity';
import { comparePositions, LATEST, type AsOf, type GlobalPosition } from '@ledgerline/kernel';
import type { Ledger, OpenedEvent } from '@ledgerline/ledger';
import { InvalidConversationInput } from '../../domain/conversation.errors';
import type { ConversationEvent, ConversationEventType } from '../../domain/conversation.events';
import { assertTenantId, isValidMemberId } from '../../domain/conversation.validation';
import { CONVERSATION_STREAM_CATEGORY, conversationStreamId } from '../../domain/stream-ids';
import { openConversationEvent } from '../conversation-events.codec';
import {
  asSeenByMember,
  membershipUndetermined,
  participantsOf,
  wasMemberAt,
  type ConversationAsOf,
} from '../../domain/conversation.replay';
import { ConversationReplayFold } from './conversation-replay';
import { ReplayConversationNotFoundError } from './conversation-replay.errors';
import { withoutContent } from './minimum-necessary';
import type { ReplayHintSource } from './replay-hints.port';

/**
 * Who asks for a replay, as the access record names them: a principal (through libs/audit's
 * AuditorReplay, which checks the permission first) or an operator at the CLI (`actor.kind:
 * 'operator'`, `origin.transport: 'cli'`).
 */
export interface ReplayRequester {
  readonly tenantId: string;
  readonly actor: AccessActor;
  readonly origin?: RequestOrigin;
}

/** What one user could see at a moment: each conversation they were a member of then. */
export interface UserViewAsOf {
  readonly tenantId: string;
  readonly userId: string;
  readonly asOf: AsOf;
  /** As the user saw them (`asSeenByMember`), in the order the user first joined them. */
  readonly conversations: readonly ConversationAsOf[];
  /**
   * Conversations where a shredded membership event hides whether the user was a member then:
   * neither shown nor ruled out.
   */
  readonly undetermined: readonly string[];
}

export interface ConversationReplayOptions {
  /** Events read per page of a stream or of `$all`. */
  readonly pageSize?: number;
}

/** The events that can make someone a member; scanned in `$all` to find a user's conversations. */
const JOINING_EVENTS: readonly ConversationEventType[] = [
  'DirectConversationCreated',
  'GroupConversationCreated',
  'MemberAdded',
];

/**
 * Rebuilds what a conversation held, or what a user could see, at a past moment, from the sealed
 * events themselves (verified and decrypted by the ledger), never from read models: it shows
 * edited and redacted content as it was and is exactly as trustworthy as the log. It is the
 * conversations' side of libs/audit's `ConversationReplaySource` port (the app binds it; its
 * results fit the port's types structurally), and keeps the port's promises. No permission
 * check: principals come through libs/audit's AuditorReplay; the operator path (the CLI) calls
 * this directly, since whoever runs it already holds the database and the keys.
 *
 * - Each answer is one access record (`audit.replayed`, or `audit.conversation_history.read`),
 *   awaited before the answer is returned: when it cannot be recorded the caller gets the
 *   recorder's error and no content (fail closed).
 * - A conversation id with no stream in the tenant is ReplayConversationNotFoundError, recorded as
 *   nothing: no content was disclosed.
 * - Content whose data key was shredded is `unavailable`, never reconstructed; events that cannot
 *   be placed are listed as the replay's gaps.
 */
export class PointInTimeReplay {
  private readonly pageSize: number;

  constructor(
    private readonly recorder: AccessRecorder,
    private readonly ledger: Pick<Ledger, 'readStream' | 'open'>,
    private readonly store: Pick<EventStore, 'readAll'>,
    private readonly hints?: ReplayHintSource,
    options: ConversationReplayOptions = {},
  ) {
    this.pageSize = options.pageSize ?? 500;
  }

  /** What the conversation held at the moment, for an auditor. */
  replayConversation(
    requester: ReplayRequester,
    conversationId: string,
    asOf: AsOf,
  ): Promise<ConversationAsOf> {
    return this.conversationFor(requester, conversationId, asOf, 'audit.replayed');
  }

  /**
   * The same, recorded as the auditor's reading of the conversation's history: without `content`,
   * metadata only (minimum necessary); with it, content too, the record naming `audit.content`
   * and the stated reason.
   */
  async conversationHistory(
    requester: ReplayRequester,
    conversationId: string,
    asOf: AsOf = LATEST,
    content?: { readonly reason: string },
  ): Promise<ConversationAsOf> {
    const replayed = await this.conversationFor(
      requester,
      conversationId,
      asOf,
      'audit.conversation_history.read',
      content
        ? { permission: 'audit.content', reason: content.reason }
        : { permission: 'audit.read' },
    );
    return content ? replayed : withoutContent(replayed);
  }

  /** What the user could see at the moment. */
  replayUserView(requester: ReplayRequester, userId: string, asOf: AsOf): Promise<UserViewAsOf> {
    return this.userViewFor(requester, userId, asOf);
  }

  // ---- the work ----------------------------------------------------------------------------------

  private async conversationFor(
    requester: ReplayRequester,
    conversationId: string,
    asOf: AsOf,
    action: AccessAction,
    disclosure: { readonly permission?: Permission; readonly reason?: string } = {},
  ): Promise<ConversationAsOf> {
    const replayed = await this.replayStream(requester.tenantId, conversationId, asOf);
    if (!replayed) throw new ReplayConversationNotFoundError(requester.tenantId, conversationId);
    await this.recorder.record({
      tenantId: requester.tenantId,
      actor: requester.actor,
      action,
      outcome: 'allowed',
      ...disclosure,
      conversationId,
      targetIds: [conversationId],
      subjectUserIds: participantsOf(replayed),
      ...(requester.origin ? { origin: requester.origin } : {}),
    });
    return replayed;
  }

  private async userViewFor(
    requester: ReplayRequester,
    userId: string,
    asOf: AsOf,
  ): Promise<UserViewAsOf> {
    if (!isValidMemberId(userId)) throw new InvalidConversationInput('userId', 'invalid_format');
    const { tenantId } = requester;
    const candidates = await this.conversationsJoinedBy(tenantId, userId, asOf);
    const conversations: ConversationAsOf[] = [];
    const undetermined: string[] = [];
    for (const conversationId of candidates) {
      const replayed = await this.replayStream(tenantId, conversationId, asOf);
      if (!replayed) continue;
      if (wasMemberAt(replayed, userId)) conversations.push(asSeenByMember(replayed));
      else if (membershipUndetermined(replayed, userId)) undetermined.push(conversationId);
    }
    const subjects = new Set<string>([userId]);
    for (const c of conversations) for (const id of participantsOf(c)) subjects.add(id);
    await this.recorder.record({
      tenantId,
      actor: requester.actor,
      action: 'audit.replayed',
      outcome: 'allowed',
      // Several conversations: the targets say which.
      resourceType: 'conversation',
      targetIds: conversations.map((c) => c.conversationId),
      subjectUserIds: [...subjects].sort(),
      ...(requester.origin ? { origin: requester.origin } : {}),
    });
    return { tenantId, userId, asOf, conversations, undetermined };
  }

  /** Reads the whole stream (later edits and redactions are noted); undefined when it has none. */
  private async replayStream(
    tenantId: string,
    conversationId: string,
    asOf: AsOf,
  ): Promise<ConversationAsOf | undefined> {
    const streamId = conversationStreamId(tenantId, conversationId);
    const messageIdsByRevision = new Map<bigint, string>();
    const fold = new ConversationReplayFold(tenantId, conversationId, asOf, {
      messageIdsByRevision,
    });
    let from = 0n;
    let any = false;
    for (;;) {
      const page = await this.ledger.readStream(streamId, {
        fromRevision: from,
        maxCount: this.pageSize,
      });
      any ||= page.length > 0;
      await this.addHints(tenantId, conversationId, page, messageIdsByRevision);
      for (const event of page) fold.apply(event);
      if (page.length < this.pageSize) break;
      from = page[page.length - 1]!.revision + 1n;
    }
    return any ? fold.result() : undefined;
  }

  private async addHints(
    tenantId: string,
    conversationId: string,
    page: readonly OpenedEvent[],
    into: Map<bigint, string>,
  ): Promise<void> {
    if (!this.hints) return;
    const shredded = page.filter((e) => e.body.status !== 'available').map((e) => e.revision);
    if (shredded.length === 0) return;
    const found = await this.hints.hintsFor(tenantId, conversationId, shredded);
    for (const [revision, messageId] of found.messageIdsByRevision) into.set(revision, messageId);
  }

  /**
   * Conversations the user may have been a member of at the moment: every stream of the tenant
   * with a creation or `MemberAdded` event up to then that names the user, or that cannot be
   * opened (shredded). Membership at the moment itself is decided by replaying each one. The
   * conversation-list read model knows only today's members, so `$all` is read instead.
   */
  private async conversationsJoinedBy(
    tenantId: string,
    userId: string,
    asOf: AsOf,
  ): Promise<string[]> {
    assertTenantId('tenantId', tenantId);
    const prefix = `${CONVERSATION_STREAM_CATEGORY}:${tenantId}:`;
    const found = new Set<string>();
    let after: GlobalPosition | undefined;
    for (;;) {
      const page = await this.store.readAll({
        ...(after ? { after } : {}),
        maxCount: this.pageSize,
        filter: { streamPrefixes: [prefix], eventTypes: JOINING_EVENTS },
      });
      for (const recorded of page.events) {
        if (asOf.kind === 'position' && comparePositions(recorded.position, asOf.position) > 0) {
          return [...found]; // `$all` is in position order: nothing later can be before
        }
        if (asOf.kind === 'time' && recorded.recordedAt.getTime() > asOf.at.getTime()) continue;
        const conversationId = recorded.streamId.slice(prefix.length);
        if (found.has(conversationId)) continue;
        const opened = await this.ledger.open(recorded);
        const event = openConversationEvent(opened);
        if (!event || joins(event, userId)) found.add(conversationId);
      }
      if (!page.more) return [...found];
      after = page.next;
    }
  }
}

function joins(event: ConversationEvent, userId: string): boolean {
  switch (event.type) {
    case 'DirectConversationCreated':
    case 'GroupConversationCreated':
      return event.data.members.some((m) => m.id === userId);
    case 'MemberAdded':
      return event.data.member.id === userId;
    default:
      return false;
  }
}
