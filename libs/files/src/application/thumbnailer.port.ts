import type { Readable } from 'node:stream';

export interface Thumbnail {
  readonly data: Buffer;
  readonly mediaType: string;
  readonly width: number;
  readonly height: number;
}

/**
 * Makes a small preview of an image's plaintext. Every adapter guarantees: the image is decoded
 * under a pixel cap (a decompression bomb fails, it does not fill memory), the output is a fresh
 * encoding (no metadata of the original: EXIF, GPS, comments are dropped), and a body that is not
 * a decodable image is an error, never a partial result.
 */
export interface Thumbnailer {
  thumbnail(image: Readable): Promise<Thumbnail>;
}
