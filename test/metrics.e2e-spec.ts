import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { get, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppProcess, freePort } from '#launcher';
import { parsePrometheusText, sampleSum, type PrometheusSample } from '#observability';
import { putFile } from './support/file-upload.js';

interface Scrape {
  samples: PrometheusSample[];
  types: ReadonlyMap<string, string>;
}

/** GET a /metrics endpoint: its samples and types; checks the status and content type. */
async function scrape(url: string): Promise<Scrape> {
  const res = await fetch(url);
  expect(res.status, url).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  return parsePrometheusText(await res.text());
}

/** How much the samples `name{labels}` grew from `before` to `after`. */
const delta = (before: Scrape, after: Scrape, name: string, labels: Record<string, string> = {}) =>
  sampleSum(after.samples, name, labels) - sampleSum(before.samples, name, labels);

/**
 * Scrapes `url` until `counted(scrape)`, and returns that scrape (`last`) and
 * the one before it (`previous`, at first `first`). The gateway counts a
 * response on its 'close', which can come after the client has read it all.
 */
async function scrapeUntil(
  url: string,
  first: Scrape,
  counted: (scrape: Scrape) => boolean,
): Promise<{ previous: Scrape; last: Scrape }> {
  const deadline = Date.now() + 30_000;
  let previous = first;
  for (;;) {
    const last = await scrape(url);
    if (counted(last) || Date.now() > deadline) return { previous, last };
    previous = last;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** An SSE response read as events; `until(name)` waits for an event of that name. */
class SseStream {
  private text = '';
  private wake?: () => void;
  private ended = false;

  private constructor(readonly res: IncomingMessage) {
    res.setEncoding('utf8');
    res.on('data', (t: string) => {
      this.text += t;
      this.wake?.();
    });
    res.on('close', () => {
      this.ended = true;
      this.wake?.();
    });
  }

  static open(url: string): Promise<SseStream> {
    return new Promise((resolve, reject) => {
      get(url, (res) => resolve(new SseStream(res))).on('error', reject);
    });
  }

  /** The data of every `event` seen so far. */
  events(event: string): string[] {
    const data: string[] = [];
    for (const block of this.text.split('\n\n')) {
      const lines = block.split('\n');
      if (!lines.includes(`event: ${event}`)) continue;
      const line = lines.find((l) => l.startsWith('data: '));
      if (line) data.push(line.slice(6));
    }
    return data;
  }

  /** Waits until the data of the events named `event` satisfy `done` (by default: one came). */
  async until(
    event: string,
    done: (data: string[]) => boolean = (data) => data.length > 0,
  ): Promise<string[]> {
    while (!done(this.events(event))) {
      if (this.ended) throw new Error(`stream ended before the ${event} awaited: ${this.text}`);
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    return this.events(event);
  }

  close(): void {
    this.res.destroy();
  }
}

const order = (base: string, type: unknown) =>
  fetch(`${base}/v1/cheese/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type }),
  });

const ORDER = { grpc_service: 'cheesefarm.CheeseService', grpc_method: 'Order' };
const soccerMethod = (method: string) => ({ grpc_service: 'stream.Soccer', grpc_method: method });

describe('Prometheus metrics of the three apps move under traffic', () => {
  let work: string;
  let video: string;
  let cheese: AppProcess;
  let soccer: AppProcess;
  let gateway: AppProcess;
  let base: string;
  let urls: { gateway: string; cheese: string; soccer: string };

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'metrics-e2e-'));
    video = join(work, 'small.mp4');
    // prettier-ignore
    execFileSync('ffmpeg', [
      '-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=10', '-t', '1',
      '-pix_fmt', 'yuv420p', video,
    ]);
    const [cheesePort, soccerPort, httpPort, cheeseMetrics, soccerMetrics] = await Promise.all(
      Array.from({ length: 5 }, () => freePort()),
    );
    const metricsHost = { METRICS_HOST: '127.0.0.1' };
    [cheese, soccer] = await Promise.all([
      AppProcess.start('cheese-service', {
        port: cheesePort,
        metricsPort: cheeseMetrics,
        env: { CHEESE_GRPC_HOST: '127.0.0.1', ...metricsHost },
      }),
      AppProcess.start('soccer-service', {
        port: soccerPort,
        metricsPort: soccerMetrics,
        env: { SOCCER_GRPC_HOST: '127.0.0.1', MEDIA_DIR: join(work, 'media'), ...metricsHost },
      }),
    ]);
    gateway = await AppProcess.start('gateway', {
      port: httpPort,
      env: {
        GATEWAY_HTTP_HOST: '127.0.0.1',
        CHEESE_GRPC_URL: `127.0.0.1:${cheesePort}`,
        SOCCER_GRPC_URL: `127.0.0.1:${soccerPort}`,
      },
    });
    base = `http://127.0.0.1:${httpPort}`;
    urls = {
      gateway: `${base}/metrics`,
      cheese: `http://127.0.0.1:${cheeseMetrics}/metrics`,
      soccer: `http://127.0.0.1:${soccerMetrics}/metrics`,
    };
  });

  afterAll(async () => {
    await Promise.all([gateway?.stop(), cheese?.stop(), soccer?.stop()]);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('serves process metrics on each endpoint, and only /metrics on the services', async () => {
    for (const url of Object.values(urls)) {
      const { samples, types } = await scrape(url);
      expect(sampleSum(samples, 'process_cpu_seconds_total'), url).toBeGreaterThan(0);
      expect(types.get('process_resident_memory_bytes'), url).toBe('gauge');
      expect(types.get('nodejs_eventloop_lag_seconds'), url).toBe('gauge');
    }
    for (const url of [urls.cheese, urls.soccer]) {
      expect((await fetch(url.replace('/metrics', '/'))).status).toBe(404);
    }
  });

  it('counts orders by code on both sides of the call, with their handling times', async () => {
    const [gw0, cheese0] = await Promise.all([scrape(urls.gateway), scrape(urls.cheese)]);
    for (const type of ['BRIE', 'PECORINO', 1]) expect((await order(base, type)).status).toBe(200);
    expect((await order(base, 42)).status).toBe(400);
    const orders = { method: 'POST', route: '/v1/cheese/orders' };
    const [{ previous: gwBefore1, last: gw1 }, cheese1] = await Promise.all([
      scrapeUntil(
        urls.gateway,
        gw0,
        (s) => delta(gw0, s, 'http_request_duration_seconds_count', orders) >= 4,
      ),
      scrape(urls.cheese),
    ]);

    // cheese-service: its server side.
    expect(delta(cheese0, cheese1, 'grpc_server_started_total', ORDER)).toBe(4);
    expect(
      delta(cheese0, cheese1, 'grpc_server_handled_total', { ...ORDER, grpc_code: 'OK' }),
    ).toBe(3);
    const invalid = { ...ORDER, grpc_code: 'INVALID_ARGUMENT' };
    expect(delta(cheese0, cheese1, 'grpc_server_handled_total', invalid)).toBe(1);
    expect(delta(cheese0, cheese1, 'grpc_server_handling_seconds_count', ORDER)).toBe(4);
    expect(
      delta(cheese0, cheese1, 'grpc_server_handling_seconds_bucket', { ...ORDER, le: '+Inf' }),
    ).toBe(4);
    expect(delta(cheese0, cheese1, 'grpc_server_msg_received_total', ORDER)).toBe(4);
    expect(sampleSum(cheese1.samples, 'grpc_server_active_streams', ORDER)).toBe(0);
    expect(cheese1.types.get('grpc_server_handling_seconds')).toBe('histogram');
    expect(sampleSum(cheese1.samples, 'grpc_server_handled_total', { grpc_type: 'unary' })).toBe(
      sampleSum(cheese1.samples, 'grpc_server_started_total', { grpc_type: 'unary' }),
    );

    // The gateway: its gRPC client side and its HTTP side, by route pattern and status.
    expect(delta(gw0, gw1, 'grpc_client_handled_total', { ...ORDER, grpc_code: 'OK' })).toBe(3);
    expect(delta(gw0, gw1, 'grpc_client_handled_total', invalid)).toBe(1);
    expect(delta(gw0, gw1, 'grpc_client_handling_seconds_count', ORDER)).toBe(4);
    expect(delta(gw0, gw1, 'http_requests_total', { ...orders, status_code: '200' })).toBe(3);
    expect(delta(gw0, gw1, 'http_requests_total', { ...orders, status_code: '400' })).toBe(1);
    expect(delta(gw0, gw1, 'http_request_duration_seconds_count', orders)).toBe(4);
    expect(gw1.types.get('http_request_duration_seconds')).toBe('histogram');
    // The scrape before this one was counted too.
    expect(
      delta(gwBefore1, gw1, 'http_requests_total', { route: '/metrics', status_code: '200' }),
    ).toBe(1);
  });

  it('counts watched frames per encoding, through the gateway and in soccer-service', async () => {
    const [gw0, soccer0] = await Promise.all([scrape(urls.gateway), scrape(urls.soccer)]);
    const jpeg = await SseStream.open(`${base}/v1/matches/demo/watch?maxFrames=5&fps=0`);
    expect(jpeg.res.statusCode).toBe(200);
    expect(await jpeg.until('frame', (frames) => frames.length === 5)).toHaveLength(5);
    await jpeg.until('end');
    const raw = await SseStream.open(
      `${base}/v1/matches/demo/watch?maxFrames=2&fps=0&encoding=raw`,
    );
    await raw.until('end');
    // The gateway counts a response once it is closed.
    const watchRoute = { method: 'GET', route: '/v1/matches/:id/watch', status_code: '200' };
    await expect
      .poll(async () => delta(gw0, await scrape(urls.gateway), 'http_requests_total', watchRoute))
      .toBe(2);
    const [gw1, soccer1] = await Promise.all([scrape(urls.gateway), scrape(urls.soccer)]);

    const frames = 'soccer_watch_frames_sent_total';
    expect(delta(soccer0, soccer1, frames, { encoding: 'JPEG' })).toBe(5);
    expect(delta(soccer0, soccer1, frames, { encoding: 'RAW' })).toBe(2);
    expect(delta(soccer0, soccer1, 'soccer_watch_bytes_sent_total', { encoding: 'RAW' })).toBe(
      2 * 360 * 640 * 3,
    );
    const watch = soccerMethod('Watch');
    expect(delta(soccer0, soccer1, 'grpc_server_msg_sent_total', watch)).toBe(7);
    expect(
      delta(soccer0, soccer1, 'grpc_server_handled_total', { ...watch, grpc_code: 'OK' }),
    ).toBe(2);
    expect(delta(gw0, gw1, 'grpc_client_msg_received_total', watch)).toBe(7);
    expect(delta(gw0, gw1, 'grpc_client_handled_total', { ...watch, grpc_code: 'OK' })).toBe(2);
    expect(soccer1.types.get('soccer_watch_frames_sent_total')).toBe('counter');
  });

  it('counts uploaded bytes and the stored upload', async () => {
    const [gw0, soccer0] = await Promise.all([scrape(urls.gateway), scrape(urls.soccer)]);
    const size = statSync(video).size;
    const answer = await putFile(`${base}/v1/matches/metrics-upload/video`, video);
    expect(answer.status, answer.body).toBe(201);
    const route = { method: 'PUT', route: '/v1/matches/:id/video', status_code: '201' };
    const [{ last: gw1 }, soccer1] = await Promise.all([
      scrapeUntil(urls.gateway, gw0, (s) => delta(gw0, s, 'http_requests_total', route) >= 1),
      scrape(urls.soccer),
    ]);

    expect(delta(soccer0, soccer1, 'soccer_upload_bytes_total')).toBe(size);
    expect(delta(soccer0, soccer1, 'soccer_uploads_total', { result: 'stored' })).toBe(1);
    const upload = soccerMethod('Upload');
    expect(
      delta(soccer0, soccer1, 'grpc_server_handled_total', { ...upload, grpc_code: 'OK' }),
    ).toBe(1);
    expect(delta(soccer0, soccer1, 'grpc_server_msg_received_total', upload)).toBeGreaterThan(0);
    expect(delta(gw0, gw1, 'grpc_client_handled_total', { ...upload, grpc_code: 'OK' })).toBe(1);
    expect(delta(gw0, gw1, 'http_requests_total', route)).toBe(1);
  });

  it('shows chat rooms, members and open streams while a chat is open, and none after', async () => {
    const soccer0 = await scrape(urls.soccer);
    expect(sampleSum(soccer0.samples, 'soccer_chat_rooms')).toBe(0);
    expect(sampleSum(soccer0.samples, 'soccer_chat_members')).toBe(0);

    const chatUrl = `${base}/v1/matches/metrics-room/chat`;
    const ana = await SseStream.open(`${chatUrl}?user=ana`);
    const bob = await SseStream.open(`${chatUrl}?user=bob`);
    const [joined] = await ana.until('joined');
    await bob.until('joined');
    const { sessionId } = JSON.parse(joined) as { sessionId: string };
    const said = await fetch(chatUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sessionId, text: 'goal!' }),
    });
    expect(said.status).toBe(202);
    await bob.until('message', (messages) => messages.some((m) => m.includes('"goal!"')));

    const chat = soccerMethod('Chat');
    const open = await scrape(urls.soccer);
    expect(sampleSum(open.samples, 'soccer_chat_rooms')).toBe(1);
    expect(sampleSum(open.samples, 'soccer_chat_members')).toBe(2);
    expect(sampleSum(open.samples, 'grpc_server_active_streams', chat)).toBe(2);
    // The two joins came on the Chat calls; what ana said, as a Say.
    expect(delta(soccer0, open, 'grpc_server_msg_received_total', chat)).toBe(2);
    expect(delta(soccer0, open, 'grpc_server_handled_total', soccerMethod('Say'))).toBe(1);
    const gwOpen = await scrape(urls.gateway);
    expect(sampleSum(gwOpen.samples, 'grpc_client_active_streams', chat)).toBe(2);
    const chatStreams = { method: 'GET', route: '/v1/matches/:id/chat' };
    expect(sampleSum(gwOpen.samples, 'http_requests_in_flight', chatStreams)).toBe(2);

    ana.close();
    bob.close();
    await expect
      .poll(async () => {
        const { samples } = await scrape(urls.soccer);
        return ['soccer_chat_rooms', 'soccer_chat_members'].map((n) => sampleSum(samples, n));
      })
      .toEqual([0, 0]);
    const closed = await scrape(urls.soccer);
    expect(sampleSum(closed.samples, 'grpc_server_active_streams', chat)).toBe(0);
    expect(delta(soccer0, closed, 'grpc_server_handled_total', chat)).toBe(2);
    await expect
      .poll(async () => {
        const { samples } = await scrape(urls.gateway);
        return sampleSum(samples, 'http_requests_in_flight', chatStreams);
      })
      .toBe(0);
  });

  it('labels HTTP metrics by route pattern only: no match id, session or query in any label', async () => {
    const { samples } = await scrape(urls.gateway);
    const routes = new Set(
      samples.filter((s) => s.name === 'http_requests_total').map((s) => s.labels.route),
    );
    expect(routes).toContain('/v1/matches/:id/watch');
    expect(routes).toContain('/v1/matches/:id/chat');
    for (const route of routes) expect(route).toMatch(/^(\/[\w/:.*-]*|unmatched)$/);
    const labelValues = samples.flatMap((s) => Object.values(s.labels));
    for (const id of ['metrics-room', 'metrics-upload', 'demo', 'maxFrames', 'ana', 'bob']) {
      expect(labelValues.filter((v) => v.includes(id))).toEqual([]);
    }
  });
});
