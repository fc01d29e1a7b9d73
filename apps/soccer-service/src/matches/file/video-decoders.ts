import { Logger } from '@nestjs/common';
import { ffmpegDecoder } from './ffmpeg-frames.js';
import { loadNodeAvDecoder } from './node-av-frames.js';
import type { VideoDecoder } from './video-decoder.js';

/** The ways soccer-service can decode a video file (VIDEO_DECODER). */
export const VIDEO_DECODERS = ['node-av', 'ffmpeg'] as const;
export type VideoDecoderName = (typeof VIDEO_DECODERS)[number];

/** Called as a decoder starts; the function it returns, once the decoder is released. */
export type DecoderOpened = (name: VideoDecoderName) => () => void;

/**
 * Picks the decoder of video files once, on the first file watched: node-av
 * in process unless VIDEO_DECODER=ffmpeg, or when node-av cannot load (no
 * binary for this platform), an ffmpeg child. Undefined: neither is there.
 * With node-av, a rotated file (a phone's portrait video) still decodes in
 * an ffmpeg child, which turns its frames upright as the ffmpeg CLI does;
 * node-av gives them as stored.
 */
export class VideoDecoders {
  private readonly logger = new Logger('VideoDecoder');
  private chosen?: Promise<VideoDecoder | undefined>;

  constructor(
    private readonly preferred: VideoDecoderName,
    private readonly ffmpeg: string | undefined,
    private readonly opened: DecoderOpened,
    private readonly loadNodeAv: () => Promise<VideoDecoder> = loadNodeAvDecoder,
  ) {}

  decoder(): Promise<VideoDecoder | undefined> {
    return (this.chosen ??= this.choose());
  }

  private async choose(): Promise<VideoDecoder | undefined> {
    const child = this.ffmpeg
      ? counted('ffmpeg', ffmpegDecoder(this.ffmpeg), this.opened)
      : undefined;
    if (this.preferred === 'node-av') {
      try {
        const inProcess = counted('node-av', await this.loadNodeAv(), this.opened);
        this.logger.log(
          `video files decode in process (node-av)${child ? ', rotated ones in ffmpeg children' : ''}`,
        );
        return child
          ? (video, ...rest) => (video.rotation ? child : inProcess)(video, ...rest)
          : inProcess;
      } catch (err) {
        this.logger.warn(
          `node-av cannot load (${(err as Error).message.split('\n')[0]}): ` +
            (this.ffmpeg ? 'video files decode in ffmpeg children' : 'no decoder'),
        );
      }
    }
    if (child) this.logger.log(`video files decode in ffmpeg children (${this.ffmpeg})`);
    return child;
  }
}

/** `decode`, with `opened` told of each decoder's start and end. */
function counted(
  name: VideoDecoderName,
  decode: VideoDecoder,
  opened: DecoderOpened,
): VideoDecoder {
  return async function* (...args) {
    // In the body, not before it: a generator never iterated opens nothing.
    const closed = opened(name);
    try {
      yield* decode(...args);
    } finally {
      closed();
    }
  };
}
