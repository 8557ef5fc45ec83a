import type { Actor } from '@ledgerline/kernel';
import type { OpenedEvent, PlainEvent } from '@ledgerline/ledger';
import {
  PRESENCE_EVENT_VERSIONS,
  PRESENCE_STATUSES,
  type PresenceEvent,
  type PresenceEventType,
} from '../domain/presence.events';

/**
 * The one mapping between presence events and ledger events. In clear: type, version and the
 * actor (the user, or `system` for an offline no client asked for). The tenant, user, status and
 * times are the sealed payload, like every other event's data.
 */
export function encodePresenceEvent(event: PresenceEvent, eventId: string): PlainEvent {
  const actor: Actor =
    event.data.cause === 'disconnected'
      ? { id: 'presence', kind: 'system' }
      : { id: event.data.userId, kind: event.data.userKind };
  return {
    eventId,
    type: event.type,
    schemaVersion: event.v,
    metadata: { actor },
    payload: Buffer.from(JSON.stringify(event.data), 'utf8'),
  };
}

function isPresenceEventType(type: string): type is PresenceEventType {
  return Object.prototype.hasOwnProperty.call(PRESENCE_EVENT_VERSIONS, type);
}

/**
 * The presence event an opened ledger event holds; undefined when its data key was shredded, or
 * when it is not one this build reads (an unknown type or version, a payload of another shape).
 * The payload was authenticated by the ledger, so only its shape is checked.
 */
export function openPresenceEvent(opened: OpenedEvent): PresenceEvent | undefined {
  if (opened.body.status === 'shredded') return undefined;
  if (!isPresenceEventType(opened.type)) return undefined;
  if (PRESENCE_EVENT_VERSIONS[opened.type] !== opened.schemaVersion) return undefined;
  let data: unknown;
  try {
    data = JSON.parse(Buffer.from(opened.body.payload).toString('utf8'));
  } catch {
    return undefined;
  }
  if (!isPresenceData(data)) return undefined;
  return { type: opened.type, v: 1, data };
}

function isPresenceData(data: unknown): data is PresenceEvent['data'] {
  if (typeof data !== 'object' || data === null) return false;
  const d = data as Record<string, unknown>;
  return (
    typeof d['tenantId'] === 'string' &&
    typeof d['userId'] === 'string' &&
    (d['userKind'] === 'user' || d['userKind'] === 'agent') &&
    PRESENCE_STATUSES.includes(d['status'] as never) &&
    PRESENCE_STATUSES.includes(d['previousStatus'] as never) &&
    typeof d['at'] === 'string' &&
    (d['lastSeenAt'] === null || typeof d['lastSeenAt'] === 'string') &&
    typeof d['cause'] === 'string'
  );
}
