import type { SqlExecutor } from '@ledgerline/database';
import type { FileActor } from '../domain/file.events';
import type { UploadSession, UploadSessions } from '../application/upload-sessions.port';

interface Row {
  file_id: string;
  tenant_id: string;
  conversation_id: string;
  uploader_id: string;
  uploader_kind: FileActor['kind'];
  size: string;
  received: string;
  parts: number;
  key_id: string;
  epoch: string;
  chunk_size: number;
  meta: Uint8Array;
  tail: Uint8Array | null;
  created_at: Date | string;
}

/** Uploads under way in `ll_file_uploads`, so any node can take the next request of one. */
export class SqlUploadSessions implements UploadSessions {
  constructor(private readonly db: SqlExecutor) {}

  async create(s: UploadSession): Promise<void> {
    await this.db.query(
      `insert into ll_file_uploads (file_id, tenant_id, conversation_id, uploader_id, uploader_kind,
         size, received, parts, key_id, epoch, chunk_size, meta, tail, created_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
      [
        s.fileId,
        s.tenantId,
        s.conversationId,
        s.uploader.id,
        s.uploader.kind,
        s.size,
        s.received,
        s.parts,
        s.keyId,
        s.epoch,
        s.chunkSize,
        s.meta,
        s.tail ?? null,
        s.createdAt,
      ],
    );
  }

  async get(fileId: string): Promise<UploadSession | undefined> {
    const [row] = await this.db.query<Row>(`select * from ll_file_uploads where file_id = $1`, [
      fileId,
    ]);
    return row ? fromRow(row) : undefined;
  }

  /**
   * Moves an upload on from `from` received bytes; false when it no longer stands there (another
   * request moved it, or it was removed): the caller's part is then not part of the upload.
   */
  async advance(
    fileId: string,
    from: number,
    to: { received: number; parts: number; tail: Uint8Array | undefined },
  ): Promise<boolean> {
    const rows = await this.db.query(
      `update ll_file_uploads set received = $3, parts = $4, tail = $5
       where file_id = $1 and received = $2 returning file_id`,
      [fileId, from, to.received, to.parts, to.tail ?? null],
    );
    return rows.length === 1;
  }

  async delete(fileId: string): Promise<void> {
    await this.db.query(`delete from ll_file_uploads where file_id = $1`, [fileId]);
  }

  /** Uploads begun before `before`, for the expiry sweep. */
  async startedBefore(before: Date, limit: number): Promise<UploadSession[]> {
    const rows = await this.db.query<Row>(
      `select * from ll_file_uploads where created_at < $1 order by created_at limit $2`,
      [before, limit],
    );
    return rows.map(fromRow);
  }
}

function fromRow(r: Row): UploadSession {
  return {
    fileId: r.file_id,
    tenantId: r.tenant_id,
    conversationId: r.conversation_id,
    uploader: { id: r.uploader_id, kind: r.uploader_kind },
    size: Number(r.size),
    received: Number(r.received),
    parts: r.parts,
    keyId: r.key_id,
    epoch: r.epoch,
    chunkSize: r.chunk_size,
    meta: r.meta,
    tail: r.tail ?? undefined,
    createdAt: new Date(r.created_at),
  };
}
