import type { SqlExecutor } from '@ledgerline/database';
import type { FilePurges, PurgeCandidate } from '../application/file-purges.port';

/** FilePurges over `ll_files` and `ll_file_purges`. */
export class SqlFilePurges implements FilePurges {
  constructor(private readonly db: SqlExecutor) {}

  async candidates(limit: number): Promise<PurgeCandidate[]> {
    const rows = await this.db.query<{ tenant_id: string; key_id: string }>(
      `select distinct f.tenant_id, f.key_id from ll_files f
       where not exists (select 1 from ll_file_purges p where p.key_id = f.key_id)
       limit $1`,
      [limit],
    );
    return rows.map((r) => ({ tenantId: r.tenant_id, keyId: r.key_id }));
  }

  async blobsUnder(keyId: string): Promise<string[]> {
    const blobs = await this.db.query<{ blob_key: string; thumbnail_blob_key: string | null }>(
      `select blob_key, thumbnail_blob_key from ll_files where key_id = $1`,
      [keyId],
    );
    return blobs.flatMap((b) =>
      b.thumbnail_blob_key ? [b.blob_key, b.thumbnail_blob_key] : [b.blob_key],
    );
  }

  async recordPurge(purge: {
    readonly keyId: string;
    readonly tenantId: string;
    readonly blobs: number;
    readonly at: Date;
  }): Promise<void> {
    await this.db.query(
      `insert into ll_file_purges (key_id, tenant_id, blobs, purged_at) values ($1, $2, $3, $4)
         on conflict (key_id) do nothing`,
      [purge.keyId, purge.tenantId, purge.blobs, purge.at],
    );
  }
}
