/**
 * SSE viewers of the live match through the gateway (JPEG, 25 fps): each
 * viewer's frame rate at 1, 10, 100 and 500 viewers, the CPU and memory of
 * the gateway and soccer-service, and how many upstream Watch calls served them.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchContext } from './support/context.js';
import { seconds } from './support/context.js';
import { scrapeSum } from './support/metrics.js';
import { benchScript } from './support/paths.js';
import { CpuWindow, RssSampler } from './support/proc-stats.js';
import { check, type Section } from './support/results.js';
import { startApp, startGateway, stopAll, type StartedApp } from './support/servers.js';
import { fmt, median, percentile } from './support/stats.js';

const LEVELS = [1, 10, 100, 500];
/** Viewers per client process: enough processes that the clients keep up. */
const VIEWERS_PER_WORKER = 250;

type WorkerMessage =
  { type: 'ready'; withFrames: number } | { type: 'result'; fps: number[]; statuses: number[] };

function nextMessage<T extends WorkerMessage['type']>(
  worker: ChildProcess,
  type: T,
): Promise<Extract<WorkerMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: WorkerMessage) => {
      if (m.type !== type) return;
      worker.off('message', onMessage);
      resolve(m as Extract<WorkerMessage, { type: T }>);
    };
    worker.on('message', onMessage);
    worker.once('exit', (code) => reject(new Error(`viewer worker exited with ${code}`)));
  });
}

export async function sseViewers(ctx: BenchContext): Promise<Section> {
  let soccer: StartedApp | undefined;
  let gateway: StartedApp | undefined;
  try {
    soccer = await startApp(ctx, 'sse-viewers', 'soccer-service');
    gateway = await startGateway(ctx, 'sse-viewers', { soccer });
    const url = `http://127.0.0.1:${gateway.port}/v1/matches/live/watch`;
    const watchCalls = () =>
      scrapeSum(`http://127.0.0.1:${soccer!.metricsPort}/metrics`, 'grpc_server_started_total', {
        grpc_method: 'Watch',
      });
    const secs = seconds(ctx, 15, 4);
    const rows: string[][] = [];
    const checks = [];
    for (const viewers of LEVELS) {
      ctx.log(`SSE: ${viewers} viewer(s)`);
      const callsBefore = await watchCalls();
      const processes = Math.ceil(viewers / VIEWERS_PER_WORKER);
      const workers = Array.from({ length: processes }, (_, i): ChildProcess => {
        const worker = fork(benchScript('support/sse-viewers-worker.js'), { stdio: 'inherit' });
        const share = Math.floor(viewers / processes) + (i < viewers % processes ? 1 : 0);
        worker.send({ url, viewers: share });
        return worker;
      });
      try {
        const ready = await Promise.all(workers.map((w) => nextMessage(w, 'ready')));
        const withFrames = ready.reduce((n, r) => n + r.withFrames, 0);
        const pids = [gateway.pid, soccer.pid, ...workers.map((w) => w.pid!)];
        const cpu = new CpuWindow(pids);
        const rss = new RssSampler([gateway.pid, soccer.pid]);
        const results = workers.map((w) => nextMessage(w, 'result'));
        for (const w of workers) w.send('go');
        await sleep(secs * 1000);
        const used = cpu.percent();
        rss.stop();
        for (const w of workers) w.send('stop');
        const fps = (await Promise.all(results)).flatMap((r) => r.fps);
        const calls = (await watchCalls()) - callsBefore;
        rows.push([
          String(viewers),
          `${withFrames}/${viewers}`,
          fmt(median(fps)),
          fmt(percentile(fps, 10)),
          fmt(Math.min(...fps)),
          fmt(used[0], 0),
          fmt(rss.max[0], 0),
          fmt(used[1], 0),
          fmt(rss.max[1], 0),
          fmt(
            used.slice(2).reduce((a, b) => a + b, 0),
            0,
          ),
          String(calls),
        ]);
        if (viewers === 500) {
          checks.push(
            check(
              'sse-500-fps',
              '500 SSE viewers of live: every viewer ≥ 20 frames/s (slowest)',
              Math.min(...fps),
              '≥',
              20,
              'fps',
              'issue #7',
            ),
            check(
              'sse-500-upstream',
              '500 SSE viewers of live: upstream Watch calls = 1',
              calls,
              '=',
              1,
              '',
              'issue #7',
            ),
          );
        }
      } finally {
        for (const w of workers) if (w.exitCode === null) w.kill();
        await Promise.all(
          workers.map((w) => (w.exitCode === null ? once(w, 'exit') : Promise.resolve())),
        );
      }
      await sleep(500); // the last viewer's leaving cancels the upstream call
    }
    return {
      id: 'sse-viewers',
      title: 'SSE viewers of the live match through the gateway',
      method:
        `N viewers of \`GET /v1/matches/live/watch\` (JPEG, the default 25 fps), counting \`event: frame\` ` +
        `over ${secs} s once every viewer has its first frame; clients in ${VIEWERS_PER_WORKER}-viewer ` +
        'worker processes on the same 2 cores. CPU in % of one core over the window; RSS the highest sampled.',
      columns: [
        'viewers',
        'connected',
        'fps/viewer median',
        'p10',
        'min',
        'gateway CPU %',
        'gateway RSS MB',
        'soccer CPU %',
        'soccer RSS MB',
        'clients CPU %',
        'upstream Watch calls',
      ],
      rows,
      checks,
      notes: [
        '"upstream Watch calls" is the rise of soccer-service\'s grpc_server_started_total{grpc_method="Watch"} ' +
          'while that many viewers connected and watched: 1 means all viewers shared one stream.',
        'The live match runs at 25 fps, so 25 frames/s per viewer is the ceiling.',
      ],
    };
  } finally {
    await stopAll(gateway, soccer);
  }
}
