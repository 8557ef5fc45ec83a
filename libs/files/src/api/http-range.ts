import { RangeNotSatisfiableError } from '../application/file-downloads.handler';
import type { ByteRange } from '../encryption/file-body-streams';

/**
 * The one byte range of a `Range` header (RFC 9110 §14), for a file of `size` bytes: undefined
 * when there is no header or one this server ignores (several ranges, another unit, malformed:
 * the whole file is served, as the RFC allows); RangeNotSatisfiableError when it names no byte
 * of the file.
 */
export function byteRangeOf(header: string | undefined, size: number): ByteRange | undefined {
  if (header === undefined || header.length > 100) return undefined;
  const match = /^bytes=(\d{0,15})-(\d{0,15})$/.exec(header.trim());
  if (!match) return undefined;
  const [, first, last] = match;
  if (first === '' && last === '') return undefined;
  if (first === '') {
    // A suffix: the last N bytes.
    const n = Number(last);
    if (n === 0 || size === 0) throw new RangeNotSatisfiableError(size);
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== '' && Number(last) < start) return undefined;
  if (start >= size) throw new RangeNotSatisfiableError(size);
  return { start, end };
}
