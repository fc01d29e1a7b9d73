import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { launchChromium } from '../../../test/support/chromium.js';
import { AppProcess, freePort, generateDevCerts, type DevCerts } from '#launcher';
import { mediaFiles } from '../../../test/support/media-leftovers.js';
import { grpcMethod, metricSum, serviceMetricsUrl } from '../../../test/support/metrics.js';
import { SseClient } from './support/sse-client.js';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

interface ApiError {
  code: number;
  status: string;
  message: string;
}

const KEY_A = 'gateway-key-a-7d1e9c0b4f2a6e83';
const KEY_B = 'gateway-key-b-0c5f7a2e9d3b1864';
const WRONG_KEY = 'not-a-gateway-key-5a8c1e7f3b9d2';
const ALLOWED_ORIGIN = 'https://app.example';

/** One HTTP request with node:http (full control of headers; fetch hides some). */
function send(
  url: string,
  { method = 'GET', headers = {}, body }: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (t: string) => (text += t));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
} // prettier-ignore

function apiError(answer: Answer): ApiError {
  expect(answer.headers['content-type']).toMatch(/^application\/json/);
  const error = JSON.parse(answer.body) as ApiError;
  expect(Object.keys(error).sort()).toEqual(['code', 'message', 'status']);
  return error;
}

/** A raw TCP connection; resolves `closed` with the ms it stayed open and what it received. */
function rawConnection(port: number): {
  socket: Socket;
  closed: Promise<{ afterMs: number; received: string }>;
} {
  const socket = connect(port, '127.0.0.1');
  const opened = Date.now();
  let received = '';
  socket.setEncoding('utf8');
  socket.on('data', (text: string) => (received += text));
  socket.on('error', () => undefined);
  const closed = once(socket, 'close').then(() => ({ afterMs: Date.now() - opened, received }));
  return { socket, closed };
}

describe('gateway HTTP hardening: API keys, stream cap, CORS, headers (with soccer-service)', () => {
  let work: string;
  let mediaDir: string;
  let video: string;
  let soccer: AppProcess;
  let gateway: AppProcess;
  let base: string;
  let soccerPort: number;
  let soccerMetrics: string;

  const files = () => mediaFiles(mediaDir);
  /** Upload calls soccer-service has taken so far. */
  const uploadCalls = () =>
    metricSum(soccerMetrics, 'grpc_server_started_total', grpcMethod('stream.Soccer', 'Upload'));

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'gateway-hardening-'));
    mediaDir = join(work, 'media');
    video = join(work, 'clip.mp4');
    // prettier-ignore
    execFileSync('ffmpeg', [
      '-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25', '-t', '1',
      '-pix_fmt', 'yuv420p', video,
    ]);
    let soccerMetricsPort: number;
    let httpPort: number;
    [soccerPort, soccerMetricsPort, httpPort] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
    ]);
    soccerMetrics = serviceMetricsUrl(soccerMetricsPort);
    soccer = await AppProcess.start('soccer-service', {
      port: soccerPort,
      metricsPort: soccerMetricsPort,
      env: { SOCCER_GRPC_HOST: '127.0.0.1', MEDIA_DIR: mediaDir },
    });
    gateway = await AppProcess.start('gateway', {
      port: httpPort,
      env: {
        GATEWAY_HTTP_HOST: '127.0.0.1',
        SOCCER_GRPC_URL: `127.0.0.1:${soccerPort}`,
        CHEESE_GRPC_URL: '127.0.0.1:1',
        GATEWAY_API_KEYS: `${KEY_A}, ${KEY_B}`,
        GATEWAY_MAX_STREAMS_PER_IP: '2',
        // Hundreds of streams are opened below: the rate limit has its own gateway.
        GATEWAY_RATE_LIMIT: '0',
        GATEWAY_CORS_ORIGINS: `${ALLOWED_ORIGIN},http://localhost:5173`,
        // Generous: first frames and joins come late on a loaded machine.
        GATEWAY_DEADLINE_MS: '10000',
      },
    });
    base = `http://127.0.0.1:${httpPort}`;
  });

  afterAll(async () => {
    await gateway?.stop();
    await soccer?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  describe('API keys on the writes', () => {
    const putVideo = (id: string, headers: Record<string, string>) =>
      send(`${base}/v1/matches/${id}/video?overwrite=true`, {
        method: 'PUT',
        headers: { 'content-type': 'video/mp4', ...headers },
        body: readFileSync(video),
      });

    it.each([
      ['no key', {}, /^missing API key/],
      ['a wrong x-api-key', { 'x-api-key': WRONG_KEY }, /^invalid API key$/],
      ['a wrong bearer key', { authorization: `Bearer ${WRONG_KEY}` }, /^invalid API key$/],
      ['another scheme', { authorization: `Basic ${KEY_A}` }, /^missing API key/],
      ['a key with a character cut', { 'x-api-key': KEY_A.slice(0, -1) }, /^invalid API key$/],
    ])('PUT video with %s: 401, WWW-Authenticate, nothing stored, soccer-service never called', async (_case, headers, message) => {
      const before = { files: await files(), calls: await uploadCalls() };
      const answer = await putVideo('refused', headers);
      expect(answer.status).toBe(401);
      expect(answer.headers['www-authenticate']).toBe('Bearer');
      const error = apiError(answer);
      expect(error).toMatchObject({ code: 16, status: 'UNAUTHENTICATED' });
      expect(error.message).toMatch(message);
      expect(answer.body).not.toContain(WRONG_KEY);
      expect(await files()).toEqual(before.files);
      expect(await uploadCalls()).toBe(before.calls);
    }); // prettier-ignore

    it('answers 401 before reading the body: an endless upload is refused and its connection closed', async () => {
      const body = new PassThrough();
      const answer = new Promise<Answer>((resolve, reject) => {
        const req = httpRequest(`${base}/v1/matches/endless/video`, {
          method: 'PUT',
          headers: { 'content-type': 'video/mp4', 'transfer-encoding': 'chunked' },
          agent: false,
        });
        req.on('response', (res) => {
          let text = '';
          res.on('data', (t: Buffer) => (text += t.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
        });
        req.on('error', reject);
        body.pipe(req).on('error', () => undefined);
      });
      body.write(Buffer.alloc(64 * 1024)); // and never more, never the end
      const refused = await answer;
      body.destroy();
      expect(refused.status).toBe(401);
      expect(refused.headers.connection).toBe('close');
      expect((await files()).filter((f) => f.startsWith('.upload-'))).toEqual([]);
      expect(await uploadCalls()).toBe(0);
    }); // prettier-ignore

    it('stores the video with either key, in either header', async () => {
      for (const [id, headers] of [
        ['with-x-api-key', { 'x-api-key': KEY_A }],
        ['with-bearer', { authorization: `Bearer ${KEY_B}` }],
        ['with-lowercase-bearer', { authorization: `bearer ${KEY_A}` }],
      ] as const) {
        const answer = await putVideo(id, headers);
        expect(answer.status, answer.body).toBe(201);
        expect(JSON.parse(answer.body)).toMatchObject({ id });
      }
      expect(await files()).toEqual(
        ['with-bearer.mp4', 'with-lowercase-bearer.mp4', 'with-x-api-key.mp4'].sort(),
      );
    });

    it('chat: reading is open, saying needs a key', async () => {
      const chat = await SseClient.open(`${base}/v1/matches/demo/chat?user=ana`);
      try {
        const { sessionId } = JSON.parse((await chat.until('joined')).pop()!.data) as {
          sessionId: string;
        };
        const say = (headers: Record<string, string>, text: string) =>
          send(`${base}/v1/matches/demo/chat`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...headers },
            body: JSON.stringify({ sessionId, text }),
          });
        const refused = await say({}, 'no key');
        expect(refused.status).toBe(401);
        expect(apiError(refused)).toMatchObject({ code: 16, status: 'UNAUTHENTICATED' });
        expect((await say({ 'x-api-key': WRONG_KEY }, 'wrong key')).status).toBe(401);
        expect((await say({ authorization: `Bearer ${KEY_B}` }, 'GOAL')).status).toBe(202);
        const said: string[] = [];
        while (!said.includes('GOAL')) {
          const e = await chat.next();
          if (!e) break;
          const message = JSON.parse(e.data) as { event?: string; text?: string };
          if (e.event === 'message' && message.event === 'MESSAGE') said.push(message.text!);
        }
        // The refused ones never reached the room.
        expect(said).toEqual(['GOAL']);
      } finally {
        chat.close();
      }
    });

    it('reads stay open without a key', async () => {
      expect((await send(`${base}/v1/matches`)).status).toBe(200);
      expect((await send(`${base}/v1/cheeses`)).status).toBe(200);
      const watch = await SseClient.open(`${base}/v1/matches/demo/watch?maxFrames=1&fps=0`);
      expect((await watch.until('end')).map((e) => e.event)).toEqual(['frame', 'end']);
    });

    it('no key, right or wrong, is in any log', () => {
      for (const app of [gateway, soccer]) {
        for (const key of [KEY_A, KEY_B, WRONG_KEY]) {
          expect(app.logs).not.toContain(key);
          expect(app.logs).not.toContain(key.slice(0, 16));
        }
      }
    });
  });

  describe('streams per client address (GATEWAY_MAX_STREAMS_PER_IP=2)', () => {
    /** Every stream opened here, closed after each test whatever happened. */
    const opened: SseClient[] = [];
    afterEach(() => opened.splice(0).forEach((sse) => sse.close()));
    const open = async (path: string) => {
      const sse = await SseClient.open(`${base}${path}`);
      opened.push(sse);
      return sse;
    };
    const watch = () => open('/v1/matches/live/watch?fps=5');

    /** Retries `open` while it is refused: a closed stream is uncounted when the gateway sees the close. */
    async function admitted(start: () => Promise<SseClient>): Promise<SseClient> {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const sse = await start();
        if (sse.status === 200) return sse;
        sse.close();
        if (Date.now() > deadline) throw new Error(`still refused: ${sse.status}`);
        await sleep(20);
      }
    }

    async function expectRefused(start: () => Promise<SseClient>): Promise<void> {
      const sse = await start();
      expect(sse.status).toBe(429);
      expect(sse.res.headers['retry-after']).toBe('1');
      expect(JSON.parse(await sse.text())).toEqual({
        code: 8,
        status: 'RESOURCE_EXHAUSTED',
        message: 'too many open streams from this address',
      });
    }

    it('refuses the third open stream, of any kind, and takes one again once a stream closes', async () => {
      const first = await admitted(watch);
      const second = await admitted(() => open(`/v1/matches/demo/chat?user=bo`));
      expect((await first.next())!.event).toBe('frame');
      expect((await second.next())!.event).toBe('joined');

      await expectRefused(watch);
      await expectRefused(() => open(`/v1/matches/live/stream.mjpeg`));
      await expectRefused(() => open(`/v1/matches/demo/chat?user=cy`));
      const upload = await send(`${base}/v1/matches/capped/video`, {
        method: 'PUT',
        headers: { 'content-type': 'video/mp4', 'x-api-key': KEY_A },
        body: Buffer.alloc(1024),
      });
      expect(upload.status).toBe(429);
      // Other requests are not streams.
      expect((await send(`${base}/v1/matches`)).status).toBe(200);

      first.close();
      const third = await admitted(watch);
      expect((await third.next())!.event).toBe('frame');
      third.close();
      second.close();
    });

    it('never leaks a count: after 200 streams ended every way, two can be open again', async () => {
      const endings: Array<() => Promise<void>> = [
        // The client goes away mid-stream.
        async () => {
          const sse = await admitted(watch);
          await sse.next();
          sse.close();
        },
        // The stream ends by itself.
        async () => {
          const sse = await admitted(() =>
            open(`/v1/matches/demo/watch?maxFrames=1&fps=0`),
          );
          await sse.until('end');
        },
        // Refused after the count (bad query: 400), or before any frame (no such match: 404).
        async () => expect((await send(`${base}/v1/matches/live/watch?fps=999`)).status).toBe(400),
        async () => expect((await send(`${base}/v1/matches/nope/watch`)).status).toBe(404),
        // A chat member leaves.
        async () => {
          const sse = await admitted(() => open(`/v1/matches/demo/chat?user=dee`));
          await sse.until('joined');
          sse.close();
        },
        // An MJPEG viewer goes away before the first frame is read.
        async () => (await admitted(() => open(`/v1/matches/live/stream.mjpeg`))).close(),
      ];
      for (let i = 0; i < 200; i++) await endings[i % endings.length]();

      const a = await admitted(watch);
      const b = await admitted(watch);
      await expectRefused(watch);
      a.close();
      b.close();
    }); // prettier-ignore
  });

  describe('CORS (GATEWAY_CORS_ORIGINS)', () => {
    const preflight = (origin: string) =>
      send(`${base}/v1/matches/x/video`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'PUT',
          'access-control-request-headers': 'x-api-key, content-type',
        },
      });

    it('answers a preflight from an allowed origin', async () => {
      const answer = await preflight(ALLOWED_ORIGIN);
      expect(answer.status).toBe(204);
      expect(answer.headers['access-control-allow-origin']).toBe(ALLOWED_ORIGIN);
      expect(answer.headers['access-control-allow-methods']).toContain('PUT');
      expect(answer.headers['access-control-allow-headers']).toMatch(/x-api-key/);
      expect(answer.headers['access-control-allow-headers']).toMatch(/authorization/);
    });

    it('gives no CORS header to another origin', async () => {
      const answer = await preflight('https://evil.example');
      expect(answer.headers['access-control-allow-origin']).toBeUndefined();
      const get = await send(`${base}/v1/cheeses`, { headers: { origin: 'https://evil.example' } });
      expect(get.headers['access-control-allow-origin']).toBeUndefined();
    });

    it('exposes the request id and Retry-After, also on an SSE stream', async () => {
      const get = await send(`${base}/v1/cheeses`, { headers: { origin: ALLOWED_ORIGIN } });
      expect(get.headers['access-control-allow-origin']).toBe(ALLOWED_ORIGIN);
      // The request id and Retry-After, and what gRPC-Web clients read from the answer's headers.
      expect(String(get.headers['access-control-expose-headers']).split(/, ?/)).toEqual([
        'x-request-id',
        'retry-after',
        'grpc-status',
        'grpc-message',
        'grpc-status-details-bin',
      ]);
      const sse = await send(`${base}/v1/matches/demo/watch?maxFrames=1&fps=0`, {
        headers: { origin: ALLOWED_ORIGIN },
      });
      expect(sse.headers['content-type']).toMatch(/^text\/event-stream/);
      expect(sse.headers['access-control-allow-origin']).toBe(ALLOWED_ORIGIN);
    });
  });

  describe('security headers (helmet)', () => {
    it.each(['/', '/v1/cheeses', '/docs', '/nope'])('on %s', async (path) => {
      const answer = await send(`${base}${path}`);
      expect(answer.headers['x-content-type-options']).toBe('nosniff');
      expect(answer.headers['x-frame-options']).toBe('DENY');
      expect(answer.headers['referrer-policy']).toBe('no-referrer');
      expect(answer.headers['content-security-policy']).toMatch(/default-src 'self'/);
      expect(answer.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
      // Plain HTTP: no HSTS, no upgrade to a TLS port that does not exist.
      expect(answer.headers['strict-transport-security']).toBeUndefined();
      expect(answer.headers['content-security-policy']).not.toMatch(/upgrade-insecure-requests/);
    });

    it("allows inline styles to Swagger UI only, inline scripts to nobody", async () => {
      const csp = async (path: string) => (await send(`${base}${path}`)).headers['content-security-policy'];
      expect(await csp('/docs')).toMatch(/style-src 'self' 'unsafe-inline'/);
      expect(await csp('/v1/cheeses')).toMatch(/style-src 'self'(;|$)/);
      for (const path of ['/', '/docs', '/v1/cheeses']) {
        expect(await csp(path)).not.toMatch(/script-src[^;]*unsafe/);
      }
    }); // prettier-ignore

    it('also on an SSE stream (written raw), with the request id', async () => {
      const sse = await send(`${base}/v1/matches/demo/watch?maxFrames=1&fps=0`, {
        headers: { 'x-request-id': 'sse-watch-1' },
      });
      expect(sse.headers['x-content-type-options']).toBe('nosniff');
      expect(sse.headers['content-security-policy']).toMatch(/default-src 'self'/);
      expect(sse.headers['x-request-id']).toBe('sse-watch-1');
    });

    // On a gateway with the default timeouts: the other one's 2 s header and 3 s idle
    // timeouts cut a busy browser's keep-alive connections between the page's assets.
    it('Swagger UI renders in chromium under the Content-Security-Policy', async () => {
      const profile = mkdtempSync(join(tmpdir(), 'gateway-docs-chromium-'));
      const browser = await launchChromium(profile);
      try {
        const page = await browser.newPage();
        const problems: string[] = [];
        page.on('console', (m) => {
          if (m.type() === 'error') problems.push(m.text());
        });
        page.on('pageerror', (err) => problems.push(err.message));
        await page.goto(`${base}/docs`);
        await page.locator('.opblock').first().waitFor({ timeout: 60_000 });
        expect(await page.locator('.opblock').count()).toBeGreaterThan(5);
        expect(problems).toEqual([]);
      } finally {
        await browser.close();
        rmSync(profile, { recursive: true, force: true });
      }
    });
  });

  describe('slow and idle clients, with streams', () => {
    describe('with short timeouts', () => {
      /**
       * A gateway of its own with short timeouts: heartbeats every 0.5 s
       * (GATEWAY_IDLE_TIMEOUT_MS / 2), while a connection silent for 3 s
       * (GATEWAY_DEADLINE_MS + 1 s, the bound while a request is answered) is cut.
       */
      let quick: AppProcess;
      let quickBase: string;

      beforeAll(async () => {
        const port = await freePort();
        quick = await AppProcess.start('gateway', {
          port,
          env: {
            GATEWAY_HTTP_HOST: '127.0.0.1',
            SOCCER_GRPC_URL: `127.0.0.1:${soccerPort}`,
            CHEESE_GRPC_URL: '127.0.0.1:1',
            GATEWAY_IDLE_TIMEOUT_MS: '1000',
            GATEWAY_DEADLINE_MS: '2000',
          },
        });
        quickBase = `http://127.0.0.1:${port}`;
      });

      afterAll(async () => {
        await quick?.stop();
      });

      it('keeps an idle chat stream open with heartbeats (every 0.5 s; 3 s of silence would cut it)', async () => {
        const comments: number[] = [];
        const started = Date.now();
        const chat = await new Promise<IncomingMessage>((resolve, reject) =>
          httpRequest(`${quickBase}/v1/matches/demo/chat?user=quiet`, { agent: false }, resolve)
            .on('error', reject)
            .end(),
        );
        expect(chat.statusCode).toBe(200);
        chat.setEncoding('utf8');
        let closed = false;
        // Heartbeats are never early: the 7th comes 3.5 s in or later, past the
        // 3 s a stream the heartbeats did not keep would be cut after.
        const pastTheTimeout = new Promise<void>((resolve) => {
          chat.on('data', (text: string) => {
            for (const _ping of text.matchAll(/^: ping/gm)) comments.push(Date.now() - started);
            if (comments.length >= 7) resolve();
          });
          chat.on('close', () => {
            closed = true;
            resolve();
          });
        });
        await pastTheTimeout;
        expect(closed).toBe(false);
        expect(comments.length).toBeGreaterThanOrEqual(3);
        chat.destroy();
      }); // prettier-ignore
    });

    it('answers oversized headers (over the default 16 KiB) with 431', async () => {
      const answer = await send(`${base}/v1/cheeses`, { headers: { 'x-big': 'a'.repeat(17_000) } });
      expect(answer.status).toBe(431);
      expect(apiError(answer)).toMatchObject({ code: 8, status: 'RESOURCE_EXHAUSTED' });
      expect((await send(`${base}/v1/cheeses`, { headers: { 'x-big': 'a'.repeat(15_000) } })).status).toBe(200);
    }); // prettier-ignore
  });
});

describe('gateway HTTP hardening: rate limit, slow clients, header size, CORS off (no services)', () => {
  let gateway: AppProcess;
  let port: number;
  let base: string;

  beforeAll(async () => {
    port = await freePort();
    gateway = await AppProcess.start('gateway', {
      port,
      env: {
        GATEWAY_HTTP_HOST: '127.0.0.1',
        CHEESE_GRPC_URL: '127.0.0.1:1',
        SOCCER_GRPC_URL: '127.0.0.1:1',
        GATEWAY_RATE_LIMIT: '5',
        // Not shorter: Node's check times out a connection whose head is still
        // unread in its socket, so a gateway stalled that long on a loaded
        // machine answered a prompt request 408 and reset it. The idle timeout
        // (connectionTimeout too) is longer, or it would cut a silent client first.
        GATEWAY_HEADERS_TIMEOUT_MS: '2000',
        GATEWAY_IDLE_TIMEOUT_MS: '3000',
        GATEWAY_DEADLINE_MS: '500',
        GATEWAY_MAX_HEADER_BYTES: '8192',
      },
    });
    base = `http://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    await gateway?.stop();
  });

  it('slow-loris: a client trickling its headers is answered 408 and cut off; others are served meanwhile', async () => {
    const loris = rawConnection(port);
    await once(loris.socket, 'connect');
    loris.socket.write('GET /v1/cheeses HTTP/1.1\r\nHost: gateway\r\n');
    const trickle = setInterval(() => loris.socket.write('X-Slow: 1\r\n'), 100);
    const served = await send(`${base}/healthz`);
    expect(served.status).toBe(200);
    const { afterMs, received } = await loris.closed;
    clearInterval(trickle);
    expect(afterMs).toBeGreaterThanOrEqual(1950);
    expect(afterMs).toBeLessThan(5000);
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
    expect(JSON.parse(received.slice(received.indexOf('\r\n\r\n') + 4))).toMatchObject({
      code: 4,
      status: 'DEADLINE_EXCEEDED',
    });
    expect((await send(`${base}/healthz`)).status).toBe(200);
  });

  it('closes a keep-alive connection idle for GATEWAY_IDLE_TIMEOUT_MS (3 s)', async () => {
    const idle = rawConnection(port);
    await once(idle.socket, 'connect');
    idle.socket.write('GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n');
    const { afterMs, received } = await idle.closed;
    expect(received).toMatch(/^HTTP\/1\.1 200 /);
    expect(received).toMatch(/keep-alive: timeout=3/i);
    // Node adds up to a second of its own to the keep-alive timeout.
    expect(afterMs).toBeGreaterThanOrEqual(2900);
    expect(afterMs).toBeLessThan(6000);
  });

  it('answers 408 to a connection that never sends anything, and closes it', async () => {
    const silent = rawConnection(port);
    const { afterMs, received } = await silent.closed;
    expect(afterMs).toBeGreaterThanOrEqual(1950);
    expect(afterMs).toBeLessThan(5000);
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('answers a request head over GATEWAY_MAX_HEADER_BYTES (8 KiB) with 431', async () => {
    const over = await send(`${base}/healthz`, { headers: { 'x-big': 'a'.repeat(9000) } });
    expect(over.status).toBe(431);
    expect(apiError(over)).toEqual({
      code: 8,
      status: 'RESOURCE_EXHAUSTED',
      message: 'request headers over 8192 bytes',
    });
    const under = await send(`${base}/healthz`, { headers: { 'x-big': 'a'.repeat(7000) } });
    expect(under.status).toBe(200);
  });

  it('no CORS headers when no origin is configured', async () => {
    // (A probe: the rate limit test below counts on a fresh window.)
    const answer = await send(`${base}/healthz`, { headers: { origin: ALLOWED_ORIGIN } });
    expect(answer.headers['access-control-allow-origin']).toBeUndefined();
    const preflight = await send(`${base}/v1/cheese/orders`, {
      method: 'OPTIONS',
      headers: { origin: ALLOWED_ORIGIN, 'access-control-request-method': 'POST' },
    });
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
  });

  // Last: it uses up this address's requests for the window.
  it('rate limit: 429 with Retry-After after GATEWAY_RATE_LIMIT (5) requests; probes and /metrics exempt', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await send(`${base}/v1/cheeses`)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    const limited = await send(`${base}/v1/cheeses`);
    expect(limited.status).toBe(429);
    const retryAfter = Number(limited.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    const error = apiError(limited);
    expect(error).toMatchObject({ code: 8, status: 'RESOURCE_EXHAUSTED' });
    expect(error.message).toMatch(/^too many requests from this address/);
    // Per address, over every route: another route is limited too.
    expect((await send(`${base}/v1/matches`)).status).toBe(429);
    for (const probe of ['/healthz', '/metrics']) {
      expect((await send(`${base}${probe}`)).status).toBe(200);
    }
    expect((await send(`${base}/readyz`)).status).toBe(200); // ready without its services, not limited
  }); // prettier-ignore
});

describe('gateway HTTPS listener (GATEWAY_TLS_CERT, GATEWAY_TLS_KEY)', () => {
  let work: string;
  let certs: DevCerts;
  let gateway: AppProcess;
  let port: number;

  const get = (path: string, ca?: Buffer | string) =>
    new Promise<Answer>((resolve, reject) => {
      const req = httpsRequest(
        { host: '127.0.0.1', servername: 'localhost', port, path, ca, agent: false },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (t: string) => (text += t));
          res.on('end', () =>
            resolve({ status: res.statusCode!, headers: res.headers, body: text }),
          );
        },
      );
      req.on('error', reject);
      req.end();
    });

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'gateway-https-'));
    certs = await generateDevCerts(join(work, 'certs'));
    port = await freePort();
    gateway = await AppProcess.start('gateway', {
      port,
      env: {
        GATEWAY_HTTP_HOST: '127.0.0.1',
        CHEESE_GRPC_URL: '127.0.0.1:1',
        SOCCER_GRPC_URL: '127.0.0.1:1',
        GATEWAY_TLS_CERT: certs.serverCert,
        GATEWAY_TLS_KEY: certs.serverKey,
      },
    });
  });

  afterAll(async () => {
    await gateway?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('serves HTTPS with the dev certificates, verified against the CA, with HSTS', async () => {
    const answer = await get('/v1/cheeses', readFileSync(certs.ca));
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toHaveProperty('types');
    expect(answer.headers['strict-transport-security']).toMatch(/max-age=31536000/);
    expect(answer.headers['content-security-policy']).toMatch(/upgrade-insecure-requests/);
    expect(gateway.logMessages).toMatch(/listening on https:\/\/127\.0\.0\.1:/);
  });

  it('is refused by a client that does not trust the CA, and does not speak plain HTTP', async () => {
    await expect(get('/healthz')).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
    await expect(send(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });

  it('refuses to start with a key that is not the certificate’s, naming the variable', async () => {
    const otherPort = await freePort();
    const start = AppProcess.start('gateway', {
      port: otherPort,
      env: {
        GATEWAY_HTTP_HOST: '127.0.0.1',
        GATEWAY_TLS_CERT: certs.serverCert,
        GATEWAY_TLS_KEY: certs.clientKey,
      },
    });
    await expect(start).rejects.toThrow(
      /GATEWAY_TLS_KEY=.* is not the private key of GATEWAY_TLS_CERT/,
    );
  });
});
