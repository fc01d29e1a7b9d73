import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppProcess, freePort } from '#launcher';
import { SseClient } from './support/sse-client.js';

interface Frame {
  seq: number;
}

/**
 * Viewers of a live match share one upstream Watch (SharedWatches); viewers
 * of a finite match get their own, from its start.
 */
describe('gateway watch multicast', () => {
  let mediaDir: string;
  let soccer: AppProcess;
  let gateway: AppProcess;
  let base: string;

  /** soccer-service's own count of Watch calls: it logs each start and end. */
  const watchLog = (id: string, what: 'started' | 'cancelled' | 'completed') =>
    soccer.logMessages.split('\n').filter((l) => l.startsWith(`Watch "${id}" ${what}`)).length;
  const activeWatches = () =>
    Number([...soccer.logMessages.matchAll(/Watch .*\((\d+) active\)/g)].at(-1)?.[1]);

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
    mediaDir = mkdtempSync(join(tmpdir(), 'gateway-multicast-'));
    const [soccerPort, httpPort] = [await freePort(), await freePort()];
    soccer = await AppProcess.start('soccer-service', {
      port: soccerPort,
      env: { SOCCER_GRPC_HOST: '127.0.0.1', MEDIA_DIR: mediaDir },
    });
    gateway = await AppProcess.start('gateway', {
      port: httpPort,
      env: {
        GATEWAY_HTTP_HOST: '127.0.0.1',
        SOCCER_GRPC_URL: `127.0.0.1:${soccerPort}`,
        CHEESE_GRPC_URL: '127.0.0.1:1',
        // 50 viewers from one address, over the default cap of 32 streams per address.
        GATEWAY_MAX_STREAMS_PER_IP: '0',
      },
    });
    base = `http://127.0.0.1:${httpPort}`;
  });

  afterAll(async () => {
    await gateway?.stop();
    await soccer?.stop();
    if (mediaDir) rmSync(mediaDir, { recursive: true, force: true });
  });

  it('50 viewers of the live match share one upstream call, cancelled when the last leaves', async () => {
    const startedBefore = watchLog('live', 'started');
    const viewers = await Promise.all(
      Array.from({ length: 50 }, () => SseClient.open(`${base}/v1/matches/live/watch`)),
    );
    for (const v of viewers) expect(v.status).toBe(200);
    const seqs = await Promise.all(viewers.map((v) => frameSeqs(v, 5)));
    for (const s of seqs) expect(s).toEqual([...s].sort((a, b) => a - b));
    expect(watchLog('live', 'started') - startedBefore).toBe(1);

    // A late viewer joins the running call and sees "now", not the start.
    const late = await SseClient.open(`${base}/v1/matches/live/watch`);
    const [lateFirst] = await frameSeqs(late, 1);
    expect(lateFirst).toBeGreaterThan(Math.min(...seqs.map((s) => s[0])));
    expect(watchLog('live', 'started') - startedBefore).toBe(1);

    const cancelledBefore = watchLog('live', 'cancelled');
    for (const v of [...viewers, late]) v.close();
    await expect.poll(() => watchLog('live', 'cancelled') - cancelledBefore).toBe(1);
    await expect.poll(activeWatches).toBe(0);

    // The next viewer starts a new call.
    const again = await SseClient.open(`${base}/v1/matches/live/watch`);
    await frameSeqs(again, 1);
    expect(watchLog('live', 'started') - startedBefore).toBe(2);
    again.close();
    await expect.poll(activeWatches).toBe(0);
  });

  it('a viewer with maxFrames gets exactly that many frames of the shared stream, then the end', async () => {
    const others = await SseClient.open(`${base}/v1/matches/live/watch`);
    await frameSeqs(others, 1);
    const limited = await SseClient.open(`${base}/v1/matches/live/watch?maxFrames=3`);
    const events = await limited.until('end');
    expect(events.map((e) => e.event)).toEqual(['frame', 'frame', 'frame', 'end']);
    // The shared call goes on for the other viewer.
    await frameSeqs(others, 3);
    others.close();
    await expect.poll(activeWatches).toBe(0);
  });

  it('viewers of a finite match each get their own stream from the first frame', async () => {
    const startedBefore = watchLog('demo', 'started');
    const first = await SseClient.open(`${base}/v1/matches/demo/watch?maxFrames=5`);
    await frameSeqs(first, 2);
    const second = await SseClient.open(`${base}/v1/matches/demo/watch?maxFrames=5`);
    expect(await frameSeqs(second, 1)).toEqual([0]);
    expect(watchLog('demo', 'started') - startedBefore).toBe(2);
    first.close();
    second.close();
    await expect.poll(activeWatches).toBe(0);
  });
});
