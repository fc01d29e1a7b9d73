import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { ConfigService } from '@nestjs/config';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RedisServer } from '../../../../test/support/redis-server.js';
import type { GatewayEnv } from '../config/gateway.env.js';
import { LimitMetrics } from './limit-metrics.js';
import { LimitsRedis } from './limits-redis.js';
import { RateLimitStorage } from './rate-limit-storage.js';
import { LocalStreamCounts, StreamCap } from './stream-cap.js';
import { StreamLeases } from './stream-leases.js';

type Env = Partial<GatewayEnv>;

/** The ConfigService the providers read: just `env`. */
function configOf(env: Env): ConfigService<GatewayEnv, true> {
  return { get: (name: keyof GatewayEnv) => env[name] } as ConfigService<GatewayEnv, true>;
}

/** One gateway replica's limits, as SecurityModule wires them. */
class Replica {
  readonly redis: LimitsRedis;
  readonly metrics: LimitMetrics;
  readonly rate: RateLimitStorage;
  readonly streams: StreamCap;
  readonly registry = new Registry();

  private constructor(config: ConfigService<GatewayEnv, true>, redis: LimitsRedis) {
    this.redis = redis;
    this.metrics = new LimitMetrics(this.registry, redis);
    this.rate = new RateLimitStorage(redis, this.metrics);
    this.streams = new StreamCap(redis, this.metrics, config);
  }

  /** The replica as the gateway starts it: connected (if REDIS_URL), initialised, waited for. */
  static async start(env: Env): Promise<Replica> {
    const config = configOf(env);
    const replica = new Replica(config, await LimitsRedis.fromConfig(config));
    await replica.rate.onModuleInit();
    await replica.redis.onApplicationBootstrap();
    return replica;
  }

  /** One request of `client` against a limit of `limit` per minute: blocked or not. */
  async blocked(client: string, limit: number): Promise<boolean> {
    return (await this.rate.increment(client, 60_000, limit, 60_000, 'default')).isBlocked;
  }

  async metric(name: string): Promise<string> {
    return (await this.registry.metrics())
      .split('\n')
      .filter((l) => l.startsWith(name))
      .join('\n');
  }

  async stop(): Promise<void> {
    this.streams.onApplicationShutdown();
    await this.redis.onApplicationShutdown();
  }
}

describe('limits shared through a real redis-server', () => {
  let redis: RedisServer;
  let a: Replica;
  let b: Replica;
  let client = 0;
  /** A client address no other test uses. */
  const newClient = () => `192.0.2.${++client}`;

  beforeAll(async () => {
    redis = await RedisServer.start();
    const env = { REDIS_URL: redis.url, GATEWAY_MAX_STREAMS_PER_IP: 3 };
    [a, b] = await Promise.all([Replica.start(env), Replica.start(env)]);
    expect(a.redis.usable && b.redis.usable).toBe(true);
  });

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await redis?.stop();
  });

  it('the rate limit: request N+1 is refused whichever replica takes it', async () => {
    const ana = newClient();
    for (let i = 0; i < 10; i++) expect(await (i % 2 ? b : a).blocked(ana, 10)).toBe(false);
    expect(await b.blocked(ana, 10)).toBe(true);
    expect(await a.blocked(ana, 10)).toBe(true);
    // Another client has its own count.
    expect(await a.blocked(newClient(), 10)).toBe(false);
    expect(await a.metric('gateway_limit_refusals_total{limit="rate"}')).toMatch(/ 1$/);
    expect(await a.metric('gateway_limits_shared')).toMatch(/ 1$/);
  });

  it('the stream cap counts the streams of both replicas, until they close', async () => {
    const ana = newClient();
    const held = [
      await a.streams.admit(ana),
      await b.streams.admit(ana),
      await a.streams.admit(ana),
    ];
    expect(held.every(Boolean)).toBe(true);
    expect(await a.streams.admit(ana)).toBeUndefined();
    expect(await b.streams.admit(ana)).toBeUndefined();
    expect(await b.streams.admit(newClient())).toBeDefined();
    held[0]!();
    held[0]!(); // once, however often called
    // The release goes out on a's connection and is not awaited; the next admit
    // goes on b's. A round trip of a's own is back only once the release is through.
    await a.redis.client!.ping();
    const again = await b.streams.admit(ana);
    expect(again).toBeDefined();
    expect(await a.streams.admit(ana)).toBeUndefined();
    for (const release of [...held.slice(1), again]) release!();
    expect(await a.metric('gateway_limit_refusals_total{limit="streams"}')).toMatch(/ 2$/);
  });

  it("a crashed replica's streams stop counting once their leases run out", async () => {
    const connection = new Redis(redis.url);
    try {
      const crashed = new StreamLeases(connection, 1000);
      const ana = newClient();
      for (let i = 0; i < 3; i++) expect(await crashed.acquire(ana, 3)).toBeDefined();
      expect(await a.streams.admit(ana)).toBeUndefined();
      // The crashed replica never renews nor releases: after ~1 s the cap has room again.
      let release: (() => void) | undefined;
      await vi.waitFor(
        async () => {
          release = await a.streams.admit(ana);
          expect(release).toBeDefined();
        },
        { timeout: 15_000, interval: 200 },
      );
      release!();
    } finally {
      connection.disconnect();
    }
  });

  it('a replica that lives renews its leases', async () => {
    const connection = new Redis(redis.url);
    try {
      const leases = new StreamLeases(connection, 30_000);
      const lease = (await leases.acquire(newClient(), 3))!;
      await connection.pexpire(lease.key, 100_000);
      await connection.zadd(lease.key, 0, lease.id); // as if about to expire
      await leases.renew();
      const [seconds] = await connection.time();
      const expiresInMs =
        Number(await connection.zscore(lease.key, lease.id)) - Number(seconds) * 1000;
      expect(expiresInMs).toBeGreaterThan(25_000);
      expect(await connection.pttl(lease.key)).toBeGreaterThan(25_000);
      leases.release(lease);
      await vi.waitFor(async () => expect(await connection.exists(lease.key)).toBe(0));
    } finally {
      connection.disconnect();
    }
  });
});

describe('limits when Redis goes away: fail open to per-replica counts', () => {
  let redis: RedisServer;
  let a: Replica;
  let b: Replica;

  beforeAll(async () => {
    redis = await RedisServer.start();
    const env = { REDIS_URL: redis.url, GATEWAY_MAX_STREAMS_PER_IP: 2 };
    [a, b] = await Promise.all([Replica.start(env), Replica.start(env)]);
  });

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await redis?.stop();
  });

  it('keeps answering, each replica counting on its own, and shares again once Redis is back', async () => {
    await redis.stop('SIGKILL');
    await vi.waitFor(() => expect(a.redis.usable || b.redis.usable).toBe(false));
    // Each replica allows the limit on its own: 5 here and 5 there, then 429.
    for (const replica of [a, b]) {
      for (let i = 0; i < 5; i++) expect(await replica.blocked('198.51.100.1', 5)).toBe(false);
      expect(await replica.blocked('198.51.100.1', 5)).toBe(true);
    }
    const streams = [await a.streams.admit('198.51.100.1'), await a.streams.admit('198.51.100.1')];
    expect(streams.every(Boolean)).toBe(true);
    expect(await a.streams.admit('198.51.100.1')).toBeUndefined();
    expect(await b.streams.admit('198.51.100.1')).toBeDefined();
    expect(await a.metric('gateway_limits_shared')).toMatch(/ 0$/);

    await redis.restart();
    await vi.waitFor(() => expect(a.redis.usable && b.redis.usable).toBe(true), {
      timeout: 15_000,
    });
    for (let i = 0; i < 4; i++)
      expect(await (i % 2 ? b : a).blocked('198.51.100.2', 4)).toBe(false);
    expect(await b.blocked('198.51.100.2', 4)).toBe(true);
  });
});

describe('limits with a Redis that never answers', () => {
  let silent: Server;
  const sockets: Socket[] = [];
  let replica: Replica;

  beforeAll(async () => {
    // Accepts connections and says nothing: a hung Redis, or a black hole.
    silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    replica = await Replica.start({
      REDIS_URL: `redis://127.0.0.1:${port}`,
      GATEWAY_MAX_STREAMS_PER_IP: 1,
    });
  });

  afterAll(async () => {
    await replica?.stop();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent?.close(resolve));
  });

  it('never holds a request: the limits are counted here at once', async () => {
    expect(replica.redis.usable).toBe(false);
    expect(await replica.blocked('203.0.113.1', 1)).toBe(false);
    expect(await replica.blocked('203.0.113.1', 1)).toBe(true);
    expect(await replica.streams.admit('203.0.113.1')).toBeDefined();
    expect(await replica.streams.admit('203.0.113.1')).toBeUndefined();
  });
});

describe('LocalStreamCounts', () => {
  it('admits up to `max` per client, each client on its own', () => {
    const counts = new LocalStreamCounts();
    expect(counts.admit('10.0.0.1', 2) && counts.admit('10.0.0.1', 2)).toBe(true);
    expect(counts.admit('10.0.0.1', 2)).toBe(false);
    expect(counts.admit('10.0.0.2', 2)).toBe(true);
    expect(counts.clients).toBe(2);
    counts.release('10.0.0.1');
    expect(counts.openFrom('10.0.0.1')).toBe(1);
    expect(counts.admit('10.0.0.1', 2)).toBe(true);
    for (let i = 0; i < 2; i++) counts.release('10.0.0.1');
    counts.release('10.0.0.2');
    expect(counts.clients).toBe(0);
  });
});

describe('StreamCap without Redis', () => {
  it('caps per replica; 0 only counts', async () => {
    const capped = await Replica.start({ GATEWAY_MAX_STREAMS_PER_IP: 1 });
    const release = await capped.streams.admit('10.0.0.1');
    expect(release).toBeDefined();
    expect(await capped.streams.admit('10.0.0.1')).toBeUndefined();
    release!();
    expect(await capped.streams.admit('10.0.0.1')).toBeDefined();
    const open = await Replica.start({ GATEWAY_MAX_STREAMS_PER_IP: 0 });
    for (let i = 0; i < 100; i++) expect(await open.streams.admit('10.0.0.1')).toBeDefined();
    expect(await open.metric('gateway_stream_clients')).toMatch(/ 1$/);
    expect(await open.metric('gateway_limits_shared')).toMatch(/ 0$/);
  });
});
