import type { Readable } from 'node:stream';

/** An inclusive byte range of a blob. */
export interface BlobRange {
  readonly start: number;
  readonly end: number;
}

/**
 * Where file bodies live: opaque ciphertext under opaque keys. Every adapter guarantees (and the
 * contract suite, blob-store.contract.ts, checks):
 *
 * - `put` is all or nothing: until it resolves nobody sees the key, and a body stream that fails
 *   (or a backend that fails) leaves nothing under it, nor a half-written object.
 * - `get` streams the bytes (a range when asked), without holding the blob in memory; an absent
 *   key is BlobNotFoundError, before any byte is streamed.
 * - `delete` is idempotent; `list` yields every key under a prefix, in no particular order.
 * - A backend that is down or refuses is BlobStoreUnavailableError (retryable), never a hang
 *   longer than the adapter's own timeouts.
 * - Keys are checked by `assertBlobKey`: lower-case letters, digits, `-`, `.` and `/` between
 *   non-empty segments. Callers build them from ids only; a key never carries a file name.
 */
export interface BlobStore {
  put(key: string, body: Readable): Promise<{ readonly bytes: number }>;
  get(key: string, range?: BlobRange): Promise<Readable>;
  /** The blob's size, or undefined when there is none. */
  size(key: string): Promise<number | undefined>;
  delete(key: string): Promise<void>;
  list(prefix: string): AsyncIterable<string>;
}

const BLOB_KEY = /^[a-z0-9][a-z0-9.-]{0,99}(\/[a-z0-9][a-z0-9.-]{0,99}){0,9}$/;

export function assertBlobKey(key: string): void {
  if (!BLOB_KEY.test(key)) throw new Error('blob key is malformed');
}

export function assertBlobPrefix(prefix: string): void {
  if (prefix !== '' && !BLOB_KEY.test(prefix.replace(/\/$/, ''))) {
    throw new Error('blob prefix is malformed');
  }
}
