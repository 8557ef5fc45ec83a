import type { SqlExecutor } from '@ledgerline/database';
import { sealedSize } from '../encryption/file-body-cipher';

/** A file as the `ll_files` read model has it. */
export interface FileRecord {
  readonly tenantId: string;
  readonly fileId: string;
  readonly conversationId: string;
  readonly uploaderId: string;
  readonly uploadedRevision: bigint;
  readonly status: 'available' | 'quarantined' | 'removed';
  readonly blobKey: string;
  readonly keyId: string;
  readonly thumbnailRevision: bigint | undefined;
}

interface Row {
  tenant_id: string;
  file_id: string;
  conversation_id: string;
  uploader_id: string;
  uploaded_revision: string;
  status: FileRecord['status'];
  blob_key: string;
  key_id: string;
  thumbnail_revision: string | null;
}

/** Reads of the files read model. */
export class FileRecords {
  constructor(private readonly db: SqlExecutor) {}

  async get(tenantId: string, fileId: string): Promise<FileRecord | undefined> {
    const [row] = await this.db.query<Row>(
      `select * from ll_files where tenant_id = $1 and file_id = $2`,
      [tenantId, fileId],
    );
    return row ? fromRow(row) : undefined;
  }

  async many(tenantId: string, fileIds: readonly string[]): Promise<FileRecord[]> {
    if (fileIds.length === 0) return [];
    const rows = await this.db.query<Row>(
      `select * from ll_files where tenant_id = $1 and file_id = any($2::text[])`,
      [tenantId, [...fileIds]],
    );
    return rows.map(fromRow);
  }

  /** Bytes the tenant holds: stored files and thumbnails, plus uploads under way at full size. */
  async tenantUsage(tenantId: string): Promise<number> {
    const [stored] = await this.db.query<{ bytes: string | null }>(
      `select coalesce(sum(stored_bytes), 0)::text as bytes from ll_files
       where tenant_id = $1 and status <> 'removed'`,
      [tenantId],
    );
    const uploads = await this.db.query<{ size: string; chunk_size: number }>(
      `select size, chunk_size from ll_file_uploads where tenant_id = $1`,
      [tenantId],
    );
    return (
      Number(stored?.bytes ?? 0) +
      uploads.reduce((sum, u) => sum + sealedSize(Number(u.size), u.chunk_size), 0)
    );
  }
}

function fromRow(r: Row): FileRecord {
  return {
    tenantId: r.tenant_id,
    fileId: r.file_id,
    conversationId: r.conversation_id,
    uploaderId: r.uploader_id,
    uploadedRevision: BigInt(r.uploaded_revision),
    status: r.status,
    blobKey: r.blob_key,
    keyId: r.key_id,
    thumbnailRevision: r.thumbnail_revision === null ? undefined : BigInt(r.thumbnail_revision),
  };
}
