import type { PushEnvironment, PushPlatform } from '../domain/push.events';

/** A device as its owner sees it. The token is never shown again once registered. */
export interface DeviceView {
  readonly deviceId: string;
  readonly platform: PushPlatform;
  readonly environment: PushEnvironment;
  readonly appId: string;
  readonly registeredAt: Date;
}

export interface MuteView {
  readonly conversationId: string;
  /** Null: muted for good. */
  readonly until: Date | null;
}

/**
 * Reads of the push read models (projections/push.projection.ts): a user's devices, do not
 * disturb and mutes. No access check: PushQueries makes it.
 *
 * Every adapter guarantees: each method is one statement, scoped to the tenant and user given;
 * "now" is the `now` given (a do-not-disturb or mute that ended before it does not count); it
 * follows the projection as it is (a change a moment ago may not show yet).
 */
export interface PushSettingsReads {
  /** The user's devices, oldest registration first. */
  devices(tenantId: string, userId: string): Promise<DeviceView[]>;
  /** The user's do not disturb when it is on at `now` (`until` null: until cleared). */
  doNotDisturb(
    tenantId: string,
    userId: string,
    now: Date,
  ): Promise<{ readonly until: Date | null } | undefined>;
  /** Mutes in force at `now`, by conversation id, at most `limit`. */
  mutes(tenantId: string, userId: string, now: Date, limit: number): Promise<MuteView[]>;
  /** Ids of the conversations muted at `now`, at most `limit`, in no order. */
  mutedConversationIds(
    tenantId: string,
    userId: string,
    now: Date,
    limit: number,
  ): Promise<string[]>;
}
