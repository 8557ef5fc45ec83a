import type { CallActor, CallKind, CallMedia, CallRole } from './call.events';

/**
 * Commands on one call. Facts the decider cannot read itself (conversation membership, the
 * principal's right to speak, the conversation's other members) are observed by the application
 * and carried in the command, with the time (`at`) and the configured limits: the decider stays
 * pure.
 */
interface Base {
  readonly tenantId: string;
  readonly callId: string;
  readonly conversationId: string;
  readonly actor: CallActor;
  readonly at: Date;
}

/** What the application observed about the actor in the conversation. */
interface Membership {
  readonly isMember: boolean;
  /** The principal's roles allow sending media (`call.speak`); otherwise it may only listen. */
  readonly maySpeak: boolean;
}

type Command<Type extends string, Data> = { readonly type: Type; readonly data: Base & Data };

export type StartCall = Command<
  'StartCall',
  Membership & {
    deviceId: string;
    kind: CallKind;
    media: CallMedia;
    role: CallRole;
    /** The conversation's members other than the caller: whom the call rings. */
    others: readonly string[];
    maxParticipants: number;
    ringTimeoutMs: number;
  }
>;

export type AcceptCall = Command<'AcceptCall', Membership & { deviceId: string; role: CallRole }>;
export type DeclineCall = Command<'DeclineCall', { deviceId: string }>;
export type CancelCall = Command<'CancelCall', object>;
export type JoinCall = Command<'JoinCall', Membership & { deviceId: string; role: CallRole }>;
/** `userId` names the device's user when the system removes it (its SFU transport died). */
export type LeaveCall = Command<
  'LeaveCall',
  { deviceId: string; reason: 'left' | 'transport_timeout'; userId?: string }
>;
export type EndCall = Command<'EndCall', object>;

/** The system's own: a participant device's connection closed (it may come back within grace). */
export type DisconnectDevice = Command<
  'DisconnectDevice',
  { userId: string; deviceId: string; graceMs: number }
>;
export type ReconnectDevice = Command<'ReconnectDevice', { userId: string; deviceId: string }>;
/** The system's own: ring timeouts and grace periods that are due at `at`. */
export type ExpireCallTimers = Command<'ExpireCallTimers', object>;
/** The system's own: an SFU media session of a device ended, with its counters. */
export type RecordMediaSession = Command<
  'RecordMediaSession',
  {
    userId: string;
    deviceId: string;
    engine: string;
    joinedAt: string;
    leftAt: string;
    bytesSent: number;
    bytesReceived: number;
    remoteAddress?: string;
  }
>;
export type RecordEngineFailure = Command<
  'RecordEngineFailure',
  { engine: string; detail: string; reconnect: readonly string[] }
>;

export type CallCommand =
  | StartCall
  | AcceptCall
  | DeclineCall
  | CancelCall
  | JoinCall
  | LeaveCall
  | EndCall
  | DisconnectDevice
  | ReconnectDevice
  | ExpireCallTimers
  | RecordMediaSession
  | RecordEngineFailure;
