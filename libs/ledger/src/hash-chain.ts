import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { EventMetadata } from '@ledgerline/kernel';

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
