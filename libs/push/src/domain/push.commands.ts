import type { PushEnvironment, PushPlatform, UnregisterReason } from './push.events';

interface PushCommandBase {
  readonly tenantId: string;
  readonly userId: string;
}

type Command<Type extends string, Data> = {
  readonly type: Type;
  readonly data: PushCommandBase & Readonly<Data>;
};

/** `token` as the app sent it; the decider normalises and checks it for its platform. */
export type RegisterDevice = Command<
  'RegisterDevice',
  { platform: PushPlatform; environment: PushEnvironment; appId: string; token: string }
>;

export type UnregisterDevice = Command<
  'UnregisterDevice',
  { deviceId: string; reason: UnregisterReason }
>;

/** `until` unset: muted for good. */
export type MuteConversation = Command<
  'MuteConversation',
  { conversationId: string; until?: Date }
>;

export type UnmuteConversation = Command<'UnmuteConversation', { conversationId: string }>;

/** `until` unset: until cleared. */
export type SetDoNotDisturb = Command<'SetDoNotDisturb', { until?: Date }>;

export type ClearDoNotDisturb = Command<'ClearDoNotDisturb', object>;

export type PushCommand =
  | RegisterDevice
  | UnregisterDevice
  | MuteConversation
  | UnmuteConversation
  | SetDoNotDisturb
  | ClearDoNotDisturb;

export interface PushLimits {
  /** Devices one user may hold (default 20). */
  readonly maxDevicesPerUser: number;
  /** Conversations one user may mute at once (default 1 000). */
  readonly maxMutesPerUser: number;
  /** How far ahead a mute or do-not-disturb may end (default 366 days). */
  readonly maxUntilMs: number;
}

export const DEFAULT_PUSH_LIMITS: PushLimits = {
  maxDevicesPerUser: 20,
  maxMutesPerUser: 1_000,
  maxUntilMs: 366 * 24 * 3_600_000,
};

export interface PushContext {
  readonly now: Date;
  readonly limits: PushLimits;
}
