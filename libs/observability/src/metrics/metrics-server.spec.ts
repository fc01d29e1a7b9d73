import { once } from 'node:events';
import { Agent, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigService } from '@nestjs/config';
import { Counter, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '#launcher';
import { createMetricsServer, MetricsServer, type MetricsServerEnv } from './metrics-server.js';
import { parsePrometheusText, sampleSum } from './prometheus-text.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function call(url: string, method = 'GET', agent?: Agent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (t: string) => (body += t));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject).end();
  });
}

function registryWithOrders(): Registry {
  const registry = new Registry();
  new Counter({ name: 'orders_total', help: 'Orders.', registers: [registry] }).inc(7);
  return registry;
}

describe('createMetricsServer', () => {
  const registry = registryWithOrders();
  const server = createMetricsServer(registry);
  let base: string;

  beforeAll(async () => {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => {
    server.close();
  });

  it('answers GET /metrics with the registry in the Prometheus text format', async () => {
    const res = await call(`${base}/metrics?name[]=ignored`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe(registry.contentType);
    expect(sampleSum(parsePrometheusText(res.body).samples, 'orders_total')).toBe(7);
  });

  it('answers HEAD without a body, 405 to other methods, 404 elsewhere', async () => {
    const head = await call(`${base}/metrics`, 'HEAD');
    expect([head.status, head.body]).toEqual([200, '']);
    const post = await call(`${base}/metrics`, 'POST');
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    for (const path of ['/', '/metrics/', '/metricsx', '/healthz']) {
      expect((await call(`${base}${path}`)).status, path).toBe(404);
    }
  });
});

describe('createMetricsServer with probe routes', () => {
  let ready = false;
  const server = createMetricsServer(registryWithOrders(), {
    '/healthz': () => ({ ok: true, body: { status: 'ok' } }),
    '/readyz': (query) =>
      query.get('service') === 'nope'
        ? undefined
        : { ok: ready, body: { service: query.get('service') ?? '', ready } },
  });
  let base: string;

  beforeAll(async () => {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => {
    server.close();
  });

  it('answers each probe 200 or 503 with its JSON body, its query included; 404 when it says so', async () => {
    expect(await call(`${base}/healthz`)).toMatchObject({ status: 200, body: '{"status":"ok"}' });
    const notReady = await call(`${base}/readyz?service=a.A`);
    expect(notReady.status).toBe(503);
    expect(notReady.headers['content-type']).toBe('application/json');
    expect(JSON.parse(notReady.body)).toEqual({ service: 'a.A', ready: false });
    ready = true;
    expect((await call(`${base}/readyz`)).status).toBe(200);
    expect((await call(`${base}/readyz?service=nope`)).status).toBe(404);
    expect((await call(`${base}/readyz`, 'POST')).status).toBe(405);
    expect((await call(`${base}/metrics`)).status).toBe(200);
    expect((await call(`${base}/toString`)).status).toBe(404);
  });
});

describe('MetricsServer (a service app lifecycle)', () => {
  const registry = registryWithOrders();
  const config = (port: number) =>
    new ConfigService<MetricsServerEnv, true>({ METRICS_HOST: '127.0.0.1', METRICS_PORT: port });

  it('serves nothing with METRICS_PORT=0', async () => {
    const metrics = new MetricsServer(registry, config(0));
    await metrics.onApplicationBootstrap();
    expect(metrics.address).toBeUndefined();
    await metrics.onApplicationShutdown();
  });

  it('listens on start; on shutdown closes, a scraper kept-alive connection included', async () => {
    const port = await freePort();
    const metrics = new MetricsServer(registry, config(port));
    await metrics.onApplicationBootstrap();
    expect(metrics.address?.port).toBe(port);

    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    expect((await call(`http://127.0.0.1:${port}/metrics`, 'GET', agent)).status).toBe(200);
    const [kept] = Object.values(agent.freeSockets).flat();
    expect(kept).toBeDefined();
    const keptClosed = once(kept!, 'close');

    await metrics.onApplicationShutdown();
    await keptClosed;
    await expect(call(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow(/ECONNREFUSED/);
    agent.destroy();
  });

  it('stops the start when its port is taken', async () => {
    const port = await freePort();
    const first = new MetricsServer(registry, config(port));
    await first.onApplicationBootstrap();
    const second = new MetricsServer(registry, config(port));
    await expect(second.onApplicationBootstrap()).rejects.toThrow(/EADDRINUSE/);
    await first.onApplicationShutdown();
  });
});
