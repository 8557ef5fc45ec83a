import type { AsOf } from '@ledgerline/kernel';
import type { OpenedEvent } from '@ledgerline/ledger';
import {
  ConversationAsOfFold,
  NO_REPLAY_HINTS,
  foldConversationAsOf,
  type ConversationAsOf,
  type ReplayHints,
} from '../../domain/conversation.replay';
import { openConversationEvent } from '../conversation-events.codec';

// Point-in-time replay over the ledger's opened events: the pure fold is the domain's
// (domain/conversation.replay.ts); reading each event's payload is the codec's.

/** The replay fold over opened ledger events, each read by the conversations codec. */
export class ConversationReplayFold extends ConversationAsOfFold<OpenedEvent> {
  constructor(
    tenantId: string,
    conversationId: string,
    asOf: AsOf,
    hints: ReplayHints = NO_REPLAY_HINTS,
  ) {
    super(tenantId, conversationId, asOf, openConversationEvent, hints);
  }
}

/** Folds a whole stream of opened events (in order) at once. */
export function replayConversation(
  tenantId: string,
  conversationId: string,
  events: Iterable<OpenedEvent>,
  asOf: AsOf,
  hints: ReplayHints = NO_REPLAY_HINTS,
): ConversationAsOf {
  return foldConversationAsOf(tenantId, conversationId, events, asOf, openConversationEvent, hints);
}
