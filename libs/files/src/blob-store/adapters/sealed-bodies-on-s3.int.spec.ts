import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { v7 as uuidV7 } from 'uuid';
import { DEFAULT_CHUNK_SIZE, deriveFileKey } from '../../encryption/file-body-cipher';
import { blobSpan, openingStream, sealingStream } from '../../encryption/file-body-streams';
import { FileBodyCorruptError } from '../../files.errors';
import { LocalS3Server } from '../../testing/local-s3-server';
import { S3BlobStore } from './s3-blob-store.adapter';

// A sealed body in an S3 bucket (the real AWS SDK against a local S3-compatible server): the
// canary, which is its content, is nowhere in what the server keeps on disk (objects, metadata,
// multipart leftovers); ranges open from ranged GETs; an object altered in the bucket fails.

const CANARY = Buffer.from(`CANARY-s3-${randomUUID()}`, 'latin1');

describe('sealed file bodies on S3', () => {
  let server: LocalS3Server;
  let store: S3BlobStore;

  beforeAll(async () => {
    server = await LocalS3Server.start();
    store = new S3BlobStore({ bucket: server.bucket, client: server.clientConfig() });
  });
  afterAll(async () => {
    store?.destroy();
    await server?.stop();
  });

  it('keeps only ciphertext in the bucket, and serves any range from it', async () => {
    const fileId = uuidV7();
    const plain = Buffer.concat(
      Array.from({ length: 200 }, () => Buffer.concat([CANARY, randomBytes(40_000)])),
    );
    const layout = { fileId, size: plain.length, chunkSize: DEFAULT_CHUNK_SIZE };
    const key = deriveFileKey(randomBytes(32), fileId);
    await store.put(`f/${fileId}/p0`, Readable.from([plain]).pipe(sealingStream(key, layout)));

    const files = readdirSync(server.dataDirectory, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name));
    expect(files.length).toBeGreaterThan(0);
    expect(files.filter((f) => readFileSync(f).includes(CANARY))).toEqual([]);

    const range = { start: 1_000_000, end: 3_000_000 };
    const span = blobSpan(layout, range);
    const opened = await buffer(
      (await store.get(`f/${fileId}/p0`, { start: span.start, end: span.end })).pipe(
        openingStream(key, layout, range),
      ),
    );
    expect(opened.equals(plain.subarray(range.start, range.end + 1))).toBe(true);

    // Altered in the bucket (a byte of the third chunk): the read fails instead of serving it.
    const sealed = await buffer(await store.get(`f/${fileId}/p0`));
    sealed[span.start + 10]! ^= 0xff;
    await store.put(`f/${fileId}/p0`, Readable.from([sealed]));
    await expect(
      buffer(
        (await store.get(`f/${fileId}/p0`, { start: span.start, end: span.end })).pipe(
          openingStream(key, layout, range),
        ),
      ),
    ).rejects.toBeInstanceOf(FileBodyCorruptError);
  });
});
