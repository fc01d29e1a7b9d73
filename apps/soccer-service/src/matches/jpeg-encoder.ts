/** Server default when a Watch asks for JPEG without a quality. */
export const DEFAULT_JPEG_QUALITY = 80;

/**
 * sharp, imported by the first JPEG frame: until a watcher asks for JPEG
 * (the gRPC default is raw), the service does not hold libvips (~8 MB
 * resident). Its load (~0.1 s, once) delays that first frame.
 */
let sharpModule: Promise<typeof import('sharp')> | undefined;

/** Encodes an RGB frame as a baseline JPEG (libvips, off the event loop). */
export async function encodeJpeg(
  rgb: Buffer,
  width: number,
  height: number,
  quality: number,
): Promise<Buffer> {
  const { default: sharp } = await (sharpModule ??= import('sharp'));
  return sharp(rgb, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: quality || DEFAULT_JPEG_QUALITY })
    .toBuffer();
}
