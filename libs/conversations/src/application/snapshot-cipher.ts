import { decryptPayload, encryptPayload } from '@ledgerline/ledger';

/**
 * Snapshots of conversation state are sealed like events (libs/ledger's AES-256-GCM body), under
 * the stream's own data key (the same keys, epochs and shredding as its events), bound by their
 * associated data to tenant, stream, revision and snapshot version, so a snapshot copied to another
 * stream or revision does not open.
 */
export interface SnapshotBinding {
  readonly tenantId: string;
  readonly streamId: string;
  readonly revision: bigint;
  readonly snapshotVersion: number;
}

function associatedData(b: SnapshotBinding): Buffer {
  return Buffer.from(
    JSON.stringify([
      'll-conversation-snapshot-v1',
      b.tenantId,
      b.streamId,
      b.revision.toString(),
      b.snapshotVersion,
    ]),
    'utf8',
  );
}

export function sealSnapshot(key: Buffer, binding: SnapshotBinding, plaintext: Buffer): Buffer {
  return Buffer.from(encryptPayload(key, associatedData(binding), plaintext));
}

/** Throws (without detail) when the sealed snapshot or its binding was altered. */
export function openSnapshot(key: Buffer, binding: SnapshotBinding, sealed: Uint8Array): Buffer {
  return decryptPayload(key, associatedData(binding), sealed);
}
