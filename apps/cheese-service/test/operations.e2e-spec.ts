import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  credentials,
  loadPackageDefinition,
  status,
  type Client,
  type ClientDuplexStream,
  type GrpcObject,
  type ServiceClientConstructor,
  type ServiceError,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { AppProcess, freePort } from '#launcher';
import { grpcMethod, metricSum, serviceMetricsUrl } from '../../../test/support/metrics.js';
import { orderCheese } from './support/order-cheese.js';
import { cheesefarm } from '#proto';
import {
  checkHealth,
  createGrpcClient,
  createHealthClient,
  type HealthCheckResponse,
  type HealthClient,
  waitForServing,
} from '#grpc';

const run = promisify(execFile);
const BUF = new URL('../../../node_modules/.bin/buf', import.meta.url).pathname;

/** `buf curl` over plaintext HTTP/2 (the grpcurl of this machine), schema from reflection. */
async function bufCurl(port: number, args: string[]): Promise<string> {
  const { stdout } = await run(
    BUF,
    ['curl', '--protocol', 'grpc', '--http2-prior-knowledge', ...args],
    { timeout: 60_000 },
  );
  return stdout;
}

const url = (port: number, path = '') => `http://127.0.0.1:${port}${path}`;

/** Starts cheese-service; resolves once its health says SERVING. */
async function startCheese(env: Record<string, string> = {}) {
  const [port, metricsPort] = await Promise.all([freePort(), freePort()]);
  const app = await AppProcess.start('cheese-service', {
    port,
    metricsPort,
    env: { CHEESE_GRPC_HOST: '127.0.0.1', ...env },
  });
  // The port opens a moment before the server turns SERVING.
  const health = createHealthClient(`127.0.0.1:${port}`);
  try {
    await waitForServing(health);
  } finally {
    health.close();
  }
  return { app, port, metricsUrl: serviceMetricsUrl(metricsPort) };
}

/** Orders the service at `metricsUrl` is preparing now. */
function ordersInFlight(metricsUrl: string): Promise<number> {
  const order = grpcMethod('cheesefarm.CheeseService', 'Order');
  return metricSum(metricsUrl, 'grpc_server_active_streams', order);
}

describe('cheese-service: health and reflection', () => {
  let app: AppProcess;
  let port: number;
  let health: HealthClient;

  beforeAll(async () => {
    ({ app, port } = await startCheese());
    health = createHealthClient(`127.0.0.1:${port}`);
  });

  afterAll(async () => {
    health?.close();
    await app?.stop();
  });

  it.each(['', 'cheesefarm.CheeseService'])('grpc.health.v1 Check(%j) is SERVING', async (name) => {
    expect(await checkHealth(health, name)).toBe('SERVING');
  });

  it('Check of a service it does not host is NOT_FOUND', async () => {
    const err = (await checkHealth(health, 'stream.Soccer').catch(
      (e: unknown) => e,
    )) as ServiceError;
    expect(err.code).toBe(status.NOT_FOUND);
  });

  it('reflection lists the methods of every service, health and reflection included', async () => {
    const methods = (await bufCurl(port, ['--list-methods', url(port)])).trim().split('\n');
    expect(methods).toEqual(
      expect.arrayContaining([
        'cheesefarm.CheeseService/Order',
        'grpc.health.v1.Health/Check',
        'grpc.health.v1.Health/Watch',
        'grpc.reflection.v1.ServerReflection/ServerReflectionInfo',
      ]),
    );
  });

  it('reflection resolves the message types: Order with a JSON body through buf curl', async () => {
    const out = await bufCurl(port, [
      '-d',
      '{"type":"BRIE"}',
      url(port, '/cheesefarm.CheeseService/Order'),
    ]);
    const cheese = JSON.parse(out) as { type: string; age: number };
    expect(cheese.type).toBe('BRIE'); // the enum's name: buf knows the type from reflection
    expect(cheese.age).toBeGreaterThanOrEqual(28);
    expect(cheese.age).toBeLessThanOrEqual(70);
  });

  it('health is reachable through reflection too (the Check request and response types)', async () => {
    const out = await bufCurl(port, [
      '-d',
      '{"service":"cheesefarm.CheeseService"}',
      url(port, '/grpc.health.v1.Health/Check'),
    ]);
    expect(JSON.parse(out)).toEqual({ status: 'SERVING' });
  });
});

describe('cheese-service with GRPC_REFLECTION=false', () => {
  let app: AppProcess;
  let port: number;
  let health: HealthClient;

  beforeAll(async () => {
    ({ app, port } = await startCheese({ GRPC_REFLECTION: 'false' }));
    health = createHealthClient(`127.0.0.1:${port}`);
  });

  afterAll(async () => {
    health?.close();
    await app?.stop();
  });

  it('answers UNIMPLEMENTED to reflection, v1 and v1alpha', async () => {
    for (const version of ['v1', 'v1alpha']) {
      const reflection = reflectionClient(version, port);
      try {
        const call = reflection.ServerReflectionInfo();
        call.on('data', () => undefined);
        call.end({ listServices: '*' });
        const [err] = (await once(call, 'error')) as [ServiceError];
        expect(err.code).toBe(status.UNIMPLEMENTED);
      } finally {
        reflection.close();
      }
    }
    // buf curl, which needs reflection for a schema, cannot list anything.
    const failure = (await bufCurl(port, ['--list-methods', url(port)]).catch(
      (e: unknown) => e,
    )) as { stderr: string };
    expect(failure.stderr).toMatch(/unimplemented/i);
  });

  it('still serves health and orders', async () => {
    expect(await checkHealth(health, '')).toBe('SERVING');
    const client = createGrpcClient('cheese', `127.0.0.1:${port}`);
    try {
      expect((await orderCheese(client, cheesefarm.CheeseType.BRIE)).type).toBe(
        cheesefarm.CheeseType.BRIE,
      );
    } finally {
      client.close();
    }
  });

  it('rejects a GRPC_REFLECTION that is not true or false, naming it', async () => {
    const err = (await startCheese({ GRPC_REFLECTION: 'yes' }).catch((e: unknown) => e)) as Error;
    expect(err.message).toContain('GRPC_REFLECTION="yes"');
  });
});

/** A grpc-js client of ServerReflection from the proto files @grpc/reflection ships. */
function reflectionClient(version: string, port: number) {
  const require = createRequire(import.meta.url);
  const protos = join(dirname(require.resolve('@grpc/reflection')), '../proto');
  const definition = loadSync(`grpc/reflection/${version}/reflection.proto`, {
    includeDirs: [protos],
  });
  const pkg = loadPackageDefinition(definition) as unknown as {
    grpc: { reflection: Record<string, GrpcObject> };
  };
  const Constructor = pkg.grpc.reflection[version].ServerReflection as ServiceClientConstructor;
  return new Constructor(`127.0.0.1:${port}`, credentials.createInsecure()) as unknown as Client & {
    ServerReflectionInfo(): ClientDuplexStream<object, object>;
  };
}

describe('cheese-service graceful shutdown', () => {
  const GRACE_MS = 8000;

  it(
    'on SIGTERM: NOT_SERVING to watchers, the order in flight served, new calls refused, exit 0',
    { timeout: 180_000 },
    async () => {
      const { app, port, metricsUrl } = await startCheese({
        CHEESE_PREP_MS: '1500',
        SHUTDOWN_GRACE_MS: String(GRACE_MS),
      });
      const target = `127.0.0.1:${port}`;
      const health = createHealthClient(target);
      const cheese = createGrpcClient('cheese', target);
      try {
        // Watchers of the whole server and of the service.
        const watches = ['', 'cheesefarm.CheeseService'].map((service) => {
          const call = health.watch({ service });
          const seen: string[] = [];
          call.on('data', (res: HealthCheckResponse) => seen.push(res.status));
          const ended = new Promise<ServiceError | null>((resolve) => {
            call.on('error', resolve);
            call.on('end', () => resolve(null));
          });
          return { seen, ended };
        });
        await expect.poll(() => watches.map((w) => w.seen)).toEqual([['SERVING'], ['SERVING']]);

        const started = performance.now();
        const inFlight = orderCheese(cheese, cheesefarm.CheeseType.BRIE, 10_000);
        await expect.poll(() => ordersInFlight(metricsUrl)).toBe(1); // the order is being prepared

        const signalled = performance.now();
        const exit = app.stop('SIGTERM', 20_000);

        // Watchers hear NOT_SERVING at once, then their stream ends (UNAVAILABLE).
        await expect
          .poll(() => watches.map((w) => w.seen), { timeout: 1000, interval: 20 })
          .toEqual([
            ['SERVING', 'NOT_SERVING'],
            ['SERVING', 'NOT_SERVING'],
          ]);
        for (const { ended } of watches) {
          expect((await ended)?.code).toBe(status.UNAVAILABLE);
        }

        // New calls are refused while the order in flight is still being prepared.
        const refused = (await orderCheese(cheese, cheesefarm.CheeseType.ROQUEFORT, 3000).catch(
          (e: unknown) => e,
        )) as ServiceError;
        expect(refused.code).toBe(status.UNAVAILABLE);
        const check = (await checkHealth(health, '', 3000).catch(
          (e: unknown) => e,
        )) as ServiceError;
        expect(check.code).toBe(status.UNAVAILABLE);

        // The order in flight is served in full...
        const served = await inFlight;
        expect(served.type).toBe(cheesefarm.CheeseType.BRIE);
        expect(performance.now() - started).toBeGreaterThanOrEqual(1400);

        // ...and then the process exits 0, well within the grace period.
        expect(await exit).toBe('0');
        expect(performance.now() - signalled).toBeLessThan(GRACE_MS);
        expect(app.logMessages).toMatch(/SIGTERM: NOT_SERVING, refusing new calls, draining/);
        expect(app.logMessages).toMatch(/stopped in \d+ ms/);
      } finally {
        health.close();
        cheese.close();
        await app.stop('SIGKILL');
      }
    },
  );

  it('a call still open when the grace period ends is cancelled, and the exit is still 0', async () => {
    const { app, port, metricsUrl } = await startCheese({
      CHEESE_PREP_MS: '20000',
      SHUTDOWN_GRACE_MS: '500',
    });
    const cheese = createGrpcClient('cheese', `127.0.0.1:${port}`);
    try {
      const inFlight = orderCheese(cheese, cheesefarm.CheeseType.BRIE, 30_000).catch(
        (e: unknown) => e as ServiceError,
      );
      await expect.poll(() => ordersInFlight(metricsUrl)).toBe(1); // the call is open
      const signalled = performance.now();
      expect(await app.stop('SIGTERM', 10_000)).toBe('0');
      expect(performance.now() - signalled).toBeLessThan(3000);
      const err = (await inFlight) as ServiceError;
      expect([status.CANCELLED, status.UNAVAILABLE]).toContain(err.code);
      expect(app.logMessages).toMatch(
        /grace period of 500 ms over: cancelling the calls still open/,
      );
    } finally {
      cheese.close();
      await app.stop('SIGKILL');
    }
  });

  it('exits 0 on SIGINT too', async () => {
    const { app } = await startCheese();
    expect(await app.stop('SIGINT')).toBe('0');
  });

  it('exits 0 on a SIGTERM that comes as soon as the port opens', async () => {
    const port = await freePort();
    const app = await AppProcess.start('cheese-service', {
      port,
      env: { CHEESE_GRPC_HOST: '127.0.0.1' },
    });
    expect(await app.stop('SIGTERM')).toBe('0');
  });
});
