import type { IdGenerator } from '@ledgerline/kernel';
import type { ConversationActor, Member, MemberRole, Participant } from './conversation.events';

/** Commands: imperatives, `{ type, data }`; `data` always names the tenant, conversation and actor. */
export interface ConversationCommandBase {
  readonly tenantId: string;
  readonly conversationId: string;
  readonly actor: ConversationActor;
}

type Command<Type extends string, Data> = {
  readonly type: Type;
  readonly data: ConversationCommandBase & Readonly<Data>;
};

/**
 * `conversationId` must be `directConversationId(tenantId, a, b)` of the two participants; a user
 * or agent actor must be one of them. Creating it again decides nothing.
 */
export type CreateDirectConversation = Command<
  'CreateDirectConversation',
  { participants: readonly [Participant, Participant] }
>;

/**
 * A user or agent creator becomes an owner (whatever `members` says about them); a service
 * creator must name at least one owner in `members`.
 */
export type CreateGroupConversation = Command<
  'CreateGroupConversation',
  { title: string; members: readonly Member[] }
>;

export type AddMember = Command<'AddMember', { member: Participant; role: MemberRole }>;

export type RemoveMember = Command<'RemoveMember', { memberId: string }>;

export type ChangeMemberRole = Command<'ChangeMemberRole', { memberId: string; role: MemberRole }>;

export type LeaveConversation = Command<'LeaveConversation', object>;

export type RenameConversation = Command<'RenameConversation', { title: string }>;

export type ArchiveConversation = Command<'ArchiveConversation', object>;

export type UnarchiveConversation = Command<'UnarchiveConversation', object>;

/**
 * `clientMessageId` is the sender's own id for the message: sending it again decides nothing
 * (the original id is `findMessageIdByClientMessageId`). With `threadRootId`, a reply in that
 * thread. Mentions are `<@memberId>` tokens in `text`.
 */
export type SendMessage = Command<
  'SendMessage',
  {
    clientMessageId: string;
    text: string;
    threadRootId?: string;
    /** libs/files: ids of files the sender uploaded to this conversation (checked before). */
    attachmentIds?: readonly string[];
  }
>;

export type EditMessage = Command<'EditMessage', { messageId: string; text: string }>;

/** `reason` is optional for one's own message and required for anyone else's. */
export type RedactMessage = Command<'RedactMessage', { messageId: string; reason?: string }>;

export type AddReaction = Command<'AddReaction', { messageId: string; emoji: string }>;

export type RemoveReaction = Command<'RemoveReaction', { messageId: string; emoji: string }>;

export type MarkDelivered = Command<'MarkDelivered', { deviceId: string; upToMessageId: string }>;

export type MarkRead = Command<'MarkRead', { upToMessageId: string }>;

export type ConversationCommand =
  | CreateDirectConversation
  | CreateGroupConversation
  | AddMember
  | RemoveMember
  | ChangeMemberRole
  | LeaveConversation
  | RenameConversation
  | ArchiveConversation
  | UnarchiveConversation
  | SendMessage
  | EditMessage
  | RedactMessage
  | AddReaction
  | RemoveReaction
  | MarkDelivered
  | MarkRead;

export type ConversationCommandType = ConversationCommand['type'];

export interface ConversationLimits {
  /** Longest message text, in Unicode code points. */
  readonly maxMessageChars: number;
  readonly maxTitleChars: number;
  readonly maxRedactionReasonChars: number;
  readonly maxMembers: number;
  readonly maxMentions: number;
  /** Distinct emoji one member may put on one message. */
  readonly maxReactionsPerMember: number;
}

export const DEFAULT_CONVERSATION_LIMITS: ConversationLimits = Object.freeze({
  maxMessageChars: 10_000,
  maxTitleChars: 200,
  maxRedactionReasonChars: 1_000,
  maxMembers: 1_000,
  maxMentions: 50,
  maxReactionsPerMember: 20,
});

/** Everything a decision needs from outside, passed in so the decider stays pure. */
export interface ConversationContext {
  /** The clock's now, read once per decision. */
  readonly now: Date;
  /** Ids of new messages. */
  readonly ids: IdGenerator;
  readonly limits: ConversationLimits;
}
