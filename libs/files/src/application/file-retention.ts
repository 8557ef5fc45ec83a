import type { DataKeyStore } from '@ledgerline/crypto';
import type { SqlExecutor } from '@ledgerline/database';
import type { AccessRecorder } from '@ledgerline/identity';
import type { Clock } from '@ledgerline/kernel';
import type { BlobStore } from '../blob-store/blob-store.port';

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
    private readonly db: SqlExecutor,
    private readonly keys: Pick<DataKeyStore, 'getKey'>,
    private readonly blobs: BlobStore,
    private readonly recorder: AccessRecorder,
    private readonly clock: Clock,
  ) {}

  async sweep(limit = 500): Promise<RetentionSweep> {
    const candidates = await this.db.query<{ tenant_id: string; key_id: string }>(
      `select distinct f.tenant_id, f.key_id from ll_files f
       where not exists (select 1 from ll_file_purges p where p.key_id = f.key_id)
       limit $1`,
      [limit],
    );
    const keyIds: string[] = [];
    let blobsDeleted = 0;
    for (const { tenant_id: tenantId, key_id: keyId } of candidates) {
      const key = await this.keys.getKey(keyId);
      // A key that no longer exists at all was destroyed too.
      if (key && !key.shreddedAt) continue;
      const blobs = await this.db.query<{ blob_key: string; thumbnail_blob_key: string | null }>(
        `select blob_key, thumbnail_blob_key from ll_files where key_id = $1`,
        [keyId],
      );
      const doomed = blobs.flatMap((b) =>
        b.thumbnail_blob_key ? [b.blob_key, b.thumbnail_blob_key] : [b.blob_key],
      );
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
      await this.db.query(
        `insert into ll_file_purges (key_id, tenant_id, blobs, purged_at) values ($1, $2, $3, $4)
         on conflict (key_id) do nothing`,
        [keyId, tenantId, doomed.length, this.clock.now()],
      );
      keyIds.push(keyId);
      blobsDeleted += doomed.length;
    }
    return { keyIds, blobsDeleted };
  }
}
