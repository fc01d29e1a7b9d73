import sharp from 'sharp';

/** Server default when a Watch asks for JPEG without a quality. */
export const DEFAULT_JPEG_QUALITY = 80;

/** Encodes an RGB frame as a baseline JPEG (libvips, off the event loop). */
export function encodeJpeg(
  rgb: Buffer,
  width: number,
  height: number,
  quality: number,
): Promise<Buffer> {
  return sharp(rgb, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: quality || DEFAULT_JPEG_QUALITY })
    .toBuffer();
}
