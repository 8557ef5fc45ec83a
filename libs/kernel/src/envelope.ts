import type { GlobalPosition } from './position';

/** A stream name: `<category>-<id>` style, tenant-scoped by the caller (see `isValidStreamId`). */
export type StreamId = string;

/** Zero-based revision of an event inside its stream. */
export type StreamRevision = bigint;

/** Who caused an event. Ids only: a display name or any other PHI never goes here. */
export interface Actor {
  readonly id: string;
  readonly kind: 'user' | 'service' | 'agent' | 'system';
}

/**
 * Clear-text metadata of an event. It is stored unencrypted and indexed, so it must never carry
 * PHI: ids, kinds, references and hashes only. Adapters may add keys; readers ignore unknown ones.
 */
export interface EventMetadata {
  readonly actor?: Actor;
  readonly correlationId?: string;
  readonly causationId?: string;
  readonly [key: string]: unknown;
}

/** What a caller hands to the event store. `data` is opaque bytes (sealed by libs/ledger). */
export interface EventToAppend {
  readonly eventId: string;
  readonly type: string;
  readonly schemaVersion: number;
  readonly tenantId: string;
  readonly metadata: EventMetadata;
  readonly data: Uint8Array;
}

/** An event as the store recorded it. */
export interface RecordedEvent {
  readonly streamId: StreamId;
  readonly revision: StreamRevision;
  readonly position: GlobalPosition;
  readonly eventId: string;
  readonly type: string;
  readonly schemaVersion: number;
  readonly tenantId: string;
  readonly recordedAt: Date;
  readonly metadata: EventMetadata;
  readonly data: Uint8Array;
}
