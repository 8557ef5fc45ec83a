import type { GlobalPosition } from '@ledgerline/kernel';
import type { ConversationActor } from '../../domain/conversation.events';

/** A message as the message-history read model has it: metadata, and its text by reference. */
export interface MessageRecord {
  readonly messageId: string;
  /** Revision of the event that sent it. */
  readonly revision: bigint;
  /** Its `$all` position. */
  readonly position: GlobalPosition;
  readonly sequence: number;
  readonly authorId: string;
  readonly authorKind: ConversationActor['kind'];
  readonly threadRootId: string | undefined;
  readonly sentAt: Date;
  /** Revision of the event holding its current text (the send or the latest edit). */
  readonly textRevision: bigint | undefined;
  readonly editCount: number;
  readonly editedAt: Date | undefined;
  readonly redacted: boolean;
  readonly redactedAt: Date | undefined;
  readonly replyCount: number;
  readonly lastReplyAt: Date | undefined;
}

export interface MessagePageRequest {
  /** Only the replies of this thread root; undefined for every message. */
  readonly threadRootId: string | undefined;
  /** Only messages after (or, `backwards`, before) this position. */
  readonly from: GlobalPosition | undefined;
  /** Newest first from `from` (or from the end), instead of oldest first. */
  readonly backwards: boolean;
  readonly limit: number;
}

/**
 * Reads of the message-history read model (projections/message-history.projection.ts).
 *
 * Every adapter guarantees: each method is one statement, scoped to the tenant and conversation it
 * is given; a page is in the order it was read (`backwards`: descending position).
 */
export interface MessageHistoryReads {
  page(
    tenantId: string,
    conversationId: string,
    request: MessagePageRequest,
  ): Promise<MessageRecord[]>;
  message(
    tenantId: string,
    conversationId: string,
    messageId: string,
  ): Promise<MessageRecord | undefined>;
}
