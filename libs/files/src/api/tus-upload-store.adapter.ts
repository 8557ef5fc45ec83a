import type { Readable } from 'node:stream';
import { DataStore, ERRORS, Upload } from '@tus/utils';
import type { FileUploads } from '../application/file-uploads.handler';
import { FileNotFoundError } from '../domain/file.errors';
import { currentPrincipal } from './request-principal';

/**
 * The tus server's store: every call goes to FileUploads for the request's principal, so an upload
 * exists, resumes and ends only for its uploader. No metadata is kept by tus itself (the name and
 * type are sealed in the upload's session row).
 */
export class TusUploadStore extends DataStore {
  constructor(
    private readonly uploads: FileUploads,
    private readonly expiryMs: number,
  ) {
    super();
    this.extensions = ['creation', 'creation-with-upload', 'termination', 'expiration'];
  }

  override async create(upload: Upload): Promise<Upload> {
    // The session was opened by the server's onUploadCreate hook (FileUploads.begin).
    const session = await this.uploads.session(currentPrincipal(), upload.id).catch(notFound);
    return new Upload({
      id: upload.id,
      size: session.size,
      offset: session.received,
      creation_date: session.createdAt.toISOString(),
    });
  }

  override async getUpload(id: string): Promise<Upload> {
    const session = await this.uploads.session(currentPrincipal(), id).catch(notFound);
    return new Upload({
      id,
      size: session.size,
      offset: session.received,
      creation_date: session.createdAt.toISOString(),
    });
  }

  override async write(stream: Readable, id: string, offset: number): Promise<number> {
    return this.uploads.receive(currentPrincipal(), id, offset, stream);
  }

  override async remove(id: string): Promise<void> {
    await this.uploads.abandon(currentPrincipal(), id).catch(notFound);
  }

  override declareUploadLength(): Promise<void> {
    // Every upload declares its length at creation (it is bound into the sealed body's layout).
    return Promise.reject(tusError(ERRORS.UNSUPPORTED_CREATION_DEFER_LENGTH_EXTENSION));
  }

  override getExpiration(): number {
    return this.expiryMs;
  }

  override deleteExpired(): Promise<number> {
    return this.uploads.expire(this.expiryMs);
  }
}

function notFound(error: unknown): never {
  if (error instanceof FileNotFoundError) throw tusError(ERRORS.FILE_NOT_FOUND);
  throw error;
}

/** One of tus's own answers (`status_code`, `body`) as an Error the server still recognises. */
function tusError(answer: { status_code: number; body: string }): Error {
  return Object.assign(new Error(answer.body.trim()), answer);
}
