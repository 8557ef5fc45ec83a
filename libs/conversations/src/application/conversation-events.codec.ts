import type { EventMetadata } from '@ledgerline/kernel';
import type { OpenedEvent, PlainEvent } from '@ledgerline/ledger';
import {
  CONVERSATION_EVENT_VERSIONS,
  isConversationEventType,
  type ConversationEvent,
} from '../domain/conversation.events';
import { UnsupportedConversationEventError } from './conversations.errors';

/**
 * The one mapping between decider events and ledger events.
 *
 * In clear: the event type, its schema version, and metadata limited to the actor's id and kind,
 * the correlation id and the causation id. Everything else — tenant, conversation, member and
 * message ids, times, text, titles, emoji, reasons — is the JSON of the event's `data`, which the
 * ledger seals as the payload. Nothing a user typed can reach the clear columns from here.
 */
export interface CausalIds {
  readonly correlationId?: string;
  readonly causationId?: string;
}

export function encodeConversationEvent(
  event: ConversationEvent,
  eventId: string,
  causal: CausalIds = {},
): PlainEvent {
  const { actor } = event.data;
  const metadata: EventMetadata = {
    actor: { id: actor.id, kind: actor.kind },
    ...(causal.correlationId === undefined ? {} : { correlationId: causal.correlationId }),
    ...(causal.causationId === undefined ? {} : { causationId: causal.causationId }),
  };
  return {
    eventId,
    type: event.type,
    schemaVersion: event.v,
    metadata,
    payload: Buffer.from(JSON.stringify(event.data), 'utf8'),
  };
}

/**
 * The decider event a payload holds. The payload was authenticated by the ledger (AES-GCM bound to
 * type and version), so its shape is the one this codec wrote; only type, version and JSON-ness
 * are checked. A future version is an error until an upcaster for it exists here.
 */
export function decodeConversationEvent(
  type: string,
  schemaVersion: number,
  payload: Uint8Array,
): ConversationEvent {
  if (!isConversationEventType(type)) {
    throw new UnsupportedConversationEventError(type, schemaVersion, 'unknown_type');
  }
  if (CONVERSATION_EVENT_VERSIONS[type] !== schemaVersion) {
    throw new UnsupportedConversationEventError(type, schemaVersion, 'unknown_version');
  }
  let data: unknown;
  try {
    data = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch {
    throw new UnsupportedConversationEventError(type, schemaVersion, 'malformed_payload');
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new UnsupportedConversationEventError(type, schemaVersion, 'malformed_payload');
  }
  return { type, v: schemaVersion, data } as ConversationEvent;
}

/** An opened ledger event as a decider event, or `undefined` when its data key was shredded. */
export function openConversationEvent(opened: OpenedEvent): ConversationEvent | undefined {
  // libs/files: a file's events live in its conversation's stream (sealed under its keys) and
  // are read by libs/files; conversation reads pass over them.
  if (!isConversationEventType(opened.type)) return undefined;
  if (opened.body.status === 'shredded') return undefined;
  return decodeConversationEvent(opened.type, opened.schemaVersion, opened.body.payload);
}
