import type { AccessActor, RequestOrigin } from '@ledgerline/identity';
import type { AsOf, GlobalPosition } from '@ledgerline/kernel';

// What the auditor's replay reads, in the auditor's own terms. libs/audit does not know where
// conversations are kept: the app binds CONVERSATION_REPLAY_SOURCE to the conversations' replay
// (libs/conversations' PointInTimeReplay, whose results fit these types structurally).

/**
 * Who asks for a replay, as the access record names them: a principal (through GraphQL, after
 * AuditorReplay's permission checks) or an operator at the CLI (`actor.kind: 'operator'`,
 * `origin.transport: 'cli'`).
 */
export interface ReplayRequester {
  readonly tenantId: string;
  readonly actor: AccessActor;
  readonly origin?: RequestOrigin;
}

/**
 * A text as a replay shows it. `unavailable`: its data key was shredded, so the text no longer
 * exists anywhere (never reconstructed). `redacted` appears only in a member's view (auditors see
 * the text). `withheld`: there, but not shown, the auditor did not ask for content.
 */
export type ReplayedContent =
  | { readonly status: 'available'; readonly text: string }
  | { readonly status: 'redacted' }
  | { readonly status: 'unavailable' }
  | { readonly status: 'withheld' };

/** A member of a conversation: an end user or an AI agent. */
export type ReplayedParticipantKind = 'user' | 'agent';
/** A member's role inside one conversation. */
export type ReplayedMemberRole = 'owner' | 'moderator' | 'member';
/** Who wrote or redacted: a member, or a backend service. */
export type ReplayedActorKind = 'user' | 'agent' | 'service';

/** One version of a message: 0 as sent, then each edit. Times are the events' recorded times. */
export interface ReplayedVersion {
  readonly editNumber: number;
  readonly at: Date;
  readonly editorId: string;
  readonly revision: bigint;
  readonly content: ReplayedContent;
}

export interface ReplayedRedaction {
  readonly at: Date;
  /** Who redacted; absent in a member's view. */
  readonly byId?: string;
  readonly byKind?: ReplayedActorKind;
  /** Why, as the redactor wrote it; absent in a member's view and without content. */
  readonly reason?: string;
}

export interface ReplayedReaction {
  readonly emoji: string;
  readonly memberIds: readonly string[];
}

export interface ReplayedMessage {
  /** Undefined when its sending event was shredded and nothing else names it. */
  readonly messageId: string | undefined;
  readonly eventId: string;
  readonly revision: bigint;
  readonly position: GlobalPosition;
  /** Undefined when its sending event was shredded. */
  readonly sequence: number | undefined;
  readonly authorId: string;
  readonly authorKind: ReplayedActorKind;
  readonly sentAt: Date;
  readonly threadRootId: string | undefined;
  /** The text as of the moment: its last version then. */
  readonly content: ReplayedContent;
  /** Every version up to the moment, oldest first. */
  readonly versions: readonly ReplayedVersion[];
  readonly redaction: ReplayedRedaction | undefined;
  readonly reactions: readonly ReplayedReaction[];
  /** Some reaction events were shredded: `reactions` may be incomplete. */
  readonly reactionsIncomplete: boolean;
  /** What happened after the moment: counted, never applied. */
  readonly later: { readonly edits: number; readonly redactedAt: Date | undefined };
}

export interface ReplayedMembership {
  readonly joinedAt: Date;
  readonly addedById: string;
  readonly leftAt?: Date;
  /** `left` on their own, or `removed` by someone else. */
  readonly leftHow?: 'left' | 'removed';
  readonly removedById?: string;
}

export interface ReplayedMember {
  readonly id: string;
  readonly kind: ReplayedParticipantKind;
  /** The role at the moment, or the last one held for a former member. */
  readonly role: ReplayedMemberRole;
  /** A member at the moment. */
  readonly isMember: boolean;
  /** Every time they joined and left up to the moment, oldest first. */
  readonly memberships: readonly ReplayedMembership[];
}

/**
 * An event up to the moment the replay could not use: its key was shredded (`key_shredded`) and
 * nothing names what it was about, or it names a message whose own event was shredded
 * (`message_unknown`). While there are gaps the replay may be incomplete, and says so.
 */
export interface ReplayGap {
  readonly eventId: string;
  readonly revision: bigint;
  readonly type: string;
  readonly recordedAt: Date;
  readonly actorId: string | undefined;
  readonly reason: 'key_shredded' | 'message_unknown';
}

/** A conversation as it stood at a moment. */
export interface ReplayedConversation {
  readonly tenantId: string;
  readonly conversationId: string;
  readonly asOf: AsOf;
  /** Created at or before the moment. */
  readonly existed: boolean;
  readonly kind: 'direct' | 'group' | undefined;
  readonly createdAt: Date | undefined;
  readonly createdById: string | undefined;
  /** A group's title at the moment; undefined for a direct conversation. */
  readonly title: ReplayedContent | undefined;
  readonly archived: boolean;
  /** Everyone who was a member at some point up to the moment, in order of first joining. */
  readonly members: readonly ReplayedMember[];
  /** Every message sent up to the moment, in stream order. */
  readonly messages: readonly ReplayedMessage[];
  readonly gaps: readonly ReplayGap[];
  /** The last event folded. */
  readonly lastPosition: GlobalPosition | undefined;
}

/** What one user could see at a moment: each conversation they were a member of then. */
export interface ReplayedUserView {
  readonly tenantId: string;
  readonly userId: string;
  readonly asOf: AsOf;
  /** As the user saw them (redactions hidden), in the order the user first joined them. */
  readonly conversations: readonly ReplayedConversation[];
  /** Conversations where a shredded membership event hides whether the user was a member then. */
  readonly undetermined: readonly string[];
}

/** The app's binding of the conversations' replay (ConversationReplaySource). */
export const CONVERSATION_REPLAY_SOURCE = Symbol('ConversationReplaySource');

/**
 * Rebuilds what a conversation held, or what a user could see, at a past moment, from the sealed
 * events themselves, never from read models. Every adapter guarantees:
 *
 * - **No permission check.** Principals come through AuditorReplay, which checks first; the
 *   operator path (the CLI) calls the source directly, since whoever runs it holds the database
 *   and the keys.
 * - **Recorded, fail closed.** Each answer is one access record (`audit.replayed`, or
 *   `audit.conversation_history.read` naming `audit.read`, or `audit.content` and the reason),
 *   awaited before the answer is returned; when it cannot be recorded the caller gets the
 *   recorder's error and no content.
 * - **Not found.** A conversation id with no stream in the requester's tenant is a NotFoundError
 *   (code `conversation_not_found`) and records nothing: nothing was disclosed. A malformed user
 *   id is a ValidationError.
 * - **Shredded stays shredded.** Content whose data key was shredded is `unavailable`, never
 *   reconstructed; events that cannot be placed are listed in `gaps`.
 * - **Minimum necessary.** `conversationHistory` without `content` answers metadata only: texts
 *   `withheld`, no redaction reasons, no reactions.
 */
export interface ConversationReplaySource {
  /** What the conversation held at the moment, redacted and edited text included. */
  replayConversation(
    requester: ReplayRequester,
    conversationId: string,
    asOf: AsOf,
  ): Promise<ReplayedConversation>;
  /** What the user could see at the moment. */
  replayUserView(requester: ReplayRequester, userId: string, asOf: AsOf): Promise<ReplayedUserView>;
  /** The auditor's reading of a conversation's history: content only with a stated reason. */
  conversationHistory(
    requester: ReplayRequester,
    conversationId: string,
    asOf: AsOf,
    content?: { readonly reason: string },
  ): Promise<ReplayedConversation>;
}
