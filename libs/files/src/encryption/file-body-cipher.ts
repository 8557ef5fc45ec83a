import { createCipheriv, createDecipheriv, hkdfSync, randomFillSync } from 'node:crypto';
import { parse as parseUuid } from 'uuid';

/**
 * The format of a stored file body, version 1 (see docs/adr/0022):
 *
 *   header(8) = "LLF" ‖ version(1) ‖ chunkSize(uint32 BE)
 *   chunk_i   = nonce(12) ‖ AES-256-GCM(fileKey, nonce, plaintext_i, aad_i) ‖ tag(16)
 *   aad_i     = "ledgerline/file-chunk/v1" ‖ 0x00 ‖ fileId(16) ‖ i(uint64 BE) ‖ final(1) ‖ header
 *
 * Every chunk but the last holds exactly `chunkSize` plaintext bytes; the last holds the rest (an
 * empty file is one empty final chunk). The file key is HKDF-SHA-256 of the conversation's data
 * key with the file id as salt, so a file's chunks open only under its own id, and shredding the
 * data key makes every file sealed under it unreadable. Binding the index and the final flag into
 * each chunk's associated data is what makes a reordered, dropped, duplicated or truncated body
 * fail to open, and binding the header keeps the chunk size from being altered.
 */
export const FILE_BODY_VERSION = 1;
export const DEFAULT_CHUNK_SIZE = 64 * 1024;
export const HEADER_BYTES = 8;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
export const CHUNK_OVERHEAD = NONCE_BYTES + TAG_BYTES;
const MAGIC = Buffer.from('LLF', 'ascii');
const CHUNK_DOMAIN = Buffer.from('ledgerline/file-chunk/v1\u0000', 'utf8');
const KEY_INFO = Buffer.from('ledgerline/file-body/v1', 'utf8');
const MIN_CHUNK = 1024;
const MAX_CHUNK = 16 * 1024 * 1024;

/** What a body's layout depends on: the same at sealing and at opening. */
export interface BodyLayout {
  readonly fileId: string;
  /** Plaintext bytes in the whole file. */
  readonly size: number;
  readonly chunkSize: number;
}

/** The per-file key: the data key's 32 bytes never touch a chunk directly. */
export function deriveFileKey(dataKey: Buffer, fileId: string): Buffer {
  if (dataKey.length !== 32) throw new Error('data key must be 32 bytes');
  return Buffer.from(hkdfSync('sha256', dataKey, fileIdBytes(fileId), KEY_INFO, 32));
}

export function bodyHeader(chunkSize: number): Buffer {
  assertChunkSize(chunkSize);
  const header = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(header, 0);
  header.writeUInt8(FILE_BODY_VERSION, 3);
  header.writeUInt32BE(chunkSize, 4);
  return header;
}

/** Chunks in a body of `size` bytes (at least one: an empty file has one empty final chunk). */
export function chunkCount(size: number, chunkSize: number): number {
  return Math.max(1, Math.ceil(size / chunkSize));
}

/** Plaintext bytes in chunk `index`. */
export function chunkPlainLength(layout: BodyLayout, index: number): number {
  const last = chunkCount(layout.size, layout.chunkSize) - 1;
  return index < last ? layout.chunkSize : layout.size - last * layout.chunkSize;
}

/** Where chunk `index` starts in the blob. */
export function chunkOffset(chunkSize: number, index: number): number {
  return HEADER_BYTES + index * (chunkSize + CHUNK_OVERHEAD);
}

/** Bytes the blob of a body of `size` bytes holds. */
export function sealedSize(size: number, chunkSize: number): number {
  return HEADER_BYTES + chunkCount(size, chunkSize) * CHUNK_OVERHEAD + size;
}

export function sealChunk(
  key: Buffer,
  layout: BodyLayout,
  index: number,
  plaintext: Buffer,
): Buffer {
  // One output buffer per chunk: nonce, then the ciphertext and the tag copied in after it.
  const sealed = Buffer.allocUnsafe(NONCE_BYTES + plaintext.length + TAG_BYTES);
  randomFillSync(sealed, 0, NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, sealed.subarray(0, NONCE_BYTES), {
    authTagLength: TAG_BYTES,
  });
  cipher.setAAD(chunkAad(layout, index));
  let at = NONCE_BYTES;
  at += cipher.update(plaintext).copy(sealed, at);
  at += cipher.final().copy(sealed, at);
  cipher.getAuthTag().copy(sealed, at);
  return sealed;
}

/** The chunk's plaintext; throws (a bare Error the caller names) when it does not authenticate. */
export function openChunk(key: Buffer, layout: BodyLayout, index: number, sealed: Buffer): Buffer {
  if (sealed.length !== chunkPlainLength(layout, index) + CHUNK_OVERHEAD) {
    throw new Error('chunk has the wrong length');
  }
  const nonce = sealed.subarray(0, NONCE_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(chunkAad(layout, index));
  decipher.setAuthTag(tag);
  return Buffer.concat([
    decipher.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES)),
    decipher.final(),
  ]);
}

function chunkAad(layout: BodyLayout, index: number): Buffer {
  const count = chunkCount(layout.size, layout.chunkSize);
  if (!Number.isSafeInteger(index) || index < 0 || index >= count) {
    throw new Error('chunk index out of range');
  }
  const position = Buffer.alloc(9);
  position.writeBigUInt64BE(BigInt(index), 0);
  position.writeUInt8(index === count - 1 ? 1 : 0, 8);
  return Buffer.concat([
    CHUNK_DOMAIN,
    fileIdBytes(layout.fileId),
    position,
    bodyHeader(layout.chunkSize),
  ]);
}

function fileIdBytes(fileId: string): Buffer {
  return Buffer.from(parseUuid(fileId));
}

export function assertChunkSize(chunkSize: number): void {
  if (!Number.isInteger(chunkSize) || chunkSize < MIN_CHUNK || chunkSize > MAX_CHUNK) {
    throw new Error(`chunk size must be an integer from ${MIN_CHUNK} to ${MAX_CHUNK}`);
  }
}
