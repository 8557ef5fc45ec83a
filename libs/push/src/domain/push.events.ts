/**
 * Events of a user's push stream (`push:<tenantId>:<user>`): their devices and their notification
 * preferences. `data` is sealed as a whole by the ledger: the device token (it identifies a
 * person's phone) lives here and only here.
 */

export const PUSH_PLATFORMS = ['apns', 'fcm'] as const;
/** APNs (iOS, macOS) or Firebase Cloud Messaging (Android, web). */
export type PushPlatform = (typeof PUSH_PLATFORMS)[number];

export const PUSH_ENVIRONMENTS = ['production', 'sandbox'] as const;
/** Which gateway the token belongs to (APNs tokens of a development build are sandbox tokens). */
export type PushEnvironment = (typeof PUSH_ENVIRONMENTS)[number];

/** Why a device stopped receiving pushes. */
export const UNREGISTER_REASONS = ['user', 'provider_rejected'] as const;
export type UnregisterReason = (typeof UNREGISTER_REASONS)[number];

interface PushEventBase {
  readonly tenantId: string;
  readonly userId: string;
  /** ISO 8601 time of the decision. */
  readonly at: string;
}

type Versioned<Type extends string, V extends number, Data> = {
  readonly type: Type;
  readonly v: V;
  readonly data: PushEventBase & Readonly<Data>;
};

export type PushDeviceRegistered = Versioned<
  'PushDeviceRegistered',
  1,
  {
    deviceId: string;
    platform: PushPlatform;
    environment: PushEnvironment;
    appId: string;
    /** The provider's token, normalised (sealed with the event; read models keep only its revision). */
    token: string;
  }
>;

export type PushDeviceUnregistered = Versioned<
  'PushDeviceUnregistered',
  1,
  { deviceId: string; reason: UnregisterReason }
>;

/** `until`: ISO time the mute ends; null for good. */
export type ConversationMuted = Versioned<
  'ConversationMuted',
  1,
  { conversationId: string; until: string | null }
>;

export type ConversationUnmuted = Versioned<'ConversationUnmuted', 1, { conversationId: string }>;

/** Do not disturb: no push at all until `until` (null: until cleared). */
export type DoNotDisturbSet = Versioned<'DoNotDisturbSet', 1, { until: string | null }>;

export type DoNotDisturbCleared = Versioned<'DoNotDisturbCleared', 1, object>;

export type PushEvent =
  | PushDeviceRegistered
  | PushDeviceUnregistered
  | ConversationMuted
  | ConversationUnmuted
  | DoNotDisturbSet
  | DoNotDisturbCleared;

export type PushEventType = PushEvent['type'];

export const PUSH_EVENT_VERSIONS = {
  PushDeviceRegistered: 1,
  PushDeviceUnregistered: 1,
  ConversationMuted: 1,
  ConversationUnmuted: 1,
  DoNotDisturbSet: 1,
  DoNotDisturbCleared: 1,
} as const satisfies { [T in PushEventType]: Extract<PushEvent, { type: T }>['v'] };
