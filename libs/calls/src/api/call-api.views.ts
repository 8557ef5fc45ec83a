import type { JsonValue, ReplyFields } from '@ledgerline/realtime';
import type { CallEntry } from '../application/call-service';
import type { CallUpdate } from '../application/call-fan-out';
import type { RelayedSignal } from '../application/call-signal-relay.port';
import type { CallHistoryEntry, CallView } from '../application/call-views';
import type { CallDto, CallEntryDto, CallEventDto, CallHistoryEntryDto } from './call.dto';

const json = (value: unknown): JsonValue => value as JsonValue;

/** A start/accept/join reply over the realtime protocol. */
export function entryFields(entry: CallEntry): ReplyFields {
  return {
    call: json(entry.call),
    iceServers: json(entry.iceServers),
    iceServersExpireAt: entry.iceServersExpireAt,
    ...(entry.sfu ? { sfu: json(entry.sfu) } : {}),
  };
}

/** The `call` push frame's fields. */
export function updateFields(update: CallUpdate): ReplyFields {
  return { call: json(update.call), change: json(update.change) };
}

/** The `callSignal` push frame's fields. */
export function signalFields(signal: RelayedSignal): ReplyFields {
  return {
    callId: signal.callId,
    from: signal.from ? json(signal.from) : null,
    kind: signal.kind,
    ...(json(signal.payload) as Record<string, JsonValue>),
  };
}

export function toCallDto(view: CallView): CallDto {
  return {
    ...view,
    startedAt: new Date(view.startedAt),
    ringUntil: new Date(view.ringUntil),
    answeredAt: view.answeredAt === null ? null : new Date(view.answeredAt),
    endedAt: view.endedAt === null ? null : new Date(view.endedAt),
    ringing: [...view.ringing],
    devices: view.devices.map((d) => ({ ...d })),
    participants: [...view.participants],
  };
}

export function toEntryDto(entry: CallEntry): CallEntryDto {
  return {
    call: toCallDto(entry.call),
    iceServers: entry.iceServers.map((s) => {
      const server = s as { urls: readonly string[]; username?: string; credential?: string };
      return {
        urls: [...server.urls],
        username: server.username ?? null,
        credential: server.credential ?? null,
      };
    }),
    iceServersExpireAt: new Date(entry.iceServersExpireAt),
    sfuEngine: entry.sfu?.engine ?? null,
    sfuPayload: entry.sfu ? JSON.stringify(entry.sfu.payload) : null,
  };
}

export function toHistoryDto(entry: CallHistoryEntry): CallHistoryEntryDto {
  return {
    ...entry,
    participants: [...entry.participants],
    startedAt: new Date(entry.startedAt),
    endedAt: entry.endedAt === null ? null : new Date(entry.endedAt),
  };
}

const EMPTY: Omit<CallEventDto, 'type'> = {
  call: null,
  change: null,
  userId: null,
  deviceId: null,
  reason: null,
  outcome: null,
  callId: null,
  fromUserId: null,
  fromDeviceId: null,
  signalKind: null,
  sdp: null,
  data: null,
};

export function toCallEventDto(item: CallUpdate | RelayedSignal): CallEventDto {
  if ('change' in item) {
    return {
      ...EMPTY,
      type: 'call',
      call: toCallDto(item.call),
      change: item.change.type,
      userId: item.change.userId ?? null,
      deviceId: item.change.deviceId ?? null,
      reason: item.change.reason ?? null,
      outcome: item.change.outcome ?? null,
      callId: item.call.callId,
    };
  }
  const { sdp, ...rest } = item.payload as { sdp?: string } & Record<string, unknown>;
  return {
    ...EMPTY,
    type: 'signal',
    callId: item.callId,
    fromUserId: item.from?.userId ?? null,
    fromDeviceId: item.from?.deviceId ?? null,
    signalKind: item.kind,
    sdp: typeof sdp === 'string' ? sdp : null,
    data: Object.keys(rest).length > 0 ? JSON.stringify(rest) : null,
  };
}
