import { ArgsType, Field, ID, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { IsOptional, IsUUID } from 'class-validator';
import type {
  ConversationActor,
  ConversationEventType,
  MemberRole,
} from '../domain/conversation.events';
import { unboundedListCost } from './conversation-api.config';
import {
  ActorKindEnum,
  ContentStatusEnum,
  MemberRoleEnum,
  type ContentStatus,
} from './conversation-api.enums';
import { Member } from './conversation.dto';

/** GraphQL names of the conversation events; the values are the domain's event types. */
export const ConversationEventKindEnum = {
  DIRECT_CONVERSATION_CREATED: 'DirectConversationCreated',
  GROUP_CONVERSATION_CREATED: 'GroupConversationCreated',
  MEMBER_ADDED: 'MemberAdded',
  MEMBER_REMOVED: 'MemberRemoved',
  MEMBER_LEFT: 'MemberLeft',
  MEMBER_ROLE_CHANGED: 'MemberRoleChanged',
  CONVERSATION_RENAMED: 'ConversationRenamed',
  CONVERSATION_ARCHIVED: 'ConversationArchived',
  CONVERSATION_UNARCHIVED: 'ConversationUnarchived',
  MESSAGE_SENT: 'MessageSent',
  MESSAGE_EDITED: 'MessageEdited',
  MESSAGE_REDACTED: 'MessageRedacted',
  REACTION_ADDED: 'ReactionAdded',
  REACTION_REMOVED: 'ReactionRemoved',
  MESSAGES_DELIVERED: 'MessagesDelivered',
  MESSAGES_READ: 'MessagesRead',
} as const satisfies Record<string, ConversationEventType>;

// Every event type has a GraphQL name (a new event type fails to compile until it gets one).
type Unnamed = Exclude<
  ConversationEventType,
  (typeof ConversationEventKindEnum)[keyof typeof ConversationEventKindEnum]
>;
const everyEventTypeNamed: [Unnamed] extends [never] ? true : never = true;
void everyEventTypeNamed;

registerEnumType(ConversationEventKindEnum, { name: 'ConversationEventKind' });

@ObjectType('ConversationEvent', {
  description:
    'Something that happened in one of the caller’s conversations, live. Fields beyond the envelope are set only for the kinds they belong to; a redaction’s reason is never sent.',
})
export class ConversationEventPayload {
  @Field(() => ConversationEventKindEnum)
  kind!: ConversationEventType;

  @Field(() => ID, { description: 'Unique per event: a client drops one it has already seen.' })
  eventId!: string;

  @Field(() => ID)
  conversationId!: string;

  @Field(() => String, { description: 'The event’s global position token (ascending).' })
  position!: string;

  @Field(() => Date)
  at!: Date;

  @Field(() => ID)
  actorId!: string;

  @Field(() => ActorKindEnum)
  actorKind!: ConversationActor['kind'];

  @Field(() => ID, {
    nullable: true,
    description: 'MESSAGE_SENT, MESSAGE_EDITED, MESSAGE_REDACTED, REACTION_*.',
  })
  messageId!: string | null;

  @Field(() => Int, { nullable: true, description: 'MESSAGE_SENT.' })
  sequence!: number | null;

  @Field(() => String, { nullable: true, description: 'MESSAGE_SENT: the sender’s own id.' })
  clientMessageId!: string | null;

  @Field(() => ID, { nullable: true, description: 'MESSAGE_SENT, for a reply.' })
  threadRootId!: string | null;

  @Field(() => ContentStatusEnum, {
    nullable: true,
    description: 'MESSAGE_SENT, MESSAGE_EDITED (AVAILABLE) and MESSAGE_REDACTED (REDACTED).',
  })
  contentStatus!: ContentStatus | null;

  @Field(() => String, { nullable: true, description: 'MESSAGE_SENT, MESSAGE_EDITED: the text.' })
  text!: string | null;

  @Field(() => Int, { nullable: true, description: 'MESSAGE_EDITED: 1 for the first edit, …' })
  editNumber!: number | null;

  @Field(() => [ID], {
    nullable: true,
    description: 'MESSAGE_SENT, MESSAGE_EDITED: member ids mentioned.',
    complexity: unboundedListCost,
  })
  mentions!: string[] | null;

  // libs/files
  @Field(() => [ID], {
    nullable: true,
    description:
      'MESSAGE_SENT: the ids of the message’s files, in order (see Message.attachments).',
    complexity: unboundedListCost,
  })
  attachmentIds!: string[] | null;

  @Field(() => String, { nullable: true, description: 'REACTION_ADDED, REACTION_REMOVED.' })
  emoji!: string | null;

  @Field(() => [Member], {
    nullable: true,
    description: '*_CONVERSATION_CREATED: every member; MEMBER_ADDED: the new member.',
    complexity: unboundedListCost,
  })
  members!: Member[] | null;

  @Field(() => ID, {
    nullable: true,
    description: 'MEMBER_ADDED, MEMBER_REMOVED, MEMBER_LEFT, MEMBER_ROLE_CHANGED.',
  })
  memberId!: string | null;

  @Field(() => MemberRoleEnum, {
    nullable: true,
    description: 'MEMBER_ADDED, MEMBER_ROLE_CHANGED: the new role; MEMBER_REMOVED: the role held.',
  })
  role!: MemberRole | null;

  @Field(() => String, {
    nullable: true,
    description: 'GROUP_CONVERSATION_CREATED, CONVERSATION_RENAMED.',
  })
  title!: string | null;

  @Field(() => String, { nullable: true, description: 'MESSAGES_DELIVERED.' })
  deviceId!: string | null;

  @Field(() => ID, { nullable: true, description: 'MESSAGES_DELIVERED, MESSAGES_READ.' })
  upToMessageId!: string | null;

  @Field(() => Int, { nullable: true, description: 'MESSAGES_DELIVERED, MESSAGES_READ.' })
  upToSequence!: number | null;
}

@ArgsType()
export class ConversationEventsArgs {
  @Field(() => ID, {
    nullable: true,
    description: 'Only this conversation (NOT_FOUND unless the caller is a member).',
  })
  @IsOptional()
  @IsUUID()
  conversationId?: string;
}
