import { get } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AppStack } from '../../../test/support/app-stack.js';
import { grpcMethod, metricSum } from '../../../test/support/metrics.js';
import { SseClient } from './support/sse-client.js';

interface Frame {
  seq: number;
}

/**
 * Viewers of a live match share one upstream Watch (SharedWatches); viewers
 * of a finite match get their own, from its start.
 */
describe('gateway watch multicast', () => {
  let stack: AppStack;
  let base: string;
  let soccerMetrics: string;

  /** soccer-service's own count of Watch calls: started, cancelled, and open now. */
  const WATCH = grpcMethod('stream.Soccer', 'Watch');
  const watchesStarted = () => metricSum(soccerMetrics, 'grpc_server_started_total', WATCH);
  const watchesCancelled = () =>
    metricSum(soccerMetrics, 'grpc_server_handled_total', { ...WATCH, grpc_code: 'CANCELLED' });
  const activeWatches = () => metricSum(soccerMetrics, 'grpc_server_active_streams', WATCH);

  /** Every viewer a test opens, closed after it whatever happened: no stream outlives its test. */
  const opened: SseClient[] = [];
  const open = async (path: string) => {
    const sse = await SseClient.open(`${base}${path}`);
    opened.push(sse);
    return sse;
  };
  afterEach(() => opened.splice(0).forEach((sse) => sse.close()));

  const frameSeqs = async (sse: SseClient, count: number): Promise<number[]> => {
    const seqs: number[] = [];
    while (seqs.length < count) {
      const e = await sse.next();
      if (!e || e.event !== 'frame') throw new Error(`expected a frame, got ${e?.event}`);
      seqs.push((JSON.parse(e.data) as Frame).seq);
    }
    return seqs;
  };

  beforeAll(async () => {
    stack = await AppStack.start({
      soccer: {},
      gateway: {
        // 50 viewers from one address, over the default cap of 32 streams per address.
        GATEWAY_MAX_STREAMS_PER_IP: '0',
        // 50 connections at once: on a loaded machine their heads take a while to be read.
        GATEWAY_HEADERS_TIMEOUT_MS: '60000',
        // A ListMatches held by a stopped soccer-service is still unanswered (no
        // DEADLINE_EXCEEDED yet) when the test looks, however loaded the machine.
        GATEWAY_DEADLINE_MS: '30000',
      },
    });
    ({ soccerMetrics, origin: base } = stack);
  });

  afterAll(() => stack?.stop());

  it('50 viewers of the live match share one upstream call, cancelled when the last leaves', async () => {
    const startedBefore = await watchesStarted();
    const viewers = await Promise.all(
      Array.from({ length: 50 }, () => open('/v1/matches/live/watch')),
    );
    for (const v of viewers) expect(v.status).toBe(200);
    const seqs = await Promise.all(viewers.map((v) => frameSeqs(v, 5)));
    // Read no more than that: 50 streams of frames would keep this process too busy to
    // look at anything else. (The gateway drops frames for a viewer that stops reading.)
    for (const v of viewers) v.res.pause();
    for (const s of seqs) expect(s).toEqual([...s].sort((a, b) => a - b));
    expect((await watchesStarted()) - startedBefore).toBe(1);

    // A late viewer joins the running call and sees "now", not the start.
    const late = await open('/v1/matches/live/watch');
    const [lateFirst] = await frameSeqs(late, 1);
    expect(lateFirst).toBeGreaterThan(Math.min(...seqs.map((s) => s[0])));
    expect((await watchesStarted()) - startedBefore).toBe(1);

    const cancelledBefore = await watchesCancelled();
    for (const v of [...viewers, late]) v.close();
    await expect.poll(async () => (await watchesCancelled()) - cancelledBefore).toBe(1);
    await expect.poll(activeWatches).toBe(0);

    // The next viewer starts a new call.
    const again = await open('/v1/matches/live/watch');
    await frameSeqs(again, 1);
    expect((await watchesStarted()) - startedBefore).toBe(2);
    again.close();
    await expect.poll(activeWatches).toBe(0);
  });

  it('a viewer with maxFrames gets exactly that many frames of the shared stream, then the end', async () => {
    const others = await open('/v1/matches/live/watch');
    await frameSeqs(others, 1);
    const limited = await open('/v1/matches/live/watch?maxFrames=3');
    const events = await limited.until('end');
    expect(events.map((e) => e.event)).toEqual(['frame', 'frame', 'frame', 'end']);
    // The shared call goes on for the other viewer.
    await frameSeqs(others, 3);
    others.close();
    await expect.poll(activeWatches).toBe(0);
  });

  it('a lone slow viewer paces the shared call: soccer-service sends no frames it cannot take', async () => {
    const framesSent = () => metricSum(soccerMetrics, 'soccer_watch_frames_sent_total');
    // The gateway's own count of its Watch calls that ended cancelled.
    const cancelledHere = () =>
      metricSum(`${base}/metrics`, 'grpc_client_handled_total', {
        ...WATCH,
        grpc_code: 'CANCELLED',
      });
    const viewer = await open('/v1/matches/live/watch?encoding=raw');
    await frameSeqs(viewer, 1);
    viewer.res.pause();
    // Meanwhile the socket buffers between the gateway and the viewer fill up.
    await sleep(2000);
    const sentBefore = await framesSent();
    await sleep(3000);
    // Read regardless of viewers, the call would go on at 25 fps: 75 frames in these 3 s.
    expect((await framesSent()) - sentBefore).toBeLessThan(25);

    // Leaving while a frame waits for it: the call still ends, on both sides.
    const cancelledBefore = await cancelledHere();
    viewer.close();
    await expect.poll(activeWatches).toBe(0);
    await expect.poll(async () => (await cancelledHere()) - cancelledBefore).toBe(1);
  });

  it('viewers of a finite match each get their own stream from the first frame', async () => {
    const startedBefore = await watchesStarted();
    const first = await open('/v1/matches/demo/watch?maxFrames=5');
    await frameSeqs(first, 2);
    const second = await open('/v1/matches/demo/watch?maxFrames=5');
    expect(await frameSeqs(second, 1)).toEqual([0]);
    expect((await watchesStarted()) - startedBefore).toBe(2);
    first.close();
    second.close();
    await expect.poll(activeWatches).toBe(0);
  });

  it('a viewer does not wait for the live list to be asked again: with soccer-service stopped, its Watch is called while ListMatches has no answer', async () => {
    const LIST = grpcMethod('stream.Soccer', 'ListMatches');
    const gateway = (name: string, labels: Record<string, string>) =>
      metricSum(`${base}/metrics`, name, labels);
    const counts = async () => ({
      watchCalls: await gateway('grpc_client_started_total', WATCH),
      listsAsked: await gateway('grpc_client_started_total', LIST),
      listsAnswered: await gateway('grpc_client_handled_total', LIST),
    });
    // The gateway knows the list, then lets it grow older than it trusts it (5 s).
    await (await open('/v1/matches/demo/watch?maxFrames=1')).until('end');
    await sleep(5500);
    const before = await counts();
    stack.soccer!.child.kill('SIGSTOP');
    try {
      const viewer = get(`${base}/v1/matches/demo/watch`, (res) => res.resume());
      viewer.on('error', () => undefined);
      try {
        await expect
          .poll(async () => (await counts()).watchCalls - before.watchCalls, { timeout: 20_000 })
          .toBe(1);
        const after = await counts();
        expect(after.listsAsked - before.listsAsked).toBe(1);
        expect(after.listsAnswered - before.listsAnswered).toBe(0);
      } finally {
        viewer.destroy();
      }
    } finally {
      stack.soccer!.child.kill('SIGCONT');
    }
    await expect
      .poll(() => gateway('grpc_client_active_streams', WATCH), { timeout: 20_000 })
      .toBe(0);
  });
});
