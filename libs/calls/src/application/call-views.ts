import type { JsonValue } from '@ledgerline/realtime';
import type { CallState } from '../domain/call.decider';

/** A call as clients see it: ids, times and who is in it. Never SDP or an address. */
export interface CallView {
  readonly callId: string;
  readonly conversationId: string;
  readonly kind: 'direct' | 'group';
  readonly media: 'audio' | 'video';
  readonly status: 'ringing' | 'active' | 'ended';
  readonly startedBy: string;
  readonly startedAt: string;
  readonly ringUntil: string;
  readonly answeredAt: string | null;
  readonly endedAt: string | null;
  /** The users still being rung. */
  readonly ringing: readonly string[];
  /** The devices in the call now. */
  readonly devices: readonly {
    readonly userId: string;
    readonly deviceId: string;
    readonly role: 'speaker' | 'listener';
    readonly connected: boolean;
  }[];
  /** Every user ever in the call. */
  readonly participants: readonly string[];
  readonly revision: number;
}

export function callView(state: CallState, revision: bigint): CallView {
  if (state.status === 'none') throw new Error('a call that does not exist has no view');
  return {
    callId: state.callId,
    conversationId: state.conversationId,
    kind: state.kind,
    media: state.media,
    status: state.status,
    startedBy: state.initiator,
    startedAt: state.startedAt,
    ringUntil: state.ringUntil,
    answeredAt: state.answeredAt ?? null,
    endedAt: state.endedAt ?? null,
    ringing: state.ringing,
    devices: Object.values(state.devices).map((d) => ({
      userId: d.userId,
      deviceId: d.deviceId,
      role: d.role,
      connected: d.graceUntil === undefined,
    })),
    participants: state.everJoined,
    revision: Number(revision),
  };
}

/** One entry of a conversation's call history. */
export interface CallHistoryEntry {
  readonly callId: string;
  readonly kind: 'direct' | 'group';
  readonly media: 'audio' | 'video';
  readonly status: 'ringing' | 'active' | 'ended';
  readonly startedBy: string;
  readonly startedAt: string;
  readonly endedAt: string | null;
  readonly participants: readonly string[];
  readonly durationMs: number | null;
  readonly outcome: string | null;
}

export const asJson = (value: object): JsonValue => value as unknown as JsonValue;
