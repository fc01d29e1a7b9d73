import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppProcess, freePort } from '#launcher';

/** A terminus health report, as /healthz and /readyz answer it. */
interface HealthReport {
  status: string;
  error?: Record<string, { status: string; message?: string }>;
  details: Record<string, { status: string; message?: string; servingStatus?: string }>;
}

describe('gateway /healthz and /readyz against the real backends', () => {
  let dir: string;
  /** soccer-service's MEDIA_DIR: under a regular file at first, so it is NOT_SERVING. */
  let mediaDir: string;
  let cheesePort: number;
  let cheese: AppProcess | undefined;
  let soccer: AppProcess;
  let gateway: AppProcess;
  let base: string;

  const startCheese = async () => {
    cheese = await AppProcess.start('cheese-service', {
      port: cheesePort,
      env: { CHEESE_GRPC_HOST: '127.0.0.1' },
    });
  };

  const get = async (path: string) => {
    const res = await fetch(`${base}${path}`);
    return { status: res.status, body: (await res.json()) as HealthReport };
  };

  /**
   * Polls /readyz until it answers `status` with a report that `shows`
   * (the probe's channels connect and reconnect with back-off).
   */
  const readyzBecomes = async (
    status: number,
    shows: (report: HealthReport) => boolean = () => true,
  ) => {
    let last: Awaited<ReturnType<typeof get>> | undefined;
    for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
      last = await get('/readyz');
      if (last.status === status && shows(last.body)) return last.body;
      await sleep(100);
    }
    throw new Error(`/readyz never answered ${status}; last: ${JSON.stringify(last)}`);
  };

  const expectAlive = async () => {
    const live = await get('/healthz');
    expect(live.status).toBe(200);
    expect(live.body.status).toBe('ok');
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gateway-health-'));
    await writeFile(join(dir, 'not-a-dir'), '');
    mediaDir = join(dir, 'not-a-dir', 'media');
    cheesePort = await freePort();
    const soccerPort = await freePort();
    const httpPort = await freePort();
    await startCheese();
    soccer = await AppProcess.start('soccer-service', {
      port: soccerPort,
      env: { SOCCER_GRPC_HOST: '127.0.0.1', MEDIA_DIR: mediaDir, MEDIA_CHECK_INTERVAL_MS: '200' },
    });
    gateway = await AppProcess.start('gateway', {
      port: httpPort,
      env: {
        GATEWAY_HTTP_HOST: '127.0.0.1',
        CHEESE_GRPC_URL: `127.0.0.1:${cheesePort}`,
        SOCCER_GRPC_URL: `127.0.0.1:${soccerPort}`,
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
    await expectAlive();
    expect((await get('/healthz')).body.details).toEqual({});
  });

  it('/readyz: 503 while soccer-service is up but NOT_SERVING (its MEDIA_DIR broken)', async () => {
    // Not just any 503: one where both backends answered their check (the probe's
    // channels connect with back-off, and a check can time out on a loaded machine).
    const report = await readyzBecomes(
      503,
      (r) =>
        r.details['cheese-service']?.status === 'up' &&
        /NOT_SERVING/.test(r.error?.['soccer-service']?.message ?? ''),
    );
    expect(report.status).toBe('error');
    expect(report.details['cheese-service']).toMatchObject({
      status: 'up',
      servingStatus: 'SERVING',
    });
    expect(report.error?.['soccer-service']).toMatchObject({
      status: 'down',
      message: expect.stringMatching(/NOT_SERVING/) as unknown,
    });
    expect(report.details.gateway).toEqual({ status: 'up' });
  });

  it('/readyz: 200 once every backend is SERVING', async () => {
    await rm(join(dir, 'not-a-dir'));
    await mkdir(mediaDir, { recursive: true });
    const report = await readyzBecomes(200);
    expect(report.status).toBe('ok');
    for (const backend of ['cheese-service', 'soccer-service']) {
      expect(report.details[backend]).toMatchObject({ status: 'up', servingStatus: 'SERVING' });
    }
  });

  it('/readyz: 503 when cheese-service is stopped; /healthz stays 200', async () => {
    expect(await cheese!.stop()).toBe('0');
    // One where soccer-service answered its check (on a loaded machine one can time out).
    const report = await readyzBecomes(503, (r) => r.details['soccer-service']?.status === 'up');
    expect(report.error?.['cheese-service']?.status).toBe('down');
    expect(report.details['soccer-service']?.status).toBe('up');
    await expectAlive();
  });

  it('/readyz: 200 again when cheese-service is back on the same port', async () => {
    await startCheese();
    await readyzBecomes(200);
    await expectAlive();
    expect(gateway.exited).toBe(false);
  });
});
