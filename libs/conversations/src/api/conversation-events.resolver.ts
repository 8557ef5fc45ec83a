import {
  Inject,
  Logger,
  UseFilters,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { Args, Resolver, Subscription } from '@nestjs/graphql';
import { EVENT_STORE, type EventStore } from '@ledgerline/event-store';
import { CurrentPrincipal, createSubscriptionIterator } from '@ledgerline/graphql';
import type { Principal } from '@ledgerline/identity';
import { LEDGER, type Ledger } from '@ledgerline/ledger';
import { NotAConversationMemberError } from '../application/conversations.errors';
import { ConversationQueries } from '../application/queries/conversation-queries.handler';
import { ConversationProjections } from '../projections/conversation-projections';
import { ConversationErrorFilter } from './conversation-api.errors';
import { ConversationEventPayload, ConversationEventsArgs } from './conversation-event.dto';
import {
  ConversationFanOut,
  type LiveConversationEvent,
  type MembershipSource,
} from './conversation-fan-out';
import { toConversationEventPayload } from './conversation-views';

/** How long the fan-out waits for the read models to reach an event before asking about a member. */
const MEMBERSHIP_WAIT_MS = 2_000;
/** How long a new subscription waits for the fan-out to be live (only ever at start-up). */
const LIVE_WAIT_MS = 10_000;

/**
 * Membership as the queries see it, once the read models include the event in question. A member
 * who may not read the conversation (or is not in it) is not a member here either.
 */
export function membershipFromReadModels(
  queries: Pick<ConversationQueries, 'messages'>,
  projections: Pick<ConversationProjections, 'waitFor'>,
  waitMs = MEMBERSHIP_WAIT_MS,
): MembershipSource {
  return {
    async isMember(principal, conversationId, at) {
      try {
        await projections.waitFor(at, { timeoutMs: waitMs });
      } catch {
        return undefined; // the read models are behind: not known yet
      }
      try {
        await queries.messages(principal, conversationId, { limit: 1 });
        return true;
      } catch (error) {
        if (error instanceof NotAConversationMemberError) return false;
        throw error;
      }
    },
  };
}

/**
 * `conversationEvents`: new and changed messages, reactions, receipts and membership changes in
 * the caller's conversations, live over graphql-ws. This resolver owns the process's one
 * ConversationFanOut: started when the app has bootstrapped, stopped before the event store and
 * the database close.
 */
@Resolver(() => ConversationEventPayload)
@UseFilters(ConversationErrorFilter)
export class ConversationEventsResolver
  implements OnApplicationBootstrap, BeforeApplicationShutdown
{
  private readonly logger = new Logger('ConversationEvents');
  private readonly fanOut: ConversationFanOut;

  constructor(
    @Inject(LEDGER) ledger: Ledger,
    @Inject(EVENT_STORE) store: EventStore,
    @Inject(ConversationQueries) private readonly queries: ConversationQueries,
    @Inject(ConversationProjections) projections: ConversationProjections,
  ) {
    this.fanOut = new ConversationFanOut(
      ledger,
      store,
      membershipFromReadModels(queries, projections),
      {
        log: {
          warn: (fields) => this.logger.warn(fields),
          error: (fields) => this.logger.error(fields),
        },
      },
    );
  }

  onApplicationBootstrap(): void {
    this.fanOut.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.fanOut.stop();
  }

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
    // The same checks as a read: permission, then (for one conversation) membership.
    if (conversationId === undefined) await this.queries.listConversations(principal, { limit: 1 });
    else await this.queries.messages(principal, conversationId, { limit: 1 });
    await this.fanOut.whenLive(LIVE_WAIT_MS);
    return createSubscriptionIterator<LiveConversationEvent>(
      (push) => this.fanOut.register(principal, { conversationId }, push),
      {
        onOverflow: () =>
          this.logger.warn({ msg: 'subscriber fell behind; ended', subscriberId: principal.id }),
      },
    );
  }
}
