import { Inject, Logger, UseFilters } from '@nestjs/common';
import { Args, Resolver, Subscription } from '@nestjs/graphql';
import { CurrentPrincipal, createSubscriptionIterator } from '@ledgerline/graphql';
import type { Principal } from '@ledgerline/identity';
import { ConversationQueries } from '../application/queries/conversation-queries.handler';
import { ConversationErrorFilter } from './conversation-api.errors';
import { ConversationEventPayload, ConversationEventsArgs } from './conversation-event.dto';
import type { LiveConversationEvent } from './conversation-fan-out';
import { ConversationLiveEvents } from './conversation-live-events';
import { toConversationEventPayload } from './conversation-views';

/** How long a new subscription waits for the fan-out to be live (only ever at start-up). */
const LIVE_WAIT_MS = 10_000;

/**
 * `conversationEvents`: new and changed messages, reactions, receipts and membership changes in
 * the caller's conversations, live over graphql-ws, from the process's one fan-out
 * (ConversationLiveEvents).
 */
@Resolver(() => ConversationEventPayload)
@UseFilters(ConversationErrorFilter)
export class ConversationEventsResolver {
  private readonly logger = new Logger('ConversationEvents');

  constructor(
    @Inject(ConversationQueries) private readonly queries: ConversationQueries,
    @Inject(ConversationLiveEvents) private readonly live: ConversationLiveEvents,
  ) {}

  @Subscription(() => ConversationEventPayload, {
    description:
      'Live events of the caller’s conversations (or of one), in order, each once, from the moment of subscribing. Never another tenant’s, never a conversation the caller is not a member of.',
    resolve: (live: LiveConversationEvent) => toConversationEventPayload(live),
  })
  async conversationEvents(
    @CurrentPrincipal() principal: Principal,
    @Args() args: ConversationEventsArgs,
  ): Promise<AsyncIterableIterator<LiveConversationEvent>> {
    const conversationId = args.conversationId ?? undefined;
    // The same checks as a read (permission, then membership for one conversation), recorded.
    await this.queries.startLiveFeed(principal, conversationId);
    await this.live.fanOut.whenLive(LIVE_WAIT_MS);
    return createSubscriptionIterator<LiveConversationEvent>(
      (push) => this.live.fanOut.register(principal, { conversationId }, push),
      {
        onOverflow: () =>
          this.logger.warn({ msg: 'subscriber fell behind; ended', subscriberId: principal.id }),
      },
    );
  }
}
