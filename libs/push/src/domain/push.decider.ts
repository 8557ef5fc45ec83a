import { isValidConversationId } from '@ledgerline/conversations';
import type { PushCommand, PushContext } from './push.commands';
import {
  InvalidPushInput,
  PushDeviceNotFoundError,
  PushRefusalReason,
  PushRefused,
} from './push.errors';
import type { PushEnvironment, PushEvent, PushPlatform } from './push.events';
import { PUSH_ENVIRONMENTS, PUSH_PLATFORMS } from './push.events';
import { assertAppId, deviceIdOf, normaliseToken } from './push-tokens';

export interface DeviceState {
  readonly platform: PushPlatform;
  readonly environment: PushEnvironment;
  readonly appId: string;
}

/** A user's devices and preferences, folded from their push stream. */
export interface PushState {
  readonly devices: ReadonlyMap<string, DeviceState>;
  /** Muted conversations: when the mute ends (ISO), or null for good. */
  readonly mutes: ReadonlyMap<string, string | null>;
  /** Do not disturb: when it ends (ISO), null until cleared; undefined when off. */
  readonly doNotDisturb: { readonly until: string | null } | undefined;
}

export const initialPushState = (): PushState => ({
  devices: new Map(),
  mutes: new Map(),
  doNotDisturb: undefined,
});

/**
 * Decides a user's push commands. Who may issue them is checked before (`push.manage`, and a user
 * acts only on their own stream); here:
 *
 * | command             | refused when                                   | no-op when                 |
 * |---------------------|------------------------------------------------|----------------------------|
 * | RegisterDevice      | token of the wrong shape, too many devices     | registered as it is        |
 * | UnregisterDevice    | not the user's device (by the user)            | gone already (by provider) |
 * | MuteConversation    | until in the past or too far, too many mutes   | muted the same already     |
 * | UnmuteConversation  | —                                              | not muted                  |
 * | SetDoNotDisturb     | until in the past or too far                   | set the same already       |
 * | ClearDoNotDisturb   | —                                              | off                        |
 */
export function decidePush(
  command: PushCommand,
  state: PushState,
  context: PushContext,
): PushEvent[] {
  const base = {
    tenantId: command.data.tenantId,
    userId: command.data.userId,
    at: context.now.toISOString(),
  };
  switch (command.type) {
    case 'RegisterDevice': {
      const { platform, environment, appId } = command.data;
      if (!PUSH_PLATFORMS.includes(platform))
        throw new InvalidPushInput('platform', 'invalid_value');
      if (!PUSH_ENVIRONMENTS.includes(environment)) {
        throw new InvalidPushInput('environment', 'invalid_value');
      }
      assertAppId(appId);
      const token = normaliseToken(platform, command.data.token);
      const deviceId = deviceIdOf(command.data.tenantId, platform, token);
      const known = state.devices.get(deviceId);
      if (known && known.appId === appId && known.environment === environment) return [];
      if (!known && state.devices.size >= context.limits.maxDevicesPerUser) {
        throw new PushRefused(PushRefusalReason.TooManyDevices);
      }
      return [
        {
          type: 'PushDeviceRegistered',
          v: 1,
          data: { ...base, deviceId, platform, environment, appId, token },
        },
      ];
    }
    case 'UnregisterDevice': {
      if (!state.devices.has(command.data.deviceId)) {
        if (command.data.reason === 'user') throw new PushDeviceNotFoundError();
        return [];
      }
      return [
        {
          type: 'PushDeviceUnregistered',
          v: 1,
          data: { ...base, deviceId: command.data.deviceId, reason: command.data.reason },
        },
      ];
    }
    case 'MuteConversation': {
      const { conversationId } = command.data;
      assertConversationId(conversationId);
      const until = untilOf(command.data.until, context);
      if (state.mutes.has(conversationId) && state.mutes.get(conversationId) === until) return [];
      if (!state.mutes.has(conversationId) && state.mutes.size >= context.limits.maxMutesPerUser) {
        throw new PushRefused(PushRefusalReason.TooManyMutes);
      }
      return [{ type: 'ConversationMuted', v: 1, data: { ...base, conversationId, until } }];
    }
    case 'UnmuteConversation': {
      assertConversationId(command.data.conversationId);
      if (!state.mutes.has(command.data.conversationId)) return [];
      return [
        {
          type: 'ConversationUnmuted',
          v: 1,
          data: { ...base, conversationId: command.data.conversationId },
        },
      ];
    }
    case 'SetDoNotDisturb': {
      const until = untilOf(command.data.until, context);
      if (state.doNotDisturb?.until === until) return [];
      return [{ type: 'DoNotDisturbSet', v: 1, data: { ...base, until } }];
    }
    case 'ClearDoNotDisturb':
      if (!state.doNotDisturb) return [];
      return [{ type: 'DoNotDisturbCleared', v: 1, data: base }];
  }
}

export function evolvePush(state: PushState, event: PushEvent): PushState {
  switch (event.type) {
    case 'PushDeviceRegistered': {
      const devices = new Map(state.devices);
      const { platform, environment, appId } = event.data;
      devices.set(event.data.deviceId, { platform, environment, appId });
      return { ...state, devices };
    }
    case 'PushDeviceUnregistered': {
      const devices = new Map(state.devices);
      devices.delete(event.data.deviceId);
      return { ...state, devices };
    }
    case 'ConversationMuted': {
      const mutes = new Map(state.mutes);
      mutes.set(event.data.conversationId, event.data.until);
      return { ...state, mutes };
    }
    case 'ConversationUnmuted': {
      const mutes = new Map(state.mutes);
      mutes.delete(event.data.conversationId);
      return { ...state, mutes };
    }
    case 'DoNotDisturbSet':
      return { ...state, doNotDisturb: { until: event.data.until } };
    case 'DoNotDisturbCleared':
      return { ...state, doNotDisturb: undefined };
  }
}

export const pushDecider = {
  decide: decidePush,
  evolve: evolvePush,
  initialState: initialPushState,
};

function assertConversationId(conversationId: unknown): void {
  if (typeof conversationId !== 'string' || !isValidConversationId(conversationId)) {
    throw new InvalidPushInput('conversationId', 'invalid_format');
  }
}

/** A time a mute or do-not-disturb ends, checked: ahead of now, within the limit. */
function untilOf(until: Date | undefined, context: PushContext): string | null {
  if (until === undefined) return null;
  if (!(until instanceof Date) || Number.isNaN(until.getTime())) {
    throw new InvalidPushInput('until', 'invalid_value');
  }
  const ahead = until.getTime() - context.now.getTime();
  if (ahead <= 0) throw new InvalidPushInput('until', 'in_the_past');
  if (ahead > context.limits.maxUntilMs) throw new InvalidPushInput('until', 'invalid_value');
  return until.toISOString();
}
