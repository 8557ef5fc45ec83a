import type { Readable } from 'node:stream';
import sharp from 'sharp';
import type { Thumbnail, Thumbnailer } from '../application/thumbnailer.port';

/** Longest side of a thumbnail, in pixels. */
const EDGE = 320;

/**
 * Thumbnails with sharp (libvips): oriented by EXIF, fitted inside 320×320, re-encoded as WebP
 * with no metadata kept. Images above `maxPixels` are refused before they are decoded.
 */
export class SharpThumbnailer implements Thumbnailer {
  constructor(private readonly maxPixels = 40_000_000) {}

  async thumbnail(image: Readable): Promise<Thumbnail> {
    const pipeline = sharp({ limitInputPixels: this.maxPixels, failOn: 'error' })
      .rotate()
      .resize(EDGE, EDGE, { fit: 'inside', withoutEnlargement: true })
      .webp({ quality: 70 });
    image.on('error', (error) => pipeline.destroy(error));
    const { data, info } = await image.pipe(pipeline).toBuffer({ resolveWithObject: true });
    return { data, mediaType: 'image/webp', width: info.width, height: info.height };
  }
}
