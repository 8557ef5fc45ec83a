import { LedgerlineError, NotFoundError, UnavailableError } from '@ledgerline/kernel';

/**
 * A stored file body that does not open: a chunk altered, dropped, moved, or the body cut short
 * or run long. No byte of a body that fails is ever served (a chunk is released only once its tag
 * checked), and the message names the file and chunk, never content.
 */
export class FileBodyCorruptError extends LedgerlineError {
  readonly code = 'file_corrupt';
  constructor(
    readonly fileId: string,
    readonly chunkIndex: number,
    reason: string,
  ) {
    super(`file ${fileId}: chunk ${chunkIndex} does not open (${reason})`);
  }
}

/** No blob under that key (never stored, or already deleted). */
export class BlobNotFoundError extends NotFoundError {
  override readonly code = 'blob_not_found';
}

/** The blob store did not answer or refused for a reason of its own: retry later. */
export class BlobStoreUnavailableError extends UnavailableError {
  override readonly code = 'blob_store_unavailable';
}
