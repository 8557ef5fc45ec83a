import { ArgsType, Field, ID, ObjectType, registerEnumType } from '@nestjs/graphql';
import { IsIn, IsOptional, IsUUID, Matches } from 'class-validator';
import { encodePosition } from '@ledgerline/kernel';
import type { PresenceStatus } from '../domain/presence.events';
import type { PresenceView, TypingSignal } from '../application/presence-views';

// GraphQL enum names (UPPER_CASE) mapped to the domain's values.

export const PresenceStatusEnum = {
  ONLINE: 'online',
  AWAY: 'away',
  OFFLINE: 'offline',
} as const satisfies Record<string, PresenceStatus>;

registerEnumType(PresenceStatusEnum, {
  name: 'PresenceStatus',
  description: 'Connected and active, connected but away, or not connected anywhere.',
});

export const SettablePresenceStatusEnum = {
  ONLINE: 'online',
  AWAY: 'away',
} as const satisfies Record<string, 'online' | 'away'>;

registerEnumType(SettablePresenceStatusEnum, {
  name: 'SettablePresenceStatus',
  description: 'What a connected client may say: away, or back (online).',
});

/** Member ids: printable ASCII without spaces, `<` or `>`. */
const MEMBER_ID = /^[!-;=?-~]{1,128}$/;

@ObjectType('Presence', {
  description:
    'A user’s presence as the caller may see it: their own, or of someone they share a conversation with.',
})
export class PresenceDto {
  @Field(() => ID)
  userId!: string;

  @Field(() => PresenceStatusEnum)
  status!: PresenceStatus;

  @Field(() => Date, { nullable: true, description: 'When the current status began.' })
  since!: Date | null;

  @Field(() => Date, {
    nullable: true,
    description: 'Offline: when the user was last connected anywhere. Null while connected.',
  })
  lastSeenAt!: Date | null;

  @Field(() => String, {
    nullable: true,
    description:
      'Position token of the presence event this is as of (ascending); null if never seen.',
  })
  position!: string | null;
}

@ObjectType('TypingSignal', {
  description:
    'Someone is typing in a conversation, until `expiresAt` unless another signal renews it. Never stored.',
})
export class TypingSignalDto {
  @Field(() => ID)
  conversationId!: string;

  @Field(() => ID)
  userId!: string;

  @Field(() => Date)
  expiresAt!: Date;
}

@ArgsType()
export class PresenceArgs {
  @Field(() => ID)
  @Matches(MEMBER_ID)
  userId!: string;
}

@ArgsType()
export class SetPresenceArgs {
  @Field(() => SettablePresenceStatusEnum)
  @IsIn(Object.values(SettablePresenceStatusEnum))
  status!: 'online' | 'away';
}

@ArgsType()
export class SendTypingArgs {
  @Field(() => ID)
  @IsUUID()
  conversationId!: string;
}

@ArgsType()
export class TypingArgs {
  @Field(() => ID, {
    nullable: true,
    description: 'Only this conversation’s signals; all of the caller’s conversations when absent.',
  })
  @IsOptional()
  @IsUUID()
  conversationId?: string | null;
}

export function toPresenceDto(view: PresenceView): PresenceDto {
  return {
    userId: view.userId,
    status: view.status,
    since: view.since ?? null,
    lastSeenAt: view.lastSeenAt ?? null,
    position: view.position === undefined ? null : encodePosition(view.position),
  };
}

export function toTypingSignalDto(signal: TypingSignal): TypingSignalDto {
  return {
    conversationId: signal.conversationId,
    userId: signal.userId,
    expiresAt: signal.expiresAt,
  };
}
