import { ArgsType, Field, ID, InputType, Int, IntersectionType, ObjectType } from '@nestjs/graphql';
import {
  ArrayMaxSize,
  IsArray,
  IsNotEmpty,
  IsOptional,
  IsString,
  IsUUID,
  MaxLength,
} from 'class-validator';
import { MAX_ATTACHMENTS } from '../domain/conversation.decider';
import type { ConversationActor } from '../domain/conversation.events';
import { CONVERSATION_API_LIMITS, unboundedListCost } from './conversation-api.config';
import { ConversationAck, ConversationArgs, PageArgs } from './conversation-api.dto';
import { ActorKindEnum, ContentStatusEnum, type ContentStatus } from './conversation-api.enums';
import { IsClientId, IsWellFormedText } from './conversation-input.validators';

// ---- outputs -----------------------------------------------------------------------------------

@ObjectType({ description: 'A message as a member sees it.' })
export class Message {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  conversationId!: string;

  @Field(() => Int, { description: 'Numbers the conversation’s messages 1, 2, 3…' })
  sequence!: number;

  @Field(() => ID)
  authorId!: string;

  @Field(() => ActorKindEnum)
  authorKind!: ConversationActor['kind'];

  @Field(() => ID, { nullable: true, description: 'Set for a reply: its thread’s root message.' })
  threadRootId!: string | null;

  @Field(() => Date)
  sentAt!: Date;

  @Field(() => String, { description: 'The message’s position token; a paging cursor.' })
  cursor!: string;

  @Field(() => ContentStatusEnum)
  contentStatus!: ContentStatus;

  @Field(() => String, { nullable: true, description: 'The current text; null unless AVAILABLE.' })
  text!: string | null;

  @Field(() => Int)
  editCount!: number;

  @Field(() => Date, { nullable: true })
  editedAt!: Date | null;

  @Field(() => Int, { description: 'Replies in the thread this message is the root of.' })
  replyCount!: number;

  @Field(() => Date, { nullable: true })
  lastReplyAt!: Date | null;

  @Field(() => Date, { nullable: true })
  redactedAt!: Date | null;
}

@ObjectType({ description: 'A page of messages, always in ascending position order.' })
export class MessagePage {
  @Field(() => [Message])
  items!: Message[];

  @Field(() => Boolean, {
    description: 'More messages lie beyond this page in the direction read.',
  })
  hasMore!: boolean;

  @Field(() => String, {
    nullable: true,
    description: 'Cursor of the first item: pass as `before` for the page before.',
  })
  startCursor!: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'Cursor of the last item: pass as `after` for the page after.',
  })
  endCursor!: string | null;
}

@ObjectType({ description: 'A thread: its root message and a page of its replies.' })
export class Thread {
  @Field(() => Message)
  root!: Message;

  @Field(() => MessagePage)
  replies!: MessagePage;
}

@ObjectType({ description: 'One version of a message: 0 as sent, then 1, 2… for its edits.' })
export class EditHistoryEntry {
  @Field(() => Int)
  editNumber!: number;

  @Field(() => Date)
  at!: Date;

  @Field(() => ID)
  editorId!: string;

  @Field(() => ContentStatusEnum)
  contentStatus!: ContentStatus;

  @Field(() => String, { nullable: true })
  text!: string | null;
}

@ObjectType()
export class EditHistory {
  @Field(() => ID)
  messageId!: string;

  @Field(() => Boolean, { description: 'A redacted message has no versions left to show.' })
  redacted!: boolean;

  @Field(() => [EditHistoryEntry], {
    description: 'Every version, oldest first.',
    complexity: unboundedListCost,
  })
  versions!: EditHistoryEntry[];
}

@ObjectType({ description: 'The ack of a send. A retried send answers with the original message.' })
export class SendMessageAck extends ConversationAck {
  @Field(() => ID)
  messageId!: string;

  @Field(() => String)
  clientMessageId!: string;

  @Field(() => Boolean, {
    description: 'True when this client message id was already sent: nothing new was stored.',
  })
  duplicate!: boolean;
}

// ---- arguments and inputs ----------------------------------------------------------------------

@ArgsType()
export class MessagesArgs extends IntersectionType(ConversationArgs, PageArgs, ArgsType) {}

@ArgsType()
export class ThreadArgs extends MessagesArgs {
  @Field(() => ID)
  @IsUUID()
  rootMessageId!: string;
}

@InputType()
export class SendMessageInput {
  @Field(() => ID)
  @IsUUID()
  conversationId!: string;

  @Field(() => String, {
    description: 'The client’s own id for the message: a retry with it never sends twice.',
  })
  @IsClientId()
  clientMessageId!: string;

  @Field(() => String, {
    description: `The text (at most ${CONVERSATION_API_LIMITS.maxMessageChars} characters); mentions are <@memberId>.`,
  })
  @IsString()
  @IsNotEmpty()
  @MaxLength(CONVERSATION_API_LIMITS.maxMessageChars)
  @IsWellFormedText()
  text!: string;

  @Field(() => ID, {
    nullable: true,
    description: 'Reply in the thread of this top-level message.',
  })
  @IsOptional()
  @IsUUID()
  threadRootId?: string;

  // libs/files
  @Field(() => [ID], {
    nullable: true,
    description: `Files the sender uploaded to this conversation (at most ${MAX_ATTACHMENTS}), in order.`,
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_ATTACHMENTS)
  @IsUUID('all', { each: true })
  attachmentIds?: string[];
}

@InputType()
export class EditMessageInput {
  @Field(() => ID)
  @IsUUID()
  conversationId!: string;

  @Field(() => ID)
  @IsUUID()
  messageId!: string;

  @Field(() => String, { description: 'The new text in full.' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(CONVERSATION_API_LIMITS.maxMessageChars)
  @IsWellFormedText()
  text!: string;
}

@InputType()
export class RedactMessageInput {
  @Field(() => ID)
  @IsUUID()
  conversationId!: string;

  @Field(() => ID)
  @IsUUID()
  messageId!: string;

  @Field(() => String, {
    nullable: true,
    description: 'Why; required to redact someone else’s message. Never shown in message reads.',
  })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(CONVERSATION_API_LIMITS.maxRedactionReasonChars)
  @IsWellFormedText()
  reason?: string;
}
