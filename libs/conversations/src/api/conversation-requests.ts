import type {
  ConversationRequest,
  SendMessageRequest,
} from '../application/conversation-commands.handler';

// The commands the edges send, built from their validated inputs in one place: the GraphQL
// resolvers and the realtime operations call these, so both ask the handler for the same thing.
// Optional fields may arrive as null from GraphQL; an absent field is left out of the command.

export function sendMessageRequest(input: {
  readonly conversationId: string;
  readonly clientMessageId: string;
  readonly text: string;
  readonly threadRootId?: string | null;
  readonly attachmentIds?: readonly string[] | null;
}): SendMessageRequest {
  return {
    type: 'SendMessage',
    data: {
      conversationId: input.conversationId,
      clientMessageId: input.clientMessageId,
      text: input.text,
      ...(input.threadRootId == null ? {} : { threadRootId: input.threadRootId }),
      // libs/files
      ...(input.attachmentIds == null ? {} : { attachmentIds: input.attachmentIds }),
    },
  };
}

export function editMessageRequest(input: {
  readonly conversationId: string;
  readonly messageId: string;
  readonly text: string;
}): ConversationRequest {
  return {
    type: 'EditMessage',
    data: { conversationId: input.conversationId, messageId: input.messageId, text: input.text },
  };
}

export function redactMessageRequest(input: {
  readonly conversationId: string;
  readonly messageId: string;
  readonly reason?: string | null;
}): ConversationRequest {
  return {
    type: 'RedactMessage',
    data: {
      conversationId: input.conversationId,
      messageId: input.messageId,
      ...(input.reason == null ? {} : { reason: input.reason }),
    },
  };
}

export function reactionRequest(
  input: { readonly conversationId: string; readonly messageId: string; readonly emoji: string },
  action: 'add' | 'remove',
): ConversationRequest {
  return {
    type: action === 'add' ? 'AddReaction' : 'RemoveReaction',
    data: { conversationId: input.conversationId, messageId: input.messageId, emoji: input.emoji },
  };
}

export function markDeliveredRequest(input: {
  readonly conversationId: string;
  readonly deviceId: string;
  readonly upToMessageId: string;
}): ConversationRequest {
  return {
    type: 'MarkDelivered',
    data: {
      conversationId: input.conversationId,
      deviceId: input.deviceId,
      upToMessageId: input.upToMessageId,
    },
  };
}

export function markReadRequest(input: {
  readonly conversationId: string;
  readonly upToMessageId: string;
}): ConversationRequest {
  return {
    type: 'MarkRead',
    data: { conversationId: input.conversationId, upToMessageId: input.upToMessageId },
  };
}
