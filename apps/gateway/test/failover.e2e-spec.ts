import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppProcess, freePort } from '#launcher';
import { CallCountingProxy } from './support/call-counting-proxy.js';

/** Concurrent HTTP clients of the load: enough for calls to be in flight on both replicas. */
const CONCURRENCY = 16;
/** cheese-service's preparation time per order here, so that calls are in flight. */
const PREP_MS = '5';
/** cheese-service's SHUTDOWN_GRACE_MS here: generous, a loaded machine drains slowly. */
const REPLICA_GRACE_MS = 20_000;

/** One cheese-service replica behind its call-counting proxy. */
interface Replica {
  app: AppProcess;
  port: number;
  proxy: CallCountingProxy;
}

async function startReplicaProcess(port: number): Promise<AppProcess> {
  return AppProcess.start('cheese-service', {
    port,
    env: {
      CHEESE_GRPC_HOST: '127.0.0.1',
      CHEESE_PREP_MS: PREP_MS,
      SHUTDOWN_GRACE_MS: String(REPLICA_GRACE_MS),
    },
  });
}

interface LoadResult {
  /** HTTP status -> how many answers had it. */
  statuses: Record<number, number>;
  /** The first few failures, for the assertion message. */
  failures: string[];
}

describe('gateway -> two cheese-service replicas: round robin and failover', () => {
  const replicas: Record<'a' | 'b', Replica> = {} as Record<'a' | 'b', Replica>;
  let gateway: AppProcess;
  let base: string;

  const order = () =>
    fetch(`${base}/v1/cheese/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"type":"BRIE"}',
    });

  const callsSoFar = () => replicas.a.proxy.calls + replicas.b.proxy.calls;

  /**
   * `total` orders from CONCURRENCY clients; `midway(sent)` runs once, after
   * `atOrder` orders were sent, while the rest are still to come.
   */
  const load = async (
    total: number,
    midway?: { atOrder: number; run: () => Promise<unknown> },
  ): Promise<LoadResult> => {
    const result: LoadResult = { statuses: {}, failures: [] };
    let sent = 0;
    let midwayDone: Promise<unknown> | undefined;
    const client = async () => {
      while (sent < total) {
        sent++;
        if (midway && !midwayDone && sent >= midway.atOrder) midwayDone = midway.run();
        let status: number;
        let text: string;
        try {
          const res = await order();
          status = res.status;
          text = await res.text();
        } catch (err) {
          status = 0;
          text = String(err);
        }
        result.statuses[status] = (result.statuses[status] ?? 0) + 1;
        if (status !== 200 && result.failures.length < 5) result.failures.push(`${status} ${text}`);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, client));
    await midwayDone;
    return result;
  };

  /** Orders, a few at a time, until `replica` has served calls again (it is in rotation). */
  const untilServing = async (replica: Replica) => {
    const before = replica.proxy.calls;
    const deadline = Date.now() + 60_000;
    while (replica.proxy.calls === before) {
      if (Date.now() > deadline) throw new Error(`replica on ${replica.port} never got a call`);
      await Promise.all([order(), order()]);
      await sleep(20);
    }
  };

  beforeAll(async () => {
    for (const name of ['a', 'b'] as const) {
      const port = await freePort();
      const app = await startReplicaProcess(port);
      replicas[name] = { app, port, proxy: await CallCountingProxy.start(port) };
    }
    const httpPort = await freePort();
    gateway = await AppProcess.start('gateway', {
      port: httpPort,
      env: {
        GATEWAY_HTTP_HOST: '127.0.0.1',
        // The list form of CHEESE_GRPC_URL: one ipv4: target, round robin over both.
        CHEESE_GRPC_URL: `127.0.0.1:${replicas.a.proxy.port},127.0.0.1:${replicas.b.proxy.port}`,
        // Thousands of orders from one address: load, not abuse.
        GATEWAY_RATE_LIMIT: '0',
        // The proxies count every call: the backend checks' (every 5 s by default)
        // would be counted as orders. One at start, then none within the tests.
        GATEWAY_BACKEND_CHECK_INTERVAL_MS: '600000',
      },
    });
    base = `http://127.0.0.1:${httpPort}`;
    await untilServing(replicas.a);
    await untilServing(replicas.b);
  });

  afterAll(async () => {
    await gateway?.stop();
    for (const replica of Object.values(replicas)) {
      await replica.app.stop();
      await replica.proxy.close();
    }
  });

  it('spreads 2,000 orders over both replicas, each serving at least 30%', async () => {
    const start = { a: replicas.a.proxy.calls, b: replicas.b.proxy.calls };
    const { statuses, failures } = await load(2000);
    expect(failures).toEqual([]);
    expect(statuses).toEqual({ 200: 2000 });
    const served = {
      a: replicas.a.proxy.calls - start.a,
      b: replicas.b.proxy.calls - start.b,
    };
    expect(served.a + served.b).toBe(2000); // one call per order: nothing retried
    expect(served.a).toBeGreaterThanOrEqual(600);
    expect(served.b).toBeGreaterThanOrEqual(600);
  });

  it('SIGTERM to a replica under load: no order fails; it drains and exits 0 within its grace period', async () => {
    const start = callsSoFar();
    let exit: string | undefined;
    const { statuses, failures } = await load(1500, {
      atOrder: 300,
      // SIGKILL at REPLICA_GRACE_MS: "0" means it exited, cleanly, within the grace period.
      run: async () => (exit = await replicas.a.app.stop('SIGTERM', REPLICA_GRACE_MS)),
    });
    expect(failures).toEqual([]);
    expect(statuses).toEqual({ 200: 1500 });
    expect(exit).toBe('0');
    expect(callsSoFar() - start).toBeGreaterThanOrEqual(1500);
  });

  it('SIGKILL of a replica mid-load: zero failed requests (UNAVAILABLE retried on the other)', async () => {
    // Replica a back on its port, and in rotation again.
    replicas.a.app = await startReplicaProcess(replicas.a.port);
    await untilServing(replicas.a);

    const start = { a: replicas.a.proxy.calls, b: replicas.b.proxy.calls };
    let killedAt = { a: 0, b: 0 };
    let exit: string | undefined;
    const { statuses, failures } = await load(1500, {
      atOrder: 300,
      run: async () => {
        exit = await replicas.b.app.stop('SIGKILL');
        killedAt = { a: replicas.a.proxy.calls, b: replicas.b.proxy.calls };
      },
    });
    expect(exit).toBe('on SIGKILL');
    expect(failures).toEqual([]);
    expect(statuses).toEqual({ 200: 1500 });
    // Both served before the kill, and a went on alone.
    expect(killedAt.a - start.a).toBeGreaterThan(0);
    expect(killedAt.b - start.b).toBeGreaterThan(0);
    expect(replicas.a.proxy.calls - killedAt.a).toBeGreaterThan(0);
    expect(gateway.exited).toBe(false);
  });
});
