import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import type { FrameTarget } from '../frame-target.js';
import type { PixelOrder } from '../synthetic/pitch-renderer.js';
import { SocketFrames } from './socket-frames.js';
import { DecodeError, type VideoDecoder, type VideoFile } from './video-decoder.js';

/**
 * Decodes with an ffmpeg child, its raw frames read from its stdout through
 * SocketFrames: the fallback where node-av has no binary, or by choice
 * (VIDEO_DECODER=ffmpeg), keeping the decoder out of the service's process.
 * Frames are pulled: while nobody reads, the socket fills and ffmpeg blocks.
 * However the iteration ends, the child is killed and reaped.
 */
export function ffmpegDecoder(ffmpeg: string): VideoDecoder {
  return (video, order, signal, target) => ffmpegFrames(ffmpeg, video, order, signal, target);
}

async function* ffmpegFrames(
  ffmpeg: string,
  video: VideoFile,
  order: PixelOrder,
  signal: AbortSignal,
  frameTarget?: FrameTarget,
): AsyncGenerator<Buffer> {
  const { reader, childEnd } = await SocketFrames.open(video.width * video.height * 3);
  let child: ReturnType<typeof spawnDecoder>;
  try {
    child = spawnDecoder(ffmpeg, video.file, order, childEnd);
  } catch (err) {
    reader.close();
    throw err;
  } finally {
    childEnd.destroy(); // the child has its own copy
  }
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const kill = () => child.kill('SIGKILL');
  signal.addEventListener('abort', kill, { once: true });
  try {
    yield* reader.frames(signal, frameTarget);
    const [code] = await exited;
    if (code !== 0 && !signal.aborted) {
      throw new DecodeError(
        `ffmpeg exited with ${code}: ${stderr.trim().split('\n').at(-1) ?? ''}`,
      );
    }
  } finally {
    reader.close();
    signal.removeEventListener('abort', kill);
    if (child.exitCode === null && child.signalCode === null) {
      kill();
      await exited;
    }
  }
}

/** ffmpeg decoding `file` to raw frames on `stdout`. */
function spawnDecoder(ffmpeg: string, file: string, order: PixelOrder, stdout: Socket) {
  return spawn(
    ffmpeg,
    [
      '-nostdin',
      '-hide_banner',
      '-loglevel',
      'error',
      '-i',
      file,
      '-f',
      'rawvideo',
      '-pix_fmt',
      order === 'bgr' ? 'bgr24' : 'rgb24',
      'pipe:1',
    ],
    { stdio: ['ignore', stdout, 'pipe'] },
  );
}
