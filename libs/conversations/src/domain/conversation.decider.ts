import type {
  AddMember,
  AddReaction,
  ChangeMemberRole,
  ConversationCommand,
  ConversationCommandBase,
  ConversationContext,
  CreateDirectConversation,
  CreateGroupConversation,
  EditMessage,
  LeaveConversation,
  MarkDelivered,
  MarkRead,
  RedactMessage,
  RemoveMember,
  RemoveReaction,
  RenameConversation,
  SendMessage,
} from './conversation.commands';
import {
  ConversationRefusalReason as Reason,
  ConversationRefused,
  InvalidConversationInput,
  type RefusalSubject,
} from './conversation.errors';
import type {
  ConversationActor,
  ConversationEvent,
  ConversationEventBase,
  Member,
  MemberRole,
} from './conversation.events';
import {
  deviceKey,
  evolveConversation,
  findMessageIdByClientMessageId,
  sendFingerprint,
  initialConversationState,
  type Conversation,
  type ConversationState,
  type MessageState,
} from './conversation.state';
import {
  assertClientId,
  assertConversationId,
  assertEmoji,
  assertMemberId,
  assertTenantId,
  assertText,
  extractMentions,
} from './conversation.validation';
import { directConversationId } from './stream-ids';

/**
 * Who may do what, in one place:
 *
 * | command                         | member | moderator | owner | service |
 * |---------------------------------|--------|-----------|-------|---------|
 * | add a member (role member)      |        | yes       | yes   | yes     |
 * | add a moderator or owner        |        |           | yes   | yes     |
 * | remove a member                 |        | yes       | yes   | yes     |
 * | remove a moderator or owner     |        |           | yes   | yes     |
 * | change a role                   |        |           | yes   | yes     |
 * | rename                          |        | yes       | yes   | yes     |
 * | archive, unarchive              |        |           | yes   | yes     |
 * | redact someone else's message   |        | yes       | yes   | yes     |
 * | send, reply, edit own, redact own, react, receipts, leave | yes | yes | yes | never |
 *
 * A service administers and never takes part: it is not a member, so it cannot send, react,
 * mark receipts or leave. In a direct conversation both members have the role `member`, its
 * membership is fixed and it has no title; either member may archive or unarchive it.
 *
 * An archived conversation refuses whatever adds content or access (send, edit, react, add a
 * member, change a role, rename) and still allows whatever reduces exposure or records reading
 * (redact, remove a member, leave, receipts) and unarchiving.
 */
export function decideConversation(
  command: ConversationCommand,
  state: ConversationState,
  context: ConversationContext,
): ConversationEvent[] {
  switch (command.type) {
    case 'CreateDirectConversation':
      return createDirect(command.data, state, context);
    case 'CreateGroupConversation':
      return createGroup(command.data, state, context);
    case 'AddMember':
      return addMember(command.data, existing(state, command.data), context);
    case 'RemoveMember':
      return removeMember(command.data, existing(state, command.data), context);
    case 'ChangeMemberRole':
      return changeMemberRole(command.data, existing(state, command.data), context);
    case 'LeaveConversation':
      return leave(command.data, existing(state, command.data), context);
    case 'RenameConversation':
      return rename(command.data, existing(state, command.data), context);
    case 'ArchiveConversation':
      return setArchived(command.data, existing(state, command.data), context, true);
    case 'UnarchiveConversation':
      return setArchived(command.data, existing(state, command.data), context, false);
    case 'SendMessage':
      return send(command.data, existing(state, command.data), context);
    case 'EditMessage':
      return edit(command.data, existing(state, command.data), context);
    case 'RedactMessage':
      return redact(command.data, existing(state, command.data), context);
    case 'AddReaction':
      return addReaction(command.data, existing(state, command.data), context);
    case 'RemoveReaction':
      return removeReaction(command.data, existing(state, command.data), context);
    case 'MarkDelivered':
      return markDelivered(command.data, existing(state, command.data), context);
    case 'MarkRead':
      return markRead(command.data, existing(state, command.data), context);
  }
}

/** The conversation decider: pure functions, no I/O; `now`, ids and limits come in `context`. */
export const conversationDecider = {
  decide: decideConversation,
  evolve: evolveConversation,
  initialState: initialConversationState,
} as const;

// ---- conversations and members ------------------------------------------------------------------

function createDirect(
  d: CreateDirectConversation['data'],
  state: ConversationState,
  ctx: ConversationContext,
): ConversationEvent[] {
  assertTenantId('tenantId', d.tenantId);
  const [a, b] = d.participants;
  assertMemberId('participants[0].id', a.id);
  assertMemberId('participants[1].id', b.id);
  if (a.id === b.id) throw new InvalidConversationInput('participants', 'duplicate');
  if (d.conversationId !== directConversationId(d.tenantId, a.id, b.id)) {
    throw new InvalidConversationInput('conversationId', 'mismatch');
  }
  if (d.actor.kind !== 'service') {
    const self = [a, b].find((p) => p.id === d.actor.id);
    if (!self) throw refused(Reason.NotAllowed, d, { userId: d.actor.id });
    if (self.kind !== d.actor.kind) throw new InvalidConversationInput('participants', 'mismatch');
  }
  if (state.exists) {
    sameConversation(state, d);
    // Deterministic id: the same pair always lands here, and gets the conversation it already has.
    if (state.kind === 'direct') return [];
    throw refused(Reason.ConversationExists, d);
  }
  const members = [a, b].map((p): Member => ({ id: p.id, kind: p.kind, role: 'member' }));
  return [{ type: 'DirectConversationCreated', v: 1, data: { ...base(d, ctx), members } }];
}

function createGroup(
  d: CreateGroupConversation['data'],
  state: ConversationState,
  ctx: ConversationContext,
): ConversationEvent[] {
  assertTenantId('tenantId', d.tenantId);
  assertConversationId('conversationId', d.conversationId);
  if (state.exists) throw refused(Reason.ConversationExists, d);
  assertText('title', d.title, { maxChars: ctx.limits.maxTitleChars, lineBreaks: false });
  const members = new Map<string, Member>();
  if (d.actor.kind !== 'service') {
    assertMemberId('actor.id', d.actor.id);
    members.set(d.actor.id, { id: d.actor.id, kind: d.actor.kind, role: 'owner' });
  }
  d.members.forEach((m, i) => {
    assertMemberId(`members[${i}].id`, m.id);
    if (m.id === d.actor.id && d.actor.kind !== 'service') return;
    if (members.has(m.id)) throw new InvalidConversationInput(`members[${i}].id`, 'duplicate');
    members.set(m.id, { id: m.id, kind: m.kind, role: m.role });
  });
  if (members.size > ctx.limits.maxMembers) {
    throw new InvalidConversationInput('members', 'too_many', ctx.limits.maxMembers);
  }
  if (ownerCount(members) === 0) throw new InvalidConversationInput('members', 'no_owner');
  return [
    {
      type: 'GroupConversationCreated',
      v: 1,
      data: { ...base(d, ctx), title: d.title, members: [...members.values()] },
    },
  ];
}

function addMember(
  d: AddMember['data'],
  c: Conversation,
  ctx: ConversationContext,
): ConversationEvent[] {
  const who = authority(c, d.actor);
  if (c.kind === 'direct') throw refused(Reason.DirectConversationFixedMembers, c);
  if (c.archived) throw refused(Reason.Archived, c);
  if (!hasRole(who, d.role === 'member' ? 'moderator' : 'owner')) {
    throw refused(Reason.NotAllowed, c, { userId: d.actor.id });
  }
  assertMemberId('member.id', d.member.id);
  if (c.members.has(d.member.id)) throw refused(Reason.AlreadyMember, c, { userId: d.member.id });
  if (c.members.size >= ctx.limits.maxMembers) throw refused(Reason.MemberLimitReached, c);
  const member: Member = { id: d.member.id, kind: d.member.kind, role: d.role };
  return [{ type: 'MemberAdded', v: 1, data: { ...base(d, ctx), member } }];
}

function removeMember(
  d: RemoveMember['data'],
  c: Conversation,
  ctx: ConversationContext,
): ConversationEvent[] {
  const who = authority(c, d.actor);
  if (c.kind === 'direct') throw refused(Reason.DirectConversationFixedMembers, c);
  if (!hasRole(who, 'moderator')) throw refused(Reason.NotAllowed, c, { userId: d.actor.id });
  const target = c.members.get(d.memberId);
  if (!target) throw refused(Reason.MemberNotFound, c, { userId: d.memberId });
  if (target.role !== 'member' && !hasRole(who, 'owner')) {
    throw refused(Reason.NotAllowed, c, { userId: d.actor.id });
  }
  if (target.role === 'owner' && ownerCount(c.members) === 1) {
    throw refused(Reason.LastOwnerCannotLeave, c, { userId: target.id });
  }
  return [
    {
      type: 'MemberRemoved',
      v: 1,
      data: { ...base(d, ctx), memberId: target.id, role: target.role },
    },
  ];
}

function changeMemberRole(
  d: ChangeMemberRole['data'],
  c: Conversation,
  ctx: ConversationContext,
): ConversationEvent[] {
  const who = authority(c, d.actor);
  if (c.kind === 'direct') throw refused(Reason.DirectConversationFixedMembers, c);
  if (c.archived) throw refused(Reason.Archived, c);
  if (!hasRole(who, 'owner')) throw refused(Reason.NotAllowed, c, { userId: d.actor.id });
  const target = c.members.get(d.memberId);
  if (!target) throw refused(Reason.MemberNotFound, c, { userId: d.memberId });
  if (target.role === d.role) return [];
  if (target.role === 'owner' && ownerCount(c.members) === 1) {
    throw refused(Reason.LastOwnerCannotLeave, c, { userId: target.id });
  }
  return [
    {
      type: 'MemberRoleChanged',
      v: 1,
      data: { ...base(d, ctx), memberId: target.id, from: target.role, to: d.role },
    },
  ];
}

function leave(
  d: LeaveConversation['data'],
  c: Conversation,
  ctx: ConversationContext,
): ConversationEvent[] {
  const me = participant(c, d.actor);
  if (c.kind === 'direct') throw refused(Reason.DirectConversationFixedMembers, c);
  if (me.role === 'owner' && ownerCount(c.members) === 1) {
    throw refused(Reason.LastOwnerCannotLeave, c, { userId: me.id });
  }
  return [{ type: 'MemberLeft', v: 1, data: { ...base(d, ctx), memberId: me.id } }];
}

function rename(
  d: RenameConversation['data'],
  c: Conversation,
  ctx: ConversationContext,
): ConversationEvent[] {
  const who = authority(c, d.actor);
  // A direct conversation has no title: clients show the other member.
  if (c.kind === 'direct') throw refused(Reason.NotAllowed, c, { userId: d.actor.id });
  if (c.archived) throw refused(Reason.Archived, c);
  if (!hasRole(who, 'moderator')) throw refused(Reason.NotAllowed, c, { userId: d.actor.id });
  assertText('title', d.title, { maxChars: ctx.limits.maxTitleChars, lineBreaks: false });
  return [{ type: 'ConversationRenamed', v: 1, data: { ...base(d, ctx), title: d.title } }];
}

function setArchived(
  d: ConversationCommandBase,
  c: Conversation,
  ctx: ConversationContext,
  archived: boolean,
): ConversationEvent[] {
  const who = authority(c, d.actor);
  if (c.kind === 'group' && !hasRole(who, 'owner')) {
    throw refused(Reason.NotAllowed, c, { userId: d.actor.id });
  }
  if (c.archived === archived) return [];
  return archived
    ? [{ type: 'ConversationArchived', v: 1, data: base(d, ctx) }]
    : [{ type: 'ConversationUnarchived', v: 1, data: base(d, ctx) }];
}

// ---- messages -----------------------------------------------------------------------------------

function send(
  d: SendMessage['data'],
  c: Conversation,
  ctx: ConversationContext,
): ConversationEvent[] {
  // A retry of a send that succeeded: nothing new, whatever changed since (the handler answers
  // with the original message id). The same client message id with other content is no retry.
  const sentId = findMessageIdByClientMessageId(c, d.actor.id, d.clientMessageId);
  if (sentId !== undefined) {
    const sent = c.messages.get(sentId)?.sendFingerprint;
    const asked = sendFingerprint({
      conversationId: c.conversationId,
      senderId: d.actor.id,
      clientMessageId: d.clientMessageId,
      text: d.text,
      ...(d.threadRootId === undefined ? {} : { threadRootId: d.threadRootId }),
    });
    if (sent !== undefined && sent !== asked) {
      throw refused(Reason.IdempotencyKeyReused, c, { messageId: sentId });
    }
    return [];
  }
  participant(c, d.actor);
  if (c.archived) throw refused(Reason.Archived, c);
  assertClientId('clientMessageId', d.clientMessageId);
  if (d.threadRootId !== undefined) {
    const root = c.messages.get(d.threadRootId);
    if (!root || root.threadRootId !== undefined) {
      throw refused(Reason.InvalidThread, c, { messageId: d.threadRootId });
    }
  }
  assertText('text', d.text, { maxChars: ctx.limits.maxMessageChars, lineBreaks: true });
  const mentions = mentionedMembers(c, d.text, ctx);
  const attachmentIds = checkAttachmentIds(d.attachmentIds);
  return [
    {
      type: 'MessageSent',
      v: 1,
      data: {
        ...base(d, ctx),
        messageId: ctx.ids.next(),
        clientMessageId: d.clientMessageId,
        sequence: c.lastSequence + 1,
        text: d.text,
        ...(d.threadRootId === undefined ? {} : { threadRootId: d.threadRootId }),
        mentions,
        ...(attachmentIds.length === 0 ? {} : { attachmentIds }),
      },
    },
  ];
}

// libs/files: a message's attachments are file ids; that each is a file the sender uploaded to
// this conversation is checked by the application before deciding (ConversationCommands).
export const MAX_ATTACHMENTS = 10;
const FILE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function checkAttachmentIds(ids: readonly string[] | undefined): string[] {
  if (ids === undefined) return [];
  if (ids.length > MAX_ATTACHMENTS) {
    throw new InvalidConversationInput('attachmentIds', 'too_many', MAX_ATTACHMENTS);
  }
  const lower = ids.map((id) => id.toLowerCase());
  if (lower.some((id) => !FILE_ID.test(id))) {
    throw new InvalidConversationInput('attachmentIds', 'invalid_format');
  }
  if (new Set(lower).size !== lower.length) {
    throw new InvalidConversationInput('attachmentIds', 'duplicate');
  }
  return lower;
}

function edit(
  d: EditMessage['data'],
  c: Conversation,
  ctx: ConversationContext,
): ConversationEvent[] {
  participant(c, d.actor);
  if (c.archived) throw refused(Reason.Archived, c);
  const message = findMessage(c, d.messageId);
  if (message.authorId !== d.actor.id)
    throw refused(Reason.NotAuthor, c, { messageId: d.messageId });
  if (message.redacted) throw refused(Reason.Redacted, c, { messageId: d.messageId });
  assertText('text', d.text, { maxChars: ctx.limits.maxMessageChars, lineBreaks: true });
  const mentions = mentionedMembers(c, d.text, ctx);
  return [
    {
      type: 'MessageEdited',
      v: 1,
      data: {
        ...base(d, ctx),
        messageId: d.messageId,
        text: d.text,
        mentions,
        editNumber: message.editCount + 1,
      },
    },
  ];
}

function redact(
  d: RedactMessage['data'],
  c: Conversation,
  ctx: ConversationContext,
): ConversationEvent[] {
  const who = authority(c, d.actor);
  const message = findMessage(c, d.messageId);
  if (message.redacted) return [];
  const ownMessage = !who.service && message.authorId === d.actor.id;
  if (!ownMessage && !hasRole(who, 'moderator')) {
    throw refused(Reason.NotAllowed, c, { messageId: d.messageId });
  }
  if (d.reason === undefined) {
    // Removing someone else's words is moderation: it must say why.
    if (!ownMessage) throw new InvalidConversationInput('reason', 'required');
  } else {
    assertText('reason', d.reason, {
      maxChars: ctx.limits.maxRedactionReasonChars,
      lineBreaks: true,
    });
  }
  return [
    {
      type: 'MessageRedacted',
      v: 1,
      data: {
        ...base(d, ctx),
        messageId: d.messageId,
        authorId: message.authorId,
        ...(d.reason === undefined ? {} : { reason: d.reason }),
      },
    },
  ];
}

function addReaction(
  d: AddReaction['data'],
  c: Conversation,
  ctx: ConversationContext,
): ConversationEvent[] {
  const mine = reactable(d, c);
  if (mine?.has(d.emoji)) return [];
  if ((mine?.size ?? 0) >= ctx.limits.maxReactionsPerMember) {
    throw refused(Reason.ReactionLimitReached, c, { messageId: d.messageId });
  }
  return [
    {
      type: 'ReactionAdded',
      v: 1,
      data: { ...base(d, ctx), messageId: d.messageId, emoji: d.emoji },
    },
  ];
}

function removeReaction(
  d: RemoveReaction['data'],
  c: Conversation,
  ctx: ConversationContext,
): ConversationEvent[] {
  const mine = reactable(d, c);
  if (!mine?.has(d.emoji)) return [];
  return [
    {
      type: 'ReactionRemoved',
      v: 1,
      data: { ...base(d, ctx), messageId: d.messageId, emoji: d.emoji },
    },
  ];
}

/** Checks shared by adding and removing a reaction; the actor's current emoji on the message. */
function reactable(
  d: AddReaction['data'] | RemoveReaction['data'],
  c: Conversation,
): ReadonlySet<string> | undefined {
  const me = participant(c, d.actor);
  if (c.archived) throw refused(Reason.Archived, c);
  const message = findMessage(c, d.messageId);
  if (message.redacted) throw refused(Reason.Redacted, c, { messageId: d.messageId });
  assertEmoji('emoji', d.emoji);
  return message.reactions.get(me.id);
}

// ---- receipts -----------------------------------------------------------------------------------

function markDelivered(
  d: MarkDelivered['data'],
  c: Conversation,
  ctx: ConversationContext,
): ConversationEvent[] {
  const me = participant(c, d.actor);
  assertClientId('deviceId', d.deviceId);
  const message = findMessage(c, d.upToMessageId);
  const before = c.deliveredUpTo.get(deviceKey(me.id, d.deviceId))?.sequence ?? 0;
  if (message.sequence <= before) return [];
  return [
    {
      type: 'MessagesDelivered',
      v: 1,
      data: {
        ...base(d, ctx),
        deviceId: d.deviceId,
        upToMessageId: d.upToMessageId,
        upToSequence: message.sequence,
      },
    },
  ];
}

function markRead(
  d: MarkRead['data'],
  c: Conversation,
  ctx: ConversationContext,
): ConversationEvent[] {
  const me = participant(c, d.actor);
  const message = findMessage(c, d.upToMessageId);
  // Read markers only move forwards: reading an older message again says nothing new.
  if (message.sequence <= (c.readUpTo.get(me.id) ?? 0)) return [];
  return [
    {
      type: 'MessagesRead',
      v: 1,
      data: { ...base(d, ctx), upToMessageId: d.upToMessageId, upToSequence: message.sequence },
    },
  ];
}

// ---- shared checks ------------------------------------------------------------------------------

const RANK: Record<MemberRole, number> = { member: 0, moderator: 1, owner: 2 };

/** On whose authority a command acts: a service's, or a member's role. */
type Authority = { readonly service: true } | { readonly service: false; readonly member: Member };

function authority(c: Conversation, actor: ConversationActor): Authority {
  return actor.kind === 'service'
    ? { service: true }
    : { service: false, member: participant(c, actor) };
}

function hasRole(who: Authority, least: MemberRole): boolean {
  return who.service || RANK[who.member.role] >= RANK[least];
}

/** The actor as a member; a service is never one. */
function participant(c: Conversation, actor: ConversationActor): Member {
  const member = actor.kind === 'service' ? undefined : c.members.get(actor.id);
  if (!member) throw refused(Reason.NotAMember, c, { userId: actor.id });
  return member;
}

function findMessage(c: Conversation, messageId: string): MessageState {
  const message = c.messages.get(messageId);
  if (!message) throw refused(Reason.MessageNotFound, c, { messageId });
  return message;
}

/** Member ids mentioned in `text`; mentioning anyone else is refused. */
function mentionedMembers(c: Conversation, text: string, ctx: ConversationContext): string[] {
  const mentions = extractMentions(text);
  if (mentions.length > ctx.limits.maxMentions) {
    throw new InvalidConversationInput('text', 'too_many', ctx.limits.maxMentions);
  }
  for (const id of mentions) {
    if (!c.members.has(id)) throw refused(Reason.MentionNotMember, c, { userId: id });
  }
  return mentions;
}

function ownerCount(members: ReadonlyMap<string, Member>): number {
  let owners = 0;
  for (const m of members.values()) if (m.role === 'owner') owners++;
  return owners;
}

function existing(state: ConversationState, d: ConversationCommandBase): Conversation {
  if (!state.exists) throw refused(Reason.ConversationNotFound, d);
  sameConversation(state, d);
  return state;
}

/** The handler loaded the stream the command names (a mismatch is a bug upstream). */
function sameConversation(c: Conversation, d: ConversationCommandBase): void {
  if (c.tenantId !== d.tenantId || c.conversationId !== d.conversationId) {
    throw new InvalidConversationInput('conversationId', 'mismatch');
  }
}

function refused(
  reason: Reason,
  c: { readonly conversationId: string },
  subject?: RefusalSubject,
): ConversationRefused {
  return new ConversationRefused(reason, c.conversationId, subject);
}

function base(d: ConversationCommandBase, ctx: ConversationContext): ConversationEventBase {
  return {
    tenantId: d.tenantId,
    conversationId: d.conversationId,
    actor: { id: d.actor.id, kind: d.actor.kind },
    at: ctx.now.toISOString(),
  };
}
