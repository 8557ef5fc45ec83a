import { ArgsType, Field, ID, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import {
  IsOptional,
  IsString,
  IsUUID,
  MaxLength,
  ValidateBy,
  type ValidationOptions,
} from 'class-validator';
import { parseAsOf } from '@ledgerline/kernel';
import { MAX_CONTENT_REASON_CHARS } from '../auditor/content-reason';
import type {
  ReplayedActorKind,
  ReplayedMemberRole,
  ReplayedParticipantKind,
} from '../auditor/conversation-replay.port';
import { auditHistoryListCost } from './audit-api.config';
import { AuditActorKindEnum } from './audit-log.dto';

// ---- enums -------------------------------------------------------------------------------------
// The auditor's own names for what the history shows (the conversations' API has its own enums,
// with the same values): libs/audit does not import libs/conversations.

/** Whether a text (a message, a version, a title) can be shown. */
export const AuditContentStatusEnum = {
  AVAILABLE: 'available',
  REDACTED: 'redacted',
  SHREDDED: 'shredded',
  INTEGRITY_FAILED: 'integrity_failed',
  WITHHELD: 'withheld',
} as const;

export type AuditContentStatus =
  (typeof AuditContentStatusEnum)[keyof typeof AuditContentStatusEnum];

registerEnumType(AuditContentStatusEnum, {
  name: 'AuditContentStatus',
  description:
    'AVAILABLE: the text is shown. REDACTED: removed by its author or a moderator. SHREDDED: its key was destroyed (retention); the text no longer exists anywhere. INTEGRITY_FAILED: its stored event was altered (it fails its own seal); not shown. WITHHELD: there, but not shown to an auditor who did not ask for content (minimum necessary).',
});

export const AuditMemberRoleEnum = {
  OWNER: 'owner',
  MODERATOR: 'moderator',
  MEMBER: 'member',
} as const satisfies Record<string, ReplayedMemberRole>;

registerEnumType(AuditMemberRoleEnum, {
  name: 'AuditMemberRole',
  description: 'A member’s role inside one conversation (not a tenant-level role).',
});

export const AuditParticipantKindEnum = {
  USER: 'user',
  AGENT: 'agent',
} as const satisfies Record<string, ReplayedParticipantKind>;

registerEnumType(AuditParticipantKindEnum, {
  name: 'AuditParticipantKind',
  description: 'Who can be a member: an end user, or an AI agent under its own identity.',
});

export const AuditConversationKindEnum = { DIRECT: 'direct', GROUP: 'group' } as const;

registerEnumType(AuditConversationKindEnum, { name: 'AuditConversationKind' });

// The auditor's view of a conversation's whole history: text as it was, edited and redacted
// content included, and what could no longer be read.

/** An `asOf` the replay accepts: a position token, or an ISO 8601 time with its zone. */
export function IsAsOf(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isAsOf',
      validator: {
        validate: (value: unknown) => typeof value === 'string' && parseAsOf(value) !== undefined,
        defaultMessage: () => 'must be an ISO 8601 time with its zone or a position token',
      },
    },
    options,
  );
}

@ArgsType()
export class AuditConversationHistoryArgs {
  @Field(() => ID)
  @IsUUID()
  conversationId!: string;

  @Field(() => String, {
    nullable: true,
    description:
      'The moment: an ISO 8601 time with its zone (events recorded at or before it) or a position token (events at or before it). Default: now.',
  })
  @IsOptional()
  @IsAsOf()
  asOf?: string;

  @Field(() => String, {
    nullable: true,
    description: `Why the content is needed (a case or request number, not patient details; at most ${MAX_CONTENT_REASON_CHARS} characters). Given, the answer includes message content: it needs the \`audit.content\` permission, and the reason is kept in the access record. Absent, content is WITHHELD.`,
  })
  @IsOptional()
  @IsString()
  @MaxLength(MAX_CONTENT_REASON_CHARS)
  contentReason?: string;
}

@ObjectType({ description: 'One time a member was in the conversation.' })
export class AuditHistoryMembership {
  @Field(() => Date)
  joinedAt!: Date;

  @Field(() => ID)
  addedBy!: string;

  @Field(() => Date, { nullable: true })
  leftAt!: Date | null;

  @Field(() => Boolean, {
    nullable: true,
    description: 'True when removed by someone else, false when they left; null while a member.',
  })
  removed!: boolean | null;

  @Field(() => ID, { nullable: true })
  removedBy!: string | null;
}

@ObjectType({ description: 'Someone who was a member at some point up to the moment.' })
export class AuditHistoryMember {
  @Field(() => ID)
  id!: string;

  @Field(() => AuditParticipantKindEnum)
  kind!: ReplayedParticipantKind;

  @Field(() => AuditMemberRoleEnum, { description: 'The role then, or the last one held.' })
  role!: ReplayedMemberRole;

  @Field(() => Boolean, { description: 'A member at the moment.' })
  isMember!: boolean;

  @Field(() => [AuditHistoryMembership])
  memberships!: AuditHistoryMembership[];
}

@ObjectType({ description: 'One version of a message: 0 as sent, then each edit.' })
export class AuditHistoryVersion {
  @Field(() => Int)
  editNumber!: number;

  @Field(() => Date)
  at!: Date;

  @Field(() => ID)
  editorId!: string;

  @Field(() => AuditContentStatusEnum, {
    description: 'AVAILABLE, or SHREDDED when its key is gone.',
  })
  contentStatus!: AuditContentStatus;

  @Field(() => String, { nullable: true })
  text!: string | null;
}

@ObjectType()
export class AuditHistoryRedaction {
  @Field(() => Date)
  at!: Date;

  @Field(() => ID, { nullable: true })
  redactedBy!: string | null;

  @Field(() => String, { nullable: true, description: 'Why, as the redactor wrote it.' })
  reason!: string | null;
}

@ObjectType()
export class AuditHistoryReaction {
  @Field(() => String)
  emoji!: string;

  @Field(() => [ID])
  memberIds!: string[];
}

@ObjectType({
  description:
    'A message as it stood at the moment, for an auditor: a redacted message keeps its text and versions.',
})
export class AuditHistoryMessage {
  @Field(() => ID, {
    nullable: true,
    description: 'Null when its event was shredded and no read model still names it.',
  })
  id!: string | null;

  @Field(() => ID)
  eventId!: string;

  @Field(() => Int, { nullable: true })
  sequence!: number | null;

  @Field(() => ID)
  authorId!: string;

  @Field(() => AuditActorKindEnum)
  authorKind!: ReplayedActorKind;

  @Field(() => Date)
  sentAt!: Date;

  @Field(() => ID, { nullable: true })
  threadRootId!: string | null;

  @Field(() => String, { description: 'The position token of its event.' })
  position!: string;

  @Field(() => AuditContentStatusEnum, { description: 'Of its text at the moment.' })
  contentStatus!: AuditContentStatus;

  @Field(() => String, { nullable: true, description: 'Its text at the moment.' })
  text!: string | null;

  @Field(() => [AuditHistoryVersion])
  versions!: AuditHistoryVersion[];

  @Field(() => AuditHistoryRedaction, { nullable: true })
  redaction!: AuditHistoryRedaction | null;

  @Field(() => [AuditHistoryReaction])
  reactions!: AuditHistoryReaction[];

  @Field(() => Boolean, { description: 'Some of its reaction events were shredded.' })
  reactionsIncomplete!: boolean;

  @Field(() => Int, { description: 'Edits after the moment (not applied).' })
  editedLater!: number;

  @Field(() => Date, { nullable: true, description: 'When it was redacted after the moment.' })
  redactedLater!: Date | null;
}

@ObjectType({
  description:
    'An event up to the moment that could not be used: shredded with nothing naming what it was about, or about a message whose own event was shredded.',
})
export class AuditHistoryGap {
  @Field(() => ID)
  eventId!: string;

  @Field(() => String)
  type!: string;

  @Field(() => Date)
  recordedAt!: Date;

  @Field(() => ID, { nullable: true })
  actorId!: string | null;

  @Field(() => String, { description: '`key_shredded` or `message_unknown`.' })
  reason!: string;
}

@ObjectType({
  description:
    'A conversation’s full history as of a moment, for an auditor, rebuilt from the sealed events.',
})
export class AuditConversationHistory {
  @Field(() => ID)
  conversationId!: string;

  @Field(() => String, { description: 'The moment, as an ISO time, a position, or `now`.' })
  asOf!: string;

  @Field(() => Boolean, { description: 'Created at or before the moment.' })
  existed!: boolean;

  @Field(() => AuditConversationKindEnum, { nullable: true })
  kind!: 'direct' | 'group' | null;

  @Field(() => Date, { nullable: true })
  createdAt!: Date | null;

  @Field(() => ID, { nullable: true })
  createdBy!: string | null;

  @Field(() => AuditContentStatusEnum, {
    nullable: true,
    description: 'Null for a direct conversation.',
  })
  titleStatus!: AuditContentStatus | null;

  @Field(() => String, { nullable: true })
  title!: string | null;

  @Field(() => Boolean)
  archived!: boolean;

  @Field(() => [AuditHistoryMember])
  members!: AuditHistoryMember[];

  @Field(() => [AuditHistoryMessage], { complexity: auditHistoryListCost })
  messages!: AuditHistoryMessage[];

  @Field(() => [AuditHistoryGap], {
    description: 'Empty when the history is complete.',
  })
  gaps!: AuditHistoryGap[];

  @Field(() => String, {
    nullable: true,
    description: 'Position token of the last event folded.',
  })
  position!: string | null;
}
