import type { SqlExecutor } from '@ledgerline/database';
import {
  accessActorOf,
  type AccessAction,
  type AccessRecord,
  type AccessPolicy,
  type AccessRecorder,
  type Principal,
} from '@ledgerline/identity';
import { decodePosition, encodePosition, type GlobalPosition } from '@ledgerline/kernel';
import type { Ledger } from '@ledgerline/ledger';
import type { ConversationActor, MemberRole } from '../../domain/conversation.events';
import { conversationStreamId } from '../../domain/stream-ids';
import {
  InvalidCursorError,
  MessageNotFoundError,
  NotAConversationMemberError,
  PageSizeError,
} from '../conversations.errors';
import type { EmergencyAccess } from '../emergency/emergency-access.handler';
import { readsUnderEmergencyGrant } from '../emergency/emergency-reads';
import { ConversationMemberships } from './conversation-memberships';
import { brokenIds, failedReadRecord, readOutcomeRecords } from './read-outcomes';
import {
  SealedContents,
  textOf,
  titleOf,
  type OpenedContent,
  type StoredConversationEvent,
} from './sealed-contents';

/** A message's content as a reader may see it. */
export type MessageContent =
  | { readonly status: 'available'; readonly text: string }
  /** Redacted: gone from every member-facing read. */
  | { readonly status: 'redacted' }
  /** Its data key was shredded: the text no longer exists anywhere. */
  | { readonly status: 'unavailable' }
  /** Its event fails its own seal (altered in the store): not shown; the read is recorded failed. */
  | { readonly status: 'integrity_failed' };

export type TitleContent =
  | { readonly status: 'available'; readonly title: string }
  | { readonly status: 'unavailable' }
  | { readonly status: 'integrity_failed' };

export interface MessageView {
  readonly messageId: string;
  readonly sequence: number;
  readonly authorId: string;
  readonly authorKind: ConversationActor['kind'];
  readonly threadRootId: string | undefined;
  readonly sentAt: Date;
  /** The message's `$all` position, and the same as a paging cursor. */
  readonly position: GlobalPosition;
  readonly cursor: string;
  readonly revision: bigint;
  readonly editCount: number;
  readonly editedAt: Date | undefined;
  readonly replyCount: number;
  readonly lastReplyAt: Date | undefined;
  readonly redactedAt: Date | undefined;
  readonly content: MessageContent;
}

/**
 * A page by `$all` position. `after` reads forwards from a cursor, `before` backwards to one; with
 * neither, the newest page. Items are always in ascending position order.
 */
export interface PageRequest {
  readonly after?: string;
  readonly before?: string;
  readonly limit?: number;
}

export interface Page<T> {
  readonly items: readonly T[];
  /** More items lie beyond this page in the direction it was read. */
  readonly more: boolean;
  /** Cursor of the first item: pass as `before` for the page before. */
  readonly startCursor: string | undefined;
  /** Cursor of the last item: pass as `after` for the page after. */
  readonly endCursor: string | undefined;
}

export interface ConversationSummary {
  readonly conversationId: string;
  readonly kind: 'direct' | 'group';
  readonly archived: boolean;
  /** Always false: there is no mute command yet (see the conversation-list projection). */
  readonly muted: boolean;
  readonly role: MemberRole;
  readonly unreadCount: number;
  readonly readUpToSequence: number;
  /** A group's title; undefined for a direct conversation (clients show `peerId`). */
  readonly title: TitleContent | undefined;
  /** The other member of a direct conversation. */
  readonly peerId: string | undefined;
  readonly createdAt: Date;
  readonly lastMessage:
    | {
        readonly messageId: string;
        readonly authorId: string;
        readonly sentAt: Date;
        /** The start of the current text (at most `previewChars` characters). */
        readonly preview: MessageContent;
      }
    | undefined;
  /** Paging cursor (the position of the conversation's last activity). */
  readonly cursor: string;
}

export interface ListConversationsRequest {
  readonly before?: string;
  readonly limit?: number;
  /** Only archived (true) or only active (false) conversations; default both. */
  readonly archived?: boolean;
}

export interface Thread {
  readonly root: MessageView;
  readonly replies: Page<MessageView>;
}

export interface MessageVersion {
  /** 0 is the message as sent; 1, 2… its edits. */
  readonly editNumber: number;
  readonly at: Date;
  readonly editorId: string;
  readonly content: MessageContent;
}

export interface EditHistory {
  readonly messageId: string;
  readonly redacted: boolean;
  /** Every version, oldest first; empty for a redacted message. */
  readonly versions: readonly MessageVersion[];
}

export interface ReactionCount {
  /** Null when the events naming it were shredded. */
  readonly emoji: string | null;
  readonly count: number;
  readonly memberIds: readonly string[];
  /** The reader is among `memberIds`. */
  readonly mine: boolean;
}

export interface MessageReactions {
  readonly messageId: string;
  readonly reactions: readonly ReactionCount[];
  /** Some reaction events could not be opened (shredded): counts may be incomplete. */
  readonly incomplete: boolean;
}

export interface DeliveryMarkView {
  readonly memberId: string;
  readonly deviceId: string;
  readonly upToSequence: number;
  readonly upToMessageId: string;
  /** When the mark last moved. */
  readonly at: Date;
}

export interface ReadMarkView {
  readonly memberId: string;
  readonly upToSequence: number;
  readonly upToMessageId: string;
  readonly at: Date;
}

export interface ConversationReceipts {
  readonly delivered: readonly DeliveryMarkView[];
  readonly read: readonly ReadMarkView[];
}

export interface MessageReceipts extends ConversationReceipts {
  readonly messageId: string;
  readonly sequence: number;
}

/** An event of a conversation as a catch-up read answers it. */
export interface ConversationEventRecord extends StoredConversationEvent {
  readonly conversationId: string;
}

export interface ConversationEventsRequest {
  /** Events after this revision (-1: from the first). */
  readonly afterRevision: bigint;
  readonly limit?: number;
}

export interface ConversationEventsPage {
  /** Consecutive revisions, oldest first. */
  readonly events: readonly ConversationEventRecord[];
  /** More events follow the last one. */
  readonly more: boolean;
}

/** Where a sent message sits: what its send's ack named. */
export interface SentMessagePlacement {
  readonly messageId: string;
  readonly eventId: string;
  readonly revision: bigint;
  readonly position: GlobalPosition;
}

export interface ConversationQueriesOptions {
  /** Largest page a caller may ask for; above it, PageSizeError. */
  readonly maxPageSize?: number;
  readonly defaultPageSize?: number;
  /** Characters of the last message shown in the conversation list. */
  readonly previewChars?: number;
  /** Streams opened at once for a conversation list. */
  readonly openConcurrency?: number;
  /** Break-glass grants: a named non-member may read under one (recorded and alerted). */
  readonly emergency?: Pick<EmergencyAccess, 'activeGrant' | 'used'>;
  /**
   * Resolves once the read models hold everything committed when it was called. Awaited before a
   * "not a member" answer is given: a conversation created (or joined) just before is the
   * caller's own write, never "not found".
   */
  readonly caughtUp?: () => Promise<void>;
}

interface MessageRow {
  message_id: string;
  revision: string;
  commit_position: string;
  prepare_position: string;
  sequence: number;
  author_id: string;
  author_kind: ConversationActor['kind'];
  thread_root_id: string | null;
  sent_at: Date;
  text_revision: string | null;
  edit_count: number;
  edited_at: Date | null;
  redacted: boolean;
  redacted_at: Date | null;
  reply_count: number;
  last_reply_at: Date | null;
}

const MESSAGE_COLUMNS = `message_id, revision::text as revision, commit_position::text as commit_position,
  prepare_position::text as prepare_position, sequence, author_id, author_kind, thread_root_id, sent_at,
  text_revision::text as text_revision, edit_count, edited_at, redacted, redacted_at, reply_count, last_reply_at`;

interface AuthorizedRead {
  readonly conversationId: string;
  readonly streamId: string;
  /** Every member of the conversation now, sorted. */
  readonly memberIds: readonly string[];
}

/** The reads of one conversation, as their denial records name them. */
type ConversationReadOperation =
  | 'messages'
  | 'thread'
  | 'editHistory'
  | 'reactions'
  | 'receipts'
  | 'messageReceipts'
  | 'conversationEvents'
  | 'sentMessage'
  | 'startLiveFeed';

interface ParsedPage {
  readonly limit: number;
  readonly backwards: boolean;
  readonly cursor: GlobalPosition | undefined;
}

/**
 * Reads of conversations for one principal, from the read models, each behind the same two checks:
 * the tenant-level `conversation.read` permission (recorded when denied), then membership of the
 * conversation. Users and agents read only conversations they are members of (a non-member gets
 * NotAConversationMemberError whether or not the conversation exists); a service, which is never a
 * member, reads the conversations of its own tenant. Every read is scoped to the principal's tenant.
 *
 * Membership comes from the conversation-list read model, so it follows commands with the same
 * small delay as everything else read here.
 */
export class ConversationQueries {
  private readonly maxPageSize: number;
  private readonly defaultPageSize: number;
  private readonly previewChars: number;
  private readonly openConcurrency: number;
  private readonly contents: SealedContents;
  private readonly memberships: ConversationMemberships;
  private readonly emergency: ConversationQueriesOptions['emergency'];

  private readonly caughtUp: (() => Promise<void>) | undefined;

  constructor(
    private readonly access: Pick<AccessPolicy, 'check'>,
    private readonly accessLog: AccessRecorder,
    private readonly db: SqlExecutor,
    ledger: Pick<Ledger, 'readStream' | 'readStreamEach'>,
    options: ConversationQueriesOptions = {},
  ) {
    this.maxPageSize = options.maxPageSize ?? 100;
    this.defaultPageSize = Math.min(options.defaultPageSize ?? 50, this.maxPageSize);
    this.previewChars = options.previewChars ?? 140;
    this.openConcurrency = options.openConcurrency ?? 8;
    this.caughtUp = options.caughtUp;
    this.contents = new SealedContents(ledger);
    this.memberships = new ConversationMemberships(db);
    this.emergency = options.emergency;
  }

  /** The principal's own conversations, most recently active first. */
  async listConversations(
    principal: Principal,
    request: ListConversationsRequest = {},
  ): Promise<Page<ConversationSummary>> {
    await this.access.check(principal, 'conversation.read', {
      tenantId: principal.tenantId,
      type: 'conversation',
    });
    const limit = this.pageSize(request.limit);
    const before = request.before === undefined ? undefined : parseCursor(request.before);
    const rows = await this.db.query<{
      conversation_id: string;
      kind: 'direct' | 'group';
      archived: boolean;
      title_revision: string | null;
      created_at: Date;
      last_message_id: string | null;
      last_message_author_id: string | null;
      last_message_text_revision: string | null;
      last_message_redacted: boolean;
      last_message_at: Date | null;
      activity_commit: string;
      activity_prepare: string;
      role: MemberRole;
      unread_count: number;
      muted: boolean;
      read_up_to_sequence: number;
      peer_id: string | null;
    }>(
      `select c.conversation_id, c.kind, c.archived, c.title_revision::text as title_revision, c.created_at,
         c.last_message_id, c.last_message_author_id,
         c.last_message_text_revision::text as last_message_text_revision, c.last_message_redacted,
         c.last_message_at, c.activity_commit::text as activity_commit,
         c.activity_prepare::text as activity_prepare, m.role, m.unread_count, m.muted,
         m.read_up_to_sequence,
         case when c.kind = 'direct' then (
           select o.member_id from ll_conv_list_members o
           where o.tenant_id = c.tenant_id and o.conversation_id = c.conversation_id
             and o.member_id <> m.member_id
           order by o.member_id limit 1) end as peer_id
       from ll_conv_list_members m
       join ll_conv_list_conversations c
         on c.tenant_id = m.tenant_id and c.conversation_id = m.conversation_id
       where m.tenant_id = $1 and m.member_id = $2
         and ($3::boolean is null or c.archived = $3::boolean)
         and ($4::numeric is null or (c.activity_commit, c.activity_prepare) < ($4::numeric, $5::bigint))
       order by c.activity_commit desc, c.activity_prepare desc
       limit $6`,
      [
        principal.tenantId,
        principal.id,
        request.archived ?? null,
        before?.commit.toString() ?? null,
        before?.prepare.toString() ?? null,
        limit + 1,
      ],
    );
    const more = rows.length > limit;
    const page = rows.slice(0, limit);
    // Titles and previews are PHI of the conversations' members: the list is a read of it,
    // recorded like a history page once the contents are open.
    const opening = mapConcurrently(page, this.openConcurrency, async (row) => {
      const revisions = [row.title_revision, row.last_message_text_revision]
        .filter((r): r is string => r !== null)
        .map(BigInt);
      const opened =
        revisions.length === 0
          ? new Map<bigint, OpenedContent>()
          : await this.contents.open(
              conversationStreamId(principal.tenantId, row.conversation_id),
              revisions,
            );
      const title =
        row.title_revision === null
          ? undefined
          : titleContent(opened.get(BigInt(row.title_revision)));
      const position = {
        commit: BigInt(row.activity_commit),
        prepare: BigInt(row.activity_prepare),
      };
      const summary: ConversationSummary = {
        conversationId: row.conversation_id,
        kind: row.kind,
        archived: row.archived,
        muted: row.muted,
        role: row.role,
        unreadCount: Number(row.unread_count),
        readUpToSequence: Number(row.read_up_to_sequence),
        title,
        peerId: row.peer_id ?? undefined,
        createdAt: row.created_at,
        lastMessage:
          row.last_message_id === null
            ? undefined
            : {
                messageId: row.last_message_id,
                authorId: row.last_message_author_id!,
                sentAt: row.last_message_at!,
                preview: this.preview(
                  row.last_message_redacted,
                  row.last_message_text_revision,
                  opened,
                ),
              },
        cursor: encodePosition(position),
      };
      return summary;
    });
    // Opened first, so that a list an integrity check stopped is recorded as failed, not allowed.
    const items = await opening.catch(async (error: unknown) => {
      await this.recordListRead(
        principal,
        page.map((r) => r.conversation_id),
        error,
      );
      throw error;
    });
    await this.recordListRead(
      principal,
      page.map((r) => r.conversation_id),
    );
    // Newest first; startCursor/endCursor follow the list's own order.
    return {
      items,
      more,
      startCursor: items[0]?.cursor,
      endCursor: items[items.length - 1]?.cursor,
    };
  }

  private async recordListRead(
    principal: Principal,
    conversationIds: string[],
    failure?: unknown,
  ): Promise<void> {
    const members =
      conversationIds.length === 0
        ? []
        : await this.db.query<{ member_id: string }>(
            `select distinct member_id from ll_conv_list_members
             where tenant_id = $1 and conversation_id = any($2::text[]) and member_id <> $3
             order by member_id`,
            [principal.tenantId, conversationIds, principal.id],
          );
    const record: AccessRecord = {
      tenantId: principal.tenantId,
      actor: accessActorOf(principal),
      action: 'phi.conversation_list.read',
      outcome: 'allowed',
      targetIds: conversationIds,
      subjectUserIds: members.map((m) => m.member_id),
      ...(principal.origin ? { origin: principal.origin } : {}),
    };
    if (failure === undefined) return this.accessLog.record(record);
    const failed = failedReadRecord(record, failure);
    if (failed) await this.accessLog.record(failed);
  }

  /**
   * The checks a live feed starts with (GraphQL subscription, realtime connection), recorded as
   * `phi.live.subscribed`: for one conversation, permission and membership (a refusal is recorded
   * as with any read); for all of the caller's conversations, the permission. What then flows is
   * gated per event by the conversation's member list (ConversationFanOut), and not recorded
   * event by event.
   */
  async startLiveFeed(principal: Principal, conversationId?: string): Promise<void> {
    if (conversationId !== undefined) {
      const reading = await this.authorize(principal, conversationId, 'startLiveFeed');
      const subjects = reading.memberIds.filter((id) => id !== principal.id);
      await this.accessLog.record({
        ...this.liveRecord(principal),
        conversationId,
        targetIds: [conversationId],
        subjectUserIds: subjects,
      });
      return;
    }
    await this.access.check(principal, 'conversation.read', {
      tenantId: principal.tenantId,
      type: 'conversation',
    });
    await this.accessLog.record({
      ...this.liveRecord(principal),
      targetIds: [],
      subjectUserIds: [],
    });
  }

  private liveRecord(principal: Principal) {
    return {
      tenantId: principal.tenantId,
      actor: accessActorOf(principal),
      action: 'phi.live.subscribed' as const,
      outcome: 'allowed' as const,
      ...(principal.origin ? { origin: principal.origin } : {}),
    };
  }

  /** Messages of a conversation (thread replies included, with their root id), by position. */
  async messages(
    principal: Principal,
    conversationId: string,
    request: PageRequest = {},
  ): Promise<Page<MessageView>> {
    const reading = await this.authorize(principal, conversationId, 'messages');
    return this.messagePage(principal, reading, 'phi.history.read', request);
  }

  /** A thread: its root message and a page of its replies, by position. */
  async thread(
    principal: Principal,
    conversationId: string,
    threadRootId: string,
    request: PageRequest = {},
  ): Promise<Thread> {
    const reading = await this.authorize(principal, conversationId, 'thread');
    const root = await this.messageRow(principal.tenantId, conversationId, threadRootId);
    if (!root || root.thread_root_id !== null) {
      throw new MessageNotFoundError(conversationId, threadRootId);
    }
    const replies = await this.messagePage(principal, reading, 'phi.thread.read', request, root);
    return { root: replies.root, replies: replies.page };
  }

  /** Every version of a message, oldest first (none once it is redacted). */
  async editHistory(
    principal: Principal,
    conversationId: string,
    messageId: string,
  ): Promise<EditHistory> {
    const reading = await this.authorize(principal, conversationId, 'editHistory');
    const { streamId } = reading;
    const message = await this.messageRow(principal.tenantId, conversationId, messageId);
    if (!message) throw new MessageNotFoundError(conversationId, messageId);
    if (message.redacted) {
      await this.recordRead(principal, 'phi.edit_history.read', reading, [message]);
      return { messageId, redacted: true, versions: [] };
    }
    const rows = await this.db.query<{
      edit_number: number;
      revision: string;
      edited_at: Date;
      editor_id: string;
    }>(
      `select e.edit_number, e.revision::text as revision, e.edited_at, e.editor_id
       from ll_conv_message_edits e
       where e.tenant_id = $1 and e.conversation_id = $2 and e.message_id = $3
       order by e.edit_number`,
      [principal.tenantId, conversationId, messageId],
    );
    const opened = await this.disclose(
      this.readRecord(principal, 'phi.edit_history.read', reading, [message]),
      () =>
        this.contents.open(
          streamId,
          rows.map((r) => BigInt(r.revision)),
        ),
      (o) =>
        brokenIds(
          rows,
          o,
          () => messageId,
          (r) => BigInt(r.revision),
        ),
    );
    return {
      messageId,
      redacted: false,
      versions: rows.map((r) => ({
        editNumber: r.edit_number,
        at: r.edited_at,
        editorId: r.editor_id,
        content: messageContent(false, opened.get(BigInt(r.revision))),
      })),
    };
  }

  /** Who reacted to a message with what; the emoji are opened from the sealed events. */
  async reactions(
    principal: Principal,
    conversationId: string,
    messageId: string,
  ): Promise<MessageReactions> {
    const { streamId } = await this.authorize(principal, conversationId, 'reactions');
    const message = await this.messageRow(principal.tenantId, conversationId, messageId);
    if (!message) throw new MessageNotFoundError(conversationId, messageId);
    const rows = await this.db.query<{ revision: string; member_id: string; added: boolean }>(
      `select r.revision::text as revision, r.member_id, r.added from ll_conv_reactions r
       where r.tenant_id = $1 and r.conversation_id = $2 and r.message_id = $3
       order by r.revision`,
      [principal.tenantId, conversationId, messageId],
    );
    const opened = await this.contents.open(
      streamId,
      rows.map((r) => BigInt(r.revision)),
    );
    // Replay adds and removes per member, as the decider does.
    const byMember = new Map<string, Set<string>>();
    let incomplete = false;
    for (const row of rows) {
      const content = opened.get(BigInt(row.revision));
      const event = content?.status === 'available' ? content.event : undefined;
      if (!event || (event.type !== 'ReactionAdded' && event.type !== 'ReactionRemoved')) {
        incomplete = true;
        continue;
      }
      const mine = byMember.get(row.member_id) ?? new Set<string>();
      if (row.added) mine.add(event.data.emoji);
      else mine.delete(event.data.emoji);
      byMember.set(row.member_id, mine);
    }
    const byEmoji = new Map<string, string[]>();
    for (const [memberId, emoji] of byMember) {
      for (const e of emoji) byEmoji.set(e, [...(byEmoji.get(e) ?? []), memberId]);
    }
    return {
      messageId,
      incomplete,
      reactions: [...byEmoji].map(([emoji, memberIds]) => ({
        emoji,
        count: memberIds.length,
        memberIds: memberIds.sort(),
        mine: memberIds.includes(principal.id),
      })),
    };
  }

  /** Every delivery mark (per device) and read mark (per member) of a conversation. */
  async receipts(principal: Principal, conversationId: string): Promise<ConversationReceipts> {
    await this.authorize(principal, conversationId, 'receipts');
    return this.marks(principal.tenantId, conversationId, 0);
  }

  /** The devices a message was delivered to and the members who read it. */
  async messageReceipts(
    principal: Principal,
    conversationId: string,
    messageId: string,
  ): Promise<MessageReceipts> {
    await this.authorize(principal, conversationId, 'messageReceipts');
    const message = await this.messageRow(principal.tenantId, conversationId, messageId);
    if (!message) throw new MessageNotFoundError(conversationId, messageId);
    const marks = await this.marks(principal.tenantId, conversationId, message.sequence);
    return { messageId, sequence: message.sequence, ...marks };
  }

  /**
   * A conversation's events after a revision, oldest first, with no revision missing: what a
   * realtime client missed (its sync and catch-up). An event whose data key was shredded comes
   * without its `event`. The same checks as every read; recorded as `phi.realtime.sync`, naming
   * the messages the events are about.
   */
  async conversationEvents(
    principal: Principal,
    conversationId: string,
    request: ConversationEventsRequest,
  ): Promise<ConversationEventsPage> {
    const reading = await this.authorize(principal, conversationId, 'conversationEvents');
    const limit = this.pageSize(request.limit);
    const from = request.afterRevision < 0n ? 0n : request.afterRevision + 1n;
    const read = await this.contents
      .range(reading.streamId, from, limit + 1)
      .catch(async (error: unknown) => {
        const failed = failedReadRecord(
          this.readRecord(principal, 'phi.realtime.sync', reading, []),
          error,
        );
        if (failed) await this.accessLog.record(failed);
        throw error;
      });
    const events = read.slice(0, limit).map((e) => ({ ...e, conversationId }));
    const about = events.flatMap((e) => {
      const data = e.event?.data;
      return data !== undefined && 'messageId' in data
        ? [{ message_id: data.messageId, author_id: data.actor.id }]
        : [];
    });
    if (events.length > 0) {
      await this.recordRead(principal, 'phi.realtime.sync', reading, about);
    }
    return { events, more: read.length > limit };
  }

  /**
   * Where a message sits in its conversation (event id, revision, position): the ack a retried
   * send answers. MessageNotFoundError until the read models include it. No content is returned.
   */
  async sentMessage(
    principal: Principal,
    conversationId: string,
    messageId: string,
  ): Promise<SentMessagePlacement> {
    const { streamId } = await this.authorize(principal, conversationId, 'sentMessage');
    const row = await this.messageRow(principal.tenantId, conversationId, messageId);
    if (!row) throw new MessageNotFoundError(conversationId, messageId);
    const [event] = await this.contents.range(streamId, BigInt(row.revision), 1);
    if (!event) throw new MessageNotFoundError(conversationId, messageId);
    return {
      messageId,
      eventId: event.eventId,
      revision: event.revision,
      position: event.position,
    };
  }

  /**
   * Ids of the conversations the principal is a member of, by id; none for a service (never a
   * member). Ids only: nothing of a conversation's content.
   */
  async memberConversationIds(
    principal: Principal,
    request: { readonly after?: string; readonly limit?: number } = {},
  ): Promise<{ readonly ids: readonly string[]; readonly more: boolean }> {
    await this.access.check(principal, 'conversation.read', {
      tenantId: principal.tenantId,
      type: 'conversation',
    });
    if (principal.kind === 'service') return { ids: [], more: false };
    const limit = this.pageSize(request.limit);
    const rows = await this.db.query<{ conversation_id: string }>(
      `select conversation_id from ll_conv_list_members
       where tenant_id = $1 and member_id = $2 and ($3::text is null or conversation_id > $3::text)
       order by conversation_id
       limit $4`,
      [principal.tenantId, principal.id, request.after ?? null, limit + 1],
    );
    return {
      ids: rows.slice(0, limit).map((r) => r.conversation_id),
      more: rows.length > limit,
    };
  }

  // ---- shared ------------------------------------------------------------------------------------

  /**
   * Permission, then membership, in one query that also names the members: whose data a read of
   * this conversation discloses, for its access record.
   */
  private async authorize(
    principal: Principal,
    conversationId: string,
    operation: ConversationReadOperation,
  ): Promise<AuthorizedRead> {
    await this.access.check(
      principal,
      'conversation.read',
      { tenantId: principal.tenantId, type: 'conversation', id: conversationId },
      operation,
    );
    const streamId = conversationStreamId(principal.tenantId, conversationId);
    const members = async () =>
      [...(await this.memberships.membersOf(principal.tenantId, conversationId))].sort();
    let memberIds = await members();
    if (principal.kind !== 'service' && !memberIds.includes(principal.id) && this.caughtUp) {
      await this.caughtUp();
      memberIds = await members();
    }
    if (
      principal.kind !== 'service' &&
      !memberIds.includes(principal.id) &&
      !(await readsUnderEmergencyGrant(
        this.emergency,
        principal,
        conversationId,
        operation,
        memberIds,
      ))
    ) {
      // Recorded like a denied permission; the record does not say whether the conversation exists.
      await this.accessLog.record({
        tenantId: principal.tenantId,
        actor: accessActorOf(principal),
        action: 'access.denied',
        outcome: 'denied',
        reason: 'not_a_member',
        permission: 'conversation.read',
        operation,
        conversationId,
        targetIds: [conversationId],
        subjectUserIds: [],
        ...(principal.origin ? { origin: principal.origin } : {}),
      });
      throw new NotAConversationMemberError(conversationId);
    }
    return { conversationId, streamId, memberIds };
  }

  /**
   * The access record of a read of PHI: the message ids it returned, and as subjects the members
   * and the authors of those messages (the reader aside). Fail closed: the caller awaits it, next
   * to opening the contents, before answering.
   */
  private recordRead(
    principal: Principal,
    action: AccessAction,
    reading: AuthorizedRead,
    rows: readonly Pick<MessageRow, 'message_id' | 'author_id'>[],
  ): Promise<void> {
    return this.accessLog.record(this.readRecord(principal, action, reading, rows));
  }

  /**
   * Opens what a read shows, then records what it really disclosed (read-outcomes.ts): the
   * messages shown as allowed, those that failed their integrity check as failed, and a read an
   * integrity check stopped as failed. Fail closed: the answer waits for its records.
   */
  private async disclose<T>(
    record: AccessRecord,
    open: () => Promise<T>,
    broken: (opened: T) => ReadonlySet<string>,
  ): Promise<T> {
    let opened: T;
    try {
      opened = await open();
    } catch (error) {
      const failed = failedReadRecord(record, error);
      if (failed) await this.accessLog.record(failed);
      throw error;
    }
    await Promise.all(
      readOutcomeRecords(record, broken(opened)).map((r) => this.accessLog.record(r)),
    );
    return opened;
  }

  private readRecord(
    principal: Principal,
    action: AccessAction,
    reading: AuthorizedRead,
    rows: readonly Pick<MessageRow, 'message_id' | 'author_id'>[],
  ): AccessRecord {
    const subjects = new Set([...reading.memberIds, ...rows.map((r) => r.author_id)]);
    subjects.delete(principal.id);
    return {
      tenantId: principal.tenantId,
      actor: accessActorOf(principal),
      action,
      outcome: 'allowed',
      conversationId: reading.conversationId,
      targetIds: rows.map((r) => r.message_id),
      subjectUserIds: [...subjects].sort(),
      ...(principal.origin ? { origin: principal.origin } : {}),
    };
  }

  private async messagePage(
    principal: Principal,
    reading: AuthorizedRead,
    action: AccessAction,
    request: PageRequest,
  ): Promise<Page<MessageView>>;
  private async messagePage(
    principal: Principal,
    reading: AuthorizedRead,
    action: AccessAction,
    request: PageRequest,
    threadRoot: MessageRow,
  ): Promise<{ root: MessageView; page: Page<MessageView> }>;
  private async messagePage(
    principal: Principal,
    reading: AuthorizedRead,
    action: AccessAction,
    request: PageRequest,
    threadRoot?: MessageRow,
  ): Promise<Page<MessageView> | { root: MessageView; page: Page<MessageView> }> {
    const { tenantId } = principal;
    const { conversationId, streamId } = reading;
    const threadRootId = threadRoot?.message_id;
    const page = this.parsePage(request);
    const cmp = page.backwards ? '<' : '>';
    const dir = page.backwards ? 'desc' : 'asc';
    // Qualified: the select list's text aliases would otherwise shadow the numeric columns.
    const rows = await this.db.query<MessageRow>(
      `select ${MESSAGE_COLUMNS} from ll_conv_messages m
       where m.tenant_id = $1 and m.conversation_id = $2
         and ($3::text is null or m.thread_root_id = $3::text)
         and ($4::numeric is null or (m.commit_position, m.prepare_position) ${cmp} ($4::numeric, $5::bigint))
       order by m.commit_position ${dir}, m.prepare_position ${dir}
       limit $6`,
      [
        tenantId,
        conversationId,
        threadRootId ?? null,
        page.cursor?.commit.toString() ?? null,
        page.cursor?.prepare.toString() ?? null,
        page.limit + 1,
      ],
    );
    const more = rows.length > page.limit;
    const taken = rows.slice(0, page.limit);
    if (page.backwards) taken.reverse();
    const shown = threadRoot ? [threadRoot, ...taken] : taken;
    const views = await this.disclose(
      this.readRecord(principal, action, reading, shown),
      () => this.views(streamId, shown),
      (v) =>
        new Set(v.filter((m) => m.content.status === 'integrity_failed').map((m) => m.messageId)),
    );
    const items = threadRoot ? views.slice(1) : views;
    const result: Page<MessageView> = {
      items,
      more,
      startCursor: items[0]?.cursor,
      endCursor: items[items.length - 1]?.cursor,
    };
    return threadRoot ? { root: views[0]!, page: result } : result;
  }

  private async views(streamId: string, rows: readonly MessageRow[]): Promise<MessageView[]> {
    const revisions = rows
      .filter((r) => !r.redacted && r.text_revision !== null)
      .map((r) => BigInt(r.text_revision!));
    const opened =
      revisions.length === 0
        ? new Map<bigint, OpenedContent>()
        : await this.contents.open(streamId, revisions);
    return rows.map((r) => {
      const position = { commit: BigInt(r.commit_position), prepare: BigInt(r.prepare_position) };
      return {
        messageId: r.message_id,
        sequence: r.sequence,
        authorId: r.author_id,
        authorKind: r.author_kind,
        threadRootId: r.thread_root_id ?? undefined,
        sentAt: r.sent_at,
        position,
        cursor: encodePosition(position),
        revision: BigInt(r.revision),
        editCount: r.edit_count,
        editedAt: r.edited_at ?? undefined,
        replyCount: r.reply_count,
        lastReplyAt: r.last_reply_at ?? undefined,
        redactedAt: r.redacted_at ?? undefined,
        content: messageContent(
          r.redacted,
          r.text_revision === null ? undefined : opened.get(BigInt(r.text_revision)),
        ),
      };
    });
  }

  private async messageRow(
    tenantId: string,
    conversationId: string,
    messageId: string,
  ): Promise<MessageRow | undefined> {
    const [row] = await this.db.query<MessageRow>(
      `select ${MESSAGE_COLUMNS} from ll_conv_messages
       where tenant_id = $1 and conversation_id = $2 and message_id = $3`,
      [tenantId, conversationId, messageId],
    );
    return row;
  }

  private async marks(
    tenantId: string,
    conversationId: string,
    atLeast: number,
  ): Promise<ConversationReceipts> {
    const delivered = await this.db.query<{
      member_id: string;
      device_id: string;
      up_to_sequence: number;
      up_to_message_id: string;
      marked_at: Date;
    }>(
      `select member_id, device_id, up_to_sequence, up_to_message_id, marked_at from ll_conv_deliveries
       where tenant_id = $1 and conversation_id = $2 and up_to_sequence >= $3
       order by member_id, device_id`,
      [tenantId, conversationId, atLeast],
    );
    const read = await this.db.query<{
      member_id: string;
      up_to_sequence: number;
      up_to_message_id: string;
      marked_at: Date;
    }>(
      `select member_id, up_to_sequence, up_to_message_id, marked_at from ll_conv_reads
       where tenant_id = $1 and conversation_id = $2 and up_to_sequence >= $3
       order by member_id`,
      [tenantId, conversationId, atLeast],
    );
    return {
      delivered: delivered.map((d) => ({
        memberId: d.member_id,
        deviceId: d.device_id,
        upToSequence: d.up_to_sequence,
        upToMessageId: d.up_to_message_id,
        at: d.marked_at,
      })),
      read: read.map((r) => ({
        memberId: r.member_id,
        upToSequence: r.up_to_sequence,
        upToMessageId: r.up_to_message_id,
        at: r.marked_at,
      })),
    };
  }

  private preview(
    redacted: boolean,
    textRevision: string | null,
    opened: ReadonlyMap<bigint, OpenedContent>,
  ): MessageContent {
    const content = messageContent(
      redacted,
      textRevision === null ? undefined : opened.get(BigInt(textRevision)),
    );
    if (content.status !== 'available') return content;
    const chars = Array.from(content.text);
    return {
      status: 'available',
      text:
        chars.length <= this.previewChars
          ? content.text
          : chars.slice(0, this.previewChars).join(''),
    };
  }

  private pageSize(requested: number | undefined): number {
    if (requested === undefined) return this.defaultPageSize;
    if (!Number.isInteger(requested) || requested < 1 || requested > this.maxPageSize) {
      throw new PageSizeError(requested, this.maxPageSize);
    }
    return requested;
  }

  private parsePage(request: PageRequest): ParsedPage {
    const limit = this.pageSize(request.limit);
    if (request.after !== undefined && request.before !== undefined) {
      throw new InvalidCursorError('give either after or before, not both', 'after');
    }
    if (request.after !== undefined) {
      return { limit, backwards: false, cursor: parseCursor(request.after, 'after') };
    }
    return {
      limit,
      backwards: true,
      cursor: request.before === undefined ? undefined : parseCursor(request.before, 'before'),
    };
  }
}

function parseCursor(token: string, field = 'before'): GlobalPosition {
  const position = decodePosition(token);
  if (!position) throw new InvalidCursorError(`${field} is not a cursor`, field);
  return position;
}

function messageContent(redacted: boolean, opened: OpenedContent | undefined): MessageContent {
  if (redacted) return { status: 'redacted' };
  if (opened?.status === 'integrity_failed') return { status: 'integrity_failed' };
  const text = textOf(opened);
  return text === undefined ? { status: 'unavailable' } : { status: 'available', text };
}

function titleContent(opened: OpenedContent | undefined): TitleContent {
  if (opened?.status === 'integrity_failed') return { status: 'integrity_failed' };
  const title = titleOf(opened);
  return title === undefined ? { status: 'unavailable' } : { status: 'available', title };
}

async function mapConcurrently<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return out;
}
