/**
 * Memory at idle: the resident set of each app once it has started and sat
 * idle for a while, beside the plain grpc-js server's. No bar: a number to
 * compare runs by and to keep small.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchContext } from './support/context.js';
import { seconds } from './support/context.js';
import { memory } from './support/proc-stats.js';
import type { Section } from './support/results.js';
import {
  startApp,
  startGateway,
  startPlainServer,
  stopAll,
  type Server,
} from './support/servers.js';
import { fmt } from './support/stats.js';

export async function idleMemory(ctx: BenchContext): Promise<Section> {
  const servers: Server[] = [];
  try {
    const cheese = await startApp(ctx, 'idle-memory', 'cheese-service');
    const soccer = await startApp(ctx, 'idle-memory', 'soccer-service');
    servers.push(cheese, soccer);
    servers.push(await startGateway(ctx, 'idle-memory', { cheese, soccer }));
    servers.push(await startPlainServer(ctx, 'idle-memory'));
    const idleS = seconds(ctx, 15, 5);
    ctx.log(`idle for ${idleS} s`);
    await sleep(idleS * 1000);
    return {
      id: 'idle-memory',
      title: 'Memory at idle',
      method:
        `Each process started as in production (the gateway in front of both services), then left ` +
        `idle for ${idleS} s; resident set (VmRSS) and its peak so far (VmHWM), in MB.`,
      columns: ['process', 'RSS MB', 'peak MB'],
      rows: servers.map((s) => {
        const { rssMB, hwmMB } = memory(s.pid);
        return [s.name, fmt(rssMB, 0), fmt(hwmMB, 0)];
      }),
      checks: [],
      notes: [
        'No bar: for comparing runs; what the apps hold at rest is in docs/performance-investigations.md.',
      ],
    };
  } finally {
    await stopAll(...servers);
  }
}
