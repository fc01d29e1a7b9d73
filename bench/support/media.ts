import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PYTHON } from './tools.js';
import { TALK_CHEESE_PROTO_DIR, TALK_STREAM_PROTO_DIR } from './paths.js';

const run = promisify(execFile);

/** A generated match for the Watch runs. */
export interface TestVideo {
  /** Match id: the file is `{dir}/{id}.mp4`. */
  id: string;
  dir: string;
  file: string;
  width: number;
  height: number;
  fps: number;
  seconds: number;
}

/** The sizes the Watch runs use, and the bit rate a match of that size streams at. */
export const VIDEO_SIZES = {
  '360p': { width: 640, height: 360, mbps: 1 },
  '720p': { width: 1280, height: 720, mbps: 3 },
  '1080p': { width: 1920, height: 1080, mbps: 6 },
} as const;
export type VideoSize = keyof typeof VIDEO_SIZES;

/**
 * A 25 fps H.264 mp4 of `size` (640x360 at ~1 Mbit/s by default), from
 * ffmpeg's test pattern with moving noise so the decoder has real work: a
 * flat test pattern decodes several times faster than footage would.
 */
export async function makeTestVideo(
  ffmpeg: string,
  dir: string,
  seconds: number,
  size: VideoSize = '360p',
): Promise<TestVideo> {
  const { width, height, mbps } = VIDEO_SIZES[size];
  const id = `bench${size}`;
  const file = join(dir, `${id}.mp4`);
  const source = [
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${width}x${height}:rate=25:duration=${seconds}`,
  ];
  const x264 = [
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-b:v',
    `${mbps}M`,
    '-maxrate',
    `${mbps}M`,
    '-bufsize',
    `${2 * mbps}M`,
  ];
  const common = [
    '-y',
    '-hide_banner',
    '-loglevel',
    'error',
    ...source,
    '-vf',
    'noise=alls=10:allf=t',
  ];
  const tail = ['-pix_fmt', 'yuv420p', '-movflags', '+faststart', file];
  // An ffmpeg without libx264 (some static builds) still has MPEG-4 part 2.
  await run(ffmpeg, [...common, ...x264, ...tail]).catch(() =>
    run(ffmpeg, [...common, '-c:v', 'mpeg4', '-b:v', `${mbps}M`, ...tail]),
  );
  return { id, dir, file, width, height, fps: 25, seconds };
}

/** A file to upload: a valid mp4 (so soccer-service's ffprobe check passes) of `bytes` bytes. */
export interface UploadFile {
  file: string;
  bytes: number;
  sha256: string;
}

/**
 * A short real mp4 followed by one top-level `free` box (ISO BMFF padding,
 * skipped by every reader) filling it up to `bytes`: ffprobe reads it as the
 * video it is, and it takes seconds to write instead of minutes of encoding.
 * The padding is random, so no layer can compress it away.
 */
export async function makeUploadFile(
  ffmpeg: string,
  dir: string,
  bytes: number,
): Promise<UploadFile> {
  const head = join(dir, 'upload-head.mp4');
  await run(ffmpeg, [
    ...['-y', '-hide_banner', '-loglevel', 'error'],
    ...['-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25:duration=1'],
    ...['-c:v', 'mpeg4', '-movflags', '+faststart', head],
  ]);
  const video = await readFile(head);
  const padding = bytes - video.length;
  if (padding < 8 || padding > 0xffffffff)
    throw new Error(`cannot pad an upload to ${bytes} bytes`);
  const file = join(dir, 'upload.mp4');
  const hash = createHash('sha256');
  const out = await open(file, 'w');
  try {
    const write = async (chunk: Buffer) => {
      hash.update(chunk);
      await out.write(chunk);
    };
    await write(video);
    const box = Buffer.alloc(8);
    box.writeUInt32BE(padding, 0);
    box.write('free', 4, 'latin1');
    await write(box);
    const block = randomBytes(8 * 1024 * 1024);
    for (let left = padding - 8; left > 0; left -= block.length) {
      await write(left >= block.length ? block : block.subarray(0, left));
    }
  } finally {
    await out.close();
  }
  const { size } = await stat(file);
  if (size !== bytes) throw new Error(`upload file is ${size} bytes, not ${bytes}`);
  return { file, bytes, sha256: hash.digest('hex') };
}

/** Python stubs of the talk's protos (cheese.proto, stream.proto), as the interop tests make them. */
export async function makePythonStubs(dir: string): Promise<string> {
  for (const [protoDir, proto] of [
    [TALK_CHEESE_PROTO_DIR, 'cheese.proto'],
    [TALK_STREAM_PROTO_DIR, 'stream.proto'],
  ]) {
    await run(PYTHON, [
      ...['-m', 'grpc_tools.protoc', `-I${protoDir}`],
      ...[`--python_out=${dir}`, `--grpc_python_out=${dir}`, proto],
    ]);
  }
  return dir;
}
