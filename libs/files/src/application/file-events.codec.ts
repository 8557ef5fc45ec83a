import type { EventMetadata } from '@ledgerline/kernel';
import type { OpenedEvent, PlainEvent } from '@ledgerline/ledger';
import { FILE_EVENT_VERSIONS, type FileEvent, type FileEventType } from '../domain/file.events';

/**
 * The one mapping between file events and ledger events. In clear: type, version, the actor's id
 * and kind. Everything else (the file id included) is the sealed payload.
 */
export function encodeFileEvent(event: FileEvent, eventId: string): PlainEvent {
  const metadata: EventMetadata = {
    actor: { id: event.data.actor.id, kind: event.data.actor.kind },
  };
  return {
    eventId,
    type: event.type,
    schemaVersion: event.v,
    metadata,
    payload: Buffer.from(JSON.stringify(event.data), 'utf8'),
  };
}

export function isFileEventType(type: string): type is FileEventType {
  return Object.prototype.hasOwnProperty.call(FILE_EVENT_VERSIONS, type);
}

/**
 * The file event an opened ledger event holds; undefined for another kind of event (the stream is
 * the conversation's) or one whose key was shredded. A version this code does not know is an
 * error (a projection must stop rather than skip it).
 */
export function openFileEvent(opened: OpenedEvent): FileEvent | undefined {
  if (!isFileEventType(opened.type) || opened.body.status === 'shredded') return undefined;
  if (FILE_EVENT_VERSIONS[opened.type] !== opened.schemaVersion) {
    throw new Error(`unsupported ${opened.type} v${opened.schemaVersion}`);
  }
  const data = JSON.parse(Buffer.from(opened.body.payload).toString('utf8')) as FileEvent['data'];
  return { type: opened.type, v: opened.schemaVersion, data } as FileEvent;
}
