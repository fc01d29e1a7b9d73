import { once } from 'node:events';
import {
  createServer,
  get,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigService } from '@nestjs/config';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { GatewayEnv } from '../config/gateway.env.js';
import { SseWriters, sseHeartbeatMs } from './sse-writers.js';

describe('sseHeartbeatMs', () => {
  it('beats at most every 15 s, and twice per idle timeout', () => {
    expect(sseHeartbeatMs(30_000)).toBe(15_000);
    expect(sseHeartbeatMs(60_000)).toBe(15_000);
    expect(sseHeartbeatMs(3000)).toBe(1500);
  });
});

describe('SseWriters', () => {
  let server: Server | undefined;
  afterEach(() => server?.close());

  /** Writers with a 20 ms heartbeat, their gauge, and one response they write to. */
  async function setUp() {
    const registry = new Registry();
    const config = { get: () => 40 } as unknown as ConfigService<GatewayEnv, true>;
    const writers = new SseWriters(registry, config);
    const gauge = async () =>
      (await registry.getSingleMetric('gateway_sse_writers_open')!.get()).values[0].value;
    server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const responded = once(server, 'request') as Promise<[IncomingMessage, ServerResponse]>;
    const { port } = server.address() as AddressInfo;
    const client = await new Promise<IncomingMessage>((resolve) => {
      const req = get(`http://127.0.0.1:${port}/`, resolve);
      req.on('error', () => undefined);
      void responded.then(([, res]) => writers.create(res).open());
    });
    const [, res] = await responded;
    return { client, res, gauge };
  }

  it('counts a writer from its headers until the client goes, and its heartbeat stops with it', async () => {
    const { client, res, gauge } = await setUp();
    client.setEncoding('utf8');
    const [ping] = (await once(client, 'data')) as [string];
    expect(ping).toBe(': ping\n\n');
    expect(await gauge()).toBe(1);

    // Nobody calls end(): the client just goes, as in the leak of issue 18.
    const closed = once(res, 'close');
    client.destroy();
    await closed;
    expect(await gauge()).toBe(0);
    expect(res.listenerCount('close')).toBe(0);
  });
});
