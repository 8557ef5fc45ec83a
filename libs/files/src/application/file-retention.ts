import type { DataKeyStore } from '@ledgerline/crypto';
import type { AccessRecorder } from '@ledgerline/identity';
import type { Clock } from '@ledgerline/kernel';
import type { BlobStore } from '../blob-store/blob-store.port';
import type { FilePurges } from './file-purges.port';

export interface RetentionSweep {
  /** Shredded data keys whose blobs this sweep deleted. */
  readonly keyIds: readonly string[];
  readonly blobsDeleted: number;
}

/** Who the retention job acts as in the audit log. */
const RETENTION_ACTOR = { id: 'ledgerline-files-retention', kind: 'operator', roles: [] } as const;

/**
 * The retention job: once a data key is shredded its files are unreadable anyway, and their
 * ciphertext is deleted from the blob store (so storage is freed and nothing waits for a future
 * break of AES). Each key's deletion is one access record per tenant (`files.blobs_deleted`, the
 * key ids and the count) and a row in `ll_file_purges`, written after the blobs are gone: a sweep
 * that stops half-way deletes the rest next time (deleting is idempotent).
 */
export class FileRetention {
  constructor(
    private readonly purges: FilePurges,
    private readonly keys: Pick<DataKeyStore, 'getKey'>,
    private readonly blobs: BlobStore,
    private readonly recorder: AccessRecorder,
    private readonly clock: Clock,
  ) {}

  async sweep(limit = 500): Promise<RetentionSweep> {
    const candidates = await this.purges.candidates(limit);
    const keyIds: string[] = [];
    let blobsDeleted = 0;
    for (const { tenantId, keyId } of candidates) {
      const key = await this.keys.getKey(keyId);
      // A key that no longer exists at all was destroyed too.
      if (key && !key.shreddedAt) continue;
      const doomed = await this.purges.blobsUnder(keyId);
      for (const blobKey of doomed) await this.blobs.delete(blobKey);
      await this.recorder.record({
        tenantId,
        actor: RETENTION_ACTOR,
        action: 'files.blobs_deleted',
        outcome: 'allowed',
        reason: 'key_shredded',
        resourceType: 'file_blobs',
        targetIds: [keyId, `blobs=${doomed.length}`],
        subjectUserIds: [],
        origin: { transport: 'internal' },
      });
      await this.purges.recordPurge({
        keyId,
        tenantId,
        blobs: doomed.length,
        at: this.clock.now(),
      });
      keyIds.push(keyId);
      blobsDeleted += doomed.length;
    }
    return { keyIds, blobsDeleted };
  }
}
