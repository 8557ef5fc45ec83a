import { encodePosition } from '@ledgerline/kernel';
import type {
  ConversationCommandResult,
  SendMessageResult,
} from '../application/conversation-commands.handler';
import type {
  ConversationReceipts as ConversationReceiptsView,
  ConversationSummary,
  DeliveryMarkView,
  EditHistory as EditHistoryView,
  MessageContent,
  MessageReactions as MessageReactionsView,
  MessageReceipts as MessageReceiptsView,
  MessageView,
  Page,
  ReadMarkView,
  TitleContent,
} from '../application/queries/conversation-queries.views';
import type { ConversationEvent } from '../domain/conversation.events';
import type { ConversationAck } from './conversation-api.dto';
import type { ContentStatus } from './conversation-api.enums';
import type { ConversationEventPayload } from './conversation-event.dto';
import type { Conversation, ConversationPage } from './conversation.dto';
import type { LiveConversationEvent } from './conversation-fan-out';
import type { EditHistory, Message, MessagePage, SendMessageAck, Thread } from './message.dto';
import type { MessageReactions } from './reaction.dto';
import type { ConversationReceipts, MessageReceipts, Receipt } from './receipt.dto';

// From what the handlers answer to what the GraphQL types show. Nothing here reads or decides.

export function toAck(result: ConversationCommandResult): ConversationAck {
  return {
    conversationId: result.conversationId,
    eventIds: [...result.eventIds],
    position: result.position === undefined ? null : encodePosition(result.position),
    changed: result.eventIds.length > 0,
  };
}

export function toSendAck(result: SendMessageResult, clientMessageId: string): SendMessageAck {
  return {
    ...toAck(result),
    messageId: result.messageId,
    clientMessageId,
    duplicate: result.duplicate,
  };
}

function contentOf(content: MessageContent): { contentStatus: ContentStatus; text: string | null } {
  switch (content.status) {
    case 'available':
      return { contentStatus: 'available', text: content.text };
    case 'redacted':
      return { contentStatus: 'redacted', text: null };
    case 'unavailable':
      return { contentStatus: 'shredded', text: null };
    case 'integrity_failed':
      return { contentStatus: 'integrity_failed', text: null };
  }
}

function titleOf(title: TitleContent | undefined): {
  title: string | null;
  titleStatus: ContentStatus | null;
} {
  if (title === undefined) return { title: null, titleStatus: null };
  switch (title.status) {
    case 'available':
      return { title: title.title, titleStatus: 'available' };
    case 'unavailable':
      return { title: null, titleStatus: 'shredded' };
    case 'integrity_failed':
      return { title: null, titleStatus: 'integrity_failed' };
  }
}

export function toMessage(conversationId: string, view: MessageView): Message {
  return {
    id: view.messageId,
    conversationId,
    sequence: view.sequence,
    authorId: view.authorId,
    authorKind: view.authorKind,
    threadRootId: view.threadRootId ?? null,
    sentAt: view.sentAt,
    cursor: view.cursor,
    ...contentOf(view.content),
    editCount: view.editCount,
    editedAt: view.editedAt ?? null,
    replyCount: view.replyCount,
    lastReplyAt: view.lastReplyAt ?? null,
    redactedAt: view.redactedAt ?? null,
  };
}

export function toMessagePage(conversationId: string, page: Page<MessageView>): MessagePage {
  return {
    items: page.items.map((m) => toMessage(conversationId, m)),
    hasMore: page.more,
    startCursor: page.startCursor ?? null,
    endCursor: page.endCursor ?? null,
  };
}

export function toThread(
  conversationId: string,
  thread: { root: MessageView; replies: Page<MessageView> },
): Thread {
  return {
    root: toMessage(conversationId, thread.root),
    replies: toMessagePage(conversationId, thread.replies),
  };
}

export function toConversation(summary: ConversationSummary): Conversation {
  const last = summary.lastMessage;
  return {
    id: summary.conversationId,
    kind: summary.kind,
    ...titleOf(summary.title),
    archived: summary.archived,
    muted: summary.muted,
    viewerRole: summary.role,
    unreadCount: summary.unreadCount,
    readUpToSequence: summary.readUpToSequence,
    peerId: summary.peerId ?? null,
    createdAt: summary.createdAt,
    lastMessage:
      last === undefined
        ? null
        : {
            messageId: last.messageId,
            authorId: last.authorId,
            sentAt: last.sentAt,
            ...contentOf(last.preview),
          },
    cursor: summary.cursor,
  };
}

export function toConversationPage(page: Page<ConversationSummary>): ConversationPage {
  return {
    items: page.items.map(toConversation),
    hasMore: page.more,
    startCursor: page.startCursor ?? null,
    endCursor: page.endCursor ?? null,
  };
}

export function toEditHistory(history: EditHistoryView): EditHistory {
  return {
    messageId: history.messageId,
    redacted: history.redacted,
    versions: history.versions.map((v) => ({
      editNumber: v.editNumber,
      at: v.at,
      editorId: v.editorId,
      ...contentOf(v.content),
    })),
  };
}

export function toReactions(view: MessageReactionsView): MessageReactions {
  return {
    messageId: view.messageId,
    incomplete: view.incomplete,
    reactions: view.reactions.map((r) => ({
      emoji: r.emoji,
      count: r.count,
      memberIds: [...r.memberIds],
      mine: r.mine,
    })),
  };
}

function deliveryReceipt(mark: DeliveryMarkView): Receipt {
  return {
    memberId: mark.memberId,
    deviceId: mark.deviceId,
    upToSequence: mark.upToSequence,
    upToMessageId: mark.upToMessageId,
    at: mark.at,
  };
}

function readReceipt(mark: ReadMarkView): Receipt {
  return {
    memberId: mark.memberId,
    deviceId: null,
    upToSequence: mark.upToSequence,
    upToMessageId: mark.upToMessageId,
    at: mark.at,
  };
}

export function toConversationReceipts(
  conversationId: string,
  view: ConversationReceiptsView,
): ConversationReceipts {
  return {
    conversationId,
    delivered: view.delivered.map(deliveryReceipt),
    read: view.read.map(readReceipt),
  };
}

export function toMessageReceipts(view: MessageReceiptsView): MessageReceipts {
  return {
    messageId: view.messageId,
    sequence: view.sequence,
    delivered: view.delivered.map(deliveryReceipt),
    read: view.read.map(readReceipt),
  };
}

const NO_DETAILS = {
  messageId: null,
  sequence: null,
  clientMessageId: null,
  threadRootId: null,
  contentStatus: null,
  text: null,
  editNumber: null,
  mentions: null,
  emoji: null,
  members: null,
  memberId: null,
  role: null,
  title: null,
  deviceId: null,
  upToMessageId: null,
  upToSequence: null,
  attachmentIds: null, // libs/files
} as const satisfies Partial<ConversationEventPayload>;

type EventDetails = { -readonly [K in keyof typeof NO_DETAILS]: ConversationEventPayload[K] };

/**
 * A live event as its subscribers see it. What a member could not read through the queries stays
 * out: a redaction's reason, the text of anything shredded.
 */
export function toConversationEventPayload(live: LiveConversationEvent): ConversationEventPayload {
  const { event } = live;
  return {
    kind: event.type,
    eventId: live.eventId,
    conversationId: live.conversationId,
    position: encodePosition(live.position),
    at: new Date(event.data.at),
    actorId: event.data.actor.id,
    actorKind: event.data.actor.kind,
    ...NO_DETAILS,
    ...detailsOf(event),
  };
}

function detailsOf(event: ConversationEvent): Partial<EventDetails> {
  switch (event.type) {
    case 'DirectConversationCreated':
      return { members: event.data.members.map((m) => ({ ...m })) };
    case 'GroupConversationCreated':
      return { members: event.data.members.map((m) => ({ ...m })), title: event.data.title };
    case 'MemberAdded':
      return {
        memberId: event.data.member.id,
        role: event.data.member.role,
        members: [{ ...event.data.member }],
      };
    case 'MemberRemoved':
      return { memberId: event.data.memberId, role: event.data.role };
    case 'MemberLeft':
      return { memberId: event.data.memberId };
    case 'MemberRoleChanged':
      return { memberId: event.data.memberId, role: event.data.to };
    case 'ConversationRenamed':
      return { title: event.data.title };
    case 'ConversationArchived':
    case 'ConversationUnarchived':
      return {};
    case 'MessageSent':
      return {
        messageId: event.data.messageId,
        sequence: event.data.sequence,
        clientMessageId: event.data.clientMessageId,
        threadRootId: event.data.threadRootId ?? null,
        contentStatus: 'available',
        text: event.data.text,
        mentions: [...event.data.mentions],
        // libs/files
        attachmentIds: event.data.attachmentIds ? [...event.data.attachmentIds] : null,
      };
    case 'MessageEdited':
      return {
        messageId: event.data.messageId,
        contentStatus: 'available',
        text: event.data.text,
        editNumber: event.data.editNumber,
        mentions: [...event.data.mentions],
      };
    case 'MessageRedacted':
      return { messageId: event.data.messageId, contentStatus: 'redacted' };
    case 'ReactionAdded':
    case 'ReactionRemoved':
      return { messageId: event.data.messageId, emoji: event.data.emoji };
    case 'MessagesDelivered':
      return {
        deviceId: event.data.deviceId,
        upToMessageId: event.data.upToMessageId,
        upToSequence: event.data.upToSequence,
      };
    case 'MessagesRead':
      return { upToMessageId: event.data.upToMessageId, upToSequence: event.data.upToSequence };
  }
}
