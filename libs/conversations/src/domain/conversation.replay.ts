import {
  comparePositions,
  type AsOf,
  type EventMetadata,
  type GlobalPosition,
} from '@ledgerline/kernel';
import {
  isConversationEventType,
  type ConversationActor,
  type ConversationEvent,
  type MemberRole,
  type ParticipantKind,
} from './conversation.events';

// Point-in-time replay: what one conversation held at a past moment, rebuilt by a pure fold over
// its opened events. The decider's state is not reused: it keeps no text, no times and no history
// of members, and it ignores everything after a creation event it could not open, where a replay
// must still show what the later, readable events say.
//
// The fold sees events as the ledger opened them (clear metadata) and is handed the step that reads
// a conversation event out of one (application/conversation-events.codec.ts): what is sealed and
// how it is encoded stay outside the domain.

/** An event of a conversation's stream as the replay folds it: where and when, and its clear metadata. */
export interface ReplayEvent {
  readonly eventId: string;
  readonly revision: bigint;
  readonly position: GlobalPosition;
  readonly recordedAt: Date;
  readonly type: string;
  readonly metadata: Pick<EventMetadata, 'actor'>;
}

/**
 * The conversation event an event holds, or undefined when its data key was shredded or it is
 * another lib's event kept in the conversation's stream (libs/files).
 */
export type ReadConversationEvent<E extends ReplayEvent> = (
  event: E,
) => ConversationEvent | undefined;

/** True when the event happened at or before the moment. */
export function isAtOrBefore(
  event: Pick<ReplayEvent, 'recordedAt' | 'position'>,
  asOf: AsOf,
): boolean {
  switch (asOf.kind) {
    case 'time':
      return event.recordedAt.getTime() <= asOf.at.getTime();
    case 'position':
      return comparePositions(event.position, asOf.position) <= 0;
    case 'latest':
      return true;
  }
}

/**
 * A text as the replay can show it. `unavailable`: the event holding it was sealed under a data
 * key that has since been shredded, so the text no longer exists anywhere; it is never guessed.
 * `redacted` appears only in a member's view (`asSeenByMember`): auditors see the text.
 */
export type ReplayedContent =
  | { readonly status: 'available'; readonly text: string }
  | { readonly status: 'redacted' }
  | { readonly status: 'unavailable' }
  /** There, but not shown: the auditor did not ask for content (minimum-necessary.ts). */
  | { readonly status: 'withheld' };

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
  readonly byKind?: ConversationActor['kind'];
  /** Why, as the redactor wrote it; absent in a member's view. */
  readonly reason?: string;
}

export interface ReplayedReaction {
  readonly emoji: string;
  readonly memberIds: readonly string[];
}

/** What happened to a message after the moment: counted, never applied. */
export interface LaterChanges {
  readonly edits: number;
  readonly redactedAt: Date | undefined;
}

export interface ReplayedMessage {
  /** Undefined when its `MessageSent` event was shredded and no read model still names it. */
  readonly messageId: string | undefined;
  readonly eventId: string;
  readonly revision: bigint;
  readonly position: GlobalPosition;
  /** Undefined when its `MessageSent` event was shredded. */
  readonly sequence: number | undefined;
  readonly authorId: string;
  readonly authorKind: ConversationActor['kind'];
  readonly sentAt: Date;
  readonly threadRootId: string | undefined;
  /** The text as of the moment: its last version then (or `redacted` in a member's view). */
  readonly content: ReplayedContent;
  /** Every version up to the moment, oldest first; empty in a member's view of a redacted message. */
  readonly versions: readonly ReplayedVersion[];
  readonly redaction: ReplayedRedaction | undefined;
  readonly reactions: readonly ReplayedReaction[];
  /** Some reaction events of this message were shredded: `reactions` may be incomplete. */
  readonly reactionsIncomplete: boolean;
  readonly later: LaterChanges;
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
  readonly kind: ParticipantKind;
  /** The role at the moment, or the last one held for a former member. */
  readonly role: MemberRole;
  /** A member at the moment. */
  readonly isMember: boolean;
  /** Every time they joined and left up to the moment, oldest first. */
  readonly memberships: readonly ReplayedMembership[];
}

/**
 * An event up to the moment that the replay could not use: its data key was shredded
 * (`key_shredded`) and nothing names what it was about, or it names a message the replay has not
 * seen (`message_unknown`, because that message's own event was shredded). While there are gaps
 * the replay may be incomplete (a member, a version, a redaction may be missing), and says so.
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
export interface ConversationAsOf {
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
  /** Events folded (up to the moment) and seen after it. */
  readonly eventsFolded: number;
  readonly eventsAfter: number;
  /** The last event folded. */
  readonly lastRevision: bigint | undefined;
  readonly lastPosition: GlobalPosition | undefined;
}

/**
 * Names the messages of events whose keys were shredded, from what read models projected before
 * the shred (ids only). Without it a shredded message is still shown, unidentified.
 */
export interface ReplayHints {
  /** The message a `MessageSent`, `MessageEdited` or reaction event at this revision was about. */
  readonly messageIdsByRevision: ReadonlyMap<bigint, string>;
}

export const NO_REPLAY_HINTS: ReplayHints = { messageIdsByRevision: new Map() };

interface MutableMessage {
  messageId: string | undefined;
  readonly eventId: string;
  readonly revision: bigint;
  readonly position: GlobalPosition;
  readonly sequence: number | undefined;
  readonly authorId: string;
  readonly authorKind: ConversationActor['kind'];
  readonly sentAt: Date;
  readonly threadRootId: string | undefined;
  readonly versions: ReplayedVersion[];
  redaction: ReplayedRedaction | undefined;
  /** Member id → emoji. */
  readonly reactions: Map<string, Set<string>>;
  reactionsIncomplete: boolean;
  laterEdits: number;
  redactedLater: Date | undefined;
}

interface MutableMember {
  readonly id: string;
  kind: ParticipantKind;
  role: MemberRole;
  readonly memberships: ReplayedMembership[];
}

const UNAVAILABLE: ReplayedContent = Object.freeze({ status: 'unavailable' });

/**
 * Folds one conversation stream's opened events, in stream order, into what it held at `asOf`.
 * Events past the moment change nothing; only the fact that a message was edited or redacted
 * later is noted. Pure: no I/O, no clock. `read` is called for each event up to the moment, and
 * past it only for edits and redactions.
 */
export class ConversationAsOfFold<E extends ReplayEvent = ReplayEvent> {
  private existed = false;
  private kind: 'direct' | 'group' | undefined;
  private createdAt: Date | undefined;
  private createdById: string | undefined;
  private title: ReplayedContent | undefined;
  private archived = false;
  private readonly members = new Map<string, MutableMember>();
  private readonly messages: MutableMessage[] = [];
  private readonly byId = new Map<string, MutableMessage>();
  private readonly gaps: ReplayGap[] = [];
  private folded = 0;
  private after = 0;
  private passed = false;
  private lastRevision: bigint | undefined;
  private lastPosition: GlobalPosition | undefined;

  constructor(
    private readonly tenantId: string,
    private readonly conversationId: string,
    private readonly asOf: AsOf,
    private readonly read: ReadConversationEvent<E>,
    private readonly hints: ReplayHints = NO_REPLAY_HINTS,
  ) {}

  /** True once an event past the moment was seen: what follows only feeds `later`. */
  get pastTheMoment(): boolean {
    return this.passed;
  }

  apply(opened: E): void {
    if (this.passed || !isAtOrBefore(opened, this.asOf)) {
      this.passed = true;
      this.after += 1;
      this.noteLater(opened);
      return;
    }
    this.folded += 1;
    this.lastRevision = opened.revision;
    this.lastPosition = opened.position;
    const event = this.read(opened);
    if (event) this.fold(opened, event);
    else this.foldShredded(opened);
  }

  result(): ConversationAsOf {
    return {
      tenantId: this.tenantId,
      conversationId: this.conversationId,
      asOf: this.asOf,
      existed: this.existed,
      kind: this.kind,
      createdAt: this.createdAt,
      createdById: this.createdById,
      title: this.title,
      archived: this.archived,
      members: [...this.members.values()].map((m) => {
        const last = m.memberships[m.memberships.length - 1];
        return {
          id: m.id,
          kind: m.kind,
          role: m.role,
          isMember: last !== undefined && last.leftAt === undefined,
          memberships: [...m.memberships],
        };
      }),
      messages: this.messages.map(toReplayedMessage),
      gaps: [...this.gaps],
      eventsFolded: this.folded,
      eventsAfter: this.after,
      lastRevision: this.lastRevision,
      lastPosition: this.lastPosition,
    };
  }

  private fold(opened: ReplayEvent, event: ConversationEvent): void {
    const at = opened.recordedAt;
    const actor = event.data.actor;
    switch (event.type) {
      case 'DirectConversationCreated':
      case 'GroupConversationCreated':
        this.created(opened, event.type === 'DirectConversationCreated' ? 'direct' : 'group');
        if (event.type === 'GroupConversationCreated') {
          this.title = { status: 'available', text: event.data.title };
        }
        for (const m of event.data.members) this.join(m.id, m.kind, m.role, at, actor.id);
        return;
      case 'MemberAdded':
        this.join(
          event.data.member.id,
          event.data.member.kind,
          event.data.member.role,
          at,
          actor.id,
        );
        return;
      case 'MemberRemoved':
        this.leave(event.data.memberId, at, 'removed', actor.id);
        return;
      case 'MemberLeft':
        this.leave(event.data.memberId, at, 'left', actor.id);
        return;
      case 'MemberRoleChanged': {
        const member = this.members.get(event.data.memberId);
        if (member) member.role = event.data.to;
        return;
      }
      case 'ConversationRenamed':
        this.title = { status: 'available', text: event.data.title };
        return;
      case 'ConversationArchived':
        this.archived = true;
        return;
      case 'ConversationUnarchived':
        this.archived = false;
        return;
      case 'MessageSent': {
        if (this.byId.has(event.data.messageId)) return;
        const message = this.newMessage(opened, {
          messageId: event.data.messageId,
          sequence: event.data.sequence,
          authorId: actor.id,
          authorKind: actor.kind,
          threadRootId: event.data.threadRootId,
          content: { status: 'available', text: event.data.text },
        });
        this.byId.set(event.data.messageId, message);
        return;
      }
      case 'MessageEdited': {
        const message = this.messageOr(opened, event.data.messageId);
        message?.versions.push({
          editNumber: message.versions.length,
          at,
          editorId: actor.id,
          revision: opened.revision,
          content: { status: 'available', text: event.data.text },
        });
        return;
      }
      case 'MessageRedacted': {
        const message = this.messageOr(opened, event.data.messageId);
        if (message && !message.redaction) {
          message.redaction = {
            at,
            byId: actor.id,
            byKind: actor.kind,
            ...(event.data.reason === undefined ? {} : { reason: event.data.reason }),
          };
        }
        return;
      }
      case 'ReactionAdded':
      case 'ReactionRemoved': {
        const message = this.messageOr(opened, event.data.messageId);
        if (!message) return;
        const mine = message.reactions.get(actor.id) ?? new Set<string>();
        if (event.type === 'ReactionAdded') mine.add(event.data.emoji);
        else mine.delete(event.data.emoji);
        if (mine.size === 0) message.reactions.delete(actor.id);
        else message.reactions.set(actor.id, mine);
        return;
      }
      case 'MessagesDelivered':
      case 'MessagesRead':
        // Receipts say who saw what, not what the conversation held.
        return;
    }
  }

  /**
   * A shredded event: its clear metadata (type, actor id, time) is all there is. A message still
   * shows (unreadable) where it was sent; an edit or reaction shows on the message a read model
   * names for it; anything else is a gap.
   */
  private foldShredded(opened: ReplayEvent): void {
    if (!isConversationEventType(opened.type)) return; // libs/files: a file's event, not a gap
    const actor = opened.metadata.actor;
    const hinted = this.hints.messageIdsByRevision.get(opened.revision);
    switch (opened.type) {
      case 'DirectConversationCreated':
      case 'GroupConversationCreated':
        this.created(opened, opened.type === 'DirectConversationCreated' ? 'direct' : 'group');
        if (opened.type === 'GroupConversationCreated') this.title = UNAVAILABLE;
        // Who the members were is sealed with the event.
        this.gap(opened, 'key_shredded');
        return;
      case 'ConversationRenamed':
        this.title = UNAVAILABLE;
        return;
      case 'MessageSent': {
        const messageId = hinted !== undefined && !this.byId.has(hinted) ? hinted : undefined;
        const message = this.newMessage(opened, {
          messageId,
          sequence: undefined,
          authorId: actor?.id ?? 'unknown',
          authorKind: actorKind(actor?.kind),
          threadRootId: undefined,
          content: UNAVAILABLE,
        });
        if (messageId !== undefined) this.byId.set(messageId, message);
        return;
      }
      case 'MessageEdited': {
        const message = hinted === undefined ? undefined : this.byId.get(hinted);
        if (!message) return this.gap(opened, 'key_shredded');
        message.versions.push({
          editNumber: message.versions.length,
          at: opened.recordedAt,
          editorId: actor?.id ?? 'unknown',
          revision: opened.revision,
          content: UNAVAILABLE,
        });
        return;
      }
      case 'ReactionAdded':
      case 'ReactionRemoved': {
        const message = hinted === undefined ? undefined : this.byId.get(hinted);
        if (!message) return this.gap(opened, 'key_shredded');
        message.reactionsIncomplete = true;
        return;
      }
      case 'MessagesDelivered':
      case 'MessagesRead':
        return;
      default:
        this.gap(opened, 'key_shredded');
    }
  }

  /** Past the moment: only that a known message was edited or redacted later. */
  private noteLater(opened: E): void {
    if (opened.type !== 'MessageEdited' && opened.type !== 'MessageRedacted') return;
    const event = this.read(opened);
    const messageId =
      event?.type === 'MessageEdited' || event?.type === 'MessageRedacted'
        ? event.data.messageId
        : this.hints.messageIdsByRevision.get(opened.revision);
    const message = messageId === undefined ? undefined : this.byId.get(messageId);
    if (!message) return;
    if (opened.type === 'MessageEdited') message.laterEdits += 1;
    else message.redactedLater ??= opened.recordedAt;
  }

  private created(opened: ReplayEvent, kind: 'direct' | 'group'): void {
    if (this.existed) return;
    this.existed = true;
    this.kind = kind;
    this.createdAt = opened.recordedAt;
    this.createdById = opened.metadata.actor?.id;
  }

  private join(
    id: string,
    kind: ParticipantKind,
    role: MemberRole,
    at: Date,
    addedById: string,
  ): void {
    const member = this.members.get(id);
    if (!member) {
      this.members.set(id, { id, kind, role, memberships: [{ joinedAt: at, addedById }] });
      return;
    }
    const last = member.memberships[member.memberships.length - 1];
    if (last && last.leftAt === undefined) return; // already a member
    member.kind = kind;
    member.role = role;
    member.memberships.push({ joinedAt: at, addedById });
  }

  private leave(id: string, at: Date, how: 'left' | 'removed', byId: string): void {
    const member = this.members.get(id);
    const last = member?.memberships[member.memberships.length - 1];
    if (!member || !last || last.leftAt !== undefined) return;
    member.memberships[member.memberships.length - 1] = {
      ...last,
      leftAt: at,
      leftHow: how,
      ...(how === 'removed' ? { removedById: byId } : {}),
    };
  }

  private newMessage(
    opened: ReplayEvent,
    fields: Pick<
      MutableMessage,
      'messageId' | 'sequence' | 'authorId' | 'authorKind' | 'threadRootId'
    > & { content: ReplayedContent },
  ): MutableMessage {
    const message: MutableMessage = {
      messageId: fields.messageId,
      eventId: opened.eventId,
      revision: opened.revision,
      position: opened.position,
      sequence: fields.sequence,
      authorId: fields.authorId,
      authorKind: fields.authorKind,
      sentAt: opened.recordedAt,
      threadRootId: fields.threadRootId,
      versions: [
        {
          editNumber: 0,
          at: opened.recordedAt,
          editorId: fields.authorId,
          revision: opened.revision,
          content: fields.content,
        },
      ],
      redaction: undefined,
      reactions: new Map(),
      reactionsIncomplete: false,
      laterEdits: 0,
      redactedLater: undefined,
    };
    this.messages.push(message);
    return message;
  }

  /** The message a readable event names, or a gap when its own event was shredded unnamed. */
  private messageOr(opened: ReplayEvent, messageId: string): MutableMessage | undefined {
    const message = this.byId.get(messageId);
    if (!message) this.gap(opened, 'message_unknown');
    return message;
  }

  private gap(opened: ReplayEvent, reason: ReplayGap['reason']): void {
    this.gaps.push({
      eventId: opened.eventId,
      revision: opened.revision,
      type: opened.type,
      recordedAt: opened.recordedAt,
      actorId: opened.metadata.actor?.id,
      reason,
    });
  }
}

function actorKind(kind: string | undefined): ConversationActor['kind'] {
  return kind === 'agent' || kind === 'service' ? kind : 'user';
}

function toReplayedMessage(m: MutableMessage): ReplayedMessage {
  const reactions = new Map<string, string[]>();
  for (const [memberId, emoji] of m.reactions) {
    for (const e of emoji) reactions.set(e, [...(reactions.get(e) ?? []), memberId]);
  }
  return {
    messageId: m.messageId,
    eventId: m.eventId,
    revision: m.revision,
    position: m.position,
    sequence: m.sequence,
    authorId: m.authorId,
    authorKind: m.authorKind,
    sentAt: m.sentAt,
    threadRootId: m.threadRootId,
    content: m.versions[m.versions.length - 1]!.content,
    versions: [...m.versions],
    redaction: m.redaction,
    reactions: [...reactions]
      .map(([emoji, memberIds]) => ({ emoji, memberIds: memberIds.sort() }))
      .sort((a, b) => (a.emoji < b.emoji ? -1 : a.emoji > b.emoji ? 1 : 0)),
    reactionsIncomplete: m.reactionsIncomplete,
    later: { edits: m.laterEdits, redactedAt: m.redactedLater },
  };
}

/** Folds a whole stream (in order) at once. */
export function foldConversationAsOf<E extends ReplayEvent>(
  tenantId: string,
  conversationId: string,
  events: Iterable<E>,
  asOf: AsOf,
  read: ReadConversationEvent<E>,
  hints: ReplayHints = NO_REPLAY_HINTS,
): ConversationAsOf {
  const fold = new ConversationAsOfFold(tenantId, conversationId, asOf, read, hints);
  for (const event of events) fold.apply(event);
  return fold.result();
}

/** True when the member was in the conversation at the moment. */
export function wasMemberAt(conversation: ConversationAsOf, memberId: string): boolean {
  return conversation.members.some((m) => m.id === memberId && m.isMember);
}

/**
 * True when the replay cannot tell whether the member was in the conversation: a membership event
 * up to the moment was shredded, and the replay does not already show them as a member.
 */
export function membershipUndetermined(conversation: ConversationAsOf, memberId: string): boolean {
  if (wasMemberAt(conversation, memberId)) return false;
  return conversation.gaps.some(
    (g) =>
      g.reason === 'key_shredded' &&
      (g.type === 'DirectConversationCreated' ||
        g.type === 'GroupConversationCreated' ||
        g.type === 'MemberAdded' ||
        g.type === 'MemberRemoved' ||
        g.type === 'MemberLeft'),
  );
}

/**
 * What a member saw at the moment: the current members only; a message redacted by then shows as
 * redacted, with no text, versions, reactions, reason or redactor; edits after the moment are not
 * applied (they never are). Shredded content stays `unavailable`.
 */
export function asSeenByMember(conversation: ConversationAsOf): ConversationAsOf {
  return {
    ...conversation,
    members: conversation.members.filter((m) => m.isMember),
    messages: conversation.messages.map((m) =>
      m.redaction === undefined
        ? m
        : {
            ...m,
            content: { status: 'redacted' },
            versions: [],
            reactions: [],
            reactionsIncomplete: false,
            redaction: { at: m.redaction.at },
          },
    ),
  };
}

/**
 * Everyone whose data the replay discloses: every member up to the moment and every author,
 * for the accounting of disclosures.
 */
export function participantsOf(conversation: ConversationAsOf): string[] {
  const ids = new Set<string>(conversation.members.map((m) => m.id));
  for (const m of conversation.messages) if (m.authorKind !== 'service') ids.add(m.authorId);
  return [...ids].sort();
}
