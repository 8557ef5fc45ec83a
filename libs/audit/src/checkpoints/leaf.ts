import { encodePosition, type RecordedEvent } from '@ledgerline/kernel';
import { sealOf } from '@ledgerline/ledger';
import { UnsealedEventError } from './checkpoint.errors';
import { leafHash } from './merkle';

/** Label of the leaf encoding below; a new encoding gets a new label. */
export const LEAF_FORMAT = 'll-leaf-v1';

/**
 * What one leaf of the log's Merkle tree says about one event: where it is in global order, which
 * event it is, and its seal hash (which covers its content, clear metadata and chain predecessor).
 * Ids, times and hashes only: never a payload. This is also an exported record of an audit bundle,
 * so every field an auditor reads is covered by the leaf.
 */
export interface LeafInput {
  /** Global position as `encodePosition` writes it: `<commit>.<prepare>`. */
  readonly position: string;
  readonly tenantId: string;
  readonly streamId: string;
  /** Revision in the stream, decimal. */
  readonly revision: string;
  readonly eventId: string;
  readonly type: string;
  readonly schemaVersion: number;
  /** ISO 8601 with milliseconds, UTC. */
  readonly recordedAt: string;
  /** `seal.hash` (hex). */
  readonly sealHash: string;
  /** `seal.prev` (hex), or null for a stream's first event. */
  readonly sealPrev: string | null;
}

/**
 * The leaf data: a JSON array in a fixed order (as JSON.stringify writes it, no spaces), UTF-8.
 * Anyone can rebuild it with any JSON library from the record's fields.
 */
export function leafData(r: LeafInput): Buffer {
  return Buffer.from(
    JSON.stringify([
      LEAF_FORMAT,
      r.position,
      r.tenantId,
      r.streamId,
      r.revision,
      r.eventId,
      r.type,
      r.schemaVersion,
      r.recordedAt,
      r.sealHash,
      r.sealPrev,
    ]),
    'utf8',
  );
}

/** The leaf's RFC 9162 hash: SHA-256(0x00 ‖ leaf data). */
export function leafHashOf(r: LeafInput): Buffer {
  return leafHash(leafData(r));
}

/** The leaf of a stored event. An event without a well-formed seal has no leaf: it is refused. */
export function leafInputOf(event: RecordedEvent): LeafInput {
  const seal = sealOf(event.metadata);
  if (!seal) {
    throw new UnsealedEventError(encodePosition(event.position), event.streamId, event.revision);
  }
  return {
    position: encodePosition(event.position),
    tenantId: event.tenantId,
    streamId: event.streamId,
    revision: event.revision.toString(),
    eventId: event.eventId.toLowerCase(),
    type: event.type,
    schemaVersion: event.schemaVersion,
    recordedAt: event.recordedAt.toISOString(),
    sealHash: seal.hash,
    sealPrev: seal.prev,
  };
}
