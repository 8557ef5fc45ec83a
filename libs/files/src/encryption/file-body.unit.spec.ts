import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { v7 as uuidV7 } from 'uuid';
import { FileBodyCorruptError } from '../files.errors';
import {
  CHUNK_OVERHEAD,
  HEADER_BYTES,
  chunkOffset,
  deriveFileKey,
  sealedSize,
  type BodyLayout,
} from './file-body-cipher';
import { BodySealer, blobSpan, openingStream, sealingStream } from './file-body-streams';

const CHUNK = 1024;
const dataKey = randomBytes(32);

async function seal(
  layout: BodyLayout,
  plain: Buffer,
  key = deriveFileKey(dataKey, layout.fileId),
) {
  return buffer(Readable.from([plain]).pipe(sealingStream(key, layout)));
}

async function open(
  layout: BodyLayout,
  blob: Buffer,
  range?: { start: number; end: number },
  key = deriveFileKey(dataKey, layout.fileId),
): Promise<Buffer> {
  const span = blobSpan(layout, range);
  const out: Buffer[] = [];
  await pipeline(
    Readable.from([blob.subarray(span.start, span.end + 1)]),
    openingStream(key, layout, range),
    new Writable({
      write(piece: Buffer, _encoding, done) {
        out.push(piece);
        done();
      },
    }),
  );
  return Buffer.concat(out);
}

function chunkAt(blob: Buffer, index: number, layout: BodyLayout): Buffer {
  const start = chunkOffset(layout.chunkSize, index);
  return blob.subarray(start, start + layout.chunkSize + CHUNK_OVERHEAD);
}

describe('file body encryption', () => {
  it.each([0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 5 * CHUNK, 5 * CHUNK + 17])(
    'seals and opens a body of %i bytes whole, at the size the layout predicts',
    async (size) => {
      const layout = { fileId: uuidV7(), size, chunkSize: CHUNK };
      const plain = randomBytes(size);
      const blob = await seal(layout, plain);
      expect(blob.length).toBe(sealedSize(size, CHUNK));
      expect((await open(layout, blob)).equals(plain)).toBe(true);
    },
  );

  it('holds no plaintext: a repeated pattern does not appear in the blob', async () => {
    const canary = Buffer.from('CANARY-wound-photo-of-patient-7', 'utf8');
    const plain = Buffer.concat(Array.from({ length: 200 }, () => canary));
    const layout = { fileId: uuidV7(), size: plain.length, chunkSize: CHUNK };
    const blob = await seal(layout, plain);
    expect(blob.includes(canary)).toBe(false);
    expect(blob.includes(canary.subarray(0, 8))).toBe(false);
  });

  it('serves any byte range, opening only the chunks it covers', async () => {
    const size = 7 * CHUNK + 100;
    const layout = { fileId: uuidV7(), size, chunkSize: CHUNK };
    const plain = randomBytes(size);
    const blob = await seal(layout, plain);
    for (const [start, end] of [
      [0, 0],
      [0, size - 1],
      [CHUNK - 1, CHUNK],
      [3 * CHUNK + 5, 3 * CHUNK + 9],
      [size - 1, size - 1],
      [2 * CHUNK, 6 * CHUNK - 1],
    ] as const) {
      const got = await open(layout, blob, { start, end });
      expect(got.equals(plain.subarray(start, end + 1))).toBe(true);
    }
    expect(() => blobSpan(layout, { start: 0, end: size })).toThrow(RangeError);
    expect(() => blobSpan(layout, { start: 5, end: 4 })).toThrow(RangeError);
  });

  it('resumes sealing from a position taken mid-chunk, as a resumed upload does', async () => {
    const size = 4 * CHUNK + 300;
    const layout = { fileId: uuidV7(), size, chunkSize: CHUNK };
    const key = deriveFileKey(dataKey, layout.fileId);
    const plain = randomBytes(size);
    const out: Buffer[] = [];
    let sealer = new BodySealer(key, layout);
    for (const [from, to] of [
      [0, 10],
      [10, CHUNK + 700],
      [CHUNK + 700, 3 * CHUNK],
      [3 * CHUNK, size],
    ] as const) {
      out.push(...sealer.write(plain.subarray(from, to)));
      // Each piece ends a request: the next one starts from the position alone.
      sealer = new BodySealer(key, layout, sealer.position());
    }
    expect(sealer.complete).toBe(true);
    expect((await open(layout, Buffer.concat(out))).equals(plain)).toBe(true);
  });

  it('refuses a body longer or shorter than declared', async () => {
    const layout = { fileId: uuidV7(), size: 100, chunkSize: CHUNK };
    await expect(seal(layout, randomBytes(101))).rejects.toThrow(RangeError);
    await expect(seal(layout, randomBytes(99))).rejects.toThrow(RangeError);
  });

  describe('a stored body that was altered fails to open, and serves no byte of it', () => {
    const size = 4 * CHUNK + 10;
    const layout = { fileId: uuidV7(), size, chunkSize: CHUNK };
    let blob: Buffer;
    beforeAll(async () => {
      blob = await seal(layout, randomBytes(size));
    });

    async function expectCorrupt(altered: Buffer, range?: { start: number; end: number }) {
      await expect(open(layout, altered, range)).rejects.toBeInstanceOf(FileBodyCorruptError);
    }

    it('a flipped bit in a chunk', async () => {
      const altered = Buffer.from(blob);
      altered[chunkOffset(CHUNK, 2) + 40]! ^= 0x01;
      await expectCorrupt(altered);
      await expectCorrupt(altered, { start: 2 * CHUNK, end: 2 * CHUNK + 1 });
    });

    it('a flipped bit in a tag or a nonce', async () => {
      const tag = Buffer.from(blob);
      tag[chunkOffset(CHUNK, 1) + CHUNK + CHUNK_OVERHEAD - 1]! ^= 0x80;
      await expectCorrupt(tag);
      const nonce = Buffer.from(blob);
      nonce[chunkOffset(CHUNK, 0)]! ^= 0x80;
      await expectCorrupt(nonce);
    });

    it('a dropped chunk', async () => {
      const dropped = Buffer.concat([
        blob.subarray(0, chunkOffset(CHUNK, 1)),
        blob.subarray(chunkOffset(CHUNK, 2)),
      ]);
      await expectCorrupt(dropped);
    });

    it('two chunks swapped', async () => {
      const swapped = Buffer.concat([
        blob.subarray(0, chunkOffset(CHUNK, 1)),
        chunkAt(blob, 2, layout),
        chunkAt(blob, 1, layout),
        blob.subarray(chunkOffset(CHUNK, 3)),
      ]);
      await expectCorrupt(swapped);
    });

    it('a body cut after a whole chunk (the final chunk missing)', async () => {
      await expectCorrupt(blob.subarray(0, chunkOffset(CHUNK, 4)));
      await expectCorrupt(blob.subarray(0, blob.length - 1));
    });

    it('a full chunk presented as the final one (a longer body truncated to it)', async () => {
      const short = { ...layout, size: 2 * CHUNK };
      await expect(open(short, blob.subarray(0, chunkOffset(CHUNK, 2)))).rejects.toBeInstanceOf(
        FileBodyCorruptError,
      );
    });

    it('bytes appended after the final chunk', async () => {
      const longer = Buffer.concat([blob, randomBytes(CHUNK_OVERHEAD)]);
      const out: Buffer[] = [];
      await expect(
        pipeline(
          Readable.from([longer]),
          openingStream(deriveFileKey(dataKey, layout.fileId), layout),
          new Writable({
            write(piece: Buffer, _encoding, done) {
              out.push(piece);
              done();
            },
          }),
        ),
      ).rejects.toBeInstanceOf(FileBodyCorruptError);
    });

    it("another file's id, another data key, or an altered header", async () => {
      await expect(open({ ...layout, fileId: uuidV7() }, blob)).rejects.toBeInstanceOf(
        FileBodyCorruptError,
      );
      await expect(
        open(layout, blob, undefined, deriveFileKey(randomBytes(32), layout.fileId)),
      ).rejects.toBeInstanceOf(FileBodyCorruptError);
      const header = Buffer.from(blob);
      header[HEADER_BYTES - 1]! ^= 0x01;
      await expectCorrupt(header);
    });
  });
});
