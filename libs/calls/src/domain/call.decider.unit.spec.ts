import { DeciderSpecification } from '@ledgerline/testing';
import type { CallCommand } from './call.commands';
import { callDecider, nextDeadline } from './call.decider';
import { CallConversationNotFoundError, CallNotFoundError } from './call.errors';
import type { CallActor, CallEvent, CallEventBase } from './call.events';

const T0 = new Date('2026-05-01T09:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
const iso = (ms: number) => at(ms).toISOString();
const RING = 30_000;
const GRACE = 10_000;
const ids = { tenantId: 'clinic-a', callId: 'conv-1.0', conversationId: 'conv-1' };
const user = (id: string): CallActor => ({ id, kind: 'user' });
const system: CallActor = { id: 'calls', kind: 'system' };
const base = (actor: CallActor, ms: number): CallEventBase => ({ ...ids, actor, at: iso(ms) });

const spec = DeciderSpecification.for(callDecider);

function command<T extends CallCommand['type']>(
  type: T,
  actor: CallActor,
  ms: number,
  data: Omit<Extract<CallCommand, { type: T }>['data'], keyof CallEventBase>,
): CallCommand {
  return { type, data: { ...ids, actor, at: at(ms), ...data } } as CallCommand;
}

const member = { isMember: true, maySpeak: true };

function startDirect(ms = 0, extra: Partial<Record<string, unknown>> = {}): CallCommand {
  return command('StartCall', user('alice'), ms, {
    ...member,
    deviceId: 'a-phone',
    kind: 'direct',
    media: 'video',
    role: 'speaker',
    others: ['bob'],
    maxParticipants: 4,
    ringTimeoutMs: RING,
    ...extra,
  });
}

const started = (kind: 'direct' | 'group' = 'direct', ringing = ['bob']): CallEvent => ({
  type: 'CallStarted',
  v: 1,
  data: {
    ...base(user('alice'), 0),
    kind,
    media: 'video',
    maxParticipants: kind === 'direct' ? 4 : 3,
    initiator: { userId: 'alice', deviceId: 'a-phone', role: 'speaker' },
    ringing,
    ringUntil: iso(RING),
  },
});

const joined = (
  userId: string,
  deviceId: string,
  ms: number,
  via: 'accept' | 'join' = 'accept',
  role: 'speaker' | 'listener' = 'speaker',
): CallEvent => ({
  type: 'ParticipantJoined',
  v: 1,
  data: { ...base(user(userId), ms), userId, deviceId, role, via },
});

const left = (
  actor: CallActor,
  userId: string,
  deviceId: string,
  ms: number,
  reason: 'left' | 'connection_lost' | 'call_ended' | 'transport_timeout',
): CallEvent => ({
  type: 'ParticipantLeft',
  v: 1,
  data: { ...base(actor, ms), userId, deviceId, reason },
});

const ended = (
  actor: CallActor,
  ms: number,
  outcome: 'completed' | 'missed' | 'declined' | 'cancelled',
  participants: string[],
  durationMs: number,
  endedBy?: string,
): CallEvent => ({
  type: 'CallEnded',
  v: 1,
  data: {
    ...base(actor, ms),
    outcome,
    ...(endedBy ? { endedBy } : {}),
    durationMs,
    participants,
  },
});

const accept = (userId: string, deviceId: string, ms: number, extra = {}) =>
  command('AcceptCall', user(userId), ms, { ...member, deviceId, role: 'speaker', ...extra });
const join = (userId: string, deviceId: string, ms: number, extra = {}) =>
  command('JoinCall', user(userId), ms, { ...member, deviceId, role: 'speaker', ...extra });
const leave = (userId: string, deviceId: string, ms: number) =>
  command('LeaveCall', user(userId), ms, { deviceId, reason: 'left' });
const expire = (ms: number) => command('ExpireCallTimers', system, ms, {});

describe('call decider', () => {
  describe('start', () => {
    it('a direct call puts the caller in and rings the other member until the ring deadline', () => {
      spec.given([]).when(startDirect()).then([started()]);
    });

    it('a group call rings every other member', () => {
      spec
        .given([])
        .when(
          startDirect(0, { kind: 'group', others: ['bob', 'carol', 'alice'], maxParticipants: 3 }),
        )
        .then([started('group', ['bob', 'carol'])]);
    });

    it('an audio call is recorded as audio', () => {
      spec
        .given([])
        .when(startDirect(0, { media: 'audio' }))
        .then(({ events }) =>
          expect(events[0]!.type === 'CallStarted' && events[0].data.media).toBe('audio'),
        );
    });

    it('only a member of the conversation may start one', () => {
      spec
        .given([])
        .when(startDirect(0, { isMember: false }))
        .thenThrows(CallConversationNotFoundError);
    });

    it('a direct call needs exactly one other member', () => {
      spec
        .given([])
        .when(startDirect(0, { others: ['bob', 'carol'] }))
        .thenThrows('not_direct');
      spec
        .given([])
        .when(startDirect(0, { others: [] }))
        .thenThrows('not_direct');
    });

    it('one active call per conversation: a call that has not ended refuses another start', () => {
      spec.given([started()]).when(startDirect(5)).thenThrows('call_in_progress');
      spec
        .given([started(), joined('bob', 'b-laptop', 1)])
        .when(startDirect(5))
        .thenThrows('call_in_progress');
    });

    it('an id whose call ended is taken (the next call takes the next id)', () => {
      spec
        .given([started(), ...cancelledAt(3)])
        .when(startDirect(5))
        .thenThrows('call_id_taken');
    });

    it('a principal allowed only to listen may not start as a speaker, but may as a listener', () => {
      spec
        .given([])
        .when(startDirect(0, { maySpeak: false }))
        .thenThrows('listen_only');
      spec
        .given([])
        .when(startDirect(0, { maySpeak: false, role: 'listener' }))
        .then(({ state }) => expect(Object.values(state.devices)[0]!.role).toBe('listener'));
    });

    it('a service takes no part in a call', () => {
      spec
        .given([])
        .when(
          command('StartCall', { id: 'backend', kind: 'service' }, 0, {
            ...member,
            deviceId: 'x',
            kind: 'direct',
            media: 'audio',
            role: 'speaker',
            others: ['bob'],
            maxParticipants: 2,
            ringTimeoutMs: RING,
          }),
        )
        .thenThrows('no_participation');
    });
  });

  describe('accept', () => {
    it('the callee accepting on one device makes the call active', () => {
      spec
        .given([started()])
        .when(accept('bob', 'b-laptop', 2_000))
        .then(({ events, state }) => {
          expect(events).toEqual([joined('bob', 'b-laptop', 2_000)]);
          expect(state.status).toBe('active');
          expect(state.ringing).toEqual([]);
          expect(state.answeredAt).toBe(iso(2_000));
        });
    });

    it('accepting again from the same device is a no-op; from another device it is answered already', () => {
      spec
        .given([started(), joined('bob', 'b-laptop', 2_000)])
        .when(accept('bob', 'b-laptop', 3_000))
        .thenNothingHappened();
      spec
        .given([started(), joined('bob', 'b-laptop', 2_000)])
        .when(accept('bob', 'b-phone', 3_000))
        .thenThrows('already_answered');
    });

    it('someone who was not rung cannot accept', () => {
      spec
        .given([started()])
        .when(accept('mallory', 'm', 1_000))
        .thenThrows('not_invited');
    });

    it('accept after cancel is refused', () => {
      spec
        .given([started(), ...cancelledAt(1_000)])
        .when(accept('bob', 'b-laptop', 2_000))
        .thenThrows('call_ended');
    });

    it('a callee no longer in the conversation cannot accept', () => {
      spec
        .given([started()])
        .when(accept('bob', 'b-laptop', 2_000, { isMember: false }))
        .thenThrows(CallConversationNotFoundError);
    });

    it('a listen-only callee accepts as a listener', () => {
      spec
        .given([started()])
        .when(accept('bob', 'b', 1, { maySpeak: false }))
        .thenThrows('listen_only');
      spec
        .given([started()])
        .when(accept('bob', 'b', 1, { maySpeak: false, role: 'listener' }))
        .then([joined('bob', 'b', 1, 'accept', 'listener')]);
    });

    it('a call that does not exist is not found', () => {
      spec
        .given([])
        .when(accept('bob', 'b', 1))
        .thenThrows(CallNotFoundError);
    });
  });

  describe('decline', () => {
    it('the callee declining a direct call ends it, declined', () => {
      spec
        .given([started()])
        .when(command('DeclineCall', user('bob'), 4_000, { deviceId: 'b-phone' }))
        .then([
          {
            type: 'CallDeclined',
            v: 1,
            data: { ...base(user('bob'), 4_000), userId: 'bob', deviceId: 'b-phone' },
          },
          left(user('bob'), 'alice', 'a-phone', 4_000, 'call_ended'),
          ended(user('bob'), 4_000, 'declined', ['alice'], 0, 'bob'),
        ]);
    });

    it('in a group call a decline only stops that ringing', () => {
      spec
        .given([started('group', ['bob', 'carol'])])
        .when(command('DeclineCall', user('bob'), 4_000, { deviceId: 'b' }))
        .then(({ events, state }) => {
          expect(events.map((e) => e.type)).toEqual(['CallDeclined']);
          expect(state.ringing).toEqual(['carol']);
          expect(state.status).toBe('ringing');
        });
    });

    it('only a rung user may decline', () => {
      spec
        .given([started()])
        .when(command('DeclineCall', user('carol'), 1, { deviceId: 'c' }))
        .thenThrows('not_invited');
    });
  });

  describe('cancel', () => {
    it('the caller cancels before anyone answered', () => {
      spec
        .given([started()])
        .when(command('CancelCall', user('alice'), 3_000, {}))
        .then(cancelledAt(3_000));
    });

    it('only the caller cancels, and only before an answer', () => {
      spec
        .given([started()])
        .when(command('CancelCall', user('bob'), 1, {}))
        .thenThrows('not_initiator');
      spec
        .given([started(), joined('bob', 'b', 1)])
        .when(command('CancelCall', user('alice'), 2, {}))
        .thenThrows('already_answered');
    });
  });

  describe('join (group calls)', () => {
    const group = () => started('group', ['bob', 'carol', 'dan']);

    it('a member joins; the call becomes active', () => {
      spec
        .given([group()])
        .when(join('carol', 'c-tab', 1_000))
        .then(({ events, state }) => {
          expect(events).toEqual([joined('carol', 'c-tab', 1_000, 'join')]);
          expect(state.status).toBe('active');
        });
    });

    it('only conversation members join', () => {
      spec
        .given([group()])
        .when(join('mallory', 'm', 1, { isMember: false }))
        .thenThrows(CallNotFoundError);
    });

    it('a direct call is accepted, not joined', () => {
      spec
        .given([started()])
        .when(join('bob', 'b', 1))
        .thenThrows('direct_call');
    });

    it('no more devices than the maximum', () => {
      spec
        .given([group(), joined('bob', 'b', 1, 'join'), joined('carol', 'c', 2, 'join')])
        .when(join('dan', 'd', 3))
        .thenThrows('call_full');
    });

    it('a listen-only member joins as a listener only', () => {
      spec
        .given([group()])
        .when(join('dan', 'd', 1, { maySpeak: false }))
        .thenThrows('listen_only');
      spec
        .given([group()])
        .when(join('dan', 'd', 1, { maySpeak: false, role: 'listener' }))
        .then([joined('dan', 'd', 1, 'join', 'listener')]);
    });

    it('joining an ended call is refused', () => {
      spec
        .given([group(), ...cancelledAt(5)])
        .when(join('bob', 'b', 6))
        .thenThrows('call_ended');
    });
  });

  describe('leave and end', () => {
    it('either side leaving a direct call ends it, completed, with its duration', () => {
      spec
        .given([started(), joined('bob', 'b', 2_000)])
        .when(leave('bob', 'b', 62_000))
        .then([
          left(user('bob'), 'bob', 'b', 62_000, 'left'),
          left(user('bob'), 'alice', 'a-phone', 62_000, 'call_ended'),
          ended(user('bob'), 62_000, 'completed', ['alice', 'bob'], 60_000),
        ]);
    });

    it('a group call goes on while someone is in it and ends when the last one leaves', () => {
      const history = [started('group', ['bob', 'carol']), joined('bob', 'b', 1_000, 'join')];
      spec
        .given(history)
        .when(leave('alice', 'a-phone', 2_000))
        .then([left(user('alice'), 'alice', 'a-phone', 2_000, 'left')]);
      spec
        .given([...history, left(user('alice'), 'alice', 'a-phone', 2_000, 'left')])
        .when(leave('bob', 'b', 5_000))
        .then([
          left(user('bob'), 'bob', 'b', 5_000, 'left'),
          ended(user('bob'), 5_000, 'completed', ['alice', 'bob'], 4_000),
        ]);
    });

    it('leaving twice is a no-op; someone never in the call cannot leave it', () => {
      spec
        .given([
          started('group', ['bob']),
          joined('bob', 'b', 1, 'join'),
          left(user('bob'), 'bob', 'b', 2, 'left'),
        ])
        .when(leave('bob', 'b', 3))
        .thenNothingHappened();
      spec
        .given([started()])
        .when(leave('carol', 'c', 3))
        .thenThrows('not_participant');
    });

    it('a participant ends a direct call; only the caller ends a group call', () => {
      spec
        .given([started(), joined('bob', 'b', 1_000)])
        .when(command('EndCall', user('bob'), 11_000, {}))
        .then([
          left(user('bob'), 'alice', 'a-phone', 11_000, 'call_ended'),
          left(user('bob'), 'bob', 'b', 11_000, 'call_ended'),
          ended(user('bob'), 11_000, 'completed', ['alice', 'bob'], 10_000, 'bob'),
        ]);
      spec
        .given([started('group', ['bob']), joined('bob', 'b', 1, 'join')])
        .when(command('EndCall', user('bob'), 2, {}))
        .thenThrows('not_initiator');
      spec
        .given([started()])
        .when(command('EndCall', user('carol'), 2, {}))
        .thenThrows('not_participant');
    });
  });

  describe('timers', () => {
    it('nobody answering by the ring deadline: missed', () => {
      spec
        .given([started()])
        .when(expire(RING - 1))
        .thenNothingHappened();
      spec
        .given([started()])
        .when(expire(RING))
        .then([
          left(system, 'alice', 'a-phone', RING, 'call_ended'),
          ended(system, RING, 'missed', ['alice'], 0),
        ]);
    });

    it('a group call someone answered stops ringing the others at the deadline and goes on', () => {
      spec
        .given([started('group', ['bob', 'carol']), joined('bob', 'b', 1_000, 'join')])
        .when(expire(RING))
        .then(({ events, state }) => {
          expect(events).toEqual([
            {
              type: 'RingingStopped',
              v: 1,
              data: { ...base(system, RING), unanswered: ['carol'] },
            },
          ]);
          expect(state.status).toBe('active');
          expect(nextDeadline(state)).toBeUndefined();
        });
    });

    it('a device whose connection died leaves once the grace period ends', () => {
      const disconnected: CallEvent = {
        type: 'ParticipantDisconnected',
        v: 1,
        data: {
          ...base(system, 5_000),
          userId: 'bob',
          deviceId: 'b',
          graceUntil: iso(5_000 + GRACE),
        },
      };
      const history = [started(), joined('bob', 'b', 1_000)];
      spec
        .given(history)
        .when(
          command('DisconnectDevice', system, 5_000, {
            userId: 'bob',
            deviceId: 'b',
            graceMs: GRACE,
          }),
        )
        .then(({ events, state }) => {
          expect(events).toEqual([disconnected]);
          // The deadline is in the state (and so in the read model): a restarted node finds it.
          expect(nextDeadline(state)).toBe(iso(5_000 + GRACE));
        });
      spec
        .given([...history, disconnected])
        .when(expire(5_000 + GRACE - 1))
        .thenNothingHappened();
      spec
        .given([...history, disconnected])
        .when(expire(5_000 + GRACE))
        .then([
          left(system, 'bob', 'b', 5_000 + GRACE, 'connection_lost'),
          left(system, 'alice', 'a-phone', 5_000 + GRACE, 'call_ended'),
          ended(system, 5_000 + GRACE, 'completed', ['alice', 'bob'], 4_000 + GRACE),
        ]);
    });

    it('a device that reconnects within the grace period stays', () => {
      const history: CallEvent[] = [
        started(),
        joined('bob', 'b', 1_000),
        {
          type: 'ParticipantDisconnected',
          v: 1,
          data: { ...base(system, 5_000), userId: 'bob', deviceId: 'b', graceUntil: iso(15_000) },
        },
      ];
      const outcome = spec
        .given(history)
        .when(command('ReconnectDevice', system, 6_000, { userId: 'bob', deviceId: 'b' }))
        .then([
          {
            type: 'ParticipantReconnected',
            v: 1,
            data: { ...base(system, 6_000), userId: 'bob', deviceId: 'b' },
          },
        ]);
      expect(nextDeadline(outcome.state)).toBeUndefined();
      spec
        .given([...history, ...outcome.events])
        .when(expire(20_000))
        .thenNothingHappened();
    });

    it('a disconnect of a device not in the call, or twice, changes nothing', () => {
      spec
        .given([started()])
        .when(
          command('DisconnectDevice', system, 1, { userId: 'bob', deviceId: 'b', graceMs: GRACE }),
        )
        .thenNothingHappened();
    });
  });

  describe('media audit', () => {
    it('a media session of a device that was in the call is recorded with its counters and address', () => {
      spec
        .given([
          started('group', ['bob']),
          joined('bob', 'b', 1, 'join'),
          left(user('bob'), 'bob', 'b', 9, 'left'),
        ])
        .when(
          command('RecordMediaSession', system, 10, {
            userId: 'bob',
            deviceId: 'b',
            engine: 'mediasoup',
            joinedAt: iso(1),
            leftAt: iso(9),
            bytesSent: 1000,
            bytesReceived: 2000,
            remoteAddress: '203.0.113.9:50000',
          }),
        )
        .then(({ events }) => {
          expect(events[0]).toMatchObject({
            type: 'MediaSessionEnded',
            data: {
              userId: 'bob',
              bytesSent: 1000,
              bytesReceived: 2000,
              remoteAddress: '203.0.113.9:50000',
            },
          });
        });
    });

    it('a media session of a device never in the call is refused', () => {
      spec
        .given([started('group', ['bob'])])
        .when(
          command('RecordMediaSession', system, 10, {
            userId: 'mallory',
            deviceId: 'm',
            engine: 'janus',
            joinedAt: iso(1),
            leftAt: iso(9),
            bytesSent: 0,
            bytesReceived: 0,
          }),
        )
        .thenThrows('not_participant');
    });

    it('an engine failure is recorded', () => {
      spec
        .given([started('group', ['bob'])])
        .when(
          command('RecordEngineFailure', system, 3, {
            engine: 'mediasoup',
            detail: 'worker_died',
            reconnect: ['x'],
          }),
        )
        .then(({ state, events }) => {
          expect(events.map((e) => e.type)).toEqual(['MediaEngineFailed']);
          expect(state.status).toBe('ringing');
        });
    });
  });
});

function cancelledAt(ms: number): CallEvent[] {
  return [
    left(user('alice'), 'alice', 'a-phone', ms, 'call_ended'),
    ended(user('alice'), ms, 'cancelled', ['alice'], 0, 'alice'),
  ];
}
