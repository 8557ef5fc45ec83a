import { registerEnumType } from '@nestjs/graphql';
import type { ConversationActor, MemberRole, ParticipantKind } from '../domain/conversation.events';

// GraphQL enum names (UPPER_CASE) mapped to the domain's values: resolvers receive and return the
// domain's own strings.

export const MemberRoleEnum = {
  OWNER: 'owner',
  MODERATOR: 'moderator',
  MEMBER: 'member',
} as const satisfies Record<string, MemberRole>;

registerEnumType(MemberRoleEnum, {
  name: 'MemberRole',
  description: 'A member’s role inside one conversation (not a tenant-level role).',
});

export const ParticipantKindEnum = {
  USER: 'user',
  AGENT: 'agent',
} as const satisfies Record<string, ParticipantKind>;

registerEnumType(ParticipantKindEnum, {
  name: 'ParticipantKind',
  description: 'Who can be a member: an end user, or an AI agent under its own identity.',
});

export const ActorKindEnum = {
  USER: 'user',
  AGENT: 'agent',
  SERVICE: 'service',
} as const satisfies Record<string, ConversationActor['kind']>;

registerEnumType(ActorKindEnum, {
  name: 'ActorKind',
  description: 'Who did something: a user, an agent, or a backend service (never a member).',
});

export const ConversationKindEnum = { DIRECT: 'direct', GROUP: 'group' } as const;

registerEnumType(ConversationKindEnum, { name: 'ConversationKind' });

/** Whether a text (a message, a version, a title) can be shown. */
export const ContentStatusEnum = {
  AVAILABLE: 'available',
  REDACTED: 'redacted',
  SHREDDED: 'shredded',
  INTEGRITY_FAILED: 'integrity_failed',
  WITHHELD: 'withheld',
} as const;

export type ContentStatus = (typeof ContentStatusEnum)[keyof typeof ContentStatusEnum];

registerEnumType(ContentStatusEnum, {
  name: 'ContentStatus',
  description:
    'AVAILABLE: the text is shown. REDACTED: removed by its author or a moderator. SHREDDED: its key was destroyed (retention); the text no longer exists anywhere. INTEGRITY_FAILED: its stored event was altered (it fails its own seal): not shown, the read is recorded as failed, and the rest of the page is shown as its own seals verify. WITHHELD: there, but not shown to an auditor who did not ask for content (minimum necessary).',
});
