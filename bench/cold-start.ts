/**
 * Cold start: from spawning a process to its being useful: the services'
 * gRPC health SERVING, the gateway's /healthz 200; the plain grpc-js server's
 * first answered Order for comparison. Median of N starts.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { checkHealth, createHealthClient } from '#grpc';
import { credentials } from '@grpc/grpc-js';
import type { AppName } from '#launcher';
import type { BenchContext } from './support/context.js';
import { checkOrders } from './support/grpc-clients.js';
import { memory } from './support/proc-stats.js';
import type { Section } from './support/results.js';
import {
  startApp,
  startGateway,
  startPlainServer,
  stopAll,
  type Server,
} from './support/servers.js';
import { fmt, median } from './support/stats.js';

/** Polls `ready` every 10 ms until it resolves true; the time it took from `t0`, in ms. */
async function until(
  t0: number,
  ready: () => Promise<boolean>,
  timeoutMs = 60_000,
): Promise<number> {
  while (!(await ready().catch(() => false))) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`not ready in ${timeoutMs} ms`);
    await sleep(10);
  }
  return performance.now() - t0;
}

/** A health client that redials every 20 ms, not after grpc's 1 s+ backoff. */
function healthProbe(port: number): { serving: () => Promise<boolean>; close(): void } {
  const client = createHealthClient(`127.0.0.1:${port}`, credentials.createInsecure(), {
    'grpc.initial_reconnect_backoff_ms': 20,
    'grpc.min_reconnect_backoff_ms': 20,
    'grpc.max_reconnect_backoff_ms': 20,
  });
  return {
    serving: async () => (await checkHealth(client, '', 500)) === 'SERVING',
    close: () => client.close(),
  };
}

interface Start {
  ms: number;
  rssMB: number;
}

export async function coldStart(ctx: BenchContext): Promise<Section> {
  const starts = ctx.quick ? 3 : 5;
  const backends: Server[] = [];
  try {
    const timed = async (start: (onSpawned: (s: Promise<Server>) => void) => Promise<number>) => {
      let server: Promise<Server> | undefined;
      const ms = await start((s) => {
        server = s;
      });
      const s = await server!;
      const rssMB = memory(s.pid).rssMB;
      await s.stop();
      return { ms, rssMB };
    };
    const service = (name: AppName) => (onSpawned: (s: Promise<Server>) => void) => {
      const t0 = performance.now();
      const app = startApp(ctx, 'cold-start', name);
      onSpawned(app);
      // The port is known only once started; health is polled from the start on.
      return app.then(async (s) => {
        const probe = healthProbe(s.port);
        try {
          return await until(t0, probe.serving);
        } finally {
          probe.close();
        }
      });
    };
    const results = new Map<string, Start[]>();
    const record = (name: string, start: Start) =>
      results.set(name, [...(results.get(name) ?? []), start]);
    for (let i = 0; i < starts; i++) {
      ctx.log(`cold start ${i + 1}/${starts}`);
      record('cheese-service', await timed(service('cheese-service')));
      record('soccer-service', await timed(service('soccer-service')));
      record(
        'plain grpc-js (first Order answered)',
        await timed((onSpawned) => {
          const t0 = performance.now();
          const s = startPlainServer(ctx, 'cold-start');
          onSpawned(s);
          return s.then((server) =>
            until(t0, () => checkOrders(`127.0.0.1:${server.port}`, 1).then(() => true)),
          );
        }),
      );
    }
    // The gateway's backends run throughout: /healthz is liveness, but a real start has them.
    backends.push(await startApp(ctx, 'cold-start', 'cheese-service'));
    backends.push(await startApp(ctx, 'cold-start', 'soccer-service'));
    for (let i = 0; i < starts; i++) {
      record(
        'gateway (/healthz 200)',
        await timed((onSpawned) => {
          const t0 = performance.now();
          const g = startGateway(ctx, 'cold-start', { cheese: backends[0], soccer: backends[1] });
          onSpawned(g);
          return g.then((gw) =>
            until(
              t0,
              async () => (await fetch(`http://127.0.0.1:${gw.port}/healthz`)).status === 200,
            ),
          );
        }),
      );
    }
    return {
      id: 'cold-start',
      title: 'Cold start',
      method:
        `Time from spawning the process (the launcher's production command) to health SERVING ` +
        `(grpc.health.v1 Check, polled every 10 ms) or /healthz 200; median of ${starts} starts. ` +
        'The launcher itself only reports once the port accepts connections, so the poll starts then; ' +
        'the time is still measured from the spawn.',
      columns: ['process', 'median ms', 'min ms', 'max ms', 'RSS when ready MB'],
      rows: [...results].map(([name, runs]) => [
        name,
        fmt(median(runs.map((r) => r.ms)), 0),
        fmt(Math.min(...runs.map((r) => r.ms)), 0),
        fmt(Math.max(...runs.map((r) => r.ms)), 0),
        fmt(median(runs.map((r) => r.rssMB)), 0),
      ]),
      checks: [],
      notes: ['No bar: this is for comparing runs and spotting a slow start-up.'],
    };
  } finally {
    await stopAll(...backends);
  }
}
