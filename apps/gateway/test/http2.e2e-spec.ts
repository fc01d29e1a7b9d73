import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect, constants, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { join } from 'node:path';
import WebSocket from 'ws';
import type { AppProcess } from '#launcher';
import { parsePrometheusText, sampleSum } from '#observability';
import { AppStack } from '../../../test/support/app-stack.js';

/** GATEWAY_MAX_STREAMS_PER_IP here. */
const STREAM_CAP = 8;

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/**
 * The gateway's HTTPS listener speaks HTTP/2 (ALPN h2) and HTTP/1.1 on one
 * port; what works over HTTP/1.1 works over HTTP/2, and the per-address
 * stream cap counts HTTP/2 streams.
 */
describe('gateway HTTPS listener over HTTP/2', () => {
  let stack: AppStack;
  let work: string;
  let gateway: AppProcess;
  let origin: string;
  let ca: Buffer;
  const sessions: ClientHttp2Session[] = [];

  /** A new HTTP/2 connection, trusting the development CA. */
  function session(): Promise<ClientHttp2Session> {
    return new Promise((resolve, reject) => {
      const client = connect(origin, { ca, servername: 'localhost' });
      sessions.push(client);
      client.once('connect', () => resolve(client));
      client.once('error', reject);
    });
  }

  /** One request on `client`, its whole answer. */
  function ask(
    client: ClientHttp2Session,
    path: string,
    {
      method = 'GET',
      headers = {},
      body,
    }: { method?: string; headers?: Record<string, string>; body?: Buffer } = {},
  ): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const stream = client.request({ ':method': method, ':path': path, ...headers });
      const chunks: Buffer[] = [];
      let responseHeaders: IncomingHttpHeaders = {};
      stream.on('response', (h) => (responseHeaders = h));
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () =>
        resolve({
          status: Number(responseHeaders[':status']),
          headers: responseHeaders,
          body: Buffer.concat(chunks),
        }),
      );
      stream.on('error', reject);
      stream.end(body);
    });
  }

  /** Opens a stream and resolves with its response headers, leaving it open. */
  function open(client: ClientHttp2Session, path: string) {
    const stream = client.request({ ':path': path });
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    return new Promise<{ status: number; stream: typeof stream; text: () => string }>(
      (resolve, reject) => {
        stream.once('response', (h) =>
          resolve({
            status: Number(h[':status']),
            stream,
            text: () => Buffer.concat(chunks).toString(),
          }),
        );
        stream.once('error', reject);
      },
    );
  }

  async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    const client = await session();
    const answer = await ask(client, '/metrics');
    client.close();
    return sampleSum(parsePrometheusText(answer.body.toString()).samples, name, labels);
  }

  beforeAll(async () => {
    stack = await AppStack.start({
      soccer: {},
      tls: true,
      gateway: { GATEWAY_MAX_STREAMS_PER_IP: String(STREAM_CAP), GATEWAY_RATE_LIMIT: '0' },
    });
    ({ work, origin } = stack);
    ca = stack.ca!;
    gateway = stack.gateway!;
  }, 120_000);

  afterAll(async () => {
    for (const client of sessions) client.destroy();
    await stack?.stop();
  });

  it('negotiates h2 by ALPN and serves the page, /docs, JSON and its errors', async () => {
    const client = await session();
    expect(client.alpnProtocol).toBe('h2');
    expect(client.remoteSettings.maxConcurrentStreams).toBe(100);
    const page = await ask(client, '/');
    expect(page.status).toBe(200);
    expect(page.body.toString()).toContain('/assets/main.js');
    expect(page.headers['strict-transport-security']).toMatch(/max-age/);
    expect((await ask(client, '/assets/watch-worker.js')).status).toBe(200);
    expect((await ask(client, '/docs')).status).toBe(200);
    const matches = await ask(client, '/v1/matches');
    expect(JSON.parse(matches.body.toString())).toHaveProperty('matches');
    const bad = await ask(client, '/v1/matches/..%2f/watch');
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body.toString())).toMatchObject({ status: 'INVALID_ARGUMENT' });
    // Each request gets its log line, as over HTTP/1.1.
    await expect.poll(() => gateway.logMessages).toMatch(/\/v1\/matches/);
  });

  it('streams SSE and MJPEG over h2; HTTP/1.1 clients and the chat WebSocket still work', async () => {
    const client = await session();
    const sse = await open(client, '/v1/matches/live/watch');
    expect(sse.status).toBe(200);
    await expect.poll(() => (sse.text().match(/event: frame/g) ?? []).length).toBeGreaterThan(3);
    sse.stream.close(constants.NGHTTP2_CANCEL);
    const mjpeg = await open(client, '/v1/matches/live/stream.mjpeg');
    expect(mjpeg.status).toBe(200);
    await expect.poll(() => mjpeg.text().length).toBeGreaterThan(10_000);
    mjpeg.stream.close(constants.NGHTTP2_CANCEL);

    // A WebSocket is an HTTP/1.1 upgrade: ws offers ALPN http/1.1 only.
    const socket = new WebSocket(
      `${origin.replace('https', 'wss')}/v1/matches/demo/chat?user=ana`,
      'chat.v1',
      {
        ca,
        rejectUnauthorized: false,
      },
    );
    const first = await new Promise<string>((resolve, reject) => {
      socket.once('message', (data: Buffer) => resolve(data.toString()));
      socket.once('error', reject);
    });
    expect(JSON.parse(first)).toMatchObject({ user: 'ana', event: 'JOINED' });
    socket.close(1000);
  });

  it('takes an upload over h2 and stores it whole', async () => {
    const file = join(work, 'h2.mp4');
    execFileSync('ffmpeg', [
      ...['-hide_banner', '-loglevel', 'error', '-f', 'lavfi'],
      ...['-i', 'testsrc2=size=320x180:rate=25', '-t', '2', '-pix_fmt', 'yuv420p', file],
    ]);
    const video = readFileSync(file);
    const client = await session();
    const answer = await ask(client, '/v1/matches/h2-upload/video', {
      method: 'PUT',
      headers: { 'content-type': 'video/mp4' },
      body: video,
    });
    expect(answer.status).toBe(201);
    expect(JSON.parse(answer.body.toString())).toMatchObject({
      id: 'h2-upload',
      bytes: video.length,
      sha256: createHash('sha256').update(video).digest('hex'),
    });
  });

  it('counts the per-address stream cap in streams, however many share a connection', async () => {
    const client = await session();
    const streams = await Promise.all(
      Array.from({ length: STREAM_CAP }, () => open(client, '/v1/matches/live/watch')),
    );
    expect(streams.map((s) => s.status)).toEqual(Array(STREAM_CAP).fill(200));
    const over = await ask(client, '/v1/matches/live/watch');
    expect(over.status).toBe(429);
    expect(JSON.parse(over.body.toString())).toMatchObject({ status: 'RESOURCE_EXHAUSTED' });
    for (const { stream } of streams) stream.close(constants.NGHTTP2_CANCEL);
    await expect
      .poll(() => metric('http_requests_in_flight', { route: '/v1/matches/:id/watch' }))
      .toBe(0);
  });
});
