import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  S3ServiceException,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Readable } from 'node:stream';
import { LedgerlineError } from '@ledgerline/kernel';
import { BlobNotFoundError, BlobStoreUnavailableError } from '../../files.errors';
import { byteCounter } from '../byte-counter';
import {
  assertBlobKey,
  assertBlobPrefix,
  type BlobRange,
  type BlobStore,
} from '../blob-store.port';

export interface S3BlobStoreOptions {
  readonly bucket: string;
  /** Prepended to every key (e.g. `ledgerline/`), so one bucket can serve several deployments. */
  readonly keyPrefix?: string;
  readonly client: S3ClientConfig;
  /** Bytes per multipart part (at least 5 MiB, S3's minimum); memory per put is a few parts. */
  readonly partSize?: number;
}

/**
 * Blobs in an S3-compatible bucket. A put is a multipart upload that S3 makes visible only when it
 * completes (and that is aborted, its parts dropped, when the body or the backend fails), so a key
 * is never half-written. Reads are ranged GETs streamed as they come.
 */
export class S3BlobStore implements BlobStore {
  private readonly client: S3Client;
  private readonly prefix: string;

  constructor(private readonly options: S3BlobStoreOptions) {
    this.client = new S3Client({ forcePathStyle: true, maxAttempts: 2, ...options.client });
    this.prefix = options.keyPrefix ?? '';
  }

  async put(key: string, body: Readable): Promise<{ bytes: number }> {
    assertBlobKey(key);
    const counted = byteCounter();
    // A failing body fails the upload (which is then aborted) through the counter.
    body.on('error', (error) => counted.destroy(error));
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.options.bucket, Key: this.prefix + key, Body: body.pipe(counted) },
      partSize: this.options.partSize ?? 5 * 1024 * 1024,
      queueSize: 2,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (error) {
      body.destroy();
      throw translate(error, key);
    }
    return { bytes: counted.bytes };
  }

  async get(key: string, range?: BlobRange): Promise<Readable> {
    assertBlobKey(key);
    try {
      const answer = await this.client.send(
        new GetObjectCommand({
          Bucket: this.options.bucket,
          Key: this.prefix + key,
          ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
        }),
      );
      if (!(answer.Body instanceof Readable)) throw new Error('S3 answered without a body stream');
      return answer.Body;
    } catch (error) {
      throw translate(error, key);
    }
  }

  async size(key: string): Promise<number | undefined> {
    assertBlobKey(key);
    try {
      const head = await this.client.send(
        new HeadObjectCommand({ Bucket: this.options.bucket, Key: this.prefix + key }),
      );
      return head.ContentLength;
    } catch (error) {
      const translated = translate(error, key);
      if (translated instanceof BlobNotFoundError) return undefined;
      throw translated;
    }
  }

  async delete(key: string): Promise<void> {
    assertBlobKey(key);
    try {
      await this.client.send(
        new DeleteObjectCommand({ Bucket: this.options.bucket, Key: this.prefix + key }),
      );
    } catch (error) {
      const translated = translate(error, key);
      if (!(translated instanceof BlobNotFoundError)) throw translated;
    }
  }

  async *list(prefix: string): AsyncIterable<string> {
    assertBlobPrefix(prefix);
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.options.bucket,
            Prefix: this.prefix + prefix,
            ...(token ? { ContinuationToken: token } : {}),
          }),
        );
      } catch (error) {
        throw translate(error, prefix);
      }
      for (const object of page.Contents ?? []) {
        if (object.Key) yield object.Key.slice(this.prefix.length);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  destroy(): void {
    this.client.destroy();
  }
}

function translate(error: unknown, key: string): Error {
  if (error instanceof S3ServiceException) {
    const status = error.$metadata.httpStatusCode;
    if (error.name === 'NoSuchKey' || error.name === 'NotFound' || status === 404) {
      return new BlobNotFoundError(`no blob ${key}`);
    }
    return new BlobStoreUnavailableError(`the object store refused (${error.name})`, {
      cause: error,
    });
  }
  // A body stream that failed on its own (sealing refused the bytes) keeps its own error.
  if (error instanceof LedgerlineError || error instanceof RangeError) return error;
  return new BlobStoreUnavailableError('the object store is unreachable', { cause: error });
}
