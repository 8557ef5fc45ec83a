import { createHash } from 'node:crypto';
import type { ConversationEvent, Member } from './conversation.events';

/**
 * What decisions need, and nothing more: ids, roles, flags, counters and receipts. No text, title,
 * reason or edit history lives here (those are in the sealed events and in projections), so the
 * state stays small enough to cache and snapshot and holds nothing typed by a user but emoji.
 *
 * The state is immutable: `evolveConversation` returns a new state and shares everything it did not
 * change; `foldConversation` copies each map at most once however many events it applies.
 */
export type ConversationState = NoConversation | Conversation;

export interface NoConversation {
  readonly exists: false;
}

export interface Conversation {
  readonly exists: true;
  readonly tenantId: string;
  readonly conversationId: string;
  readonly kind: 'direct' | 'group';
  readonly archived: boolean;
  /** Member id → member. */
  readonly members: ReadonlyMap<string, Member>;
  /** Message id → message, in sequence order. */
  readonly messages: ReadonlyMap<string, MessageState>;
  /** `clientMessageKey(senderId, clientMessageId)` → message id. */
  readonly messageIdsByClientId: ReadonlyMap<string, string>;
  /** Sequence of the last message sent (0 before the first). */
  readonly lastSequence: number;
  /** Member id → sequence of the last message read. */
  readonly readUpTo: ReadonlyMap<string, number>;
  /** `deviceKey(memberId, deviceId)` → delivery mark. */
  readonly deliveredUpTo: ReadonlyMap<string, DeliveryMark>;
}

export interface MessageState {
  readonly sequence: number;
  readonly authorId: string;
  readonly clientMessageId: string;
  /** Set for a reply: the top-level message its thread hangs from. */
  readonly threadRootId?: string;
  /**
   * What was asked when the message was sent ({@link sendFingerprint}), to tell a retry (same
   * content) from a reuse of its client message id (other content). Absent only in snapshots
   * written before it existed: such a message accepts any retry, as it always did.
   */
  readonly sendFingerprint?: string;
  readonly redacted: boolean;
  readonly editCount: number;
  /** Member id → the emoji they put on the message (cleared on redaction). */
  readonly reactions: ReadonlyMap<string, ReadonlySet<string>>;
}

export interface DeliveryMark {
  readonly memberId: string;
  readonly deviceId: string;
  readonly sequence: number;
}

export const initialConversationState = (): ConversationState => NO_CONVERSATION;

const NO_CONVERSATION: NoConversation = Object.freeze({ exists: false });

export function clientMessageKey(senderId: string, clientMessageId: string): string {
  return JSON.stringify([senderId, clientMessageId]);
}

/**
 * A digest of what a send asked for: its text and thread root, bound to the conversation, the
 * sender and the client message id (so equal texts elsewhere never share a digest). SHA-256 over
 * a domain-separated canonical encoding; the state keeps it instead of the text, which it never
 * holds. It is recomputed from the sealed MessageSent event whenever the state is rebuilt.
 */
export function sendFingerprint(request: {
  readonly conversationId: string;
  readonly senderId: string;
  readonly clientMessageId: string;
  readonly text: string;
  readonly threadRootId?: string;
}): string {
  return createHash('sha256')
    .update('ledgerline.send-fingerprint.v1\0')
    .update(
      JSON.stringify([
        request.conversationId,
        request.senderId,
        request.clientMessageId,
        request.text,
        request.threadRootId ?? null,
      ]),
    )
    .digest('base64url');
}

export function deviceKey(memberId: string, deviceId: string): string {
  return JSON.stringify([memberId, deviceId]);
}

/**
 * The message a sender already sent under `clientMessageId`: a retried send decides no events and
 * the handler answers with this id.
 */
export function findMessageIdByClientMessageId(
  state: ConversationState,
  senderId: string,
  clientMessageId: string,
): string | undefined {
  if (!state.exists) return undefined;
  return state.messageIdsByClientId.get(clientMessageKey(senderId, clientMessageId));
}

/** The member with this id, if they are in the conversation. */
export function findMember(state: ConversationState, memberId: string): Member | undefined {
  return state.exists ? state.members.get(memberId) : undefined;
}

/** Applies one event. Pure: `state` is not modified. */
export function evolveConversation(
  state: ConversationState,
  event: ConversationEvent,
): ConversationState {
  return apply(state, event, new Ownership());
}

/** Applies events in order: the same result as repeated `evolveConversation`, in linear time. */
export function foldConversation(
  events: Iterable<ConversationEvent>,
  from: ConversationState = initialConversationState(),
): ConversationState {
  const ownership = new Ownership();
  let state = from;
  for (const event of events) state = apply(state, event, ownership);
  return state;
}

/**
 * The same as `foldConversation`, on a state its caller owns and hands over (a command handler's
 * cache, the only holder of it): the state's maps are updated in place instead of copied, so a send
 * to a conversation of 100,000 messages costs what a send to a new one costs. The state passed in
 * must not be used afterwards.
 */
export function foldOwnedConversation(
  events: Iterable<ConversationEvent>,
  owned: ConversationState,
): ConversationState {
  const ownership = new Ownership();
  if (owned.exists) {
    ownership.adopt(owned.members as Map<string, Member>);
    ownership.adopt(owned.messages as Map<string, MessageState>);
    ownership.adopt(owned.messageIdsByClientId as Map<string, string>);
    ownership.adopt(owned.readUpTo as Map<string, number>);
    ownership.adopt(owned.deliveredUpTo as Map<string, DeliveryMark>);
  }
  let state = owned;
  for (const event of events) state = apply(state, event, ownership);
  return state;
}

/**
 * Copy-on-write for the state's maps: the first write within one fold copies a map, later writes
 * reuse the copy. Maps of the state passed in are never written.
 */
class Ownership {
  private readonly owned = new WeakSet<object>();

  writable<K, V>(map: ReadonlyMap<K, V>): Map<K, V> {
    if (this.owned.has(map)) return map as Map<K, V>;
    return this.adopt(new Map(map));
  }

  /** A map built within this fold, so writable without a copy. */
  adopt<K, V>(map: Map<K, V>): Map<K, V> {
    this.owned.add(map);
    return map;
  }
}

function apply(
  state: ConversationState,
  event: ConversationEvent,
  own: Ownership,
): ConversationState {
  if (event.type === 'DirectConversationCreated' || event.type === 'GroupConversationCreated') {
    if (state.exists) return state;
    return {
      exists: true,
      tenantId: event.data.tenantId,
      conversationId: event.data.conversationId,
      kind: event.type === 'DirectConversationCreated' ? 'direct' : 'group',
      archived: false,
      members: own.adopt(new Map(event.data.members.map((m) => [m.id, { ...m }]))),
      messages: own.adopt(new Map()),
      messageIdsByClientId: own.adopt(new Map()),
      lastSequence: 0,
      readUpTo: own.adopt(new Map()),
      deliveredUpTo: own.adopt(new Map()),
    };
  }
  // Anything before a creation cannot happen in a well-formed stream; ignoring it keeps evolve total.
  if (!state.exists) return state;
  switch (event.type) {
    case 'MemberAdded': {
      const members = own.writable(state.members);
      members.set(event.data.member.id, { ...event.data.member });
      return { ...state, members };
    }
    case 'MemberRemoved':
    case 'MemberLeft': {
      const members = own.writable(state.members);
      members.delete(event.data.memberId);
      return { ...state, members };
    }
    case 'MemberRoleChanged': {
      const member = state.members.get(event.data.memberId);
      if (!member) return state;
      const members = own.writable(state.members);
      members.set(member.id, { ...member, role: event.data.to });
      return { ...state, members };
    }
    case 'ConversationRenamed':
      return state;
    case 'ConversationArchived':
      return { ...state, archived: true };
    case 'ConversationUnarchived':
      return { ...state, archived: false };
    case 'MessageSent': {
      const { messageId, clientMessageId, sequence, threadRootId } = event.data;
      const messages = own.writable(state.messages);
      messages.set(messageId, {
        sequence,
        authorId: event.data.actor.id,
        clientMessageId,
        ...(threadRootId === undefined ? {} : { threadRootId }),
        sendFingerprint: sendFingerprint({
          conversationId: event.data.conversationId,
          senderId: event.data.actor.id,
          clientMessageId,
          text: event.data.text,
          ...(threadRootId === undefined ? {} : { threadRootId }),
        }),
        redacted: false,
        editCount: 0,
        reactions: new Map(),
      });
      const messageIdsByClientId = own.writable(state.messageIdsByClientId);
      messageIdsByClientId.set(clientMessageKey(event.data.actor.id, clientMessageId), messageId);
      return {
        ...state,
        messages,
        messageIdsByClientId,
        lastSequence: Math.max(state.lastSequence, sequence),
      };
    }
    case 'MessageEdited':
      return updateMessage(state, event.data.messageId, own, (m) => ({
        ...m,
        editCount: m.editCount + 1,
      }));
    case 'MessageRedacted':
      return updateMessage(state, event.data.messageId, own, (m) => ({
        ...m,
        redacted: true,
        reactions: new Map(),
      }));
    case 'ReactionAdded':
    case 'ReactionRemoved': {
      const memberId = event.data.actor.id;
      const { emoji } = event.data;
      return updateMessage(state, event.data.messageId, own, (m) => {
        const mine = new Set(m.reactions.get(memberId));
        if (event.type === 'ReactionAdded') mine.add(emoji);
        else mine.delete(emoji);
        const reactions = new Map(m.reactions);
        if (mine.size === 0) reactions.delete(memberId);
        else reactions.set(memberId, mine);
        return { ...m, reactions };
      });
    }
    case 'MessagesDelivered': {
      const memberId = event.data.actor.id;
      const { deviceId, upToSequence } = event.data;
      const key = deviceKey(memberId, deviceId);
      const before = state.deliveredUpTo.get(key)?.sequence ?? 0;
      if (upToSequence <= before) return state;
      const deliveredUpTo = own.writable(state.deliveredUpTo);
      deliveredUpTo.set(key, { memberId, deviceId, sequence: upToSequence });
      return { ...state, deliveredUpTo };
    }
    case 'MessagesRead': {
      const memberId = event.data.actor.id;
      if (event.data.upToSequence <= (state.readUpTo.get(memberId) ?? 0)) return state;
      const readUpTo = own.writable(state.readUpTo);
      readUpTo.set(memberId, event.data.upToSequence);
      return { ...state, readUpTo };
    }
  }
}

function updateMessage(
  state: Conversation,
  messageId: string,
  own: Ownership,
  update: (message: MessageState) => MessageState,
): Conversation {
  const message = state.messages.get(messageId);
  if (!message) return state;
  const messages = own.writable(state.messages);
  messages.set(messageId, update(message));
  return { ...state, messages };
}
