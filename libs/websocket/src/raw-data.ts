import type { RawData } from 'ws';

/** The bytes of a ws message, as one Buffer (ws hands over a Buffer, an array of them or an ArrayBuffer). */
export function rawBytes(data: RawData): Buffer {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (Buffer.isBuffer(data)) return data;
  return Buffer.from(data);
}

/** A ws message decoded as UTF-8 (invalid sequences become U+FFFD). */
export function rawText(data: RawData): string {
  return rawBytes(data).toString('utf8');
}
