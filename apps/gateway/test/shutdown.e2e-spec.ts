import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppProcess, freePort } from '#launcher';

/** How long cheese-service takes per order here: long enough to be in flight during the drain. */
const PREP_MS = 3000;

interface Backends {
  cheese: AppProcess;
  soccer: AppProcess;
  cheesePort: number;
  soccerPort: number;
  mediaDir: string;
}

async function startGateway(backends: Backends, env: Record<string, string>) {
  const port = await freePort();
  const app = await AppProcess.start('gateway', {
    port,
    env: {
      GATEWAY_HTTP_HOST: '127.0.0.1',
      CHEESE_GRPC_URL: `127.0.0.1:${backends.cheesePort}`,
      SOCCER_GRPC_URL: `127.0.0.1:${backends.soccerPort}`,
      GATEWAY_DEADLINE_MS: '10000',
      ...env,
    },
  });
  return { app, base: `http://127.0.0.1:${port}` };
}

/** Reads an SSE response to its end: the names of the events, and the last event's data. */
async function readEvents(res: Response, onFirstEvent: () => void) {
  const events: string[] = [];
  let lastData = '';
  let text = '';
  const decoder = new TextDecoder();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    text += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = text.indexOf('\n\n')) >= 0) {
      const block = text.slice(0, end);
      text = text.slice(end + 2);
      const event = /^event: (.+)$/m.exec(block)?.[1];
      if (!event) continue; // a heartbeat comment
      events.push(event);
      lastData = /^data: (.*)$/m.exec(block)?.[1] ?? '';
      if (events.length === 1) onFirstEvent();
    }
  }
  return { events, lastData };
}

describe('gateway drain on SIGTERM', () => {
  let dir: string;
  let backends: Backends;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gateway-drain-'));
    const cheesePort = await freePort();
    const soccerPort = await freePort();
    const mediaDir = join(dir, 'media');
    const [cheese, soccer] = await Promise.all([
      AppProcess.start('cheese-service', {
        port: cheesePort,
        env: { CHEESE_GRPC_HOST: '127.0.0.1', CHEESE_PREP_MS: String(PREP_MS) },
      }),
      AppProcess.start('soccer-service', {
        port: soccerPort,
        env: { SOCCER_GRPC_HOST: '127.0.0.1', MEDIA_DIR: mediaDir },
      }),
    ]);
    backends = { cheese, soccer, cheesePort, soccerPort, mediaDir };
  });

  afterAll(async () => {
    await backends?.cheese.stop();
    await backends?.soccer.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('/readyz 503 first, in-flight orders finish, SSE ends cleanly, exit 0 within the grace period', async () => {
    const graceMs = 12_000;
    const { app: gateway, base } = await startGateway(backends, {
      SHUTDOWN_GRACE_MS: String(graceMs),
      GATEWAY_SHUTDOWN_DELAY_MS: '1500',
    });
    // Ready, and both backends reachable, before anything is measured.
    const ready = async () => {
      const res = await fetch(`${base}/readyz`);
      const { backends } = (await res.json()) as { backends?: Record<string, { status: string }> };
      return res.status === 200 && Object.values(backends ?? {}).every((b) => b.status === 'up');
    };
    for (let i = 0; !(await ready()); i++) {
      if (i > 150) throw new Error('gateway never ready with both backends up');
      await sleep(100);
    }

    const watching = await fetch(`${base}/v1/matches/live/watch?fps=5`);
    expect(watching.status).toBe(200);
    let streaming!: () => void;
    const firstFrame = new Promise<void>((resolve) => (streaming = resolve));
    const watch = readEvents(watching, streaming);
    await firstFrame;

    // Each takes PREP_MS: they outlast the 1.5 s delay and run into app.close().
    const orders = Array.from({ length: 8 }, () =>
      fetch(`${base}/v1/cheese/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"type":"BRIE"}',
      }).then(async (res) => ({ status: res.status, body: await res.json() })),
    );
    await sleep(200);

    // SIGKILL at graceMs: a "0" proves the exit came within the grace period.
    const exit = gateway.stop('SIGTERM', graceMs);

    // During the delay: not ready, yet alive and serving.
    let readyz: { status: number; body: unknown } | undefined;
    for (let i = 0; i < 100; i++) {
      const res = await fetch(`${base}/readyz`, { headers: { connection: 'close' } });
      readyz = { status: res.status, body: await res.json() };
      if (readyz.status === 503) break;
      await sleep(10);
    }
    expect(readyz).toMatchObject({
      status: 503,
      body: { status: 'error', error: { gateway: { status: 'down', message: 'shutting down' } } },
    });
    expect((await fetch(`${base}/healthz`, { headers: { connection: 'close' } })).status).toBe(200);

    for (const order of await Promise.all(orders)) {
      expect(order).toMatchObject({ status: 200, body: { type: 'BRIE' } });
    }
    const { events, lastData } = await watch;
    expect(events.length).toBeGreaterThan(1);
    expect(events.slice(0, -1).every((e) => e === 'frame')).toBe(true);
    expect(events.at(-1)).toBe('error');
    expect(JSON.parse(lastData)).toMatchObject({ status: 'UNAVAILABLE' });

    expect(await exit).toBe('0');
    expect(gateway.logs).toMatch(/SIGTERM: \/readyz 503/);
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });

  it('cuts a request still running when the grace period ends, and still exits 0', async () => {
    const { app: gateway, base } = await startGateway(backends, { SHUTDOWN_GRACE_MS: '1000' });
    // An upload whose body stalls: it would never end by itself.
    const upload = request(`${base}/v1/matches/stalled/video`, {
      method: 'PUT',
      headers: { 'content-type': 'video/mp4', 'content-length': String(64 * 1024 * 1024) },
    });
    const outcome = new Promise<string>((resolve) => {
      upload.on('response', (res) => resolve(`answered ${res.statusCode}`));
      upload.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    });
    upload.write(Buffer.alloc(256 * 1024));
    // In flight for sure once soccer-service has its temp file.
    const tempFiles = async () =>
      (await readdir(backends.mediaDir)).filter((name) => name.startsWith('.upload-'));
    for (let i = 0; (await tempFiles()).length === 0; i++) {
      if (i > 100) throw new Error('the upload never reached soccer-service');
      await sleep(50);
    }

    expect(await gateway.stop('SIGTERM', 5000)).toBe('0');
    expect(await outcome).toMatch(/ECONNRESET|socket hang up/);
    expect(gateway.logs).toMatch(/grace period of 1000 ms over/);
    // The cut cancelled the gRPC upload: soccer-service removed its temp file.
    for (let i = 0; (await tempFiles()).length > 0; i++) {
      if (i > 100) throw new Error(`temp file left: ${(await tempFiles()).join(', ')}`);
      await sleep(50);
    }
    upload.destroy();
  });
});
