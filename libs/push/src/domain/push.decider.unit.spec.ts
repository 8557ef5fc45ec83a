import { DeciderSpecification } from '@ledgerline/testing';
import { DEFAULT_PUSH_LIMITS, type PushCommand, type PushContext } from './push.commands';
import { pushDecider, type PushState } from './push.decider';
import { InvalidPushInput, PushDeviceNotFoundError } from './push.errors';
import type { PushEvent } from './push.events';
import { deviceIdOf } from './push-tokens';

const NOW = new Date('2026-12-01T10:00:00.000Z');
const at = NOW.toISOString();
const ids = { tenantId: 't1', userId: 'alice' };
const TOKEN = 'a1'.repeat(32);
const DEVICE = deviceIdOf('t1', 'apns', TOKEN);

const spec = DeciderSpecification.for<PushCommand, PushEvent, PushState, PushContext>(
  {
    decide: pushDecider.decide,
    evolve: pushDecider.evolve,
    initialState: pushDecider.initialState,
  },
  () => ({
    now: NOW,
    limits: { ...DEFAULT_PUSH_LIMITS, maxDevicesPerUser: 2, maxMutesPerUser: 1 },
  }),
);

const register = (token = TOKEN, appId = 'org.example.ward'): PushCommand => ({
  type: 'RegisterDevice',
  data: { ...ids, platform: 'apns', environment: 'sandbox', appId, token },
});
const registered = (token = TOKEN, appId = 'org.example.ward'): PushEvent => ({
  type: 'PushDeviceRegistered',
  v: 1,
  data: {
    ...ids,
    at,
    deviceId: deviceIdOf('t1', 'apns', token.toLowerCase()),
    platform: 'apns',
    environment: 'sandbox',
    appId,
    token: token.toLowerCase(),
  },
});

describe('push decider', () => {
  describe('RegisterDevice', () => {
    it('registers a device, its token normalised, its id derived from tenant, platform and token', () => {
      spec
        .given([])
        .when(register(TOKEN.toUpperCase()))
        .then([registered(TOKEN)]);
    });

    it('is a no-op for the same device as registered, and registers again when the app id changes', () => {
      spec.given([registered()]).when(register()).thenNothingHappened();
      spec
        .given([registered()])
        .when(register(TOKEN, 'org.example.other'))
        .then([registered(TOKEN, 'org.example.other')]);
    });

    it('refuses a token of the wrong shape, naming the field but not the value', () => {
      spec
        .given([])
        .when(register('zz'.repeat(32)))
        .thenThrows(InvalidPushInput, (e) => {
          expect(e.message).toBe('token: invalid_format');
        });
    });

    it('refuses a device past the limit', () => {
      spec
        .given([registered('b1'.repeat(32)), registered('c1'.repeat(32))])
        .when(register())
        .thenThrows('too_many_devices');
    });
  });

  describe('UnregisterDevice', () => {
    it('removes the user’s own device', () => {
      spec
        .given([registered()])
        .when({ type: 'UnregisterDevice', data: { ...ids, deviceId: DEVICE, reason: 'user' } })
        .then([
          {
            type: 'PushDeviceUnregistered',
            v: 1,
            data: { ...ids, at, deviceId: DEVICE, reason: 'user' },
          },
        ]);
    });

    it('answers not found for a device the user does not have, and ignores a provider’s report of one', () => {
      spec
        .given([])
        .when({ type: 'UnregisterDevice', data: { ...ids, deviceId: DEVICE, reason: 'user' } })
        .thenThrows(PushDeviceNotFoundError);
      spec
        .given([])
        .when({
          type: 'UnregisterDevice',
          data: { ...ids, deviceId: DEVICE, reason: 'provider_rejected' },
        })
        .thenNothingHappened();
    });
  });

  describe('mutes and do-not-disturb', () => {
    const until = new Date(NOW.getTime() + 3_600_000);
    it('mutes until a time, or for good; the same mute again is a no-op', () => {
      spec
        .given([])
        .when({ type: 'MuteConversation', data: { ...ids, conversationId: 'c1', until } })
        .then([
          {
            type: 'ConversationMuted',
            v: 1,
            data: { ...ids, at, conversationId: 'c1', until: until.toISOString() },
          },
        ]);
      spec
        .given([
          {
            type: 'ConversationMuted',
            v: 1,
            data: { ...ids, at, conversationId: 'c1', until: null },
          },
        ])
        .when({ type: 'MuteConversation', data: { ...ids, conversationId: 'c1' } })
        .thenNothingHappened();
    });

    it('refuses an end in the past, too far ahead, or past the mute limit', () => {
      spec
        .given([])
        .when({ type: 'MuteConversation', data: { ...ids, conversationId: 'c1', until: NOW } })
        .thenThrows(InvalidPushInput, (e) =>
          expect((e as InvalidPushInput).problem).toBe('in_the_past'),
        );
      spec
        .given([])
        .when({
          type: 'SetDoNotDisturb',
          data: { ...ids, until: new Date(NOW.getTime() + 400 * 86_400_000) },
        })
        .thenThrows(InvalidPushInput);
      spec
        .given([
          {
            type: 'ConversationMuted',
            v: 1,
            data: { ...ids, at, conversationId: 'c1', until: null },
          },
        ])
        .when({ type: 'MuteConversation', data: { ...ids, conversationId: 'c2' } })
        .thenThrows('too_many_mutes');
    });

    it('unmutes and clears do-not-disturb only when set', () => {
      spec
        .given([])
        .when({ type: 'UnmuteConversation', data: { ...ids, conversationId: 'c1' } })
        .thenNothingHappened();
      spec.given([]).when({ type: 'ClearDoNotDisturb', data: ids }).thenNothingHappened();
      spec
        .given([{ type: 'DoNotDisturbSet', v: 1, data: { ...ids, at, until: null } }])
        .when({ type: 'ClearDoNotDisturb', data: ids })
        .then([{ type: 'DoNotDisturbCleared', v: 1, data: { ...ids, at } }]);
    });
  });
});
