import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { stream } from '#proto';
import { grpcMethod, metricSum } from '../../../test/support/metrics.js';
import {
  childPids,
  makeTestVideo,
  memoryOf,
  startSoccerService,
  type SoccerService,
} from './support/soccer-service.js';

const MiB = 1024 * 1024;

type WatchFn = (request: Partial<stream.Match>) => ClientReadableStream<stream.Video>;

function watch(service: SoccerService, request: Partial<stream.Match>) {
  return (service.client as unknown as { watch: WatchFn }).watch(request);
}

/** Reads `n` frames, then cancels the call, as a client that goes away does. */
function watchThenCancel(service: SoccerService, request: Partial<stream.Match>, n: number) {
  const call = watch(service, request);
  return new Promise<void>((resolve, reject) => {
    let received = 0;
    call.on('data', () => {
      if (++received === n) call.cancel();
    });
    call.on('error', (e: ServiceError) => (e.code === status.CANCELLED ? resolve() : reject(e)));
    call.on('end', () => reject(new Error('the stream ended before it was cancelled')));
  });
}

const WATCH = grpcMethod('stream.Soccer', 'Watch');

/** What the service counts of its Watch streams: open now, ended by a cancel, frames made, decoders running. */
const watchCounts = {
  active: (service: SoccerService) =>
    metricSum(service.metricsUrl, 'grpc_server_active_streams', WATCH),
  cancelled: (service: SoccerService) =>
    metricSum(service.metricsUrl, 'grpc_server_handled_total', {
      ...WATCH,
      grpc_code: 'CANCELLED',
    }),
  rawFramesSent: (service: SoccerService) =>
    metricSum(service.metricsUrl, 'soccer_watch_frames_sent_total', { encoding: 'RAW' }),
  decodersOpen: (service: SoccerService, decoder: string) =>
    metricSum(service.metricsUrl, 'soccer_video_decoders_open', { decoder }),
};

describe.each([
  { decoder: 'node-av', children: 0 },
  { decoder: 'ffmpeg', children: 1 },
])('Watch of a file decoded by $decoder: cancellation', ({ decoder, children }) => {
  let service: SoccerService;

  beforeAll(async () => {
    service = await startSoccerService({ VIDEO_DECODER: decoder });
    await makeTestVideo(join(service.mediaDir, 'long.mp4'), '320x180', 20);
  });

  afterAll(() => service?.stop());

  it(`cancelling a file match releases its decoder within 1 s (${children} child process)`, async () => {
    const call = watch(service, { id: 'long' });
    const first = await new Promise<stream.Video>((resolve) => call.once('data', resolve));
    expect(first.dataShape).toBe('(180, 320, 3)');
    expect(await watchCounts.decodersOpen(service, decoder)).toBe(1);
    expect(await childPids(service.app.child.pid!)).toHaveLength(children);
    const cancelled = new Promise<ServiceError>((resolve) => call.on('error', resolve));
    call.cancel();
    expect((await cancelled).code).toBe(status.CANCELLED);
    await expect.poll(() => watchCounts.decodersOpen(service, decoder), { timeout: 1000 }).toBe(0);
    await expect.poll(() => childPids(service.app.child.pid!), { timeout: 1000 }).toEqual([]);
  });

  it(
    '200 watch/cancel cycles leave no decoder, no child, no open stream, and the service serving',
    // 100 of the cycles open a decoder (an ffmpeg child each): minutes on a loaded machine.
    { timeout: 600_000 },
    async () => {
      for (let i = 0; i < 200; i++) {
        await watchThenCancel(service, { id: i % 2 ? 'live' : 'long' }, 1 + (i % 3));
      }
      await expect.poll(() => watchCounts.decodersOpen(service, decoder)).toBe(0);
      await expect.poll(() => childPids(service.app.child.pid!)).toEqual([]);
      await expect.poll(() => watchCounts.active(service)).toBe(0);
      const frames: stream.Video[] = [];
      for await (const frame of watch(service, { id: 'long', maxFrames: 3 }))
        frames.push(frame as stream.Video);
      expect(frames).toHaveLength(3);
    },
  );
});

describe('Watch cancellation and back-pressure', () => {
  let service: SoccerService;

  beforeAll(async () => {
    service = await startSoccerService();
  });

  afterAll(() => service?.stop());

  it('cancelling the endless match ends its stream within 1 s', async () => {
    const before = await watchCounts.cancelled(service);
    await watchThenCancel(service, { id: 'live' }, 10);
    await expect.poll(() => watchCounts.cancelled(service), { timeout: 1000 }).toBe(before + 1);
  });

  it('a paced watch of the live match that stalls goes on from the present, skipping what it missed', async () => {
    const call = watch(service, { id: 'live', fps: 25 });
    call.on('error', () => undefined); // cancelled at the end
    const seqs: number[] = [];
    call.on('data', (video: stream.Video) => seqs.push(video.seq));
    await expect.poll(() => seqs.length).toBeGreaterThan(0);
    call.pause();
    await sleep(3000); // 75 frames due meanwhile
    const beforeStall = seqs.length;
    call.resume();
    await expect
      .poll(() => seqs.length, { timeout: 10_000 })
      .toBeGreaterThanOrEqual(beforeStall + 40);
    call.cancel();
    // What the buffers held comes first, in order; then the present, not a
    // burst of every frame in between.
    const steps = seqs.slice(1).map((seq, i) => seq - seqs[i]);
    expect(steps.every((step) => step >= 1)).toBe(true);
    expect(Math.max(...steps)).toBeGreaterThanOrEqual(25);
  });

  it(
    'a reader taking 1 frame/s holds the producer back, and memory stays flat',
    { timeout: 180_000 },
    async () => {
      const pid = service.app.child.pid!;
      const framesBefore = await watchCounts.rawFramesSent(service);
      const call = watch(service, { id: 'live' });
      let received = 0;
      const reader = (async () => {
        for await (const _frame of call) {
          received++;
          await sleep(1000);
        }
      })().catch((e: ServiceError) => {
        if (e.code !== status.CANCELLED) throw e;
      });
      await sleep(3000); // buffers fill up to their bounds
      const start = await memoryOf(pid);
      await sleep(30_000);
      const end = await memoryOf(pid);
      call.cancel();
      await reader;

      const growth = end.rss - start.rss;
      console.info(
        `slow reader: ${received} frames in 33 s; service RSS ${(start.rss / MiB).toFixed(1)} -> ` +
          `${(end.rss / MiB).toFixed(1)} MiB (growth ${(growth / MiB).toFixed(1)} MiB)`,
      );
      expect(growth).toBeLessThan(30 * MiB);
      // The producer made only what the reader took plus the bounded buffers in
      // between; unpaced, it would have rendered thousands of frames.
      await expect.poll(() => watchCounts.active(service)).toBe(0);
      expect((await watchCounts.rawFramesSent(service)) - framesBefore).toBeLessThan(received + 60);
    },
  );
});
