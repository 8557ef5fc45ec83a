/**
 * Events of a conversation stream (`conversation:<tenantId>:<conversationId>`): past-tense facts,
 * each `{ type, v, data }` with `v` its schema version. `data` carries everything projections
 * need (tenant, conversation, message and actor ids, time) and is sealed as a whole by the ledger,
 * so text, titles, emoji and reasons (PHI-capable) may live here and only here.
 */

/** Who issued a command. A user and an agent take part; a service administers, never takes part. */
export interface ConversationActor {
  readonly id: string;
  readonly kind: 'user' | 'service' | 'agent';
}

/** Who can be a member: people and agents. */
export type ParticipantKind = 'user' | 'agent';

export interface Participant {
  readonly id: string;
  readonly kind: ParticipantKind;
}

export type MemberRole = 'owner' | 'moderator' | 'member';

export const MEMBER_ROLES: readonly MemberRole[] = ['owner', 'moderator', 'member'];

export interface Member extends Participant {
  readonly role: MemberRole;
}

/** Fields every event's data carries. */
export interface ConversationEventBase {
  readonly tenantId: string;
  readonly conversationId: string;
  readonly actor: ConversationActor;
  /** ISO 8601 time of the decision (the context's `now`). */
  readonly at: string;
}

type Versioned<Type extends string, V extends number, Data> = {
  readonly type: Type;
  readonly v: V;
  readonly data: ConversationEventBase & Readonly<Data>;
};

export type DirectConversationCreated = Versioned<
  'DirectConversationCreated',
  1,
  { members: readonly Member[] }
>;

export type GroupConversationCreated = Versioned<
  'GroupConversationCreated',
  1,
  { title: string; members: readonly Member[] }
>;

export type MemberAdded = Versioned<'MemberAdded', 1, { member: Member }>;

/** Removed by someone else (or by a service); `role` is the role the member had. */
export type MemberRemoved = Versioned<'MemberRemoved', 1, { memberId: string; role: MemberRole }>;

/** Left on their own; `memberId` is the actor. */
export type MemberLeft = Versioned<'MemberLeft', 1, { memberId: string }>;

export type MemberRoleChanged = Versioned<
  'MemberRoleChanged',
  1,
  { memberId: string; from: MemberRole; to: MemberRole }
>;

export type ConversationRenamed = Versioned<'ConversationRenamed', 1, { title: string }>;

export type ConversationArchived = Versioned<'ConversationArchived', 1, object>;

export type ConversationUnarchived = Versioned<'ConversationUnarchived', 1, object>;

/**
 * `sequence` numbers messages 1, 2, 3… within the conversation (receipts point at it);
 * `threadRootId` is set for a reply; `mentions` are member ids taken from `<@id>` tokens in text.
 */
export type MessageSent = Versioned<
  'MessageSent',
  1,
  {
    messageId: string;
    clientMessageId: string;
    sequence: number;
    text: string;
    threadRootId?: string;
    mentions: readonly string[];
    /** libs/files: the message's files, in order. */
    attachmentIds?: readonly string[];
  }
>;

/** One edit: the new text in full. `editNumber` counts edits of the message from 1. */
export type MessageEdited = Versioned<
  'MessageEdited',
  1,
  { messageId: string; text: string; mentions: readonly string[]; editNumber: number }
>;

/** Content gone from every member-facing read. The actor is who redacted; `reason` is why. */
export type MessageRedacted = Versioned<
  'MessageRedacted',
  1,
  { messageId: string; authorId: string; reason?: string }
>;

export type ReactionAdded = Versioned<'ReactionAdded', 1, { messageId: string; emoji: string }>;

export type ReactionRemoved = Versioned<'ReactionRemoved', 1, { messageId: string; emoji: string }>;

/** The actor's device received every message up to and including `upToMessageId`. */
export type MessagesDelivered = Versioned<
  'MessagesDelivered',
  1,
  { deviceId: string; upToMessageId: string; upToSequence: number }
>;

/** The actor read every message up to and including `upToMessageId`. */
export type MessagesRead = Versioned<
  'MessagesRead',
  1,
  { upToMessageId: string; upToSequence: number }
>;

export type ConversationEvent =
  | DirectConversationCreated
  | GroupConversationCreated
  | MemberAdded
  | MemberRemoved
  | MemberLeft
  | MemberRoleChanged
  | ConversationRenamed
  | ConversationArchived
  | ConversationUnarchived
  | MessageSent
  | MessageEdited
  | MessageRedacted
  | ReactionAdded
  | ReactionRemoved
  | MessagesDelivered
  | MessagesRead;

export type ConversationEventType = ConversationEvent['type'];

/** The current schema version of every event type (for serialisation and upcasting). */
export const CONVERSATION_EVENT_VERSIONS = {
  DirectConversationCreated: 1,
  GroupConversationCreated: 1,
  MemberAdded: 1,
  MemberRemoved: 1,
  MemberLeft: 1,
  MemberRoleChanged: 1,
  ConversationRenamed: 1,
  ConversationArchived: 1,
  ConversationUnarchived: 1,
  MessageSent: 1,
  MessageEdited: 1,
  MessageRedacted: 1,
  ReactionAdded: 1,
  ReactionRemoved: 1,
  MessagesDelivered: 1,
  MessagesRead: 1,
} as const satisfies { [T in ConversationEventType]: Extract<ConversationEvent, { type: T }>['v'] };

/** True for the type of a conversation event (a conversation's stream also holds libs/files' events). */
export function isConversationEventType(type: string): type is ConversationEventType {
  return Object.prototype.hasOwnProperty.call(CONVERSATION_EVENT_VERSIONS, type);
}
