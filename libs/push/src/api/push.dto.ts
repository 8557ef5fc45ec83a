import { ArgsType, Field, ID, ObjectType, registerEnumType } from '@nestjs/graphql';
import { IsDate, IsIn, IsOptional, IsString, IsUUID, Length, Matches } from 'class-validator';
import type { PushEnvironment, PushPlatform } from '../domain/push.events';
import type { DeviceView, PushSettingsView } from '../application/push-queries';

export const PushPlatformEnum = { APNS: 'apns', FCM: 'fcm' } as const satisfies Record<
  string,
  PushPlatform
>;
registerEnumType(PushPlatformEnum, {
  name: 'PushPlatform',
  description: 'APNs (iOS, macOS) or Firebase Cloud Messaging (Android, web).',
});

export const PushEnvironmentEnum = {
  PRODUCTION: 'production',
  SANDBOX: 'sandbox',
} as const satisfies Record<string, PushEnvironment>;
registerEnumType(PushEnvironmentEnum, {
  name: 'PushEnvironment',
  description: 'Which gateway the token belongs to (APNs development builds: SANDBOX).',
});

@ObjectType('PushDevice', {
  description: 'A device of the caller that receives push notifications. Its token is never shown.',
})
export class PushDeviceDto {
  @Field(() => ID)
  deviceId!: string;
  @Field(() => PushPlatformEnum)
  platform!: PushPlatform;
  @Field(() => PushEnvironmentEnum)
  environment!: PushEnvironment;
  @Field(() => String, { description: 'The app’s bundle id or package name.' })
  appId!: string;
  @Field(() => Date)
  registeredAt!: Date;
}

@ObjectType('PushMute')
export class PushMuteDto {
  @Field(() => ID)
  conversationId!: string;
  @Field(() => Date, { nullable: true, description: 'When the mute ends; null: muted for good.' })
  until!: Date | null;
}

@ObjectType('PushSettings', { description: 'The caller’s notification preferences.' })
export class PushSettingsDto {
  @Field(() => Boolean, { description: 'Do not disturb is on: no push at all.' })
  doNotDisturb!: boolean;
  @Field(() => Date, {
    nullable: true,
    description: 'When do not disturb ends (null: until cleared).',
  })
  doNotDisturbUntil!: Date | null;
  @Field(() => [PushMuteDto], { description: 'Conversations muted now.' })
  mutes!: PushMuteDto[];
}

@ArgsType()
export class RegisterPushDeviceArgs {
  @Field(() => PushPlatformEnum)
  @IsIn(Object.values(PushPlatformEnum))
  platform!: PushPlatform;

  @Field(() => PushEnvironmentEnum)
  @IsIn(Object.values(PushEnvironmentEnum))
  environment!: PushEnvironment;

  @Field(() => String)
  @IsString()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._-]{0,154}$/)
  appId!: string;

  @Field(() => String, {
    description: 'APNs: the device token in hex. FCM: the registration token.',
  })
  @IsString()
  @Length(32, 4096)
  token!: string;
}

@ArgsType()
export class PushDeviceArgs {
  @Field(() => ID)
  @IsUUID()
  deviceId!: string;
}

/** Conversation ids as the conversations API takes them. */
const CONVERSATION_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;

@ArgsType()
export class MuteConversationArgs {
  @Field(() => ID)
  @Matches(CONVERSATION_ID)
  conversationId!: string;

  @Field(() => Date, { nullable: true, description: 'When the mute ends; omitted: for good.' })
  @IsOptional()
  @IsDate()
  until?: Date;
}

@ArgsType()
export class ConversationRefArgs {
  @Field(() => ID)
  @Matches(CONVERSATION_ID)
  conversationId!: string;
}

@ArgsType()
export class DoNotDisturbArgs {
  @Field(() => Date, { nullable: true, description: 'When it ends; omitted: until cleared.' })
  @IsOptional()
  @IsDate()
  until?: Date;
}

export const toDeviceDto = (d: DeviceView): PushDeviceDto => ({ ...d });

export const toSettingsDto = (s: PushSettingsView): PushSettingsDto => ({
  doNotDisturb: s.doNotDisturb,
  doNotDisturbUntil: s.doNotDisturbUntil,
  mutes: s.mutes.map((m) => ({ conversationId: m.conversationId, until: m.until })),
});
