/**
 * The port group calls use to reach a selective forwarding unit (SFU). The calls domain never
 * imports an engine: it creates rooms, admits participants and relays each participant's
 * engine-specific signalling (transport parameters, produce/consume requests, SDP for engines that
 * speak it) as opaque, size-capped JSON, and hears back through `onEvent`.
 *
 * Engines (mediasoup, Janus) implement this interface in adapters of this lib; one contract suite
 * runs against each.
 */
export type SfuEngineName = 'mediasoup' | 'janus';

export interface SfuParticipantRef {
  readonly roomId: string;
  /** Unique within the room: one per device that joined (userId + deviceId). */
  readonly participantId: string;
}

export interface SfuJoinOptions {
  readonly userId: string;
  readonly deviceId: string;
  /** A participant that may only listen: the engine refuses anything it tries to produce. */
  readonly listenOnly: boolean;
}

/** What a client needs to start talking to the engine; its shape is the engine's own. */
export interface SfuJoinReply {
  readonly engine: SfuEngineName;
  readonly payload: Readonly<Record<string, unknown>>;
}

/**
 * One signalling request from a participant's client (connect a transport, produce, consume,
 * pause, resume, set preferred simulcast layers, an SDP offer/answer, ...). `method` names the
 * operation; `data` is the engine's own parameters. Unknown methods and malformed data are refused
 * with SfuRequestError, changing nothing.
 */
export interface SfuRequest {
  readonly method: string;
  readonly data: Readonly<Record<string, unknown>>;
}

export interface SfuReply {
  readonly data: Readonly<Record<string, unknown>>;
}

/** Media counters for one participant, as media audit events record them. */
export interface SfuParticipantStats {
  readonly bytesSent: number;
  readonly bytesReceived: number;
  /** The remote transport address the media came from (ip:port), when known. */
  readonly remoteAddress?: string;
  readonly joinedAt: string;
  readonly leftAt?: string;
}

export interface SfuRoomStats {
  readonly roomId: string;
  readonly participants: ReadonlyMap<string, SfuParticipantStats>;
}

export type SfuEvent =
  /** The participant's transport never connected, or its connection died: it has left. */
  | {
      readonly kind: 'participant-gone';
      readonly ref: SfuParticipantRef;
      readonly reason: 'transport-timeout' | 'transport-closed';
      readonly stats: SfuParticipantStats;
    }
  /** A worker/engine process died; its rooms moved; these participants must reconnect. */
  | {
      readonly kind: 'engine-failure';
      readonly roomId: string;
      readonly detail: string;
      readonly reconnect: readonly string[];
    }
  | { readonly kind: 'active-speaker'; readonly ref: SfuParticipantRef }
  /** Engine-initiated signalling to one participant (e.g. a new producer to consume). */
  | {
      readonly kind: 'signal';
      readonly ref: SfuParticipantRef;
      readonly data: Readonly<Record<string, unknown>>;
    };

export interface SfuPort {
  readonly engine: SfuEngineName;
  /** Idempotent: an existing room is returned as it is. */
  createRoom(roomId: string, options: { readonly maxParticipants: number }): Promise<void>;
  join(ref: SfuParticipantRef, options: SfuJoinOptions): Promise<SfuJoinReply>;
  request(ref: SfuParticipantRef, request: SfuRequest): Promise<SfuReply>;
  /** Idempotent; returns the participant's final counters. */
  leave(ref: SfuParticipantRef): Promise<SfuParticipantStats | undefined>;
  /** Idempotent. */
  closeRoom(roomId: string): Promise<void>;
  stats(roomId: string): Promise<SfuRoomStats>;
  onEvent(listener: (event: SfuEvent) => void): () => void;
  close(): Promise<void>;
}

/** The engine is down or has no capacity: retryable; the call's state does not change. */
export class SfuUnavailableError extends Error {
  readonly code = 'sfu_unavailable';
  readonly retryable = true;
}

/** A malformed or unknown signalling request, or one a listen-only participant may not make. */
export class SfuRequestError extends Error {
  readonly code = 'sfu_bad_request';
}

/** Nest injection token for the configured engine (absent when none is: group calls refused). */
export const SFU_PORT = Symbol('SFU_PORT');
