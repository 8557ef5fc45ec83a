import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { BlobNotFoundError, BlobStoreUnavailableError } from '../../files.errors';
import type { BlobStore } from '../blob-store.port';

export interface BlobStoreUnderTest {
  readonly store: BlobStore;
  /** A store of the same kind whose backend is down (unreachable, or unusable). */
  readonly down: BlobStore;
  /** Every key the backend holds, read around the adapter (to see half-written objects). */
  rawKeys(): Promise<string[]>;
}

/**
 * The BlobStore contract: every adapter passes the same suite. `open` is called once per suite;
 * each test works under a prefix of its own.
 */
export function blobStoreContract(
  name: string,
  open: () => Promise<BlobStoreUnderTest>,
  close: () => Promise<void>,
): void {
  describe(`BlobStore contract: ${name}`, () => {
    let under: BlobStoreUnderTest;
    let store: BlobStore;
    let n = 0;
    let prefix: string;

    beforeAll(async () => {
      under = await open();
      store = under.store;
    });
    afterAll(close);
    beforeEach(() => {
      n += 1;
      prefix = `contract-${Date.now().toString(36)}-${n}`;
    });

    it('stores a body and reads it back whole, and its size', async () => {
      const body = randomBytes(300_000);
      const { bytes } = await store.put(`${prefix}/a`, Readable.from([body]));
      expect(bytes).toBe(body.length);
      expect((await buffer(await store.get(`${prefix}/a`))).equals(body)).toBe(true);
      expect(await store.size(`${prefix}/a`)).toBe(body.length);
    });

    it('streams a body larger than one part from many small pieces', async () => {
      const pieces = Array.from({ length: 200 }, () => randomBytes(64 * 1024));
      await store.put(`${prefix}/big`, Readable.from(pieces));
      const back = await buffer(await store.get(`${prefix}/big`));
      expect(back.equals(Buffer.concat(pieces))).toBe(true);
    });

    it('reads an inclusive byte range', async () => {
      const body = randomBytes(10_000);
      await store.put(`${prefix}/r`, Readable.from([body]));
      const part = await buffer(await store.get(`${prefix}/r`, { start: 1234, end: 5678 }));
      expect(part.equals(body.subarray(1234, 5679))).toBe(true);
      const last = await buffer(await store.get(`${prefix}/r`, { start: 9999, end: 9999 }));
      expect(last.equals(body.subarray(9999))).toBe(true);
    });

    it('replaces a blob put again under the same key', async () => {
      await store.put(`${prefix}/x`, Readable.from([Buffer.from('one')]));
      await store.put(`${prefix}/x`, Readable.from([Buffer.from('two!')]));
      expect((await buffer(await store.get(`${prefix}/x`))).toString()).toBe('two!');
    });

    it('an absent key is BlobNotFoundError on get, undefined on size', async () => {
      await expect(store.get(`${prefix}/missing`)).rejects.toBeInstanceOf(BlobNotFoundError);
      expect(await store.size(`${prefix}/missing`)).toBeUndefined();
    });

    it('deletes, and deleting again is fine', async () => {
      await store.put(`${prefix}/d`, Readable.from([Buffer.from('bye')]));
      await store.delete(`${prefix}/d`);
      await store.delete(`${prefix}/d`);
      await expect(store.get(`${prefix}/d`)).rejects.toBeInstanceOf(BlobNotFoundError);
    });

    it('lists every key under a prefix and none outside it', async () => {
      const keys = Array.from({ length: 5 }, (_, i) => `${prefix}/l/k${i}`);
      for (const key of keys) await store.put(key, Readable.from([Buffer.from(key)]));
      await store.put(`${prefix}/other`, Readable.from([Buffer.from('o')]));
      const listed: string[] = [];
      for await (const key of store.list(`${prefix}/l/`)) listed.push(key);
      expect(listed.sort()).toEqual(keys);
    });

    it('a body that fails midway leaves nothing under the key, not even part of it', async () => {
      const failing = Readable.from(
        (async function* () {
          yield randomBytes(6 * 1024 * 1024);
          throw new RangeError('the body failed');
        })(),
      );
      const before = (await under.rawKeys()).sort();
      await expect(store.put(`${prefix}/half`, failing)).rejects.toThrow();
      await expect(store.get(`${prefix}/half`)).rejects.toBeInstanceOf(BlobNotFoundError);
      expect((await under.rawKeys()).sort()).toEqual(before);
    });

    it('refuses keys that are not plain ids and slashes', async () => {
      for (const key of ['', '../etc/passwd', 'a/../b', 'A/b', 'a//b', 'a/b.pdf ', 'a\nb', '/a']) {
        await expect(store.put(key, Readable.from([Buffer.from('x')]))).rejects.toThrow(
          'blob key is malformed',
        );
        await expect(store.get(key)).rejects.toThrow('blob key is malformed');
      }
    });

    it('a backend that is down is BlobStoreUnavailableError (retryable) on every call', async () => {
      const { down } = under;
      const put = down.put(`${prefix}/y`, Readable.from([Buffer.from('y')]));
      await expect(put).rejects.toBeInstanceOf(BlobStoreUnavailableError);
      await expect(put).rejects.toMatchObject({ retryable: true });
      await expect(down.get(`${prefix}/y`)).rejects.toBeInstanceOf(BlobStoreUnavailableError);
      await expect(down.size(`${prefix}/y`)).rejects.toBeInstanceOf(BlobStoreUnavailableError);
    });
  });
}
