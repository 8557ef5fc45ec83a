import type { ConversationState, MemberRole } from '@ledgerline/conversations';
import type { FileActor, FileEvent, FileEventBase } from './file.events';
import type {
  AttachThumbnail,
  FileCommand,
  FileCommandBase,
  FileContext,
  RecordUpload,
  RemoveFile,
} from './file.commands';
import { checkFileName } from './file-name';
import { FileNotFoundError, FileRefusalReason as Reason, FileRefused } from './file.errors';

/**
 * Who may do what with a conversation's files:
 *
 * | command                  | member | moderator | owner | service |
 * |--------------------------|--------|-----------|-------|---------|
 * | upload (record an upload)| yes    | yes       | yes   | never   |
 * | remove own file          | yes    | yes       | yes   | -       |
 * | remove another's file    |        | yes       | yes   | yes     |
 * | attach a thumbnail       | the system, for a file it recorded                   |
 *
 * An archived conversation takes no upload (it adds content); removal is allowed (it reduces
 * exposure). Reading a file is a read, checked by the download (member-only), not decided here.
 */
export function decideFile(
  command: FileCommand,
  conversation: ConversationState,
  context: FileContext,
): FileEvent[] {
  switch (command.type) {
    case 'RecordUpload':
      return recordUpload(command.data, conversation, context);
    case 'AttachThumbnail':
      return attachThumbnail(command.data, context);
    case 'RemoveFile':
      return removeFile(command.data, conversation, context);
  }
}

/** The check an upload passes before its first byte is accepted (and again when recorded). */
export function assertMayUpload(
  conversation: ConversationState,
  conversationId: string,
  actor: FileActor,
): void {
  if (!conversation.exists) throw new FileRefused(conversationId, Reason.ConversationNotFound);
  if (actor.kind === 'service' || !conversation.members.has(actor.id)) {
    throw new FileRefused(conversationId, Reason.NotAMember);
  }
  if (conversation.archived) throw new FileRefused(conversationId, Reason.Archived);
}

/** True when the actor may read the conversation's files (a current member). */
export function mayRead(conversation: ConversationState, actor: FileActor): boolean {
  return conversation.exists && actor.kind !== 'service' && conversation.members.has(actor.id);
}

function recordUpload(
  d: RecordUpload['data'],
  conversation: ConversationState,
  ctx: FileContext,
): FileEvent[] {
  assertMayUpload(conversation, d.conversationId, d.actor);
  const uploaded: FileEvent = {
    type: 'FileUploaded',
    v: 1,
    data: {
      ...base(d, ctx),
      name: checkFileName(d.name),
      mediaType: d.mediaType,
      sha256: d.sha256,
      body: d.body,
    },
  };
  if (d.infected === undefined) return [uploaded];
  return [
    uploaded,
    { type: 'FileQuarantined', v: 1, data: { ...base(d, ctx), signature: d.infected } },
  ];
}

function attachThumbnail(d: AttachThumbnail['data'], ctx: FileContext): FileEvent[] {
  return [
    {
      type: 'ThumbnailAttached',
      v: 1,
      data: {
        ...base(d, ctx),
        thumbnailId: d.thumbnailId,
        body: d.body,
        mediaType: d.mediaType,
        width: d.width,
        height: d.height,
      },
    },
  ];
}

function removeFile(
  d: RemoveFile['data'],
  conversation: ConversationState,
  ctx: FileContext,
): FileEvent[] {
  const file = d.file;
  if (!file || file.conversationId !== d.conversationId || !conversation.exists) {
    throw new FileNotFoundError(d.fileId);
  }
  if (file.status === 'removed') return [];
  if (d.actor.kind !== 'service') {
    const member = conversation.members.get(d.actor.id);
    if (!member) throw new FileNotFoundError(d.fileId);
    if (file.uploaderId !== d.actor.id && !atLeast(member.role, 'moderator')) {
      throw new FileRefused(d.conversationId, Reason.NotAllowed);
    }
  }
  return [{ type: 'FileRemoved', v: 1, data: base(d, ctx) }];
}

const RANK: Record<MemberRole, number> = { member: 0, moderator: 1, owner: 2 };

function atLeast(role: MemberRole, wanted: MemberRole): boolean {
  return RANK[role] >= RANK[wanted];
}

function base(d: FileCommandBase, ctx: FileContext): FileEventBase {
  return {
    tenantId: d.tenantId,
    conversationId: d.conversationId,
    fileId: d.fileId,
    actor: { id: d.actor.id, kind: d.actor.kind },
    at: ctx.now.toISOString(),
  };
}
