import type { FrameTarget } from '../frame-target.js';
import type { PixelOrder } from '../synthetic/pitch-renderer.js';

/** A video file and the frame size it was probed at. */
export interface VideoFile {
  file: string;
  width: number;
  height: number;
}

/**
 * Decodes a video file into raw frames of height x width x 3 bytes, written
 * into the buffers `target` gives, as they are pulled. Whatever ends the
 * iteration (the last frame, an abort, an error, the consumer breaking out),
 * the decoder's resources are released.
 */
export type VideoDecoder = (
  video: VideoFile,
  order: PixelOrder,
  signal: AbortSignal,
  target?: FrameTarget,
) => AsyncGenerator<Buffer>;

/** The decoder failed while decoding (not because we stopped it). */
export class DecodeError extends Error {
  override name = 'DecodeError';
}
