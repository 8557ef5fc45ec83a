/**
 * Events of a call stream (`call:<tenantId>:<callId>`): past-tense facts, each `{ type, v, data }`.
 * `data` is sealed as a whole by the ledger: user and device ids, times, media counters and remote
 * transport addresses live here and only here.
 */

export type CallKind = 'direct' | 'group';
export type CallMedia = 'audio' | 'video';
/** A listener receives media and never sends any. */
export type CallRole = 'speaker' | 'listener';
export type CallOutcome = 'completed' | 'missed' | 'declined' | 'cancelled' | 'failed';
export type LeaveReason =
  | 'left'
  /** The device's connection died and did not come back within the grace period. */
  | 'connection_lost'
  /** The SFU saw its transport never connect, or close. */
  | 'transport_timeout'
  | 'call_ended';

export interface CallActor {
  readonly id: string;
  readonly kind: 'user' | 'agent' | 'service' | 'system';
}

export interface CallEventBase {
  readonly tenantId: string;
  readonly callId: string;
  readonly conversationId: string;
  readonly actor: CallActor;
  /** ISO 8601 time of the decision. */
  readonly at: string;
}

type Versioned<Type extends string, V extends number, Data> = {
  readonly type: Type;
  readonly v: V;
  readonly data: CallEventBase & Readonly<Data>;
};

export interface DeviceRef {
  readonly userId: string;
  readonly deviceId: string;
}

/** The caller's device is in the call from the start; `ringing` are the users rung. */
export type CallStarted = Versioned<
  'CallStarted',
  1,
  {
    kind: CallKind;
    media: CallMedia;
    maxParticipants: number;
    initiator: DeviceRef & { role: CallRole };
    ringing: readonly string[];
    /** Until when the callees' devices ring (ISO 8601). */
    ringUntil: string;
  }
>;

export type CallDeclined = Versioned<'CallDeclined', 1, DeviceRef>;

export type ParticipantJoined = Versioned<
  'ParticipantJoined',
  1,
  DeviceRef & { role: CallRole; via: 'accept' | 'join' }
>;

export type ParticipantLeft = Versioned<'ParticipantLeft', 1, DeviceRef & { reason: LeaveReason }>;

/** The device's connection closed; it leaves at `graceUntil` unless it comes back. */
export type ParticipantDisconnected = Versioned<
  'ParticipantDisconnected',
  1,
  DeviceRef & { graceUntil: string }
>;

export type ParticipantReconnected = Versioned<'ParticipantReconnected', 1, DeviceRef>;

/** The ring timed out in a call that goes on (someone answered); these users never did. */
export type RingingStopped = Versioned<'RingingStopped', 1, { unanswered: readonly string[] }>;

export type CallEnded = Versioned<
  'CallEnded',
  1,
  {
    outcome: CallOutcome;
    /** Who ended it, when someone did (cancel, decline, end); absent for timeouts and last leave. */
    endedBy?: string;
    /** From the first answer to the end; 0 when nobody answered. */
    durationMs: number;
    /** Every user who was ever in the call, in order of first joining. */
    participants: readonly string[];
  }
>;

/** One SFU media session of a device ended: the media audit record. */
export type MediaSessionEnded = Versioned<
  'MediaSessionEnded',
  1,
  DeviceRef & {
    engine: string;
    joinedAt: string;
    leftAt: string;
    bytesSent: number;
    bytesReceived: number;
    remoteAddress?: string;
  }
>;

/** The SFU engine failed under the call (`detail` is an engine code, never PHI). */
export type MediaEngineFailed = Versioned<
  'MediaEngineFailed',
  1,
  { engine: string; detail: string; reconnect: readonly string[] }
>;

export type CallEvent =
  | CallStarted
  | CallDeclined
  | ParticipantJoined
  | ParticipantLeft
  | ParticipantDisconnected
  | ParticipantReconnected
  | RingingStopped
  | CallEnded
  | MediaSessionEnded
  | MediaEngineFailed;

export type CallEventType = CallEvent['type'];

export const CALL_EVENT_VERSIONS: { readonly [K in CallEventType]: number } = {
  CallStarted: 1,
  CallDeclined: 1,
  ParticipantJoined: 1,
  ParticipantLeft: 1,
  ParticipantDisconnected: 1,
  ParticipantReconnected: 1,
  RingingStopped: 1,
  CallEnded: 1,
  MediaSessionEnded: 1,
  MediaEngineFailed: 1,
};
