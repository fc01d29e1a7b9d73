import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newFrameBuffer } from '../frame-target.js';
import { loadNodeAvDecoder } from './node-av-frames.js';
import type { VideoDecoder, VideoFile } from './video-decoder.js';

const run = promisify(execFile);

/** An H.264 file of `frames` frames of testsrc2, as probed. */
async function testVideo(dir: string, width: number, height: number, frames: number) {
  const size = `${width}x${height}`;
  const file = join(dir, `${size}.mp4`);
  const source = ['-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=25`];
  await run('ffmpeg', [
    '-v',
    'error',
    ...source,
    '-frames:v',
    `${frames}`,
    '-pix_fmt',
    'yuv420p',
    file,
  ]);
  return { file, width, height, rotation: 0 } satisfies VideoFile;
}

/** A target that records every buffer it gives. */
function recordingTarget() {
  const given: Buffer[] = [];
  const target = (bytes: number, shared?: boolean) => {
    const frame = newFrameBuffer(bytes, shared);
    given.push(frame);
    return frame;
  };
  return { given, target };
}

describe('node-av decoding on decoder threads', () => {
  let dir: string;
  let decode: VideoDecoder;
  let small: VideoFile;
  let large: VideoFile;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'node-av-'));
    [small, large] = await Promise.all([
      testVideo(dir, 320, 180, 30),
      testVideo(dir, 1920, 1080, 4),
    ]);
    decode = await loadNodeAvDecoder();
  });

  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('decodes every frame into the shared buffers its target gives, in order', async () => {
    const { given, target } = recordingTarget();
    const frames: Buffer[] = [];
    for await (const frame of decode(small, 'bgr', new AbortController().signal, target)) {
      frames.push(frame);
    }
    expect(frames).toHaveLength(30);
    frames.forEach((frame, n) => expect(frame).toBe(given[n]));
    expect(given.every((b) => b.buffer instanceof SharedArrayBuffer)).toBe(true);
    const { stdout } = await run(
      'ffmpeg',
      ['-v', 'error', '-i', small.file, '-f', 'rawvideo', '-pix_fmt', 'bgr24', 'pipe:1'],
      { encoding: 'buffer', maxBuffer: 16 * 1024 * 1024 },
    );
    expect(Buffer.concat(frames).equals(stdout)).toBe(true);
  });

  it('decodes more files at once than there are threads, each to its own frames', async () => {
    const count = availableParallelism() + 2; // one thread per core
    const files = await Promise.all(
      Array.from({ length: count }, (_, i) => testVideo(dir, 160 + 16 * i, 96, 12)),
    );
    const decoded = await Promise.all(
      files.map(async (video) => {
        const frames: Buffer[] = [];
        for await (const frame of decode(video, 'rgb', new AbortController().signal)) {
          frames.push(Buffer.from(frame));
        }
        return Buffer.concat(frames);
      }),
    );
    for (const [i, video] of files.entries()) {
      const { stdout } = await run(
        'ffmpeg',
        ['-v', 'error', '-i', video.file, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'],
        { encoding: 'buffer', maxBuffer: 16 * 1024 * 1024 },
      );
      expect(decoded[i].equals(stdout)).toBe(true);
    }
  });

  it('decodes two frames ahead of its reader, and one of large ones (1080p)', async () => {
    for (const [video, ahead] of [
      [small, 2],
      [large, 1],
    ] as const) {
      const { given, target } = recordingTarget();
      const frames = decode(video, 'rgb', new AbortController().signal, target);
      await frames.next();
      await new Promise((resolve) => setTimeout(resolve, 100)); // a reader that stalls
      expect(given).toHaveLength(1 + ahead);
      await frames.return(undefined);
    }
  });

  it('once a reader stops, writes no buffer it gave and closes the file', async () => {
    const { given, target } = recordingTarget();
    for await (const frame of decode(small, 'bgr', new AbortController().signal, target)) {
      expect(frame.length).toBe(320 * 180 * 3);
      break;
    }
    const after = given.map((b) => Buffer.from(b));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(given.every((b, i) => b.equals(after[i]))).toBe(true);
    // The thread is free for the next file: it decodes from the start.
    let count = 0;
    for await (const _ of decode(small, 'bgr', new AbortController().signal)) count++;
    expect(count).toBe(30);
  });

  it('answers a file it cannot open with a DecodeError, and goes on decoding others', async () => {
    const missing = { ...small, file: join(dir, 'missing.mp4') };
    await expect(decode(missing, 'bgr', new AbortController().signal).next()).rejects.toThrow(
      /^opening the video: /,
    );
    let count = 0;
    for await (const _ of decode(small, 'bgr', new AbortController().signal)) count++;
    expect(count).toBe(30);
  });
});
