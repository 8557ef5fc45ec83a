import { Transform, type TransformCallback } from 'node:stream';
import { FileBodyCorruptError } from '../files.errors';
import {
  CHUNK_OVERHEAD,
  HEADER_BYTES,
  bodyHeader,
  chunkCount,
  chunkOffset,
  chunkPlainLength,
  openChunk,
  sealChunk,
  type BodyLayout,
} from './file-body-cipher';

/** Where a sealer stands between two pieces of one upload (a tus PATCH ends anywhere). */
export interface SealerPosition {
  /** Plaintext bytes received so far. */
  readonly received: number;
  /** The received bytes not yet sealed into a chunk (fewer than one chunk). */
  readonly pending: Buffer;
}

/**
 * Seals a body as it arrives: a chunk is sealed and handed out as soon as it is whole, so memory
 * holds at most one chunk whatever the file's size. The body's size is known in advance (it is
 * bound into which chunk is final); a byte past it is refused.
 */
export class BodySealer {
  private received: number;
  private sealedChunks: number;
  private pending: Buffer[];
  private pendingBytes: number;
  private readonly chunks: number;

  constructor(
    private readonly key: Buffer,
    private readonly layout: BodyLayout,
    from: SealerPosition = { received: 0, pending: Buffer.alloc(0) },
  ) {
    this.chunks = chunkCount(layout.size, layout.chunkSize);
    const sealedBytes = from.received - from.pending.length;
    if (
      from.received > layout.size ||
      from.pending.length >= layout.chunkSize ||
      (sealedBytes % layout.chunkSize !== 0 && sealedBytes !== layout.size)
    ) {
      throw new Error('sealer position does not fit the layout');
    }
    this.received = from.received;
    this.sealedChunks =
      from.received === layout.size && from.pending.length === 0 && from.received > 0
        ? this.chunks
        : sealedBytes / layout.chunkSize;
    this.pending = from.pending.length > 0 ? [Buffer.from(from.pending)] : [];
    this.pendingBytes = from.pending.length;
  }

  position(): SealerPosition {
    return { received: this.received, pending: Buffer.concat(this.pending) };
  }

  /** Every chunk, the final one included, is sealed. */
  get complete(): boolean {
    return this.sealedChunks === this.chunks;
  }

  /** The sealed bytes `data` completes (the header first, for the first bytes of a body). */
  write(data: Buffer): Buffer[] {
    if (this.received + data.length > this.layout.size) {
      throw new RangeError(`body runs past its declared ${this.layout.size} bytes`);
    }
    const out: Buffer[] = [];
    if (this.received === 0 && this.sealedChunks === 0 && this.pendingBytes === 0) {
      if (data.length === 0 && this.layout.size > 0) return out;
      out.push(bodyHeader(this.layout.chunkSize));
    }
    this.received += data.length;
    let rest = data;
    while (rest.length > 0) {
      // A whole chunk within the piece is sealed from it directly, without a copy.
      if (this.pendingBytes === 0 && rest.length >= this.layout.chunkSize) {
        const whole = rest.subarray(0, this.layout.chunkSize);
        rest = rest.subarray(this.layout.chunkSize);
        out.push(sealChunk(this.key, this.layout, this.sealedChunks, whole));
        this.sealedChunks += 1;
        continue;
      }
      const take = Math.min(rest.length, this.layout.chunkSize - this.pendingBytes);
      this.pending.push(rest.subarray(0, take));
      this.pendingBytes += take;
      rest = rest.subarray(take);
      if (this.pendingBytes === this.layout.chunkSize) out.push(this.sealPending());
    }
    // The short last chunk (or the one empty chunk of an empty file).
    if (this.received === this.layout.size && !this.complete) out.push(this.sealPending());
    return out;
  }

  private sealPending(): Buffer {
    const plain = Buffer.concat(this.pending);
    const sealed = sealChunk(this.key, this.layout, this.sealedChunks, plain);
    plain.fill(0);
    this.pending = [];
    this.pendingBytes = 0;
    this.sealedChunks += 1;
    return sealed;
  }
}

/** A Transform sealing a whole body: plaintext in, blob bytes (header and chunks) out. */
export function sealingStream(key: Buffer, layout: BodyLayout): Transform {
  const sealer = new BodySealer(key, layout);
  return new Transform({
    transform(data: Buffer, _encoding, done: TransformCallback) {
      try {
        for (const piece of sealer.write(data)) this.push(piece);
        done();
      } catch (error) {
        done(error as Error);
      }
    },
    flush(done: TransformCallback) {
      // An empty body never saw a write.
      if (layout.size === 0) for (const piece of sealer.write(Buffer.alloc(0))) this.push(piece);
      done(
        sealer.complete
          ? null
          : new RangeError(`body ended short of its declared ${layout.size} bytes`),
      );
    },
  });
}

/** An inclusive plaintext byte range. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/** The blob bytes (inclusive) a plaintext range needs: whole chunks, plus the header for all. */
export interface BlobSpan {
  readonly start: number;
  readonly end: number;
  readonly firstChunk: number;
  readonly lastChunk: number;
  readonly withHeader: boolean;
}

export function blobSpan(layout: BodyLayout, range?: ByteRange): BlobSpan {
  const chunks = chunkCount(layout.size, layout.chunkSize);
  if (!range) {
    const lastChunk = chunks - 1;
    return {
      start: 0,
      end:
        chunkOffset(layout.chunkSize, lastChunk) +
        chunkPlainLength(layout, lastChunk) +
        CHUNK_OVERHEAD -
        1,
      firstChunk: 0,
      lastChunk,
      withHeader: true,
    };
  }
  if (range.start < 0 || range.end < range.start || range.end >= layout.size) {
    throw new RangeError('range outside the body');
  }
  const firstChunk = Math.floor(range.start / layout.chunkSize);
  const lastChunk = Math.floor(range.end / layout.chunkSize);
  return {
    start: chunkOffset(layout.chunkSize, firstChunk),
    end:
      chunkOffset(layout.chunkSize, lastChunk) +
      chunkPlainLength(layout, lastChunk) +
      CHUNK_OVERHEAD -
      1,
    firstChunk,
    lastChunk,
    withHeader: false,
  };
}

/**
 * Opens the blob bytes of `blobSpan(layout, range)` into the range's plaintext. A chunk's bytes
 * are released only after its tag checked; any failure (a chunk that does not open, a body cut
 * short or running long, a wrong header) ends the stream with FileBodyCorruptError.
 */
export function openingStream(key: Buffer, layout: BodyLayout, range?: ByteRange): Transform {
  const span = blobSpan(layout, range);
  const header = bodyHeader(layout.chunkSize);
  let needHeader = span.withHeader;
  let index = span.firstChunk;
  let parts: Buffer[] = [];
  let have = 0;
  const fail = (reason: string) => new FileBodyCorruptError(layout.fileId, index, reason);
  const wanted = () =>
    needHeader ? HEADER_BYTES : chunkPlainLength(layout, index) + CHUNK_OVERHEAD;
  return new Transform({
    transform(data: Buffer, _encoding, done: TransformCallback) {
      let rest = data;
      while (rest.length > 0) {
        if (index > span.lastChunk) return done(fail('bytes after the last chunk'));
        const take = Math.min(rest.length, wanted() - have);
        parts.push(rest.subarray(0, take));
        have += take;
        rest = rest.subarray(take);
        if (have < wanted()) break;
        // A chunk that arrived in one piece is opened in place, without a copy.
        const whole = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
        parts = [];
        have = 0;
        if (needHeader) {
          if (!whole.equals(header)) return done(fail('unknown header'));
          needHeader = false;
          continue;
        }
        let plain: Buffer;
        try {
          plain = openChunk(key, layout, index, whole);
        } catch {
          return done(fail('authentication failed'));
        }
        const chunkStart = index * layout.chunkSize;
        const from = range && index === span.firstChunk ? range.start - chunkStart : 0;
        const to = range && index === span.lastChunk ? range.end - chunkStart + 1 : plain.length;
        this.push(plain.subarray(from, to));
        index += 1;
      }
      done();
    },
    flush(done: TransformCallback) {
      done(index > span.lastChunk ? null : fail('body ends early'));
    },
  });
}
