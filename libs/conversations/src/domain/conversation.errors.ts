import { ConflictError, ValidationError } from '@ledgerline/kernel';

/**
 * Why the conversation decider refused a command. Stable codes: clients, the API layer (which maps
 * them to transport statuses) and tests match on them, so a code is never renamed or reused.
 */
export const ConversationRefusalReason = {
  /** The stream holds no conversation (nothing was created under this id). */
  ConversationNotFound: 'conversation_not_found',
  /** A group conversation already exists under this id. */
  ConversationExists: 'conversation_exists',
  /** The actor is not a member (a service actor is never a member: it cannot take part). */
  NotAMember: 'not_a_member',
  /** The actor's role (or the kind of conversation) does not permit the command. */
  NotAllowed: 'not_allowed',
  /** The conversation is archived: nothing may add content or access until it is unarchived. */
  Archived: 'archived',
  /** Direct conversations have exactly their two members, forever. */
  DirectConversationFixedMembers: 'direct_conversation_fixed_members',
  AlreadyMember: 'already_member',
  /** The member the command targets is not in the conversation. */
  MemberNotFound: 'member_not_found',
  MemberLimitReached: 'member_limit_reached',
  /** The change would leave the group without an owner (leave, removal or demotion). */
  LastOwnerCannotLeave: 'last_owner_cannot_leave',
  MessageNotFound: 'message_not_found',
  /** Only the author edits a message; moderators and owners may redact it, never edit it. */
  NotAuthor: 'not_author',
  /** The message was redacted: it can no longer be edited or reacted to. */
  Redacted: 'redacted',
  /** A thread's root must be an existing top-level message. */
  InvalidThread: 'invalid_thread',
  /** Only members can be mentioned. */
  MentionNotMember: 'mention_not_member',
  ReactionLimitReached: 'reaction_limit_reached',
  /**
   * A send reused a `clientMessageId` the sender already used for a different message (other
   * text or thread): nothing is written; a true retry sends the same content again.
   */
  IdempotencyKeyReused: 'idempotency_key_reused',
} as const;

export type ConversationRefusalReason =
  (typeof ConversationRefusalReason)[keyof typeof ConversationRefusalReason];

/** What a refusal is about, by id: never text a user typed. */
export interface RefusalSubject {
  readonly messageId?: string;
  readonly userId?: string;
}

/**
 * The decider refused a command a member (or service) must not do. The message holds the
 * conversation id, the reason and ids only: never text, titles, emoji or anything else typed.
 */
export class ConversationRefused extends ConflictError {
  override readonly code = 'conversation_refused';
  readonly messageId: string | undefined;
  readonly userId: string | undefined;
  constructor(
    readonly reason: ConversationRefusalReason,
    readonly conversationId: string,
    subject: RefusalSubject = {},
  ) {
    const about = [
      subject.messageId === undefined ? '' : ` message ${subject.messageId}`,
      subject.userId === undefined ? '' : ` user ${subject.userId}`,
    ].join('');
    super(`conversation ${conversationId}: refused (${reason})${about}`);
    this.messageId = subject.messageId;
    this.userId = subject.userId;
  }
}

/** What is wrong with an input field; the field's value itself is never echoed. */
export type ConversationInputProblem =
  | 'empty'
  | 'required'
  | 'too_long'
  | 'too_many'
  | 'control_character'
  | 'whitespace'
  | 'malformed_unicode'
  | 'invalid_format'
  | 'duplicate'
  | 'mismatch'
  | 'no_owner'
  | 'unsupported_version';

/** Input that can never succeed as sent (text, title, emoji, ids, snapshot). */
export class InvalidConversationInput extends ValidationError {
  override readonly code = 'invalid_conversation_input';
  constructor(
    field: string,
    readonly problem: ConversationInputProblem,
    readonly limit?: number,
  ) {
    super(`${field}: ${problem}${limit === undefined ? '' : ` (limit ${limit})`}`, field);
  }
}
