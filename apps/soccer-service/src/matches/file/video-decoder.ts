import type { FrameTarget } from '../frame-target.js';
import type { PixelOrder } from '../synthetic/pitch-renderer.js';

/** A video file, the size it is shown at and its rotation, as probed (VideoInfo). */
export interface VideoFile {
  file: string;
  width: number;
  height: number;
  /** Degrees its frames are turned to be shown: 0, 90, 180 or 270. */
  rotation: number;
}

/**
 * Decodes a video file into raw frames of height x width x 3 bytes, upright
 * (turned by the file's rotation, as players and the ffmpeg CLI show them), written
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
