import { encodePosition, type GlobalPosition } from '@ledgerline/kernel';
import type { ConversationActor, MemberRole } from '../../domain/conversation.events';
import type { ConversationListEntry } from './conversation-list-reads.port';
import type { MessageRecord } from './message-history-reads.port';
import type { ReactionRecord } from './reactions-reads.port';
import {
  textOf,
  titleOf,
  type OpenedContent,
  type StoredConversationEvent,
} from './sealed-contents';

/** A message's content as a reader may see it. */
export type MessageContent =
  | { readonly status: 'available'; readonly text: string }
  /** Redacted: gone from every member-facing read. */
  | { readonly status: 'redacted' }
  /** Its data key was shredded: the text no longer exists anywhere. */
  | { readonly status: 'unavailable' }
  /** Its event fails its own seal (altered in the store): not shown; the read is recorded failed. */
  | { readonly status: 'integrity_failed' };

export type TitleContent =
  | { readonly status: 'available'; readonly title: string }
  | { readonly status: 'unavailable' }
  | { readonly status: 'integrity_failed' };

export interface MessageView {
  readonly messageId: string;
  readonly sequence: number;
  readonly authorId: string;
  readonly authorKind: ConversationActor['kind'];
  readonly threadRootId: string | undefined;
  readonly sentAt: Date;
  /** The message's `$all` position, and the same as a paging cursor. */
  readonly position: GlobalPosition;
  readonly cursor: string;
  readonly revision: bigint;
  readonly editCount: number;
  readonly editedAt: Date | undefined;
  readonly replyCount: number;
  readonly lastReplyAt: Date | undefined;
  readonly redactedAt: Date | undefined;
  readonly content: MessageContent;
}

/**
 * A page by `$all` position. `after` reads forwards from a cursor, `before` backwards to one; with
 * neither, the newest page. Items are always in ascending position order.
 */
export interface PageRequest {
  readonly after?: string;
  readonly before?: string;
  readonly limit?: number;
}

export interface Page<T> {
  readonly items: readonly T[];
  /** More items lie beyond this page in the direction it was read. */
  readonly more: boolean;
  /** Cursor of the first item: pass as `before` for the page before. */
  readonly startCursor: string | undefined;
  /** Cursor of the last item: pass as `after` for the page after. */
  readonly endCursor: string | undefined;
}

export interface ConversationSummary {
  readonly conversationId: string;
  readonly kind: 'direct' | 'group';
  readonly archived: boolean;
  /** Always false: there is no mute command yet (see the conversation-list projection). */
  readonly muted: boolean;
  readonly role: MemberRole;
  readonly unreadCount: number;
  readonly readUpToSequence: number;
  /** A group's title; undefined for a direct conversation (clients show `peerId`). */
  readonly title: TitleContent | undefined;
  /** The other member of a direct conversation. */
  readonly peerId: string | undefined;
  readonly createdAt: Date;
  readonly lastMessage:
    | {
        readonly messageId: string;
        readonly authorId: string;
        readonly sentAt: Date;
        /** The start of the current text (at most `previewChars` characters). */
        readonly preview: MessageContent;
      }
    | undefined;
  /** Paging cursor (the position of the conversation's last activity). */
  readonly cursor: string;
}

export interface ListConversationsRequest {
  readonly before?: string;
  readonly limit?: number;
  /** Only archived (true) or only active (false) conversations; default both. */
  readonly archived?: boolean;
}

export interface Thread {
  readonly root: MessageView;
  readonly replies: Page<MessageView>;
}

export interface MessageVersion {
  /** 0 is the message as sent; 1, 2… its edits. */
  readonly editNumber: number;
  readonly at: Date;
  readonly editorId: string;
  readonly content: MessageContent;
}

export interface EditHistory {
  readonly messageId: string;
  readonly redacted: boolean;
  /** Every version, oldest first; empty for a redacted message. */
  readonly versions: readonly MessageVersion[];
}

export interface ReactionCount {
  /** Null when the events naming it were shredded. */
  readonly emoji: string | null;
  readonly count: number;
  readonly memberIds: readonly string[];
  /** The reader is among `memberIds`. */
  readonly mine: boolean;
}

export interface MessageReactions {
  readonly messageId: string;
  readonly reactions: readonly ReactionCount[];
  /** Some reaction events could not be opened (shredded): counts may be incomplete. */
  readonly incomplete: boolean;
}

export interface DeliveryMarkView {
  readonly memberId: string;
  readonly deviceId: string;
  readonly upToSequence: number;
  readonly upToMessageId: string;
  /** When the mark last moved. */
  readonly at: Date;
}

export interface ReadMarkView {
  readonly memberId: string;
  readonly upToSequence: number;
  readonly upToMessageId: string;
  readonly at: Date;
}

export interface ConversationReceipts {
  readonly delivered: readonly DeliveryMarkView[];
  readonly read: readonly ReadMarkView[];
}

export interface MessageReceipts extends ConversationReceipts {
  readonly messageId: string;
  readonly sequence: number;
}

/** An event of a conversation as a catch-up read answers it. */
export interface ConversationEventRecord extends StoredConversationEvent {
  readonly conversationId: string;
}

export interface ConversationEventsRequest {
  /** Events after this revision (-1: from the first). */
  readonly afterRevision: bigint;
  readonly limit?: number;
}

export interface ConversationEventsPage {
  /** Consecutive revisions, oldest first. */
  readonly events: readonly ConversationEventRecord[];
  /** More events follow the last one. */
  readonly more: boolean;
}

/** Where a sent message sits: what its send's ack named. */
export interface SentMessagePlacement {
  readonly messageId: string;
  readonly eventId: string;
  readonly revision: bigint;
  readonly position: GlobalPosition;
}

/** A message as a reader sees it: its record, and its text opened from the sealed events. */
export function messageView(
  r: MessageRecord,
  opened: ReadonlyMap<bigint, OpenedContent>,
): MessageView {
  return {
    messageId: r.messageId,
    sequence: r.sequence,
    authorId: r.authorId,
    authorKind: r.authorKind,
    threadRootId: r.threadRootId,
    sentAt: r.sentAt,
    position: r.position,
    cursor: encodePosition(r.position),
    revision: r.revision,
    editCount: r.editCount,
    editedAt: r.editedAt,
    replyCount: r.replyCount,
    lastReplyAt: r.lastReplyAt,
    redactedAt: r.redactedAt,
    content: messageContent(
      r.redacted,
      r.textRevision === undefined ? undefined : opened.get(r.textRevision),
    ),
  };
}

export function messageContent(
  redacted: boolean,
  opened: OpenedContent | undefined,
): MessageContent {
  if (redacted) return { status: 'redacted' };
  if (opened?.status === 'integrity_failed') return { status: 'integrity_failed' };
  const text = textOf(opened);
  return text === undefined ? { status: 'unavailable' } : { status: 'available', text };
}

export function titleContent(opened: OpenedContent | undefined): TitleContent {
  if (opened?.status === 'integrity_failed') return { status: 'integrity_failed' };
  const title = titleOf(opened);
  return title === undefined ? { status: 'unavailable' } : { status: 'available', title };
}

/** The start of a message's text, at most `chars` characters, for the conversation list. */
export function previewContent(
  redacted: boolean,
  opened: OpenedContent | undefined,
  chars: number,
): MessageContent {
  const content = messageContent(redacted, opened);
  if (content.status !== 'available') return content;
  const all = Array.from(content.text);
  return {
    status: 'available',
    text: all.length <= chars ? content.text : all.slice(0, chars).join(''),
  };
}

/** A row of the conversation list as its member sees it, its title and preview opened. */
export function conversationSummary(
  entry: ConversationListEntry,
  opened: ReadonlyMap<bigint, OpenedContent>,
  previewChars: number,
): ConversationSummary {
  const last = entry.lastMessage;
  return {
    conversationId: entry.conversationId,
    kind: entry.kind,
    archived: entry.archived,
    muted: entry.muted,
    role: entry.role,
    unreadCount: entry.unreadCount,
    readUpToSequence: entry.readUpToSequence,
    title:
      entry.titleRevision === undefined ? undefined : titleContent(opened.get(entry.titleRevision)),
    peerId: entry.peerId,
    createdAt: entry.createdAt,
    lastMessage:
      last === undefined
        ? undefined
        : {
            messageId: last.messageId,
            authorId: last.authorId,
            sentAt: last.sentAt,
            preview: previewContent(
              last.redacted,
              last.textRevision === undefined ? undefined : opened.get(last.textRevision),
              previewChars,
            ),
          },
    cursor: encodePosition(entry.activity),
  };
}

/**
 * A message's reactions: the adds and removes replayed per member in revision order, as the
 * decider does, then counted by emoji. A record whose event cannot be opened (shredded) makes the
 * counts `incomplete`.
 */
export function reactionCounts(
  records: readonly ReactionRecord[],
  opened: ReadonlyMap<bigint, OpenedContent>,
  readerId: string,
): Pick<MessageReactions, 'incomplete' | 'reactions'> {
  const byMember = new Map<string, Set<string>>();
  let incomplete = false;
  for (const row of records) {
    const content = opened.get(row.revision);
    const event = content?.status === 'available' ? content.event : undefined;
    if (!event || (event.type !== 'ReactionAdded' && event.type !== 'ReactionRemoved')) {
      incomplete = true;
      continue;
    }
    const mine = byMember.get(row.memberId) ?? new Set<string>();
    if (row.added) mine.add(event.data.emoji);
    else mine.delete(event.data.emoji);
    byMember.set(row.memberId, mine);
  }
  const byEmoji = new Map<string, string[]>();
  for (const [memberId, emoji] of byMember) {
    for (const e of emoji) byEmoji.set(e, [...(byEmoji.get(e) ?? []), memberId]);
  }
  return {
    incomplete,
    reactions: [...byEmoji].map(([emoji, memberIds]) => ({
      emoji,
      count: memberIds.length,
      memberIds: memberIds.sort(),
      mine: memberIds.includes(readerId),
    })),
  };
}
