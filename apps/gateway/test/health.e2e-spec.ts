import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppProcess, freePort } from '#launcher';

/** A health report, as /healthz and /readyz answer it. */
interface HealthReport {
  status: string;
  error?: Record<string, { status: string; message?: string }>;
  details: Record<string, { status: string; message?: string }>;
  /** /readyz only: each backend at its last check. */
  backends?: Record<string, { status: string; message?: string; servingStatus?: string }>;
}

type Backend = 'cheese-service' | 'soccer-service';

/**
 * Readiness says whether this gateway can serve, never whether its backends
 * can: with a backend down or NOT_SERVING the gateway stays ready, reports the
 * backend in /readyz's body and in `gateway_backend_up`, and only the routes
 * of that backend answer 503.
 */
describe('gateway /healthz and /readyz against the real backends', () => {
  let dir: string;
  /** soccer-service's MEDIA_DIR: under a regular file at first, so it is NOT_SERVING. */
  let mediaDir: string;
  let cheesePort: number;
  let soccerPort: number;
  let cheese: AppProcess | undefined;
  let soccer: AppProcess | undefined;
  let gateway: AppProcess;
  let base: string;

  const startCheese = async () => {
    cheese = await AppProcess.start('cheese-service', {
      port: cheesePort,
      env: { CHEESE_GRPC_HOST: '127.0.0.1' },
    });
  };
  const startSoccer = async () => {
    soccer = await AppProcess.start('soccer-service', {
      port: soccerPort,
      env: { SOCCER_GRPC_HOST: '127.0.0.1', MEDIA_DIR: mediaDir, MEDIA_CHECK_INTERVAL_MS: '200' },
    });
  };

  const get = async (path: string) => {
    const res = await fetch(`${base}${path}`);
    return { status: res.status, body: (await res.json()) as HealthReport };
  };

  /** Polls /readyz until `backend` is reported `status` (checks run every 200 ms). */
  const backendBecomes = async (backend: Backend, status: 'up' | 'down') => {
    let last: Awaited<ReturnType<typeof get>> | undefined;
    for (let i = 0; i < 150; i++) {
      last = await get('/readyz');
      if (last.body.backends?.[backend]?.status === status) return last;
      await sleep(100);
    }
    throw new Error(`/readyz never reported ${backend} ${status}; last: ${JSON.stringify(last)}`);
  };

  const backendUpGauge = async (backend: Backend) => {
    const text = await (await fetch(`${base}/metrics`)).text();
    const line = text
      .split('\n')
      .find((l) => l.startsWith(`gateway_backend_up{backend="${backend}"}`));
    return line === undefined ? undefined : Number(line.split(' ').at(-1));
  };

  const order = () =>
    fetch(`${base}/v1/cheese/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"type":"BRIE"}',
    });

  /** Polls `request` until it answers 200 (or gives up); the last status. */
  const eventually200 = async (request: () => Promise<Response>) => {
    let status = 0;
    for (let i = 0; i < 150 && status !== 200; i++) {
      const res = await request();
      await res.body?.cancel();
      status = res.status;
      if (status !== 200) await sleep(100);
    }
    return status;
  };

  const expectReadyAndAlive = async (report: { status: number; body: HealthReport }) => {
    expect(report.status).toBe(200);
    expect(report.body).toMatchObject({ status: 'ok', details: { gateway: { status: 'up' } } });
    const live = await get('/healthz');
    expect(live.status).toBe(200);
    expect(live.body.status).toBe('ok');
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gateway-health-'));
    await writeFile(join(dir, 'not-a-dir'), '');
    mediaDir = join(dir, 'not-a-dir', 'media');
    [cheesePort, soccerPort] = await Promise.all([freePort(), freePort()]);
    const httpPort = await freePort();
    await Promise.all([startCheese(), startSoccer()]);
    gateway = await AppProcess.start('gateway', {
      port: httpPort,
      env: {
        GATEWAY_HTTP_HOST: '127.0.0.1',
        CHEESE_GRPC_URL: `127.0.0.1:${cheesePort}`,
        SOCCER_GRPC_URL: `127.0.0.1:${soccerPort}`,
        GATEWAY_BACKEND_CHECK_INTERVAL_MS: '200',
      },
    });
    base = `http://127.0.0.1:${httpPort}`;
  });

  afterAll(async () => {
    await gateway?.stop();
    await cheese?.stop();
    await soccer?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('/healthz: 200 with no backend checked', async () => {
    const live = await get('/healthz');
    expect(live.status).toBe(200);
    expect(live.body.details).toEqual({});
  });

  it('/readyz: 200 while soccer-service is up but NOT_SERVING (its MEDIA_DIR broken), which the body and the gauge report', async () => {
    const report = await backendBecomes('soccer-service', 'down');
    await expectReadyAndAlive(report);
    expect(report.body.backends?.['soccer-service']?.message).toMatch(/NOT_SERVING/);
    expect(report.body.backends?.['cheese-service']).toMatchObject({ status: 'up', servingStatus: 'SERVING' });
    expect(await backendUpGauge('soccer-service')).toBe(0);
    expect(await backendUpGauge('cheese-service')).toBe(1);
  }); // prettier-ignore

  it('/readyz: both backends up once soccer-service is SERVING; the gauge follows', async () => {
    await rm(join(dir, 'not-a-dir'));
    await mkdir(mediaDir, { recursive: true });
    const report = await backendBecomes('soccer-service', 'up');
    await expectReadyAndAlive(report);
    for (const backend of ['cheese-service', 'soccer-service'] as const) {
      expect(report.body.backends?.[backend]).toMatchObject({ status: 'up', servingStatus: 'SERVING' });
      expect(await backendUpGauge(backend)).toBe(1);
    }
  }); // prettier-ignore

  it('soccer-service stopped: the gateway stays ready, POST /v1/cheese/orders 200, the soccer routes 503', async () => {
    expect(await soccer!.stop()).toBe('0');
    const report = await backendBecomes('soccer-service', 'down');
    await expectReadyAndAlive(report);
    expect(await backendUpGauge('soccer-service')).toBe(0);

    const ordered = await order();
    expect(ordered.status).toBe(200);
    expect(await ordered.json()).toMatchObject({ type: 'BRIE' });
    for (const path of [
      '/v1/matches/live/watch',
      '/v1/matches/demo/watch',
      '/v1/matches/demo/stream.mjpeg',
      '/v1/matches',
    ]) {
      const res = await fetch(`${base}${path}`);
      expect(res.status, path).toBe(503);
      expect(await res.json(), path).toMatchObject({ code: 14, status: 'UNAVAILABLE' });
    }
    // The web page is served too.
    expect((await fetch(`${base}/`)).status).toBe(200);
    expect((await get('/readyz')).status).toBe(200);
  });

  it('cheese-service stopped as well: still ready and alive, orders 503', async () => {
    expect(await cheese!.stop()).toBe('0');
    await expectReadyAndAlive(await backendBecomes('cheese-service', 'down'));
    expect((await order()).status).toBe(503);
  });

  it('both back on the same ports: reported up again, orders and watches served', async () => {
    await mkdir(mediaDir, { recursive: true });
    await Promise.all([startCheese(), startSoccer()]);
    await backendBecomes('cheese-service', 'up');
    await expectReadyAndAlive(await backendBecomes('soccer-service', 'up'));
    // The routes' own channels reconnect within their back-off (at most 5 s).
    expect(await eventually200(order)).toBe(200);
    expect(await eventually200(() => fetch(`${base}/v1/matches/demo/watch?fps=5`))).toBe(200);
    expect(gateway.exited).toBe(false);
  });
});
