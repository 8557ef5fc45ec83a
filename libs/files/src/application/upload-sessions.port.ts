import type { FileActor } from '../domain/file.events';

/** An upload under way, as `ll_file_uploads` keeps it between requests. */
export interface UploadSession {
  readonly fileId: string;
  readonly tenantId: string;
  readonly conversationId: string;
  readonly uploader: FileActor;
  readonly size: number;
  readonly received: number;
  readonly parts: number;
  readonly keyId: string;
  readonly epoch: string;
  readonly chunkSize: number;
  /** Sealed `{ name, mediaType }`. */
  readonly meta: Uint8Array;
  /** Sealed bytes past the last whole chunk, if any. */
  readonly tail: Uint8Array | undefined;
  readonly createdAt: Date;
}

/**
 * Uploads under way, kept between requests so any node can take the next request of one.
 *
 * Every adapter guarantees: each method is one statement; `advance` moves an upload only from the
 * received count it is given (compare-and-set), so two requests racing on one upload cannot both
 * append their part; what it keeps is sealed already (metadata and tail), never clear bytes.
 */
export interface UploadSessions {
  create(session: UploadSession): Promise<void>;
  get(fileId: string): Promise<UploadSession | undefined>;
  /**
   * Moves an upload on from `from` received bytes; false when it no longer stands there (another
   * request moved it, or it was removed): the caller's part is then not part of the upload.
   */
  advance(
    fileId: string,
    from: number,
    to: { received: number; parts: number; tail: Uint8Array | undefined },
  ): Promise<boolean>;
  delete(fileId: string): Promise<void>;
  /** Uploads begun before `before`, oldest first, for the expiry sweep. */
  startedBefore(before: Date, limit: number): Promise<UploadSession[]>;
}
