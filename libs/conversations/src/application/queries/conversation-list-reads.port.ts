import type { GlobalPosition } from '@ledgerline/kernel';
import type { MemberRole } from '../../domain/conversation.events';

/** A member's row of the conversation list: the conversation, and the member's place in it. */
export interface ConversationListEntry {
  readonly conversationId: string;
  readonly kind: 'direct' | 'group';
  readonly archived: boolean;
  /** Revision of the event holding the title (a group's), undefined for a direct conversation. */
  readonly titleRevision: bigint | undefined;
  readonly createdAt: Date;
  /** The conversation's last message, by reference (never its text). */
  readonly lastMessage:
    | {
        readonly messageId: string;
        readonly authorId: string;
        readonly sentAt: Date;
        readonly redacted: boolean;
        /** Revision of the event holding its current text; undefined once redacted. */
        readonly textRevision: bigint | undefined;
      }
    | undefined;
  /** Position of the conversation's last activity: the list's order and paging cursor. */
  readonly activity: GlobalPosition;
  readonly role: MemberRole;
  readonly unreadCount: number;
  readonly muted: boolean;
  readonly readUpToSequence: number;
  /** The other member of a direct conversation (the first by id); undefined for a group. */
  readonly peerId: string | undefined;
}

export interface MemberConversationsRequest {
  /** Only archived (true) or only active (false) conversations; undefined for both. */
  readonly archived: boolean | undefined;
  /** Only conversations whose last activity is before this position. */
  readonly before: GlobalPosition | undefined;
  readonly limit: number;
}

/**
 * Reads of the conversation-list read model (projections/conversation-list.projection.ts). Ids,
 * flags, counts and revisions only: titles and texts stay in the sealed events.
 *
 * Every adapter guarantees: each method is one statement (none when it is given nothing to look
 * up), every answer is scoped to the tenant it is given, and it follows the projection as it is
 * (a member added a moment ago may not show yet; one who left no longer does).
 */
export interface ConversationListReads {
  /** The member's conversations, most recently active first, at most `limit`. */
  memberConversations(
    tenantId: string,
    memberId: string,
    request: MemberConversationsRequest,
  ): Promise<ConversationListEntry[]>;
  /** Every member of the conversations named but `exceptMemberId`, distinct, sorted by id. */
  membersOfAll(
    tenantId: string,
    conversationIds: readonly string[],
    exceptMemberId: string,
  ): Promise<string[]>;
  /** Ids of the member's conversations after `after` (by id), at most `limit`, sorted. */
  memberConversationIds(
    tenantId: string,
    memberId: string,
    after: string | undefined,
    limit: number,
  ): Promise<string[]>;
  /** Every member of the conversation now. */
  membersOf(tenantId: string, conversationId: string): Promise<ReadonlySet<string>>;
}
