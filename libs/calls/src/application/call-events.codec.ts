import { ValidationError } from '@ledgerline/kernel';
import type { OpenedEvent, PlainEvent } from '@ledgerline/ledger';
import { CALL_EVENT_VERSIONS, type CallEvent, type CallEventType } from '../domain/call.events';

/** An event of a call stream this version cannot read (a type or version from the future). */
export class UnsupportedCallEventError extends ValidationError {
  override readonly code = 'unsupported_call_event';
  constructor(type: string, version: number, problem: string) {
    super(`call event ${type} v${version}: ${problem}`);
  }
}

/**
 * The one mapping between decider events and ledger events. In clear: the type, its version and
 * the actor's id and kind. Everything else (users, devices, times, counters, addresses) is the
 * JSON of `data`, sealed by the ledger.
 */
export function encodeCallEvent(event: CallEvent, eventId: string): PlainEvent {
  const { actor } = event.data;
  return {
    eventId,
    type: event.type,
    schemaVersion: event.v,
    metadata: { actor: { id: actor.id, kind: actor.kind } },
    payload: Buffer.from(JSON.stringify(event.data), 'utf8'),
  };
}

function isCallEventType(type: string): type is CallEventType {
  return Object.prototype.hasOwnProperty.call(CALL_EVENT_VERSIONS, type);
}

/** The decider event an opened ledger event holds; undefined when its data key was shredded. */
export function openCallEvent(opened: OpenedEvent): CallEvent | undefined {
  if (opened.body.status === 'shredded') return undefined;
  const { type, schemaVersion } = opened;
  if (!isCallEventType(type))
    throw new UnsupportedCallEventError(type, schemaVersion, 'unknown_type');
  if (CALL_EVENT_VERSIONS[type] !== schemaVersion) {
    throw new UnsupportedCallEventError(type, schemaVersion, 'unknown_version');
  }
  let data: unknown;
  try {
    data = JSON.parse(Buffer.from(opened.body.payload).toString('utf8'));
  } catch {
    throw new UnsupportedCallEventError(type, schemaVersion, 'malformed_payload');
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new UnsupportedCallEventError(type, schemaVersion, 'malformed_payload');
  }
  return { type, v: schemaVersion, data } as CallEvent;
}
