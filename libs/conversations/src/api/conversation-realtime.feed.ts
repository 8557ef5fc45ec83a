import { Inject, Injectable } from '@nestjs/common';
import { EVENT_STORE, type EventStore } from '@ledgerline/event-store';
import {
  ACCESS_POLICY,
  ACCESS_RECORDER,
  accessActorOf,
  type AccessPolicy,
  type AccessRecorder,
  type Principal,
} from '@ledgerline/identity';
import type { GlobalPosition } from '@ledgerline/kernel';
import { pushFrame, type FeedItem, type FeedPage, type RealtimeFeed } from '@ledgerline/realtime';
import type { ConversationMemberships } from '../application/queries/conversation-memberships.port';
import { CONVERSATION_MEMBERSHIPS } from '../conversations.tokens';
import { ConversationQueries } from '../application/queries/conversation-queries.handler';
import { ConversationProjections } from '../projections/conversation-projections';
import {
  CONVERSATION_API_MAX_PAGE_SIZE,
  READ_YOUR_WRITES_TIMEOUT_MS,
} from './conversation-api.config';
import { ConversationNotFoundError, toEdgeError } from './conversation-api.errors';
import type { LiveConversationEvent } from './conversation-fan-out';
import { ConversationLiveEvents } from './conversation-live-events';
import { realtimeEventFields, type RealtimeEventSource } from './conversation-realtime.views';

/** How long a sync waits for the fan-out to be live (only ever right after start-up). */
const LIVE_WAIT_MS = 10_000;
/** Conversation ids listed per read while a sync discovers the caller's conversations. */
const LIST_PAGE = 100;

/**
 * Conversations as the realtime protocol's feed: live events from the process's one fan-out
 * (every node runs its own over the event store's subscription, so no broker), catch-up through
 * ConversationQueries.conversationEvents (the reads' access checks and audit), and the caller's
 * conversations through ConversationQueries.memberConversationIds.
 *
 * A live event's frame is built and serialised once, however many connections it goes to.
 */
@Injectable()
export class ConversationRealtimeFeed implements RealtimeFeed {
  private readonly frames = new WeakMap<LiveConversationEvent, FeedItem>();

  constructor(
    @Inject(ConversationLiveEvents) private readonly liveEvents: ConversationLiveEvents,
    @Inject(ConversationQueries) private readonly queries: ConversationQueries,
    @Inject(ConversationProjections) private readonly projections: ConversationProjections,
    @Inject(EVENT_STORE) private readonly store: Pick<EventStore, 'headPosition'>,
    @Inject(ACCESS_POLICY) private readonly access: Pick<AccessPolicy, 'check'>,
    @Inject(CONVERSATION_MEMBERSHIPS) private readonly memberships: ConversationMemberships,
    @Inject(ACCESS_RECORDER) private readonly accessLog: AccessRecorder,
  ) {}

  async whenLive(principal: Principal): Promise<void> {
    try {
      await this.queries.startLiveFeed(principal);
    } catch (error) {
      throw toEdgeError(error, principal);
    }
    await this.liveEvents.fanOut.whenLive(LIVE_WAIT_MS);
  }

  live(principal: Principal, push: (item: FeedItem) => void): () => void {
    return this.liveEvents.fanOut.register(principal, {}, (event) => push(this.liveItem(event)));
  }

  async streams(principal: Principal): Promise<readonly string[]> {
    // Membership comes from the read models: first let them reach everything committed so far.
    await this.projections.waitFor(await this.store.headPosition(), {
      timeoutMs: READ_YOUR_WRITES_TIMEOUT_MS,
    });
    const ids: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.queries.memberConversationIds(principal, {
        limit: LIST_PAGE,
        ...(after === undefined ? {} : { after }),
      });
      ids.push(...page.ids);
      if (!page.more || page.ids.length === 0) return ids;
      after = page.ids[page.ids.length - 1];
    }
  }

  async read(
    principal: Principal,
    conversationId: string,
    afterRevision: bigint,
    limit: number,
    atLeast?: GlobalPosition,
  ): Promise<FeedPage> {
    try {
      if (atLeast !== undefined) {
        await this.projections.waitFor(atLeast, { timeoutMs: READ_YOUR_WRITES_TIMEOUT_MS });
      }
      const page = await this.queries.conversationEvents(principal, conversationId, {
        afterRevision,
        // Never above what the queries allow a page to be.
        limit: Math.min(limit, CONVERSATION_API_MAX_PAGE_SIZE),
      });
      return {
        items: page.events.map((e) => item({ ...e, tenantId: principal.tenantId }, true)),
        more: page.more,
      };
    } catch (error) {
      throw toEdgeError(error, principal);
    }
  }

  async canFollow(principal: Principal, conversationId: string): Promise<void> {
    await this.access.check(principal, 'conversation.read', {
      tenantId: principal.tenantId,
      type: 'conversation',
      id: conversationId,
    });
    if (principal.kind === 'service') return;
    const isMember = () =>
      this.memberships.isMember(principal.tenantId, conversationId, principal.id);
    if (await isMember()) return;
    // "Not a member" is asked again once the read models hold everything committed: a conversation
    // created (or joined) just before is the client's own write, never "not found".
    await this.projections.waitFor(await this.store.headPosition(), {
      timeoutMs: READ_YOUR_WRITES_TIMEOUT_MS,
    });
    if (!(await isMember())) throw new ConversationNotFoundError(conversationId);
  }

  async readable(
    principal: Principal,
    conversationIds: readonly string[],
  ): Promise<ReadonlySet<string>> {
    try {
      await this.access.check(
        principal,
        'conversation.read',
        { tenantId: principal.tenantId, type: 'conversation' },
        'sync',
      );
    } catch (error) {
      throw toEdgeError(error, principal);
    }
    // Membership from the read models, once they hold everything committed so far: a conversation
    // created (or joined) just before the sync is the client's own write, never "not found".
    await this.projections.waitFor(await this.store.headPosition(), {
      timeoutMs: READ_YOUR_WRITES_TIMEOUT_MS,
    });
    const readable =
      principal.kind === 'service'
        ? await this.memberships.existingAmong(principal.tenantId, conversationIds)
        : await this.memberships.conversationsAmong(
            principal.tenantId,
            principal.id,
            conversationIds,
          );
    const refused = [...new Set(conversationIds)].filter((id) => !readable.has(id));
    if (refused.length > 0) {
      // One record for the request, naming every id refused; it does not say which exist.
      await this.accessLog.record({
        tenantId: principal.tenantId,
        actor: accessActorOf(principal),
        action: 'access.denied',
        outcome: 'denied',
        reason: 'not_a_member',
        permission: 'conversation.read',
        operation: 'sync',
        targetIds: refused,
        subjectUserIds: [],
        ...(principal.origin ? { origin: principal.origin } : {}),
      });
    }
    return readable;
  }

  private liveItem(event: LiveConversationEvent): FeedItem {
    let built = this.frames.get(event);
    if (!built) {
      built = { ...item(event, false), recordedAt: event.recordedAt };
      this.frames.set(event, built);
    }
    return built;
  }
}

function item(source: RealtimeEventSource, catchUp: boolean): FeedItem {
  const frame = pushFrame('event', realtimeEventFields(source, catchUp));
  return {
    streamId: source.conversationId,
    revision: source.revision,
    position: source.position,
    frame,
    bytes: Buffer.byteLength(frame, 'utf8'),
  };
}
