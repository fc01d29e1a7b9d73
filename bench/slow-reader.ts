/**
 * A reader taking 1 frame/s of the endless live match, raw, straight from
 * soccer-service (gRPC) and through the gateway (SSE), at the same time: the
 * memory growth of both processes, which back-pressure must keep flat.
 */
import { once } from 'node:events';
import { get, type IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClientReadableStream } from '@grpc/grpc-js';
import { stream } from '#proto';
import { createGrpcClient } from '#grpc';
import type { BenchContext } from './support/context.js';
import { seconds } from './support/context.js';
import { scrapeSum } from './support/metrics.js';
import { RssSampler } from './support/proc-stats.js';
import { check, type Section } from './support/results.js';
import { startApp, startGateway, stopAll, type StartedApp } from './support/servers.js';
import { fmt } from './support/stats.js';

/** Resolves once `readable` has something to read, or ended. */
async function readable(r: NodeJS.ReadableStream & { readableEnded: boolean; destroyed: boolean }) {
  if (r.readableEnded || r.destroyed) return;
  const ac = new AbortController();
  await Promise.race([
    once(r, 'readable', { signal: ac.signal }),
    once(r, 'end', { signal: ac.signal }),
    once(r, 'close', { signal: ac.signal }),
  ]).catch(() => undefined);
  ac.abort();
}

/** An SSE response read one event at a time, only when asked (the socket stays paused). */
class SlowSse {
  private pending: Buffer = Buffer.alloc(0);
  frames = 0;

  constructor(private readonly res: IncomingMessage) {
    res.pause();
  }

  /** Reads up to the end of the next `frame` event; false once the stream ended. */
  async nextFrame(): Promise<boolean> {
    for (;;) {
      const end = this.pending.indexOf('\n\n');
      if (end >= 0) {
        const isFrame = this.pending.subarray(0, 13).toString() === 'event: frame\n';
        this.pending = this.pending.subarray(end + 2);
        if (isFrame) {
          this.frames++;
          return true;
        }
        continue;
      }
      const chunk = this.res.read() as Buffer | null;
      if (chunk) this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
      else if (this.res.readableEnded || this.res.destroyed) return false;
      else await readable(this.res);
    }
  }
}

/** A gRPC Watch read one message at a time, only when asked (the call stays paused). */
class SlowGrpc {
  frames = 0;

  constructor(readonly call: ClientReadableStream<stream.Video>) {
    call.pause();
    call.on('error', () => undefined); // cancelled at the end
  }

  async nextFrame(): Promise<boolean> {
    for (;;) {
      if (this.call.read() as stream.Video | null) {
        this.frames++;
        return true;
      }
      if (this.call.readableEnded || this.call.destroyed) return false;
      await readable(this.call);
    }
  }
}

export async function slowReader(ctx: BenchContext): Promise<Section> {
  let soccer: StartedApp | undefined;
  let gateway: StartedApp | undefined;
  const client = { close: () => undefined } as { close(): void };
  let sse: IncomingMessage | undefined;
  try {
    soccer = await startApp(ctx, 'slow-reader', 'soccer-service');
    gateway = await startGateway(ctx, 'slow-reader', { soccer });
    const grpcClient = createGrpcClient('soccer', `127.0.0.1:${soccer.port}`, undefined, {
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
    }) as unknown as {
      watch(r: Partial<stream.Match>): ClientReadableStream<stream.Video>;
      close(): void;
    };
    client.close = () => grpcClient.close();
    const direct = new SlowGrpc(
      grpcClient.watch({ id: 'live', encoding: stream.Encoding.RAW, fps: 0 }),
    );
    sse = await new Promise<IncomingMessage>((resolve, reject) =>
      get(`http://127.0.0.1:${gateway!.port}/v1/matches/live/watch?encoding=raw`, resolve).on(
        'error',
        reject,
      ),
    );
    if (sse.statusCode !== 200) throw new Error(`SSE watch answered ${sse.statusCode}`);
    const viaGateway = new SlowSse(sse);

    const total = seconds(ctx, 60, 15);
    const warmUp = seconds(ctx, 5, 3);
    const pids = [gateway.pid, soccer.pid];
    let rss: RssSampler | undefined;
    const started = performance.now();
    for (let s = 0; s < total; s++) {
      if (s === warmUp) rss = new RssSampler(pids, 500);
      if (s % 5 === 0) ctx.log(`slow reader: ${s}/${total} s`);
      if (!(await direct.nextFrame()) || !(await viaGateway.nextFrame())) {
        throw new Error("a slow reader's stream ended early");
      }
      await sleep(Math.max(0, started + (s + 1) * 1000 - performance.now()));
    }
    rss!.stop();
    const framesSent = await scrapeSum(
      `http://127.0.0.1:${soccer.metricsPort}/metrics`,
      'soccer_watch_frames_sent_total',
    );
    const growth = rss!.max.map((max, i) => max - rss!.first[i]);
    return {
      id: 'slow-reader',
      title: 'Slow reader (1 frame/s)',
      method:
        `One raw gRPC Watch of \`live\` (fps 0) straight from soccer-service and one raw SSE watch through ` +
        `the gateway, each read 1 frame/s for ${total} s, at the same time; growth = highest RSS ` +
        `sampled (every 0.5 s) after a ${warmUp} s warm-up minus the RSS when the warm-up ended.`,
      columns: ['process', 'RSS after warm-up MB', 'highest MB', 'at the end MB', 'growth MB'],
      rows: ['gateway', 'soccer-service'].map((name, i) => [
        name,
        fmt(rss!.first[i], 0),
        fmt(rss!.max[i], 0),
        fmt(rss!.last[i], 0),
        fmt(growth[i], 1),
      ]),
      checks: [
        check(
          'slow-reader-gateway',
          'Slow reader: gateway memory grows < 30 MB',
          growth[0],
          '<',
          30,
          'MB',
        ),
        check(
          'slow-reader-soccer',
          'Slow reader: soccer-service memory grows < 30 MB',
          growth[1],
          '<',
          30,
          'MB',
        ),
      ],
      notes: [
        `Frames read: ${direct.frames} direct, ${viaGateway.frames} through the gateway; soccer-service ` +
          `sent ${framesSent} in all (the gateway's shared upstream of live is read only while a viewer ` +
          'would take a frame; the direct call is paced by its reader).',
        ...(ctx.quick
          ? ['bench:quick reads for 15 s; the bar is for a long stream (60 s in npm run bench).']
          : []),
      ],
    };
  } finally {
    sse?.destroy();
    client.close();
    await stopAll(gateway, soccer);
  }
}
