import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { AppProcess, freePort } from '#launcher';
import {
  ChatSocketClient,
  chatSocketUrl,
  isRefusal,
  type ChatFrame,
} from '../apps/gateway/test/support/chat-socket-client.js';
import { SseClient } from '../apps/gateway/test/support/sse-client.js';
import { launchChromium } from './support/chromium.js';
import { Nginx } from './support/nginx.js';
import { RedisServer } from './support/redis-server.js';

/**
 * The address nginx reaches the gateways from (its proxy_bind), their one
 * trusted proxy. Clients use other loopback addresses (127.0.0.0/8 is all
 * loopback on Linux), so each test's clients are told apart by address.
 */
const PROXY_ADDRESS = '127.0.0.4';
/** Requests per minute per client address, on every gateway together. */
const RATE_LIMIT = 30;
/** The machine may be busy: starting an app can take a while. */
const START_TIMEOUT_MS = 90_000;

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One HTTP request from `from` (a loopback address), with node:http. */
function send(
  url: string,
  options: { from: string; method?: string; headers?: Record<string, string>; body?: string | Buffer },
): Promise<Answer> {
  const { from, method = 'GET', headers = {}, body } = options;
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, localAddress: from, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (t: string) => (text += t));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
} // prettier-ignore

const order = (base: string, from: string) =>
  send(`${base}/v1/cheese/orders`, {
    from,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"type":"BRIE"}',
  });

/** Seqs a member saw must be consecutive: nothing lost, nothing twice, nothing reordered. */
function expectConsecutive(frames: ChatFrame[]): void {
  const seqs = frames.map((f) => f.seq);
  expect(seqs).toEqual(seqs.map((_, i) => seqs[0] + i));
}

describe('two gateways behind nginx, two soccer-services with Redis, two cheese-services', () => {
  let work: string;
  let mediaDir: string;
  let redis: RedisServer;
  const services: AppProcess[] = [];
  const gateways: AppProcess[] = [];
  /** Each gateway's own URL (direct, bypassing nginx). */
  const direct: string[] = [];
  let nginx: Nginx;
  let browser: BrowserContext | undefined;

  /** Which gateway an `X-Upstream` value names. */
  const gatewayAt = (upstream: string | undefined) =>
    gateways.findIndex((g) => upstream === `127.0.0.1:${g.port}`);
  const metricsOf = async (i: number) => (await fetch(`${direct[i]}/metrics`)).text();

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'scale-out-'));
    mediaDir = join(work, 'media');
    mkdirSync(mediaDir);
    redis = await RedisServer.start();
    const [cheesePorts, soccerPorts, httpPorts] = [
      [await freePort(), await freePort()],
      [await freePort(), await freePort()],
      [await freePort(), await freePort()],
    ];
    services.push(
      ...(await Promise.all([
        ...cheesePorts.map((port) =>
          AppProcess.start('cheese-service', {
            port,
            env: { CHEESE_GRPC_HOST: '127.0.0.1' },
            readyTimeoutMs: START_TIMEOUT_MS,
          }),
        ),
        // Both on one MEDIA_DIR (a shared volume): an upload to one is a match of both.
        ...soccerPorts.map((port) =>
          AppProcess.start('soccer-service', {
            port,
            env: { SOCCER_GRPC_HOST: '127.0.0.1', MEDIA_DIR: mediaDir, REDIS_URL: redis.url },
            readyTimeoutMs: START_TIMEOUT_MS,
          }),
        ),
      ])),
    );
    gateways.push(
      ...(await Promise.all(
        httpPorts.map((port) =>
          AppProcess.start('gateway', {
            port,
            env: {
              GATEWAY_HTTP_HOST: '127.0.0.1',
              CHEESE_GRPC_URL: cheesePorts.map((p) => `127.0.0.1:${p}`).join(','),
              SOCCER_GRPC_URL: soccerPorts.map((p) => `127.0.0.1:${p}`).join(','),
              REDIS_URL: redis.url,
              GATEWAY_TRUSTED_PROXIES: `${PROXY_ADDRESS}/32`,
              GATEWAY_RATE_LIMIT: String(RATE_LIMIT),
              GATEWAY_CHAT_MESSAGES_PER_MINUTE: '1000',
            },
            readyTimeoutMs: START_TIMEOUT_MS,
          }),
        ),
      )),
    );
    direct.push(...httpPorts.map((port) => `http://127.0.0.1:${port}`));
    nginx = await Nginx.start({ upstreams: httpPorts, proxyAddress: PROXY_ADDRESS });
    // Both count in Redis before the first request (they waited for it at start).
    for (const i of [0, 1])
      await vi.waitFor(
        async () => expect(await metricsOf(i)).toMatch(/^gateway_limits_shared 1$/m),
        { timeout: 30_000 },
      );
  }, 6 * START_TIMEOUT_MS);

  afterAll(async () => {
    await browser?.close();
    await nginx?.stop();
    await Promise.all([...gateways, ...services].map((app) => app.stop()));
    await redis?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** Connects through nginx until the socket lands on gateway `i` (round robin: soon). */
  async function chatOn(i: number, matchId: string, user: string, from: string) {
    for (let attempt = 0; attempt < 10; attempt++) {
      const client = await ChatSocketClient.join(chatSocketUrl(nginx.base, matchId, user), {
        localAddress: from,
      });
      if (gatewayAt(client.upstream) === i) return client;
      await client.close();
    }
    throw new Error(`no chat socket landed on gateway ${i}`);
  }

  it('WebSocket chat with one member on each gateway: every message to every member once, in order', async () => {
    const ana = await chatOn(0, 'final', 'ana', '127.0.0.20');
    const ben = await chatOn(1, 'final', 'ben', '127.0.0.21');
    await ana.waitFor((f) => f.event === 'JOINED' && f.user === 'ben');
    for (let i = 0; i < 200; i++) (i % 2 ? ben : ana).say(`m${i}`);
    for (const member of [ana, ben]) {
      await member.waitFor((f) => f.text === 'm199' || f.text === 'm198', 30_000);
      await expect.poll(() => member.messages().length, { timeout: 30_000 }).toBe(200);
      expectConsecutive(member.frames);
      const said = member.messages().map((f) => f.text);
      expect(new Set(said).size).toBe(200);
      // Each member's own messages in the order it said them.
      for (const user of ['ana', 'ben']) {
        const own = member.messages().filter((f) => f.user === user).map((f) => Number(f.text.slice(1)));
        expect(own).toEqual([...own].sort((x, y) => x - y));
      }
    }
    // One total order: the same message under the same seq on both replicas.
    const bySeq = new Map(ana.messages().map((f) => [f.seq, f.text]));
    for (const f of ben.messages()) expect(bySeq.get(f.seq)).toBe(f.text);
    await Promise.all([ana.close(), ben.close()]);
  }, 120_000); // prettier-ignore

  it('SSE + POST: one member held on each gateway, 200 POSTs through nginx, every message to both once, in order', async () => {
    // sue's stream is held by gateway 0, tom's by gateway 1.
    const joinOn = async (i: number, user: string, from: string) => {
      const sse = await SseClient.open(`${direct[i]}/v1/matches/sse-final/chat?user=${user}`, { localAddress: from });
      expect(sse.status).toBe(200);
      const joined = (await sse.next())!;
      expect(joined.event).toBe('joined');
      return { sse, sessionId: (JSON.parse(joined.data) as { sessionId: string }).sessionId };
    };
    const sue = await joinOn(0, 'sue', '127.0.0.40');
    const tom = await joinOn(1, 'tom', '127.0.0.41');

    // sue says 200 things, one after the other, each POST through nginx to whichever gateway;
    // from 20 addresses, each within the rate limit.
    const landedOn = [0, 0];
    for (let i = 0; i < 200; i++) {
      const answer = await send(`${nginx.base}/v1/matches/sse-final/chat`, {
        from: `127.0.3.${(i % 20) + 1}`,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sessionId: sue.sessionId, text: `p${i}` }),
      });
      expect(answer.status, answer.body).toBe(202);
      landedOn[gatewayAt(answer.headers['x-upstream'] as string)] += 1;
    }
    // Round robin: half went to the gateway that does not hold sue's stream.
    expect(landedOn[0]).toBeGreaterThanOrEqual(50);
    expect(landedOn[1]).toBeGreaterThanOrEqual(50);

    const read = async (sse: SseClient) => {
      const frames: ChatFrame[] = [];
      while (frames.filter((f) => f.event === 'MESSAGE').length < 200) {
        const e = (await sse.next(30_000))!;
        expect(e.event).toBe('message');
        frames.push(JSON.parse(e.data) as ChatFrame);
      }
      return frames;
    };
    const seen = { sue: await read(sue.sse), tom: await read(tom.sse) };
    for (const frames of Object.values(seen)) {
      // Nothing lost, nothing twice, nothing reordered, in the order sue said them.
      expectConsecutive(frames);
      const said = frames.filter((f) => f.event === 'MESSAGE');
      expect(said.map((f) => [f.user, f.text])).toEqual(Array.from({ length: 200 }, (_, i) => ['sue', `p${i}`]));
    }
    // One total order: the same message under the same seq on both gateways.
    const bySeq = new Map(seen.sue.map((f) => [f.seq, f.text]));
    for (const f of seen.tom) if (bySeq.has(f.seq)) expect(bySeq.get(f.seq)).toBe(f.text);
    expect(seen.tom.filter((f) => f.event === 'MESSAGE').map((f) => f.seq)).toEqual(
      seen.sue.filter((f) => f.event === 'MESSAGE').map((f) => f.seq),
    );

    // sue leaves: her session id is refused by both gateways from then on.
    sue.sse.close();
    for (let e = await tom.sse.next(); ; e = await tom.sse.next()) {
      const frame = JSON.parse(e!.data) as ChatFrame;
      if (frame.event === 'LEFT' && frame.user === 'sue') break;
    }
    for (const i of [0, 1]) {
      const late = await send(`${direct[i]}/v1/matches/sse-final/chat`, {
        from: '127.0.0.40',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sessionId: sue.sessionId, text: 'still here?' }),
      });
      expect(late.status).toBe(404);
    }
    tom.sse.close();
  }, 120_000); // prettier-ignore

  it('two forwarded clients are limited separately; a forged X-Forwarded-For changes nothing', async () => {
    const cheeses = `${nginx.base}/v1/cheeses`;
    for (let i = 0; i < RATE_LIMIT; i++) {
      expect((await send(cheeses, { from: '127.0.0.11' })).status).toBe(200);
    }
    const limited = await send(cheeses, { from: '127.0.0.11' });
    expect(limited.status).toBe(429);
    expect(JSON.parse(limited.body)).toMatchObject({ status: 'RESOURCE_EXHAUSTED' });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // Another address behind the same proxy has its own budget.
    expect((await send(cheeses, { from: '127.0.0.12' })).status).toBe(200);
    // Claiming to be another client: nginx appends the real address, which counts.
    const forged = await send(cheeses, { from: '127.0.0.11', headers: { 'x-forwarded-for': '127.0.0.77' } });
    expect(forged.status).toBe(429);
    expect((await send(cheeses, { from: '127.0.0.77' })).status).toBe(200);
    // The request log has the client, and the proxy it came through (written within ~10 ms).
    const logged = () => gateways.map((g) => g.logs).join('\n');
    await expect.poll(logged).toMatch(/"remoteAddress":"127\.0\.0\.4"\},"clientAddress":"127\.0\.0\.12"/);
  }); // prettier-ignore

  it('a direct client forging X-Forwarded-For to a gateway that does not trust it is limited by its real address', async () => {
    for (let i = 0; i <= RATE_LIMIT; i++) {
      const answer = await send(`${direct[0]}/v1/cheeses`, {
        from: '127.0.0.13',
        headers: { 'x-forwarded-for': `203.0.113.${i}` },
      });
      expect(answer.status).toBe(i < RATE_LIMIT ? 200 : 429);
    }
    // Logged as the client it is, with no forwarded address.
    const lines = () => gateways[0].logs.split('\n').filter((l) => l.includes('"remoteAddress":"127.0.0.13"'));
    await expect.poll(() => lines().length).toBe(RATE_LIMIT + 1);
    for (const line of lines()) expect(line).not.toContain('clientAddress');
  }); // prettier-ignore

  it('the stream cap and the metrics count forwarded clients by their own address', async () => {
    // As the trusted proxy itself, straight to gateway 0: two clients, by their forwarded address.
    const watch = `${direct[0]}/v1/matches/live/watch`;
    const streams = [
      await SseClient.open(watch, { localAddress: PROXY_ADDRESS, headers: { 'x-forwarded-for': '198.51.100.1' } }),
      await SseClient.open(watch, { localAddress: PROXY_ADDRESS, headers: { 'x-forwarded-for': '198.51.100.2' } }),
      // Not a trusted proxy: its header is ignored, it is one client however many it names.
      await SseClient.open(watch, { localAddress: '127.0.0.14', headers: { 'x-forwarded-for': '198.51.100.3' } }),
      await SseClient.open(watch, { localAddress: '127.0.0.14', headers: { 'x-forwarded-for': '198.51.100.4' } }),
    ];
    for (const sse of streams) expect(sse.status).toBe(200);
    await expect.poll(() => metricsOf(0)).toMatch(/^gateway_stream_clients 3$/m);
    for (const sse of streams) sse.close();
    await expect.poll(() => metricsOf(0)).toMatch(/^gateway_stream_clients 0$/m);
  }); // prettier-ignore

  it('the rate limit holds across both gateways: with requests alternating, N+1 is 429', async () => {
    for (let i = 0; i < RATE_LIMIT; i++) {
      expect((await send(`${direct[i % 2]}/v1/cheeses`, { from: '127.0.0.15' })).status).toBe(200);
    }
    expect((await send(`${direct[RATE_LIMIT % 2]}/v1/cheeses`, { from: '127.0.0.15' })).status).toBe(429);
    expect((await send(`${direct[(RATE_LIMIT + 1) % 2]}/v1/cheeses`, { from: '127.0.0.15' })).status).toBe(429);
    // A chat handshake is a request too.
    const handshake = await ChatSocketClient.connect(chatSocketUrl(direct[0], 'final', 'eve'), {
      localAddress: '127.0.0.15',
    });
    expect(isRefusal(handshake) && handshake.status).toBe(429);
    for (const i of [0, 1]) {
      expect(await metricsOf(i)).toMatch(/^gateway_limit_refusals_total\{limit="rate"\} [1-9]/m);
    }
  }); // prettier-ignore

  it('a match uploaded through one gateway is watchable through the other', async () => {
    const video = join(work, 'derby.mp4');
    execFileSync('ffmpeg', [
      ...['-hide_banner', '-loglevel', 'error', '-f', 'lavfi'],
      ...['-i', 'testsrc2=size=320x180:rate=25', '-t', '2', '-pix_fmt', 'yuv420p', video],
    ]);
    const uploaded = await send(`${direct[0]}/v1/matches/derby/video`, {
      from: '127.0.0.17',
      method: 'PUT',
      headers: { 'content-type': 'video/mp4' },
      body: readFileSync(video),
    });
    expect(uploaded.status).toBe(201);
    // Twice: gateway 1 spreads the calls over both soccer-services.
    for (let i = 0; i < 2; i++) {
      const sse = await SseClient.open(`${direct[1]}/v1/matches/derby/watch?maxFrames=2&fps=0`, {
        localAddress: '127.0.0.17',
      });
      expect(sse.status).toBe(200);
      const events = await sse.until('end');
      expect(events.map((e) => e.event)).toEqual(['frame', 'frame', 'end']);
      expect(JSON.parse(events[0].data)).toMatchObject({ shape: '(180, 320, 3)' });
    }
  });

  it('failover: SIGTERM one gateway under load; no order fails, streams are told, the page joins again', async () => {
    // The page, through nginx: its chat socket lands on one gateway; that one goes.
    browser = await launchChromium(join(work, 'profile'));
    const page: Page = await browser.newPage();
    await page.goto(`${nginx.base}/`);
    await page.getByRole('button', { name: /^demo/ }).click();
    await page.getByRole('button', { name: 'Stop', exact: true }).click();
    await page.getByLabel('Your name').fill('pia');
    await page.getByRole('button', { name: 'Join', exact: true }).click();
    await page.getByText('You are pia.').waitFor();
    const chatsOn = async (i: number) =>
      Number(/^http_requests_in_flight\{method="GET",route="\/v1\/matches\/:id\/chat"\} (\d+)$/m.exec(await metricsOf(i))?.[1] ?? 0);
    const victim = (await chatsOn(0)) === 1 ? 0 : 1;
    const survivor = 1 - victim;
    expect(await chatsOn(victim)).toBe(1);

    // A WebSocket and an SSE chat stream on the victim too.
    const ws = await chatOn(victim, 'demo', 'wes', '127.0.0.30');
    let sse: SseClient | undefined;
    for (let attempt = 0; !sse && attempt < 10; attempt++) {
      const candidate = await SseClient.open(`${nginx.base}/v1/matches/demo/chat?user=sam`, { localAddress: '127.0.0.31' });
      if (gatewayAt(candidate.res.headers['x-upstream'] as string) === victim) sse = candidate;
      else candidate.close();
    }
    expect((await sse!.next())?.event).toBe('joined');

    // Orders from 16 clients (16 addresses, each within the rate limit), the victim stopped midway.
    const statuses: Record<number, number> = {};
    const failures: string[] = [];
    let sent = 0;
    let stopped: Promise<string> | undefined;
    const client = async (n: number) => {
      for (let i = 0; i < RATE_LIMIT - 5; i++) {
        if (++sent === 120) stopped = gateways[victim].stop('SIGTERM', 20_000);
        const answer = await order(nginx.base, `127.0.2.${n}`).catch((err: Error) => ({ status: 0, body: err.message }));
        statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
        if (answer.status !== 200 && failures.length < 5) failures.push(`${answer.status} ${answer.body}`);
      }
    };
    await Promise.all(Array.from({ length: 16 }, (_, n) => client(n + 1)));
    expect(await stopped).toBe('0');
    expect({ statuses, failures }).toEqual({ statuses: { 200: 16 * (RATE_LIMIT - 5) }, failures: [] });

    // The streams on it were told to come back, with the gRPC status.
    expect(await ws.closed).toEqual({ code: 4014, reason: 'UNAVAILABLE: the gateway is shutting down; connect again' });
    const last = await sse!.until('error');
    expect(JSON.parse(last.at(-1)!.data)).toMatchObject({ status: 'UNAVAILABLE', message: 'the gateway is shutting down; connect again' });
    // A new socket through nginx lands on the one left.
    const again = await ChatSocketClient.join(chatSocketUrl(nginx.base, 'demo', 'wes'), { localAddress: '127.0.0.30' });
    expect(gatewayAt(again.upstream)).toBe(survivor);

    // The page joined again by itself (its own JOINED a second time), through the one left, and chats on.
    const log = page.getByRole('log', { name: 'Chat messages' });
    await expect.poll(() => log.getByText('pia joined').count(), { timeout: 30_000 }).toBe(2);
    again.say('still here?');
    await log.locator('.message', { hasText: 'still here?' }).waitFor({ timeout: 30_000 });
    expect(await chatsOn(survivor)).toBeGreaterThanOrEqual(2);
    await again.close();
  }, 240_000); // prettier-ignore
});
