import { execFile } from 'node:child_process';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AppProcess,
  clientTlsEnv,
  freePort,
  generateDevCerts,
  serverTlsEnv,
  type DevCerts,
} from '#launcher';

const run = promisify(execFile);
const TOKEN = 'gateway-e2e-token-5d3b8f21c0a94e67';

/**
 * The whole stack as production runs it: both services on mutual TLS with a
 * bearer token, the gateway dialling them with its client certificate and the
 * token. One environment (certificates + token) serves all three apps.
 */
describe('gateway -> services over mutual TLS with a bearer token', () => {
  let work: string;
  let certs: DevCerts;
  let cheese: AppProcess;
  let soccer: AppProcess;
  const gateways: AppProcess[] = [];
  let cheeseUrl: string;
  let soccerUrl: string;
  let base: string;

  /** A gateway in front of both services with `env` on top of the TLS client settings. */
  async function startGateway(env: Record<string, string>): Promise<{ app: AppProcess; base: string }> {
    const port = await freePort();
    const app = await AppProcess.start('gateway', {
      port,
      env: {
        GATEWAY_HTTP_HOST: '127.0.0.1',
        CHEESE_GRPC_URL: cheeseUrl,
        SOCCER_GRPC_URL: soccerUrl,
        // Generous: a first call waits for its TLS handshake, slow on a loaded machine.
        GATEWAY_DEADLINE_MS: '10000',
        ...env,
      },
    });
    gateways.push(app);
    return { app, base: `http://127.0.0.1:${port}` };
  } // prettier-ignore

  const order = (at: string) =>
    fetch(`${at}/v1/cheese/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"type":"BRIE"}',
    });

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'gateway-security-'));
    certs = await generateDevCerts(join(work, 'certs'));
    const services = { ...serverTlsEnv(certs, { mutual: true }), GRPC_AUTH_TOKEN: TOKEN };
    const [cheesePort, soccerPort] = await Promise.all([freePort(), freePort()]);
    [cheese, soccer] = await Promise.all([
      AppProcess.start('cheese-service', {
        port: cheesePort,
        env: { CHEESE_GRPC_HOST: '127.0.0.1', ...services },
      }),
      AppProcess.start('soccer-service', {
        port: soccerPort,
        env: { SOCCER_GRPC_HOST: '127.0.0.1', MEDIA_DIR: join(work, 'media'), ...services },
      }),
    ]);
    // By name and by IP: both are in the server certificate's SANs.
    cheeseUrl = `localhost:${cheesePort}`;
    soccerUrl = `127.0.0.1:${soccerPort}`;
    ({ base } = await startGateway({ ...clientTlsEnv(certs), GRPC_AUTH_TOKEN: TOKEN }));
  });

  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.stop()));
    await Promise.all([cheese?.stop(), soccer?.stop()]);
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('is ready, and /readyz finds both backends up over the same TLS channels', async () => {
    type Report = { backends?: Record<string, { status: string }> };
    let last: { status: number; body: Report } | undefined;
    const bothUp = () =>
      ['cheese-service', 'soccer-service'].every((b) => last?.body.backends?.[b]?.status === 'up');
    for (const deadline = Date.now() + 30_000; !bothUp() && Date.now() < deadline;) {
      const res = await fetch(`${base}/readyz`);
      last = { status: res.status, body: (await res.json()) as Report };
      if (!bothUp()) await sleep(100);
    }
    expect(last?.status).toBe(200);
    expect(bothUp(), JSON.stringify(last?.body)).toBe(true);
  });

  it('orders a cheese: POST /v1/cheese/orders 200', async () => {
    const res = await order(base);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { type: string }).type).toBe('BRIE');
  });

  it('lists matches: GET /v1/matches 200 (Soccer.ListMatches)', async () => {
    const res = await fetch(`${base}/v1/matches`);
    expect(res.status).toBe(200);
    const { matches } = (await res.json()) as { matches: { id: string }[] };
    expect(matches.map((m) => m.id)).toContain('demo');
  });

  it('watches a match: SSE frames from Soccer.Watch', async () => {
    const frames = await new Promise<number>((resolve, reject) => {
      get(`${base}/v1/matches/demo/watch?maxFrames=3`, (res) => {
        if (res.statusCode !== 200) reject(new Error(`watch answered ${res.statusCode}`));
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve(text.match(/^event: frame$/gm)?.length ?? 0));
      }).on('error', reject);
    });
    expect(frames).toBe(3);
  });

  it('uploads a match: PUT /v1/matches/:id/video through the raw grpc-js client (client stream)', async () => {
    const video = join(work, 'clip.mp4');
    // prettier-ignore
    await run('ffmpeg', [
      '-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=10', '-t', '1',
      '-pix_fmt', 'yuv420p', video,
    ]);
    const bytes = await readFile(video);
    const res = await fetch(`${base}/v1/matches/secure-clip/video`, {
      method: 'PUT',
      headers: { 'content-type': 'video/mp4' },
      body: bytes,
    });
    expect(res.status).toBe(201); // a new match
    const result = (await res.json()) as { sha256: string };
    expect(result.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
  });

  it('a gateway with a wrong token gets 401 UNAUTHENTICATED', async () => {
    const wrong = await startGateway({
      ...clientTlsEnv(certs),
      GRPC_AUTH_TOKEN: 'gateway-e2e-token-not-the-right-one',
    });
    const res = await order(wrong.base);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: 16, status: 'UNAUTHENTICATED' });
    // Once the request's own line is out, nothing it logged can be missing.
    await expect.poll(() => wrong.app.logs).toContain('POST /v1/cheese/orders 401');
    expect(wrong.app.logs).not.toContain('gateway-e2e-token-not-the-right-one');
  });

  it('a gateway without a token gets 401 UNAUTHENTICATED', async () => {
    const tokenless = await startGateway(clientTlsEnv(certs));
    const res = await order(tokenless.base);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ status: 'UNAUTHENTICATED' });
  });

  it('a gateway without a client certificate is refused by the handshake: 503 UNAVAILABLE', async () => {
    const certless = await startGateway({ GRPC_TLS_CA: certs.ca, GRPC_AUTH_TOKEN: TOKEN });
    const res = await order(certless.base);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ status: 'UNAVAILABLE' });
  });

  it('says at start-up what is on, and no app ever logs the token', () => {
    expect(gateways[0].logMessages).toContain(
      'gRPC clients: mutual TLS (client certificate GRPC_TLS_CLIENT_CERT); bearer token sent',
    );
    expect(cheese.logMessages).toContain(
      'gRPC transport: mutual TLS (client certificates from GRPC_TLS_CLIENT_CA required); bearer token required (health and reflection open)',
    );
    for (const app of [cheese, soccer, ...gateways]) expect(app.logs).not.toContain(TOKEN);
  });
});
