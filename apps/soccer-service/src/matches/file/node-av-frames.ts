import { isShared, newFrameBuffer, type FrameTarget } from '../frame-target.js';
import type { PixelOrder } from '../synthetic/pitch-renderer.js';
import type { DecoderReply } from './node-av-thread.js';
import { DecoderThreads } from './node-av-threads.js';
import { DecodeError, type VideoDecoder, type VideoFile } from './video-decoder.js';

/** Frames decoded ahead while the reader holds one: at most this many... */
const MAX_AHEAD = 2;
/** ...and at most this many bytes of them (a 1080p frame is 6 MB: one ahead). */
const MAX_AHEAD_BYTES = 8 * 1024 * 1024;

/**
 * node-av's libav* bindings (FFmpeg built into a registry package), loaded on
 * the first file watched, on decoder threads (node-av-thread.ts): none of its
 * ~40 MB is paid by a service that never plays a file. Rejects where the
 * package has no binary for this platform.
 */
export async function loadNodeAvDecoder(): Promise<VideoDecoder> {
  const threads = new DecoderThreads();
  await threads.start();
  return (video, order, signal, target) => nodeAvFrames(threads, video, order, signal, target);
}

/**
 * Decodes `video` on a decoder thread, into the shared buffers `target`
 * gives: the thread writes each frame where it is sent from, so it is copied
 * once. Pulled, two frames ahead (one of large frames): they decode while
 * the reader has this one, as an ffmpeg child's pipe would have them, and no
 * more, so back-pressure holds. However the iteration ends, the frames asked
 * for are settled and the file closed before it returns.
 */
async function* nodeAvFrames(
  threads: DecoderThreads,
  video: VideoFile,
  order: PixelOrder,
  signal: AbortSignal,
  target: FrameTarget = newFrameBuffer,
): AsyncGenerator<Buffer> {
  // Its frames would come as stored, not turned to the size probed (VideoDecoders sends these to ffmpeg).
  if (video.rotation)
    throw new DecodeError(`a video rotated ${video.rotation}° needs the ffmpeg decoder`);
  const frameBytes = video.width * video.height * 3;
  const ahead = Math.max(1, Math.min(MAX_AHEAD, Math.floor(MAX_AHEAD_BYTES / frameBytes)));
  const { thread, id } = threads.take();
  const asked: { frame: Buffer; reply: Promise<DecoderReply> }[] = [];
  const answer = async (reply: Promise<DecoderReply>) => {
    const { error, frame } = await reply;
    if (error) throw new DecodeError(error);
    return frame;
  };
  try {
    await answer(thread.request({ op: 'open', id, video, order }));
    while (!signal.aborted) {
      while (asked.length <= ahead) {
        const frame = target(frameBytes, true);
        if (!isShared(frame))
          throw new TypeError('a frame target must give shared memory when asked');
        asked.push({ frame, reply: thread.request({ op: 'frame', id, into: frame }) });
      }
      const { frame, reply } = asked.shift()!;
      if (!(await answer(reply))) return; // the end of the file
      yield frame;
    }
  } finally {
    await Promise.all(asked.map((a) => a.reply)); // no thread writes a buffer after we return
    await thread.request({ op: 'close', id });
    thread.closed(id);
  }
}
