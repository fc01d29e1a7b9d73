import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Metadata, status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import sharp from 'sharp';
import { stream } from '#proto';
import {
  makeTestVideo,
  run,
  startSoccerService,
  type SoccerService,
} from './support/soccer-service.js';

const PYTHON = '/usr/bin/python3';
const TALK_DIR = fileURLToPath(new URL('./talk/', import.meta.url));

type WatchFn = (
  request: Partial<stream.Match>,
  metadata?: Metadata,
) => ClientReadableStream<stream.Video>;

/** Collects a whole Watch stream, or its error. */
function watchAll(service: SoccerService, request: Partial<stream.Match>) {
  const call = (service.client as unknown as { watch: WatchFn }).watch({ ...request });
  return new Promise<stream.Video[]>((resolve, reject) => {
    const frames: stream.Video[] = [];
    call.on('data', (v: stream.Video) => frames.push(v));
    call.on('error', reject);
    call.on('end', () => resolve(frames));
  });
}

function listMatches(service: SoccerService) {
  return new Promise<stream.ListMatchesResponse>((resolve, reject) =>
    (
      service.client as unknown as {
        listMatches: (
          r: object,
          cb: (e: Error | null, r: stream.ListMatchesResponse) => void,
        ) => void;
      }
    ).listMatches({}, (e, r) => (e ? reject(e) : resolve(r))),
  );
}

/** What the ffmpeg CLI decodes `video` to: the reference bytes of every decoder. */
async function cliFrames(video: string): Promise<Buffer> {
  const { stdout } = await run(
    'ffmpeg',
    ['-v', 'error', '-i', video, '-f', 'rawvideo', '-pix_fmt', 'bgr24', 'pipe:1'],
    { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 },
  );
  return stdout;
}

async function watchError(service: SoccerService, request: Partial<stream.Match>) {
  return (await watchAll(service, request).then(
    () => expect.fail('expected an error'),
    (e: unknown) => e,
  )) as ServiceError;
}

describe('Watch and ListMatches', () => {
  let service: SoccerService;

  beforeAll(async () => {
    service = await startSoccerService();
    await makeTestVideo(join(service.mediaDir, 'clip.mp4'), '320x180', 2);
    await writeFile(join(service.mediaDir, 'broken.mp4'), 'not a video at all');
  });

  afterAll(() => service?.stop());

  describe("the talk's Python/numpy client", () => {
    let stubs: string;
    const watchWithPython = async (id: string, maxFrames: number) => {
      const { stdout } = await run(
        PYTHON,
        [
          join(TALK_DIR, 'watch_match.py'),
          `127.0.0.1:${service.port}`,
          id,
          String(maxFrames),
          stubs,
        ],
        { timeout: 60_000 },
      );
      return JSON.parse(stdout) as {
        frames: number;
        shapes: number[][];
        dtypes: string[];
        first_pixel: number[];
      };
    };

    beforeAll(async () => {
      stubs = await mkdtemp(join(tmpdir(), 'soccer-py-stubs-'));
      await run(PYTHON, [
        '-m',
        'grpc_tools.protoc',
        `-I${TALK_DIR}`,
        `--python_out=${stubs}`,
        `--grpc_python_out=${stubs}`,
        'stream.proto',
      ]);
    });

    afterAll(() => rm(stubs, { recursive: true, force: true }));

    it('decodes synthetic frames as 360x640x3 uint8 in BGR order', async () => {
      const report = await watchWithPython('demo', 30);
      expect(report.frames).toBe(30);
      expect(report.shapes).toEqual([[360, 640, 3]]);
      expect(report.dtypes).toEqual(['uint8']);
      // Light grass is RGB (46, 139, 62): BGR puts blue first.
      expect(report.first_pixel).toEqual([62, 139, 46]);
    });

    it('decodes every frame of an mp4 match with its own size', async () => {
      const report = await watchWithPython('clip', 0);
      expect(report.frames).toBe(50); // 2 s at 25 fps
      expect(report.shapes).toEqual([[180, 320, 3]]);
      expect(report.dtypes).toEqual(['uint8']);
    });
  });

  it.each([
    ['clip', '320x180'],
    // 966-byte rows, which FFmpeg pads to its alignment in its own frames.
    ['odd', '322x182'],
  ])(
    'decodes %s.mp4 (%s) to the bytes `ffmpeg -pix_fmt bgr24` writes, in process (node-av) and in an ffmpeg child alike',
    async (id, size) => {
      const video = join(service.mediaDir, `${id}.mp4`);
      if (id !== 'clip') await makeTestVideo(video, size, 2);
      const [width, height] = size.split('x').map(Number) as [number, number];
      const expected = await cliFrames(video);
      expect(expected.length).toBe(50 * width * height * 3);
      const withChild = await startSoccerService({ VIDEO_DECODER: 'ffmpeg' });
      try {
        await copyFile(video, join(withChild.mediaDir, `${id}.mp4`));
        for (const decoding of [service, withChild]) {
          const frames = await watchAll(decoding, { id });
          expect(frames.map((f) => f.seq)).toEqual([...Array(50).keys()]);
          expect(Buffer.concat(frames.map((f) => f.data)).equals(expected)).toBe(true);
        }
        expect(service.app.logMessages).toMatch(/video files decode in process \(node-av\)/);
        expect(withChild.app.logMessages).toMatch(/video files decode in ffmpeg children/);
      } finally {
        await withChild.stop();
        if (id !== 'clip') await rm(video); // the listing test counts the files
      }
    },
  );

  it('plays a rotated (phone) video upright at its shown size, as the ffmpeg CLI does, whichever the decoder', async () => {
    const stored = join(service.mediaDir, 'stored.mp4');
    await makeTestVideo(stored, '320x180', 1);
    const withChild = await startSoccerService({ VIDEO_DECODER: 'ffmpeg' });
    const turned: string[] = [];
    try {
      for (const [rotation, width, height] of [
        [90, 180, 320],
        [180, 320, 180],
      ] as const) {
        const id = `turned${rotation}`;
        const video = join(service.mediaDir, `${id}.mp4`);
        turned.push(video);
        // A display matrix, as phones write for portrait video; the frames stay stored as 320x180.
        await run('ffmpeg', [
          '-v',
          'error',
          '-i',
          stored,
          '-c',
          'copy',
          '-metadata:s:v:0',
          `rotate=${rotation}`,
          video,
        ]);
        await copyFile(video, join(withChild.mediaDir, `${id}.mp4`));
        const upright = await cliFrames(video);
        expect(upright.length).toBe(25 * width * height * 3);
        for (const decoding of [service, withChild]) {
          const frames = await watchAll(decoding, { id });
          expect(frames).toHaveLength(25);
          expect(new Set(frames.map((f) => f.dataShape))).toEqual(
            new Set([`(${height}, ${width}, 3)`]),
          );
          expect(Buffer.concat(frames.map((f) => f.data)).equals(upright)).toBe(true);
        }
        const list = await listMatches(service);
        expect(list.matches.find((m) => m.id === id)).toMatchObject({ width, height });
      }
    } finally {
      await withChild.stop();
      // The listing test counts the files, also after a failure here.
      await Promise.all([stored, ...turned].map((file) => rm(file, { force: true })));
    }
  });

  it('lists the synthetic matches and the files with their size and duration', async () => {
    const list = await listMatches(service);
    expect(list.matches.map((m) => m.id)).toEqual(['broken', 'clip', 'demo', 'live']);
    const byId = Object.fromEntries(list.matches.map((m) => [m.id, m]));
    expect(byId.clip).toMatchObject({
      source: stream.MatchSource.FILE,
      width: 320,
      height: 180,
      fps: 25,
      durationMs: 2000,
      live: false,
    });
    expect(byId.clip.sizeBytes).toBeGreaterThan(1000);
    expect(byId.demo).toMatchObject({
      source: stream.MatchSource.SYNTHETIC,
      durationMs: 10_000,
      live: false,
    });
    expect(byId.live).toMatchObject({ live: true, durationMs: 0, width: 640, height: 360 });
    expect(byId.broken).toMatchObject({ width: 0, height: 0 }); // listed, but not probed
  });

  it('numbers frames and stamps their presentation time', async () => {
    const frames = await watchAll(service, { id: 'demo', maxFrames: 5 });
    expect(frames.map((f) => [f.seq, f.ptsMs])).toEqual([
      [0, 0],
      [1, 40],
      [2, 80],
      [3, 120],
      [4, 160],
    ]);
    expect(
      frames.every((f) => f.encoding === stream.Encoding.RAW && f.data.length === 640 * 360 * 3),
    ).toBe(true);
  });

  it("sends the caller's request id in a stream's headers, before its first frame", async () => {
    const sent = new Metadata();
    sent.set('x-request-id', 'watch-e2e-3');
    const call = (service.client as unknown as { watch: WatchFn }).watch({ id: 'demo' }, sent);
    const headers = await new Promise<Metadata>((resolve, reject) => {
      call.on('metadata', resolve);
      call.on('data', () => reject(new Error('a frame came before the headers')));
      call.on('error', reject);
    });
    call.cancel();
    expect(headers.get('x-request-id')).toEqual(['watch-e2e-3']);
  });

  it('the whole 10-second synthetic match is 250 frames, identical on every watch', async () => {
    const [a, b] = await Promise.all([
      watchAll(service, { id: 'demo' }),
      watchAll(service, { id: 'demo' }),
    ]);
    expect(a).toHaveLength(250);
    const differing = a.flatMap((f, n) => (Buffer.from(f.data).equals(b[n].data) ? [] : [n]));
    expect(differing).toEqual([]);
  });

  it.each(['demo', 'clip'])('sends JPEG frames that decode as images (%s)', async (id) => {
    const frames = await watchAll(service, {
      id,
      encoding: stream.Encoding.JPEG,
      maxFrames: 3,
      jpegQuality: 60,
    });
    expect(frames).toHaveLength(3);
    for (const frame of frames) {
      expect(frame.encoding).toBe(stream.Encoding.JPEG);
      const meta = await sharp(frame.data).metadata();
      expect(meta.format).toBe('jpeg');
      expect(`(${meta.height}, ${meta.width}, 3)`).toBe(frame.dataShape);
    }
  });

  it('sends each JPEG frame of a file as that frame, none overwritten by a frame decoded ahead', async () => {
    const [width, height] = [640, 360]; // large enough that encoding overlaps the next decodes
    await makeTestVideo(join(service.mediaDir, 'jpeg.mp4'), `${width}x${height}`, 4);
    const frames = await watchAll(service, {
      id: 'jpeg',
      encoding: stream.Encoding.JPEG,
      jpegQuality: 95,
    });
    const { stdout: reference } = await run(
      'ffmpeg',
      [
        '-v',
        'error',
        '-i',
        join(service.mediaDir, 'jpeg.mp4'),
        '-f',
        'rawvideo',
        '-pix_fmt',
        'rgb24',
        'pipe:1',
      ],
      { encoding: 'buffer', maxBuffer: 128 * 1024 * 1024 },
    );
    const frameBytes = width * height * 3;
    const bandBytes = frameBytes / 8;
    const ref = (n: number, band: number) =>
      reference.subarray(
        n * frameBytes + band * bandBytes,
        n * frameBytes + (band + 1) * bandBytes,
      );
    const meanAbsDiff = (a: Buffer, b: Buffer) => {
      let sum = 0;
      for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
      return sum / a.length;
    };
    expect(frames).toHaveLength(100);
    // In every eighth of the rows where frames n and n+1 differ, JPEG n is nearer frame n.
    const nearerTheNext: string[] = [];
    for (let n = 0; n + 1 < frames.length; n++) {
      const pixels = await sharp(frames[n].data).raw().toBuffer();
      for (let band = 0; band < 8; band++) {
        const own = meanAbsDiff(
          pixels.subarray(band * bandBytes, (band + 1) * bandBytes),
          ref(n, band),
        );
        const next = meanAbsDiff(
          pixels.subarray(band * bandBytes, (band + 1) * bandBytes),
          ref(n + 1, band),
        );
        if (meanAbsDiff(ref(n, band), ref(n + 1, band)) > 1 && own >= next)
          nearerTheNext.push(`${n}/${band}`);
      }
    }
    expect(nearerTheNext).toEqual([]);
  });

  it('paces frames at the fps asked for', async () => {
    const started = performance.now();
    const frames = await watchAll(service, { id: 'live', maxFrames: 11, fps: 20 });
    expect(frames).toHaveLength(11);
    expect(performance.now() - started).toBeGreaterThanOrEqual(450); // 10 intervals of 50 ms
  });

  it.each<[string, Partial<stream.Match>, number, RegExp]>([
    ['unknown id', { id: 'nope' }, status.NOT_FOUND, /no match nope/],
    ['path traversal', { id: '../../etc/passwd' }, status.INVALID_ARGUMENT, /invalid match id/],
    ['empty id (the talk client default)', { id: '' }, status.INVALID_ARGUMENT, /invalid match id/],
    ['65-character id', { id: 'a'.repeat(65) }, status.INVALID_ARGUMENT, /invalid match id/],
    [
      'unknown encoding',
      { id: 'demo', encoding: 7 as stream.Encoding },
      status.INVALID_ARGUMENT,
      /unknown encoding 7/,
    ],
    [
      'jpeg quality over 100',
      { id: 'demo', encoding: stream.Encoding.JPEG, jpegQuality: 101 },
      status.INVALID_ARGUMENT,
      /jpeg_quality/,
    ],
    ['a file that is not a video', { id: 'broken' }, status.DATA_LOSS, /not a readable video/],
  ])('%s -> %s', async (_name, request, code, message) => {
    const err = await watchError(service, request);
    expect(err.code).toBe(code);
    expect(err.details).toMatch(message);
  });
});
