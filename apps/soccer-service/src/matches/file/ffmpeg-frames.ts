import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import type { FrameTarget } from '../frame-target.js';
import type { PixelOrder } from '../synthetic/pitch-renderer.js';
import { SocketFrames } from './socket-frames.js';

export interface DecodeTarget {
  ffmpeg: string;
  file: string;
  width: number;
  height: number;
}

/** ffmpeg failed while decoding (not because we stopped it). */
export class DecodeError extends Error {
  override name = 'DecodeError';
}

/**
 * Decodes a video file with an ffmpeg child into raw frames of
 * height x width x 3 bytes, read from its stdout through SocketFrames.
 * Frames are pulled: while nobody reads, the socket fills and ffmpeg
 * blocks. Whatever ends the iteration (the last frame, an abort, an error,
 * the consumer breaking out), the child is killed and reaped.
 */
export async function* ffmpegFrames(
  target: DecodeTarget,
  order: PixelOrder,
  signal: AbortSignal,
  frameTarget?: FrameTarget,
): AsyncGenerator<Buffer> {
  const { reader, childEnd } = await SocketFrames.open(target.width * target.height * 3);
  let child: ReturnType<typeof spawnDecoder>;
  try {
    child = spawnDecoder(target, order, childEnd);
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

/** ffmpeg decoding `target.file` to raw frames on `stdout`. */
function spawnDecoder(target: DecodeTarget, order: PixelOrder, stdout: Socket) {
  return spawn(
    target.ffmpeg,
    [
      '-nostdin',
      '-hide_banner',
      '-loglevel',
      'error',
      '-i',
      target.file,
      '-f',
      'rawvideo',
      '-pix_fmt',
      order === 'bgr' ? 'bgr24' : 'rgb24',
      'pipe:1',
    ],
    { stdio: ['ignore', stdout, 'pipe'] },
  );
}
