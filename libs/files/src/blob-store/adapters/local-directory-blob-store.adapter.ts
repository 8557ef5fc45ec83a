import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BlobNotFoundError, BlobStoreUnavailableError } from '../../files.errors';
import { byteCounter } from '../byte-counter';
import {
  assertBlobKey,
  assertBlobPrefix,
  type BlobRange,
  type BlobStore,
} from '../blob-store.port';

const TMP = '.incoming';

/**
 * Blobs as files under one directory (the embedded default, `./data/files`). A put writes to a
 * temporary file in the same directory tree, flushes it to disk, then renames it into place, so a
 * key is either absent or whole, even across a crash.
 */
export class LocalDirectoryBlobStore implements BlobStore {
  constructor(private readonly root: string) {}

  async put(key: string, body: Readable): Promise<{ bytes: number }> {
    assertBlobKey(key);
    // The body may fail before the pipeline below is attached: its error is kept, not thrown.
    body.on('error', ignore);
    const target = this.pathOf(key);
    const temporary = join(this.root, TMP, randomUUID());
    try {
      await mkdir(dirname(temporary), { recursive: true });
      await mkdir(dirname(target), { recursive: true });
    } catch (error) {
      body.destroy();
      throw unavailable(error);
    }
    const counted = byteCounter();
    try {
      await pipeline(body, counted, createWriteStream(temporary, { flags: 'wx' }));
      const handle = await open(temporary, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temporary, target);
    } catch (error) {
      await rm(temporary, { force: true });
      throw isFsError(error) ? unavailable(error) : error;
    }
    return { bytes: counted.bytes };
  }

  async get(key: string, range?: BlobRange): Promise<Readable> {
    assertBlobKey(key);
    const path = this.pathOf(key);
    const handle = await open(path, 'r').catch((error: unknown) => {
      throw notFoundOr(error, key);
    });
    // Opened before returning: a missing blob is an error here, not mid-stream.
    return createReadStream('', {
      fd: handle,
      ...(range ? { start: range.start, end: range.end } : {}),
    });
  }

  async size(key: string): Promise<number | undefined> {
    assertBlobKey(key);
    try {
      return (await stat(this.pathOf(key))).size;
    } catch (error) {
      if (codeOf(error) === 'ENOENT') return undefined;
      throw unavailable(error);
    }
  }

  async delete(key: string): Promise<void> {
    assertBlobKey(key);
    try {
      await rm(this.pathOf(key), { force: true });
    } catch (error) {
      throw unavailable(error);
    }
  }

  async *list(prefix: string): AsyncIterable<string> {
    assertBlobPrefix(prefix);
    let entries: string[];
    try {
      entries = await readdir(this.root, { recursive: true });
    } catch (error) {
      if (codeOf(error) === 'ENOENT') return;
      throw unavailable(error);
    }
    for (const entry of entries) {
      const key = entry.split(sep).join('/');
      if (key.startsWith(`${TMP}/`) || key === TMP || !key.startsWith(prefix)) continue;
      const info = await stat(join(this.root, entry)).catch(() => undefined);
      if (info?.isFile()) yield key;
    }
  }

  private pathOf(key: string): string {
    const path = join(this.root, ...key.split('/'));
    // assertBlobKey already rules out `..`; this keeps it so if the pattern ever changes.
    if (relative(this.root, path).startsWith('..')) throw new Error('blob key leaves the root');
    return path;
  }
}

function ignore(): void {}

function codeOf(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error
    ? String(error.code)
    : undefined;
}

function isFsError(error: unknown): boolean {
  return codeOf(error)?.startsWith('E') ?? false;
}

function notFoundOr(error: unknown, key: string): Error {
  return codeOf(error) === 'ENOENT' ? new BlobNotFoundError(`no blob ${key}`) : unavailable(error);
}

function unavailable(error: unknown): BlobStoreUnavailableError {
  return new BlobStoreUnavailableError(`the blob directory failed (${codeOf(error) ?? 'error'})`, {
    cause: error,
  });
}
