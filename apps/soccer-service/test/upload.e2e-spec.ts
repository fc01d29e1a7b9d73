import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Metadata,
  status,
  type CallOptions,
  type Client,
  type ClientWritableStream,
  type ServiceError,
} from '@grpc/grpc-js';
import { AppProcess, freePort } from '#launcher';
import { type stream } from '#proto';
import { createGrpcClient } from '#grpc';
import { mediaFiles } from '../../../test/support/media-leftovers.js';

const run = promisify(execFile);
const CHUNK = 64 * 1024;
const MiB = 1024 * 1024;
const MB = 1000 * 1000;

type UploadFn = (
  metadata: Metadata,
  options: CallOptions,
  callback: (err: ServiceError | null, result?: stream.UploadResult) => void,
) => ClientWritableStream<stream.UploadChunk>;

interface Upload {
  call: ClientWritableStream<stream.UploadChunk>;
  result: Promise<stream.UploadResult>;
  /** Bytes handed to the call so far. */
  sent: () => number;
}

/**
 * Streams `data` as one upload, honouring the call's back-pressure, and stops
 * writing once the server has answered.
 */
function startUpload(
  client: Client,
  id: string,
  data: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  options: { overwrite?: boolean; deadlineMs?: number } = {},
): Upload {
  const upload = (client as unknown as { upload: UploadFn }).upload.bind(client);
  let call!: ClientWritableStream<stream.UploadChunk>;
  let sent = 0;
  const result = new Promise<stream.UploadResult>((resolve, reject) => {
    const deadline = options.deadlineMs ? Date.now() + options.deadlineMs : undefined;
    call = upload(new Metadata(), { deadline }, (err, res) => (err ? reject(err) : resolve(res!)));
  });
  const settled = result.then(
    () => true,
    () => true,
  );
  let answered = false;
  void settled.then(() => (answered = true));
  void (async () => {
    let first = true;
    for await (const bytes of data) {
      if (answered) return;
      const chunk = first
        ? { id, overwrite: options.overwrite ?? false, data: bytes }
        : { id: '', overwrite: false, data: bytes };
      first = false;
      sent += bytes.length;
      if (!call.write(chunk)) await Promise.race([once(call, 'drain'), settled]);
    }
    if (first) call.write({ id, overwrite: options.overwrite ?? false, data: Buffer.alloc(0) });
    if (!answered) call.end();
  })().catch(() => undefined);
  return { call, result, sent: () => sent };
}

function upload(
  client: Client,
  id: string,
  data: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  options?: { overwrite?: boolean; deadlineMs?: number },
): Promise<stream.UploadResult> {
  return startUpload(client, id, data, options).result;
}

function* chunksOf(bytes: Uint8Array, size = CHUNK): Generator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

async function failure(promise: Promise<unknown>): Promise<ServiceError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'the call should have failed').toBeDefined();
  return err as ServiceError;
}

/** A short real mp4, made by Debian's ffmpeg. */
async function makeVideo(seconds = 2): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'soccer-video-'));
  try {
    const file = join(dir, 'video.mp4');
    await run('ffmpeg', [
      ...['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25'],
      ...['-t', String(seconds), '-pix_fmt', 'yuv420p', file],
    ]);
    return await readFile(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * `video` followed by an mp4 `free` box (padding every mp4 reader skips) of
 * `padding` bytes: a valid mp4 of any size, generated as it is sent, so a
 * 200 MB upload needs neither 200 MB of disk nor 30 s of encoding.
 */
function* paddedVideo(video: Uint8Array, padding: number): Generator<Uint8Array> {
  yield* chunksOf(video);
  const header = Buffer.alloc(16);
  header.writeUInt32BE(1, 0); // size 1: the 64-bit size follows the type
  header.write('free', 4, 'latin1');
  header.writeBigUInt64BE(BigInt(padding + 16), 8);
  yield header;
  const zeros = Buffer.alloc(CHUNK);
  for (let left = padding; left > 0; left -= CHUNK) yield zeros.subarray(0, Math.min(CHUNK, left));
}

interface Service {
  app: AppProcess;
  client: Client;
  mediaDir: string;
}

async function startService(env: Record<string, string> = {}): Promise<Service> {
  const mediaDir = await mkdtemp(join(tmpdir(), 'soccer-upload-'));
  const port = await freePort();
  const app = await AppProcess.start('soccer-service', {
    port,
    env: { SOCCER_GRPC_HOST: '127.0.0.1', MEDIA_DIR: mediaDir, ...env },
  });
  return { app, client: createGrpcClient('soccer', `127.0.0.1:${port}`), mediaDir };
}

async function stopService(service: Service | undefined): Promise<void> {
  service?.client.close();
  await service?.app.stop();
  if (service) await rm(service.mediaDir, { recursive: true, force: true });
}

describe('Upload over gRPC', () => {
  let service: Service;
  let video: Buffer;
  let otherVideo: Buffer;
  const files = () => mediaFiles(service.mediaDir);

  beforeAll(async () => {
    service = await startService();
    [video, otherVideo] = await Promise.all([makeVideo(2), makeVideo(1)]);
  });

  afterAll(() => stopService(service));

  it('stores a real mp4 sent in 64 KiB chunks, byte for byte, with its size and sha256', async () => {
    const result = await upload(service.client, 'match-1', chunksOf(video));
    expect(result).toEqual({ id: 'match-1', bytes: video.length, sha256: sha256(video) });
    expect((await readFile(join(service.mediaDir, 'match-1.mp4'))).equals(video)).toBe(true);
    expect(await files()).toEqual(['match-1.mp4']);
  });

  it('refuses an existing id with ALREADY_EXISTS, and replaces it with overwrite', async () => {
    const err = await failure(upload(service.client, 'match-1', chunksOf(otherVideo)));
    expect(err.code).toBe(status.ALREADY_EXISTS);
    expect(err.details).toContain('overwrite');
    expect((await readFile(join(service.mediaDir, 'match-1.mp4'))).equals(video)).toBe(true);

    const result = await upload(service.client, 'match-1', chunksOf(otherVideo), {
      overwrite: true,
    });
    expect(result).toEqual({ id: 'match-1', bytes: otherVideo.length, sha256: sha256(otherVideo) });
    expect((await readFile(join(service.mediaDir, 'match-1.mp4'))).equals(otherVideo)).toBe(true);
    expect(await files()).toEqual(['match-1.mp4']);
  });

  it('lets exactly one of two racing uploads of a new id win', async () => {
    const results = await Promise.allSettled([
      upload(service.client, 'race', chunksOf(video, 4096)),
      upload(service.client, 'race', chunksOf(otherVideo, 4096)),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect((lost[0].reason as ServiceError).code).toBe(status.ALREADY_EXISTS);
    const stored = await readFile(join(service.mediaDir, 'race.mp4'));
    expect(sha256(stored)).toBe(won[0].value.sha256);
    expect(await files()).toEqual(['match-1.mp4', 'race.mp4']);
  });

  it.each([
    ['../etc', status.INVALID_ARGUMENT],
    ['a/b', status.INVALID_ARGUMENT],
    ['', status.INVALID_ARGUMENT],
    ['x'.repeat(65), status.INVALID_ARGUMENT],
    ['live', status.ALREADY_EXISTS],
    ['demo', status.ALREADY_EXISTS],
  ])('refuses id %j with status %i and stores nothing', async (id, code) => {
    const before = await files();
    for (const overwrite of [false, true]) {
      const err = await failure(upload(service.client, id, chunksOf(video), { overwrite }));
      expect(err.code).toBe(code);
      expect(err.details.length).toBeGreaterThan(10);
    }
    expect(await files()).toEqual(before);
  });

  it('refuses bytes that are not a video with INVALID_ARGUMENT and stores nothing', async () => {
    const garbage = Buffer.alloc(300 * 1024, 'not a video ');
    const err = await failure(upload(service.client, 'garbage', chunksOf(garbage)));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toContain('not a video');
    // Half a real mp4 is no video either.
    const half = video.subarray(0, video.length / 2);
    expect((await failure(upload(service.client, 'half', chunksOf(half)))).code).toBe(
      status.INVALID_ARGUMENT,
    );
    expect(await files()).toEqual(['match-1.mp4', 'race.mp4']);
  });

  it('refuses an upload with no bytes with INVALID_ARGUMENT', async () => {
    const err = await failure(upload(service.client, 'empty', []));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(await files()).toEqual(['match-1.mp4', 'race.mp4']);
  });

  it('removes the temp file at once when the client cancels halfway', async () => {
    const half = Math.ceil(video.length / CHUNK / 2);
    let written = 0;
    async function* halfThenStall() {
      for (const chunk of chunksOf(video)) {
        if (written++ === half) await sleep(60_000);
        yield chunk;
      }
    }
    const { call, result } = startUpload(service.client, 'cancelled', halfThenStall());
    // The upload is under way: its temp file exists.
    await expect.poll(files, { interval: 20 }).toHaveLength(3);
    expect((await files()).some((f) => f.startsWith('.upload-') && f.endsWith('.part'))).toBe(true);
    call.cancel();
    expect((await failure(result)).code).toBe(status.CANCELLED);
    // At once: long before the stalled client would have gone on (60 s).
    await expect.poll(files, { interval: 20 }).toEqual(['match-1.mp4', 'race.mp4']);
  });

  it('removes the temp file when the deadline passes mid-upload', async () => {
    async function* oneChunkThenStall() {
      yield video.subarray(0, CHUNK);
      await sleep(60_000);
    }
    const err = await failure(
      upload(service.client, 'too-late', oneChunkThenStall(), { deadlineMs: 500 }),
    );
    expect(err.code).toBe(status.DEADLINE_EXCEEDED);
    await expect.poll(files, { interval: 20 }).toEqual(['match-1.mp4', 'race.mp4']);
  });

  it('still serves uploads after all that', async () => {
    const result = await upload(service.client, 'after', chunksOf(video));
    expect(result.sha256).toBe(sha256(video));
    expect(await files()).toEqual(['after.mp4', 'match-1.mp4', 'race.mp4']);
    expect(service.app.exited).toBe(false);
  });
});

describe('Upload over the size limit', () => {
  let service: Service;
  let video: Buffer;

  beforeAll(async () => {
    service = await startService({ MAX_UPLOAD_BYTES: String(MiB) });
    video = await makeVideo();
  });

  afterAll(() => stopService(service));

  it('stops a larger upload at once with RESOURCE_EXHAUSTED and leaves nothing', async () => {
    // 100 MB on offer: the server must stop reading near 1 MiB, not take it all.
    const started = startUpload(service.client, 'too-big', paddedVideo(video, 100 * MiB));
    const err = await failure(started.result);
    expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(err.details).toContain(String(MiB));
    expect(started.sent()).toBeLessThan(8 * MiB);
    await expect.poll(() => mediaFiles(service.mediaDir), { interval: 20 }).toEqual([]);
  });

  it('takes an upload under the limit', async () => {
    const result = await upload(
      service.client,
      'small',
      paddedVideo(video, MiB - video.length - 16),
    );
    expect(result.bytes).toBe(MiB);
    expect(await mediaFiles(service.mediaDir)).toEqual(['small.mp4']);
  });
});

describe('Upload of 200 MB', () => {
  let service: Service;
  let video: Buffer;
  const peakRss = async () => {
    const proc = await readFile(`/proc/${service.app.child.pid}/status`, 'utf8');
    return Number(/VmHWM:\s+(\d+) kB/.exec(proc)![1]) * 1024;
  };

  beforeAll(async () => {
    service = await startService();
    video = await makeVideo();
  });

  afterAll(() => stopService(service));

  it('streams to disk with flat memory', async () => {
    const padding = 200 * MB - video.length - 16;
    const hash = createHash('sha256');
    for (const chunk of paddedVideo(video, padding)) hash.update(chunk);
    // Warmed up (code loaded, ffprobe run) so that only the streaming is measured.
    await upload(service.client, 'warm-up', chunksOf(video));
    const idlePeak = await peakRss();

    const started = performance.now();
    const result = await upload(service.client, 'big', paddedVideo(video, padding));
    const seconds = (performance.now() - started) / 1000;
    const peak = await peakRss();

    expect(result).toEqual({ id: 'big', bytes: 200 * MB, sha256: hash.digest('hex') });
    expect(await mediaFiles(service.mediaDir)).toEqual(['big.mp4', 'warm-up.mp4']);
    console.info(
      `200 MB upload: ${(200 / seconds).toFixed(0)} MB/s; service peak RSS ` +
        `${(idlePeak / MiB).toFixed(0)} MiB idle, ${(peak / MiB).toFixed(0)} MiB after`,
    );
    // Buffering the upload would add 200 MB. What streaming adds is V8's
    // external-memory GC threshold (64 MiB of dead network buffers between
    // two collections): measured the same for 1 GB.
    expect(peak - idlePeak).toBeLessThan(100 * MiB);
  });
});
