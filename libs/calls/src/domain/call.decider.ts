import type { CallCommand } from './call.commands';
import {
  CallConversationNotFoundError,
  CallNotFoundError,
  CallRefusalReason,
  CallRefused,
} from './call.errors';
import type {
  CallActor,
  CallEvent,
  CallEventBase,
  CallKind,
  CallMedia,
  CallRole,
  DeviceRef,
  LeaveReason,
} from './call.events';

/**
 * The call decider: `decide(command, state) → events`, `evolve(state, event) → state`, pure.
 *
 * | command            | who                                   | when                              |
 * |--------------------|---------------------------------------|-----------------------------------|
 * | StartCall          | a member (user/agent) of the conv.    | no call with this id yet          |
 * | AcceptCall         | a rung user, not yet answered         | not ended                         |
 * | DeclineCall        | a rung user, not yet answered         | not ended                         |
 * | CancelCall         | the caller                            | nobody answered yet               |
 * | JoinCall           | a member (group calls only)           | not ended, below the maximum      |
 * | LeaveCall          | the device itself                     | in the call                       |
 * | EndCall            | a participant (group: the caller)     | not ended                         |
 * | DisconnectDevice … | the system                            | as the state says                 |
 *
 * - The caller's device is in the call from the start; a direct call rings the one other member,
 *   a group call every other member.
 * - A direct call ends when either side leaves, or the callee declines; a group call ends when its
 *   last participant leaves. Nobody answering by the ring deadline: missed.
 * - A device whose connection closed leaves (`connection_lost`) once its grace period ends unless
 *   it reconnected; the deadlines are in the events, so a restarted node finds them again.
 * - A participant whose roles do not allow speaking may only join as a listener.
 * - Repeats are no-ops where that is safe (accepting twice from the device already in, leaving a
 *   call one already left, expiring timers that are not due).
 */

export interface CallDevice extends DeviceRef {
  readonly role: CallRole;
  readonly joinedAt: string;
  /** Set while its connection is away: it leaves at this time unless it comes back. */
  readonly graceUntil?: string;
}

export interface CallState {
  readonly status: 'none' | 'ringing' | 'active' | 'ended';
  readonly tenantId: string;
  readonly callId: string;
  readonly conversationId: string;
  readonly kind: CallKind;
  readonly media: CallMedia;
  readonly initiator: string;
  readonly maxParticipants: number;
  readonly startedAt: string;
  /** Users being rung who have neither answered nor declined. */
  readonly ringing: readonly string[];
  readonly ringUntil: string;
  readonly answeredAt?: string;
  readonly endedAt?: string;
  /** Devices in the call now, by `deviceKey`. */
  readonly devices: Readonly<Record<string, CallDevice>>;
  /** Every user ever in the call, in order of first joining. */
  readonly everJoined: readonly string[];
  /** Every device ever in the call (`deviceKey`), for the media audit. */
  readonly everDevices: readonly string[];
}

export function initialCallState(): CallState {
  return {
    status: 'none',
    tenantId: '',
    callId: '',
    conversationId: '',
    kind: 'direct',
    media: 'audio',
    initiator: '',
    maxParticipants: 0,
    startedAt: '',
    ringing: [],
    ringUntil: '',
    devices: {},
    everJoined: [],
    everDevices: [],
  };
}

export function deviceKey(userId: string, deviceId: string): string {
  return JSON.stringify([userId, deviceId]);
}

export const isLive = (state: CallState) => state.status === 'ringing' || state.status === 'active';

/** The next time a timer of the call is due (ring deadline, a grace period), if any. */
export function nextDeadline(state: CallState): string | undefined {
  if (!isLive(state)) return undefined;
  const times: string[] = [];
  if (state.ringing.length > 0 || state.status === 'ringing') times.push(state.ringUntil);
  for (const device of Object.values(state.devices)) {
    if (device.graceUntil) times.push(device.graceUntil);
  }
  return times.sort((a, b) => Date.parse(a) - Date.parse(b))[0];
}

export function decideCall(command: CallCommand, state: CallState): CallEvent[] {
  const { data } = command;
  const base: CallEventBase = {
    tenantId: data.tenantId,
    callId: data.callId,
    conversationId: data.conversationId,
    actor: data.actor,
    at: data.at.toISOString(),
  };
  if (command.type === 'StartCall') return start(command, state, base);
  if (state.status === 'none') throw new CallNotFoundError(data.callId);
  switch (command.type) {
    case 'AcceptCall': {
      const { deviceId, role } = command.data;
      const userId = participantId(data.actor);
      if (state.devices[deviceKey(userId, deviceId)]) return []; // accepted already
      assertLive(state);
      member(command.data, state.conversationId);
      if (!state.ringing.includes(userId)) {
        throw new CallRefused(
          state.everJoined.includes(userId)
            ? CallRefusalReason.AlreadyAnswered
            : CallRefusalReason.NotInvited,
        );
      }
      assertRole(role, command.data.maySpeak);
      assertRoom(state);
      return [
        {
          type: 'ParticipantJoined',
          v: 1,
          data: { ...base, userId, deviceId, role, via: 'accept' },
        },
      ];
    }
    case 'DeclineCall': {
      const userId = participantId(data.actor);
      if (state.status === 'ended') return [];
      if (!state.ringing.includes(userId)) throw new CallRefused(CallRefusalReason.NotInvited);
      const declined: CallEvent = {
        type: 'CallDeclined',
        v: 1,
        data: { ...base, userId, deviceId: command.data.deviceId },
      };
      if (state.kind === 'direct') {
        return [declined, ...endAll(state, base, 'declined', userId)];
      }
      return [declined];
    }
    case 'CancelCall': {
      if (state.status === 'ended') return [];
      if (data.actor.id !== state.initiator) throw new CallRefused(CallRefusalReason.NotInitiator);
      if (state.status !== 'ringing') throw new CallRefused(CallRefusalReason.AlreadyAnswered);
      return endAll(state, base, 'cancelled', data.actor.id);
    }
    case 'JoinCall': {
      const { deviceId, role } = command.data;
      const userId = participantId(data.actor);
      if (state.devices[deviceKey(userId, deviceId)]) return []; // joined already
      assertLive(state);
      if (!command.data.isMember) throw new CallNotFoundError(data.callId);
      if (state.kind === 'direct') throw new CallRefused(CallRefusalReason.DirectCall);
      assertRole(role, command.data.maySpeak);
      assertRoom(state);
      return [
        { type: 'ParticipantJoined', v: 1, data: { ...base, userId, deviceId, role, via: 'join' } },
      ];
    }
    case 'LeaveCall': {
      const userId =
        data.actor.kind === 'system' && command.data.userId !== undefined
          ? command.data.userId
          : participantId(data.actor);
      const device = state.devices[deviceKey(userId, command.data.deviceId)];
      if (!device) {
        if (
          state.status === 'ended' ||
          state.everDevices.includes(deviceKey(userId, command.data.deviceId))
        )
          return [];
        throw new CallRefused(CallRefusalReason.NotParticipant);
      }
      return leave(state, base, [device], command.data.reason);
    }
    case 'EndCall': {
      if (state.status === 'ended') return [];
      const userId = data.actor.id;
      const inCall = Object.values(state.devices).some((d) => d.userId === userId);
      if (data.actor.kind !== 'service' && !inCall) {
        throw new CallRefused(CallRefusalReason.NotParticipant);
      }
      if (state.kind === 'group' && data.actor.kind !== 'service' && userId !== state.initiator) {
        throw new CallRefused(CallRefusalReason.NotInitiator);
      }
      return endAll(state, base, state.answeredAt ? 'completed' : 'cancelled', userId);
    }
    case 'DisconnectDevice': {
      const { userId, deviceId, graceMs } = command.data;
      const device = state.devices[deviceKey(userId, deviceId)];
      if (!device || device.graceUntil) return [];
      const graceUntil = new Date(data.at.getTime() + graceMs).toISOString();
      return [
        { type: 'ParticipantDisconnected', v: 1, data: { ...base, userId, deviceId, graceUntil } },
      ];
    }
    case 'ReconnectDevice': {
      const { userId, deviceId } = command.data;
      const device = state.devices[deviceKey(userId, deviceId)];
      if (!device?.graceUntil) return [];
      return [{ type: 'ParticipantReconnected', v: 1, data: { ...base, userId, deviceId } }];
    }
    case 'ExpireCallTimers':
      return expire(state, base, data.at);
    case 'RecordMediaSession': {
      const { userId, deviceId } = command.data;
      if (!state.everDevices.includes(deviceKey(userId, deviceId))) {
        throw new CallRefused(CallRefusalReason.NotParticipant);
      }
      const m = command.data;
      return [
        {
          type: 'MediaSessionEnded',
          v: 1,
          data: {
            ...base,
            userId,
            deviceId,
            engine: m.engine,
            joinedAt: m.joinedAt,
            leftAt: m.leftAt,
            bytesSent: m.bytesSent,
            bytesReceived: m.bytesReceived,
            ...(m.remoteAddress === undefined ? {} : { remoteAddress: m.remoteAddress }),
          },
        },
      ];
    }
    case 'RecordEngineFailure': {
      const { engine, detail, reconnect } = command.data;
      return [{ type: 'MediaEngineFailed', v: 1, data: { ...base, engine, detail, reconnect } }];
    }
  }
}

function start(
  command: Extract<CallCommand, { type: 'StartCall' }>,
  state: CallState,
  base: CallEventBase,
): CallEvent[] {
  const d = command.data;
  if (state.status === 'ringing' || state.status === 'active') {
    throw new CallRefused(CallRefusalReason.CallInProgress);
  }
  if (state.status === 'ended') throw new CallRefused(CallRefusalReason.CallIdTaken);
  const userId = participantId(d.actor);
  member(d, d.conversationId);
  assertRole(d.role, d.maySpeak);
  const others = [...new Set(d.others)].filter((o) => o !== userId);
  if (d.kind === 'direct' && others.length !== 1)
    throw new CallRefused(CallRefusalReason.NotDirect);
  if (d.kind === 'group' && others.length === 0) throw new CallRefused(CallRefusalReason.NotDirect);
  return [
    {
      type: 'CallStarted',
      v: 1,
      data: {
        ...base,
        kind: d.kind,
        media: d.media,
        maxParticipants: d.maxParticipants,
        initiator: { userId, deviceId: d.deviceId, role: d.role },
        ringing: others,
        ringUntil: new Date(d.at.getTime() + d.ringTimeoutMs).toISOString(),
      },
    },
  ];
}

/** Timers due at `at`: the ring deadline, then grace periods that ran out. */
function expire(state: CallState, base: CallEventBase, at: Date): CallEvent[] {
  if (!isLive(state)) return [];
  const now = at.getTime();
  if (Date.parse(state.ringUntil) <= now) {
    if (state.status === 'ringing') return endAll(state, base, 'missed', undefined);
    if (state.ringing.length > 0) {
      const stopped: CallEvent = {
        type: 'RingingStopped',
        v: 1,
        data: { ...base, unanswered: state.ringing },
      };
      return [stopped, ...expire(evolveCall(state, stopped), base, at)];
    }
  }
  const lost = Object.values(state.devices).filter(
    (d) => d.graceUntil !== undefined && Date.parse(d.graceUntil) <= now,
  );
  return lost.length === 0 ? [] : leave(state, base, lost, 'connection_lost');
}

/** These devices leave; the call ends when the rules say so. */
function leave(
  state: CallState,
  base: CallEventBase,
  devices: readonly CallDevice[],
  reason: LeaveReason,
): CallEvent[] {
  const events: CallEvent[] = devices.map((d) => ({
    type: 'ParticipantLeft',
    v: 1,
    data: { ...base, userId: d.userId, deviceId: d.deviceId, reason },
  }));
  const after = events.reduce(evolveCall, state);
  const remaining = Object.values(after.devices);
  const users = new Set(remaining.map((d) => d.userId));
  // A direct call needs both sides; a group call ends when its last participant has left.
  const over =
    remaining.length === 0 ||
    (state.kind === 'direct' && state.status === 'active' && users.size < 2);
  if (!over) return events;
  const outcome = after.answeredAt ? 'completed' : 'cancelled';
  return [...events, ...endAll(after, base, outcome, undefined)];
}

/** Everyone left in the call leaves, and it ends with `outcome`. */
function endAll(
  state: CallState,
  base: CallEventBase,
  outcome: 'completed' | 'missed' | 'declined' | 'cancelled',
  endedBy: string | undefined,
): CallEvent[] {
  const events: CallEvent[] = Object.values(state.devices).map((d) => ({
    type: 'ParticipantLeft',
    v: 1,
    data: { ...base, userId: d.userId, deviceId: d.deviceId, reason: 'call_ended' },
  }));
  const durationMs = state.answeredAt
    ? Math.max(0, Date.parse(base.at) - Date.parse(state.answeredAt))
    : 0;
  events.push({
    type: 'CallEnded',
    v: 1,
    data: {
      ...base,
      outcome,
      ...(endedBy === undefined ? {} : { endedBy }),
      durationMs,
      participants: state.everJoined,
    },
  });
  return events;
}

export function evolveCall(state: CallState, event: CallEvent): CallState {
  const d = event.data;
  switch (event.type) {
    case 'CallStarted': {
      const { initiator } = event.data;
      const key = deviceKey(initiator.userId, initiator.deviceId);
      return {
        ...state,
        status: 'ringing',
        tenantId: d.tenantId,
        callId: d.callId,
        conversationId: d.conversationId,
        kind: event.data.kind,
        media: event.data.media,
        initiator: initiator.userId,
        maxParticipants: event.data.maxParticipants,
        startedAt: d.at,
        ringing: event.data.ringing,
        ringUntil: event.data.ringUntil,
        devices: {
          [key]: {
            userId: initiator.userId,
            deviceId: initiator.deviceId,
            role: initiator.role,
            joinedAt: d.at,
          },
        },
        everJoined: [initiator.userId],
        everDevices: [key],
      };
    }
    case 'CallDeclined':
      return { ...state, ringing: state.ringing.filter((u) => u !== event.data.userId) };
    case 'ParticipantJoined': {
      const { userId, deviceId, role } = event.data;
      const key = deviceKey(userId, deviceId);
      const answered = userId !== state.initiator || state.answeredAt !== undefined;
      return {
        ...state,
        status: answered ? 'active' : state.status,
        answeredAt: state.answeredAt ?? (answered ? d.at : undefined),
        ringing: state.ringing.filter((u) => u !== userId),
        devices: { ...state.devices, [key]: { userId, deviceId, role, joinedAt: d.at } },
        everJoined: state.everJoined.includes(userId)
          ? state.everJoined
          : [...state.everJoined, userId],
        everDevices: state.everDevices.includes(key)
          ? state.everDevices
          : [...state.everDevices, key],
      };
    }
    case 'ParticipantLeft': {
      const devices = { ...state.devices };
      delete devices[deviceKey(event.data.userId, event.data.deviceId)];
      return { ...state, devices };
    }
    case 'ParticipantDisconnected':
    case 'ParticipantReconnected': {
      const key = deviceKey(event.data.userId, event.data.deviceId);
      const device = state.devices[key];
      if (!device) return state;
      const { graceUntil: _old, ...rest } = device;
      const updated: CallDevice =
        event.type === 'ParticipantDisconnected'
          ? { ...rest, graceUntil: event.data.graceUntil }
          : rest;
      return { ...state, devices: { ...state.devices, [key]: updated } };
    }
    case 'RingingStopped':
      return { ...state, ringing: [] };
    case 'CallEnded':
      return { ...state, status: 'ended', ringing: [], devices: {}, endedAt: d.at };
    case 'MediaSessionEnded':
    case 'MediaEngineFailed':
      return state;
  }
}

export const callDecider = {
  decide: decideCall,
  evolve: evolveCall,
  initialState: initialCallState,
};

/** People and agents take part; a service administers (ends calls) but has no device in one. */
function participantId(actor: CallActor): string {
  if (actor.kind === 'service' || actor.kind === 'system') {
    throw new CallRefused(CallRefusalReason.NoParticipation);
  }
  return actor.id;
}

function member(data: { readonly isMember: boolean }, conversationId: string): void {
  if (!data.isMember) throw new CallConversationNotFoundError(conversationId);
}

function assertLive(state: CallState): void {
  if (!isLive(state)) throw new CallRefused(CallRefusalReason.CallEnded);
}

function assertRole(role: CallRole, maySpeak: boolean): void {
  if (role === 'speaker' && !maySpeak) throw new CallRefused(CallRefusalReason.ListenOnly);
}

function assertRoom(state: CallState): void {
  if (Object.keys(state.devices).length >= state.maxParticipants) {
    throw new CallRefused(CallRefusalReason.CallFull);
  }
}
