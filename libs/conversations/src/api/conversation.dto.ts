import { ArgsType, Field, ID, InputType, Int, ObjectType } from '@nestjs/graphql';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  IsUUID,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { MEMBER_ROLES, type MemberRole, type ParticipantKind } from '../domain/conversation.events';
import { CONVERSATION_API_LIMITS, CONVERSATION_API_MAX_PAGE_SIZE } from './conversation-api.config';
import { ReadArgs } from './conversation-api.dto';
import {
  ConversationKindEnum,
  ContentStatusEnum,
  MemberRoleEnum,
  ParticipantKindEnum,
  type ContentStatus,
} from './conversation-api.enums';
import { IsMemberId, IsPositionToken, IsWellFormedText } from './conversation-input.validators';

const PARTICIPANT_KINDS: readonly ParticipantKind[] = ['user', 'agent'];

// ---- outputs -----------------------------------------------------------------------------------

@ObjectType({ description: 'A member of a conversation: ids and role only, never a profile.' })
export class Member {
  @Field(() => ID)
  id!: string;

  @Field(() => ParticipantKindEnum)
  kind!: ParticipantKind;

  @Field(() => MemberRoleEnum)
  role!: MemberRole;
}

@ObjectType({ description: 'The start of a conversation’s last message.' })
export class MessagePreview {
  @Field(() => ID)
  messageId!: string;

  @Field(() => ID)
  authorId!: string;

  @Field(() => Date)
  sentAt!: Date;

  @Field(() => ContentStatusEnum)
  contentStatus!: ContentStatus;

  @Field(() => String, {
    nullable: true,
    description: 'The start of the current text; null unless AVAILABLE.',
  })
  text!: string | null;
}

@ObjectType({ description: 'A conversation as one of its members sees it.' })
export class Conversation {
  @Field(() => ID)
  id!: string;

  @Field(() => ConversationKindEnum)
  kind!: 'direct' | 'group';

  @Field(() => String, {
    nullable: true,
    description:
      'A group’s title; null for a direct conversation (show `peerId`) or when shredded.',
  })
  title!: string | null;

  @Field(() => ContentStatusEnum, {
    nullable: true,
    description: 'Whether the title can be shown; null for a direct conversation.',
  })
  titleStatus!: ContentStatus | null;

  @Field(() => Boolean)
  archived!: boolean;

  @Field(() => Boolean)
  muted!: boolean;

  @Field(() => MemberRoleEnum, { description: 'The caller’s role in the conversation.' })
  viewerRole!: MemberRole;

  @Field(() => Int, { description: 'Messages by others the caller has not read.' })
  unreadCount!: number;

  @Field(() => Int)
  readUpToSequence!: number;

  @Field(() => ID, { nullable: true, description: 'The other member of a direct conversation.' })
  peerId!: string | null;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => MessagePreview, { nullable: true })
  lastMessage!: MessagePreview | null;

  @Field(() => String, { description: 'Paging cursor (the position of its last activity).' })
  cursor!: string;
}

@ObjectType({ description: 'Conversations, most recently active first.' })
export class ConversationPage {
  @Field(() => [Conversation])
  items!: Conversation[];

  @Field(() => Boolean, {
    description: 'More, older conversations exist: pass `endCursor` as `before`.',
  })
  hasMore!: boolean;

  @Field(() => String, { nullable: true })
  startCursor!: string | null;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

// ---- arguments and inputs ----------------------------------------------------------------------

@ArgsType()
export class ConversationsArgs extends ReadArgs {
  @Field(() => Int, {
    nullable: true,
    description: `Page size, 1 to ${CONVERSATION_API_MAX_PAGE_SIZE} (default 50).`,
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(CONVERSATION_API_MAX_PAGE_SIZE)
  first?: number;

  @Field(() => String, { nullable: true, description: 'Conversations older than this cursor.' })
  @IsOptional()
  @IsPositionToken()
  before?: string;

  @Field(() => Boolean, {
    nullable: true,
    description: 'Only archived (true) or only active (false); default both.',
  })
  @IsOptional()
  @IsBoolean()
  archived?: boolean;
}

@InputType()
export class ParticipantInput {
  @Field(() => ID, { description: 'The user’s or agent’s id (its token subject).' })
  @IsMemberId()
  id!: string;

  @Field(() => ParticipantKindEnum, { defaultValue: 'user' })
  @IsIn(PARTICIPANT_KINDS)
  kind!: ParticipantKind;
}

@InputType()
export class MemberInput extends ParticipantInput {
  @Field(() => MemberRoleEnum, { defaultValue: 'member' })
  @IsIn(MEMBER_ROLES)
  role!: MemberRole;
}

@InputType()
export class CreateDirectConversationInput {
  @Field(() => [ParticipantInput], {
    description:
      'The other member (the caller is the first); a service names both. The conversation id follows from the pair, so creating it again returns the same conversation.',
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(2)
  @ValidateNested({ each: true })
  @Type(() => ParticipantInput)
  participants!: ParticipantInput[];
}

@InputType()
export class CreateGroupConversationInput {
  @Field(() => ID, {
    nullable: true,
    description: 'The new conversation’s id (a UUID), when the client chooses it; else generated.',
  })
  @IsOptional()
  @IsUUID()
  conversationId?: string;

  @Field(() => String)
  @IsString()
  @IsNotEmpty()
  @MaxLength(CONVERSATION_API_LIMITS.maxTitleChars)
  @IsWellFormedText()
  title!: string;

  @Field(() => [MemberInput], {
    description: 'Members besides the caller, who becomes an owner (a service names an owner).',
  })
  @IsArray()
  @ArrayMaxSize(CONVERSATION_API_LIMITS.maxMembers)
  @ValidateNested({ each: true })
  @Type(() => MemberInput)
  members!: MemberInput[];
}

@InputType()
export class AddMemberInput {
  @Field(() => ID)
  @IsUUID()
  conversationId!: string;

  @Field(() => ParticipantInput)
  @ValidateNested()
  @Type(() => ParticipantInput)
  member!: ParticipantInput;

  @Field(() => MemberRoleEnum, { defaultValue: 'member' })
  @IsIn(MEMBER_ROLES)
  role!: MemberRole;
}

@InputType()
export class RemoveMemberInput {
  @Field(() => ID)
  @IsUUID()
  conversationId!: string;

  @Field(() => ID)
  @IsMemberId()
  memberId!: string;
}

@InputType()
export class ChangeMemberRoleInput {
  @Field(() => ID)
  @IsUUID()
  conversationId!: string;

  @Field(() => ID)
  @IsMemberId()
  memberId!: string;

  @Field(() => MemberRoleEnum)
  @IsIn(MEMBER_ROLES)
  role!: MemberRole;
}

@InputType()
export class RenameConversationInput {
  @Field(() => ID)
  @IsUUID()
  conversationId!: string;

  @Field(() => String)
  @IsString()
  @IsNotEmpty()
  @MaxLength(CONVERSATION_API_LIMITS.maxTitleChars)
  @IsWellFormedText()
  title!: string;
}
