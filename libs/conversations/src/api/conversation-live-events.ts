import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { EVENT_STORE, type EventStore } from '@ledgerline/event-store';
import { LEDGER, type Ledger } from '@ledgerline/ledger';
import type { ConversationMemberships } from '../application/queries/conversation-memberships.port';
import { CONVERSATION_MEMBERSHIPS } from '../conversations.tokens';
import { ConversationProjections } from '../projections/conversation-projections';
import { ConversationFanOut, type MembershipSource } from './conversation-fan-out';

/** How long the fan-out waits for the read models to reach an event before asking about a member. */
const MEMBERSHIP_WAIT_MS = 2_000;

/**
 * Membership as the read models know it, once they include the event in question: ids only, so a
 * routing decision neither reads a conversation's content nor leaves an access record of its own
 * (the read that started the subscription or the sync was checked and recorded). A member who left
 * or was removed is not a member.
 */
export function membershipFromReadModels(
  memberships: Pick<ConversationMemberships, 'membersOf'>,
  projections: Pick<ConversationProjections, 'waitFor'>,
  waitMs = MEMBERSHIP_WAIT_MS,
): MembershipSource {
  return {
    async membersOf(tenantId, conversationId, at) {
      try {
        await projections.waitFor(at, { timeoutMs: waitMs });
      } catch {
        return undefined; // the read models are behind: not known yet
      }
      return memberships.membersOf(tenantId, conversationId);
    },
  };
}

/**
 * The process's one ConversationFanOut (one ledger subscription over the conversation streams),
 * shared by the GraphQL subscriptions and the realtime connections: started when the app has
 * bootstrapped, stopped before the event store and the database close.
 */
@Injectable()
export class ConversationLiveEvents implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('ConversationEvents');
  readonly fanOut: ConversationFanOut;

  constructor(
    @Inject(LEDGER) ledger: Ledger,
    @Inject(EVENT_STORE) store: EventStore,
    @Inject(CONVERSATION_MEMBERSHIPS) memberships: ConversationMemberships,
    @Inject(ConversationProjections) projections: ConversationProjections,
  ) {
    this.fanOut = new ConversationFanOut(
      ledger,
      store,
      membershipFromReadModels(memberships, projections),
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
}
