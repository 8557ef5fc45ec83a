import { Transform } from 'node:stream';

/** A pass-through that counts the bytes it passed (`bytes`), for a put's answer. */
export function byteCounter(): Transform & { readonly bytes: number } {
  let bytes = 0;
  const counter = new Transform({
    transform(data: Buffer, _encoding, done) {
      bytes += data.length;
      done(null, data);
    },
  });
  return Object.defineProperty(counter, 'bytes', { get: () => bytes }) as Transform & {
    readonly bytes: number;
  };
}
