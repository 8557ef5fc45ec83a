import type { AccessPolicy, AccessRecorder, Principal } from '@ledgerline/identity';
import type { Ledger } from '@ledgerline/ledger';
import { conversationStreamId } from '../../domain/stream-ids';
import { MessageNotFoundError, NotAConversationMemberError } from '../conversations.errors';
import type { EmergencyAccess } from '../emergency/emergency-access.handler';
import { readsUnderEmergencyGrant } from '../emergency/emergency-reads';
import type { ConversationReadModels } from './conversation-read-models.port';
import { ConversationListing } from './conversation-listing';
import type {
  ConversationEventsPage,
  ConversationEventsRequest,
  ConversationReceipts,
  ConversationSummary,
  EditHistory,
  ListConversationsRequest,
  MessageReactions,
  MessageReceipts,
  MessageView,
  Page,
  PageRequest,
  SentMessagePlacement,
  Thread,
} from './conversation-queries.views';
import type { MessageRecord } from './message-history-reads.port';
import { PageRequests } from './page-requests';
import { MessageReads } from './message-reads';
import { ReadRecords, type AuthorizedRead } from './read-records';
import { SealedContents } from './sealed-contents';

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

/**
 * Reads of conversations for one principal, from the read models, each behind the same two checks:
 * the tenant-level `conversation.read` permission (recorded when denied), then membership of the
 * conversation. Users and agents read only conversations they are members of (a non-member gets
 * NotAConversationMemberError whether or not the conversation exists); a service, which is never a
 * member, reads the conversations of its own tenant. Every read is scoped to the principal's tenant.
 *
 * Membership comes from the conversation-list read model, so it follows commands with the same
 * small delay as everything else read here. The read models are ports (one per projection,
 * conversation-read-models.port.ts); what users typed is opened from the sealed events per read.
 */
export class ConversationQueries {
  private readonly pages: PageRequests;
  private readonly contents: SealedContents;
  private readonly emergency: ConversationQueriesOptions['emergency'];
  private readonly caughtUp: (() => Promise<void>) | undefined;
  private readonly records: ReadRecords;
  private readonly listing: ConversationListing;
  private readonly messageReads: MessageReads;

  constructor(
    private readonly access: Pick<AccessPolicy, 'check'>,
    accessLog: AccessRecorder,
    private readonly readModels: ConversationReadModels,
    ledger: Pick<Ledger, 'readStream' | 'readStreamEach'>,
    options: ConversationQueriesOptions = {},
  ) {
    const maxPageSize = options.maxPageSize ?? 100;
    this.pages = new PageRequests(
      maxPageSize,
      Math.min(options.defaultPageSize ?? 50, maxPageSize),
    );
    this.caughtUp = options.caughtUp;
    this.contents = new SealedContents(ledger);
    this.emergency = options.emergency;
    this.records = new ReadRecords(accessLog);
    this.listing = new ConversationListing(
      readModels.conversationList,
      this.contents,
      this.records,
      {
        pages: this.pages,
        previewChars: options.previewChars ?? 140,
        openConcurrency: options.openConcurrency ?? 8,
      },
    );
    this.messageReads = new MessageReads(readModels, this.contents, this.records, this.pages);
  }

  /** The principal's own conversations, most recently active first. */
  async listConversations(
    principal: Principal,
    request: ListConversationsRequest = {},
  ): Promise<Page<ConversationSummary>> {
    await this.checkTenantRead(principal);
    return this.listing.read(principal, request);
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
      return this.records.liveFeed(principal, reading);
    }
    await this.checkTenantRead(principal);
    await this.records.liveFeed(principal);
  }

  /** Messages of a conversation (thread replies included, with their root id), by position. */
  async messages(
    principal: Principal,
    conversationId: string,
    request: PageRequest = {},
  ): Promise<Page<MessageView>> {
    const reading = await this.authorize(principal, conversationId, 'messages');
    return this.messageReads.page(principal, reading, 'phi.history.read', request);
  }

  /** A thread: its root message and a page of its replies, by position. */
  async thread(
    principal: Principal,
    conversationId: string,
    threadRootId: string,
    request: PageRequest = {},
  ): Promise<Thread> {
    const reading = await this.authorize(principal, conversationId, 'thread');
    const root = await this.readModels.messageHistory.message(
      principal.tenantId,
      conversationId,
      threadRootId,
    );
    if (!root || root.threadRootId !== undefined) {
      throw new MessageNotFoundError(conversationId, threadRootId);
    }
    const replies = await this.messageReads.page(
      principal,
      reading,
      'phi.thread.read',
      request,
      root,
    );
    return { root: replies.root, replies: replies.page };
  }

  /** Every version of a message, oldest first (none once it is redacted). */
  async editHistory(
    principal: Principal,
    conversationId: string,
    messageId: string,
  ): Promise<EditHistory> {
    const reading = await this.authorize(principal, conversationId, 'editHistory');
    const message = await this.message(principal, conversationId, messageId);
    return this.messageReads.editHistory(principal, reading, message);
  }

  /** Who reacted to a message with what; the emoji are opened from the sealed events. */
  async reactions(
    principal: Principal,
    conversationId: string,
    messageId: string,
  ): Promise<MessageReactions> {
    const reading = await this.authorize(principal, conversationId, 'reactions');
    await this.message(principal, conversationId, messageId);
    return this.messageReads.reactions(principal, reading, messageId);
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
    const message = await this.message(principal, conversationId, messageId);
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
    const limit = this.pages.size(request.limit);
    const from = request.afterRevision < 0n ? 0n : request.afterRevision + 1n;
    const read = await this.contents
      .range(reading.streamId, from, limit + 1)
      .catch(async (error: unknown) => {
        await this.records.failed(
          this.records.of(principal, 'phi.realtime.sync', reading, []),
          error,
        );
        throw error;
      });
    const events = read.slice(0, limit).map((e) => ({ ...e, conversationId }));
    const about = events.flatMap((e) => {
      const data = e.event?.data;
      return data !== undefined && 'messageId' in data
        ? [{ messageId: data.messageId, authorId: data.actor.id }]
        : [];
    });
    if (events.length > 0) {
      await this.records.read(principal, 'phi.realtime.sync', reading, about);
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
    const message = await this.message(principal, conversationId, messageId);
    const [event] = await this.contents.range(streamId, message.revision, 1);
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
    await this.checkTenantRead(principal);
    if (principal.kind === 'service') return { ids: [], more: false };
    const limit = this.pages.size(request.limit);
    const ids = await this.readModels.conversationList.memberConversationIds(
      principal.tenantId,
      principal.id,
      request.after,
      limit + 1,
    );
    return { ids: ids.slice(0, limit), more: ids.length > limit };
  }

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
      [
        ...(await this.readModels.conversationList.membersOf(principal.tenantId, conversationId)),
      ].sort();
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
      await this.records.notAMember(principal, conversationId, operation);
      throw new NotAConversationMemberError(conversationId);
    }
    return { conversationId, streamId, memberIds };
  }

  /** The tenant-level `conversation.read` permission (recorded when denied). */
  private checkTenantRead(principal: Principal): Promise<void> {
    return this.access.check(principal, 'conversation.read', {
      tenantId: principal.tenantId,
      type: 'conversation',
    });
  }

  /** The message, or MessageNotFoundError. */
  private async message(
    principal: Principal,
    conversationId: string,
    messageId: string,
  ): Promise<MessageRecord> {
    const { tenantId } = principal;
    const message = await this.readModels.messageHistory.message(
      tenantId,
      conversationId,
      messageId,
    );
    if (!message) throw new MessageNotFoundError(conversationId, messageId);
    return message;
  }

  private async marks(
    tenantId: string,
    conversationId: string,
    atLeast: number,
  ): Promise<ConversationReceipts> {
    const { receipts } = this.readModels;
    const delivered = await receipts.deliveryMarks(tenantId, conversationId, atLeast);
    const read = await receipts.readMarks(tenantId, conversationId, atLeast);
    return { delivered, read };
  }
}
