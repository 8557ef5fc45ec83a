import type { SqlExecutor } from '@ledgerline/database';
import type { FileRecord, FileRecords } from '../application/file-records.port';
import { sealedSize } from '../encryption/file-body-cipher';

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

/** FileRecords over `ll_files`, `ll_file_attachments` and `ll_file_uploads`. */
export class SqlFileRecords implements FileRecords {
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

  async attachedTo(tenantId: string, conversationId: string, messageId: string): Promise<string[]> {
    const rows = await this.db.query<{ file_id: string }>(
      `select file_id from ll_file_attachments
       where tenant_id = $1 and conversation_id = $2 and message_id = $3 order by ordinal`,
      [tenantId, conversationId, messageId],
    );
    return rows.map((r) => r.file_id);
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
