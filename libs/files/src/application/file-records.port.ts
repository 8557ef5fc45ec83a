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

/**
 * Reads of the files read models (projections/files.projection.ts: files and message attachments)
 * and of the uploads under way.
 *
 * Every adapter guarantees: every answer is scoped to the tenant it is given, and it follows the
 * projection as it is (a file uploaded a moment ago may not show yet). `get`, `many` and
 * `attachedTo` are one statement each (`many` none when given no id); `tenantUsage` two.
 */
export interface FileRecords {
  get(tenantId: string, fileId: string): Promise<FileRecord | undefined>;
  many(tenantId: string, fileIds: readonly string[]): Promise<FileRecord[]>;
  /** Bytes the tenant holds: stored files and thumbnails, plus uploads under way at full size. */
  tenantUsage(tenantId: string): Promise<number>;
  /** The file ids one message carries, in the order it was sent with. */
  attachedTo(tenantId: string, conversationId: string, messageId: string): Promise<string[]>;
}
