import { get, type ClientRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_CLOSED_REQUEST, installHttpMetrics, UNMATCHED_ROUTE } from './http-metrics.js';
import { parsePrometheusText, sampleSum } from './prometheus-text.js';

/** GET `url`; resolves with the response head (the body is left to the caller). */
function open(url: string): Promise<{ req: ClientRequest; res: IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const req = get(url, (res) => resolve({ req, res })).on('error', reject);
  });
}

async function fetchText(url: string): Promise<number> {
  const { res } = await open(url);
  res.resume();
  await new Promise((resolve) => res.on('end', resolve));
  return res.statusCode!;
}

describe('installHttpMetrics, on a real Fastify server', () => {
  const registry = new Registry();
  let app: FastifyInstance;
  let base: string;
  /** Requests the /slow route holds until their client goes away. */
  let slowArrived: () => void = () => undefined;

  beforeAll(async () => {
    app = new FastifyAdapter().getInstance<FastifyInstance>();
    installHttpMetrics(app, registry);
    app.get('/items/:id', (request) => ({ id: (request.params as { id: string }).id }));
    app.get('/stream', (_request, reply) => {
      reply.hijack();
      reply.raw.writeHead(200, { 'content-type': 'text/event-stream' });
      reply.raw.write(': open\n\n');
    });
    app.get('/slow', (_request, reply) => {
      reply.hijack();
      slowArrived();
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await app?.close();
  });

  const samples = async () => parsePrometheusText(await registry.metrics()).samples;

  it('labels requests by route pattern, never by URL; unknown paths share one label', async () => {
    expect(await fetchText(`${base}/items/1`)).toBe(200);
    expect(await fetchText(`${base}/items/2?x=y`)).toBe(200);
    expect(await fetchText(`${base}/no/such/path/3`)).toBe(404);
    expect(await fetchText(`${base}/no/such/path/4`)).toBe(404);

    const s = await samples();
    const item = { method: 'GET', route: '/items/:id', status_code: '200' };
    expect(sampleSum(s, 'http_requests_total', item)).toBe(2);
    expect(sampleSum(s, 'http_request_duration_seconds_count', item)).toBe(2);
    expect(sampleSum(s, 'http_request_duration_seconds_bucket', { ...item, le: '+Inf' })).toBe(2);
    const unmatched = { route: UNMATCHED_ROUTE, status_code: '404' };
    expect(sampleSum(s, 'http_requests_total', unmatched)).toBe(2);
    const routes = new Set(
      s.filter((x) => x.name === 'http_requests_total').map((x) => x.labels.route),
    );
    expect([...routes].sort()).toEqual(['/items/:id', UNMATCHED_ROUTE]);
  });

  it('shows an open stream in flight, and counts it with its status once closed', async () => {
    const stream = { method: 'GET', route: '/stream' };
    const { res } = await open(`${base}/stream`);
    expect(res.statusCode).toBe(200);
    expect(sampleSum(await samples(), 'http_requests_in_flight', stream)).toBe(1);
    expect(sampleSum(await samples(), 'http_requests_total', stream)).toBe(0);

    res.destroy();
    await expect
      .poll(async () => sampleSum(await samples(), 'http_requests_total', stream))
      .toBe(1);
    const s = await samples();
    expect(sampleSum(s, 'http_requests_in_flight', stream)).toBe(0);
    expect(sampleSum(s, 'http_requests_total', { ...stream, status_code: '200' })).toBe(1);
  });

  it(`counts a request whose client left before any answer as ${CLIENT_CLOSED_REQUEST}`, async () => {
    const arrived = new Promise<void>((resolve) => (slowArrived = resolve));
    const req = get(`${base}/slow`).on('error', () => undefined);
    await arrived;
    req.destroy();
    const slow = { route: '/slow', status_code: String(CLIENT_CLOSED_REQUEST) };
    await expect.poll(async () => sampleSum(await samples(), 'http_requests_total', slow)).toBe(1);
    expect(sampleSum(await samples(), 'http_requests_in_flight', { route: '/slow' })).toBe(0);
  });
});
