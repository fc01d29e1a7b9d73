/**
 * The services' kubelet probes on their plaintext metrics port (the
 * manifests' httpGet probes): no process per probe, no client certificate,
 * whatever the gRPC port's TLS. Liveness and startup (`/healthz`) never
 * depend on a check; readiness (`/readyz`) is gRPC health.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppProcess, freePort, generateDevCerts, serverTlsEnv } from '#launcher';

interface ProbeBody {
  status: string;
  service?: string;
  problems?: string[];
}

async function probe(port: number, path: string) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: (await res.json().catch(() => ({}))) as ProbeBody };
}

/** Polls `path` until it answers `status`. */
async function probeBecomes(port: number, path: string, status: number) {
  let last: Awaited<ReturnType<typeof probe>> | undefined;
  for (let i = 0; i < 150; i++) {
    last = await probe(port, path);
    if (last.status === status) return last;
    await sleep(100);
  }
  throw new Error(`${path} never answered ${status}; last: ${JSON.stringify(last)}`);
}

describe('service probes on the metrics port (mutual TLS on the gRPC port)', () => {
  let dir: string;
  let mediaDir: string;
  let soccer: AppProcess;
  let cheese: AppProcess;
  let soccerMetrics: number;
  let cheeseMetrics: number;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'service-probes-'));
    const certs = await generateDevCerts(join(dir, 'certs'));
    // Under a regular file: not writable, for root too (ENOTDIR).
    await writeFile(join(dir, 'not-a-dir'), '');
    mediaDir = join(dir, 'not-a-dir', 'media');
    const [soccerPort, cheesePort] = await Promise.all([freePort(), freePort()]);
    [soccerMetrics, cheeseMetrics] = await Promise.all([freePort(), freePort()]);
    const tls = serverTlsEnv(certs, { mutual: true });
    [soccer, cheese] = await Promise.all([
      AppProcess.start('soccer-service', {
        port: soccerPort,
        metricsPort: soccerMetrics,
        env: { SOCCER_GRPC_HOST: '127.0.0.1', MEDIA_DIR: mediaDir, MEDIA_CHECK_INTERVAL_MS: '200', ...tls },
      }),
      AppProcess.start('cheese-service', {
        port: cheesePort,
        metricsPort: cheeseMetrics,
        env: { CHEESE_GRPC_HOST: '127.0.0.1', ...tls },
      }),
    ]);
  }); // prettier-ignore

  afterAll(async () => {
    await Promise.all([soccer?.stop(), cheese?.stop()]);
    await rm(dir, { recursive: true, force: true });
  });

  it('soccer-service with MEDIA_DIR unwritable: /healthz (liveness, startup) 200, /readyz 503 saying why', async () => {
    expect(await probeBecomes(soccerMetrics, '/healthz', 200)).toMatchObject({ body: { status: 'ok' } });
    const ready = await probe(soccerMetrics, '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ service: '', status: 'NOT_SERVING' });
    expect(ready.body.problems?.join('\n')).toMatch(/^media-dir: MEDIA_DIR .* is not writable/m);
    expect((await probe(soccerMetrics, '/readyz?service=stream.Soccer')).status).toBe(503);
    expect((await probe(soccerMetrics, '/readyz?service=no.Such')).status).toBe(404);
  }); // prettier-ignore

  it('soccer-service: /readyz 200 once MEDIA_DIR takes writes, with no restart', async () => {
    await rm(join(dir, 'not-a-dir'));
    await mkdir(mediaDir, { recursive: true });
    expect((await probeBecomes(soccerMetrics, '/readyz', 200)).body).toEqual({
      service: '',
      status: 'SERVING',
      problems: [],
    });
    expect(soccer.exited).toBe(false);
  });

  it('soccer-service reports the size and free space of the media volume', async () => {
    const text = await (await fetch(`http://127.0.0.1:${soccerMetrics}/metrics`)).text();
    const value = (name: string) =>
      Number(
        /^(\S+) (\S+)$/m.exec(text.split('\n').find((l) => l.startsWith(`${name} `)) ?? '')?.[2],
      );
    const size = value('soccer_media_volume_size_bytes');
    const available = value('soccer_media_volume_available_bytes');
    expect(size).toBeGreaterThan(0);
    expect(available).toBeGreaterThan(0);
    expect(available).toBeLessThanOrEqual(size);
  });

  it('cheese-service: /healthz and /readyz?service=cheesefarm.CheeseService 200', async () => {
    expect((await probeBecomes(cheeseMetrics, '/healthz', 200)).status).toBe(200);
    expect(await probe(cheeseMetrics, '/readyz?service=cheesefarm.CheeseService')).toMatchObject({
      status: 200,
      body: { service: 'cheesefarm.CheeseService', status: 'SERVING' },
    });
  });
});
