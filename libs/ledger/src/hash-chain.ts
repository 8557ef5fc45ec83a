import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { EventMetadata, RecordedEvent } from '@ledgerline/kernel';
import { sealOf, withoutSeal, type SealInfo } from './sealed-envelope';

/** What the hash of a sealed event covers besides its body and its predecessor's hash. */
export interface HeaderFields {
  readonly tenantId: string;
  readonly streamId: string;
  readonly revision: bigint;
  readonly eventId: string;
  readonly type: string;
  readonly schemaVersion: number;
  /** Covered so that the recorded time cannot be moved unnoticed. */
  readonly recordedAt: Date;
  readonly keyId: string;
  readonly epoch: string;
  /** Clear metadata without the seal itself. */
  readonly metadata: EventMetadata;
}

/**
 * The canonical header: a JSON array in a fixed order, with the metadata in RFC 8785 canonical
 * form, so the bytes are the same whichever store (and whatever key order) returns the event.
 */
export function canonicalHeader(h: HeaderFields): Buffer {
  return Buffer.from(
    JSON.stringify([
      'll-chain-v1',
      h.tenantId,
      h.streamId,
      h.revision.toString(),
      h.eventId.toLowerCase(),
      h.type,
      h.schemaVersion,
      h.recordedAt.toISOString(),
      h.keyId,
      h.epoch,
      canonicalize(h.metadata) ?? '{}',
    ]),
    'utf8',
  );
}

/** `SHA-256(canonical header ‖ sealed body ‖ previous hash)`, hex; a stream's first event has no previous hash. */
export function chainHash(header: Buffer, sealedBody: Uint8Array, prev: string | null): string {
  const hash = createHash('sha256');
  hash.update(header);
  hash.update(sealedBody);
  if (prev !== null) hash.update(Buffer.from(prev, 'hex'));
  return hash.digest('hex');
}

/**
 * Whether a stored event's content still hashes to its seal (no data key needed). The ledger checks
 * this on every read; audit checkpoints use it to hash events without decrypting them.
 */
export function sealMatches(event: RecordedEvent): boolean {
  const seal = sealOf(event.metadata);
  if (!seal) return false;
  return chainHash(headerOf(event, seal), event.data, seal.prev) === seal.hash;
}

/** The canonical header of a stored event, from its record and its seal. */
export function headerOf(event: RecordedEvent, seal: SealInfo): Buffer {
  return canonicalHeader({
    tenantId: event.tenantId,
    streamId: event.streamId,
    revision: event.revision,
    eventId: event.eventId,
    type: event.type,
    schemaVersion: event.schemaVersion,
    recordedAt: event.recordedAt,
    keyId: seal.key,
    epoch: seal.epoch,
    metadata: withoutSeal(event.metadata),
  });
}
