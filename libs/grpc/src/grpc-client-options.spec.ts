import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Client,
  InterceptingCall,
  Metadata,
  Server,
  ServerCredentials,
  credentials,
  status,
  type ChannelOptions,
  type Interceptor,
  type ServiceError,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { ServiceDefinition } from '@grpc/proto-loader';
import { cheesefarm, GRPC_SERVICES, PROTO_ROOT, grpcServiceName, loadServiceProto } from '#proto';
import { createGrpcClient } from './grpc-client.js';
import { CLIENT_RETRIED_METHODS, grpcClientOptions } from './grpc-client-options.js';
import { GRPC_KEEPALIVE } from './grpc-link.js';

/** The method definitions the running apps get, loaded with the apps' options. */
function service(key: keyof typeof GRPC_SERVICES): ServiceDefinition {
  const { package: pkg, service: name } = GRPC_SERVICES[key];
  return loadServiceProto(key)[`${pkg}.${name}`] as ServiceDefinition;
}

describe('grpcClientOptions', () => {
  it('builds client options from config, with a unary deadline interceptor', () => {
    const { options } = grpcClientOptions('cheese', {
      url: 'cheese:4000',
      maxMessageBytes: 1234,
      unaryDeadlineMs: 99,
    });
    expect(options).toMatchObject({
      package: 'cheesefarm',
      url: 'cheese:4000',
      maxReceiveMessageLength: 1234,
      maxSendMessageLength: 1234,
      loader: { keepCase: false, defaults: true },
    });
    expect(options.protoPath).toBe(join(PROTO_ROOT, 'cheesefarm/cheese.proto'));
    // The deadline one, and the repeat of unary calls whose answer was lost.
    expect((options.channelOptions as { interceptors: unknown[] }).interceptors).toHaveLength(2);
  });
});

/** The channel options grpcClientOptions gives a client of `key`. */
function channelOptionsOf(key: keyof typeof GRPC_SERVICES, interceptors: Interceptor[] = []) {
  const { options } = grpcClientOptions(
    key,
    { url: '127.0.0.1:1', maxMessageBytes: 1024, unaryDeadlineMs: 99 },
    interceptors,
  );
  return options.channelOptions as ChannelOptions & { interceptors: Interceptor[] };
}

interface ServiceConfig {
  loadBalancingConfig: unknown[];
  methodConfig: Array<{
    name: Array<{ service: string; method: string }>;
    retryPolicy: { maxAttempts: number; retryableStatusCodes: string[] };
  }>;
}

describe('grpcClientOptions: load balancing, retries, keepalive', () => {
  it('dials a list of replicas as one ipv4: target', () => {
    const { options } = grpcClientOptions('cheese', {
      url: '127.0.0.1:4001,127.0.0.1:4002',
      maxMessageBytes: 1024,
      unaryDeadlineMs: 99,
    });
    expect(options.url).toBe('ipv4:127.0.0.1:4001,127.0.0.1:4002');
  });

  it('refuses an address grpcTarget does not take', () => {
    expect(() =>
      grpcClientOptions('cheese', { url: 'a:1,b:2', maxMessageBytes: 1024, unaryDeadlineMs: 9 }),
    ).toThrow(/not IP:port/);
  });

  it.each(['cheese', 'soccer'] as const)(
    '%s: round robin, and UNAVAILABLE retried for methods of the service only',
    (key) => {
      const channel = channelOptionsOf(key);
      const config = JSON.parse(channel['grpc.service_config'] as string) as ServiceConfig;
      expect(config.loadBalancingConfig).toEqual([{ round_robin: {} }]);
      expect(config.methodConfig).toHaveLength(1);
      const [{ name, retryPolicy }] = config.methodConfig;
      expect(retryPolicy.retryableStatusCodes).toEqual(['UNAVAILABLE']);
      expect(retryPolicy.maxAttempts).toBeGreaterThanOrEqual(2);
      const definition = service(key);
      for (const { service: svc, method } of name) {
        expect(svc).toBe(grpcServiceName(key));
        expect(definition[method], method).toBeDefined();
      }
      expect(name.map((n) => n.method)).toEqual(CLIENT_RETRIED_METHODS[key]);
      expect(channel['grpc.service_config_disable_resolution']).toBe(1);
    },
  );

  it('retries neither Upload nor Chat (not safe to repeat once sent)', () => {
    expect(CLIENT_RETRIED_METHODS.soccer).not.toContain('Upload');
    expect(CLIENT_RETRIED_METHODS.soccer).not.toContain('Chat');
  });

  it('sets keepalive, reconnect backoff and DNS re-resolution', () => {
    expect(channelOptionsOf('cheese')).toMatchObject({
      'grpc.keepalive_time_ms': GRPC_KEEPALIVE.timeMs,
      'grpc.keepalive_timeout_ms': GRPC_KEEPALIVE.timeoutMs,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.initial_reconnect_backoff_ms': 250,
      'grpc.max_reconnect_backoff_ms': 5000,
      'grpc.dns_min_time_between_resolutions_ms': 5000,
    });
  });

  it('keeps the given interceptors first (outermost)', () => {
    const outer: Interceptor = (options, next) => new InterceptingCall(next(options));
    const { interceptors } = channelOptionsOf('cheese', [outer]);
    expect(interceptors).toHaveLength(3);
    expect(interceptors[0]).toBe(outer);
  });

  it('is accepted by grpc-js (it validates the service config when a channel is made)', () => {
    for (const key of ['cheese', 'soccer'] as const) {
      const client = new Client('127.0.0.1:1', credentials.createInsecure(), channelOptionsOf(key));
      client.close();
    }
  });
});

/**
 * Two plain grpc-js servers on loopback, and a client with the gateway's
 * channel options: what round robin and the retry policy do on the wire.
 */
describe('grpcClientOptions over real sockets, two replicas', () => {
  const served = { a: 0, b: 0 };
  /** What replica `a` answers Order with: a cheese, or this error code. */
  let aFailsWith: number | undefined;
  const servers: Server[] = [];
  const ports: number[] = [];

  const replica = (name: 'a' | 'b'): UntypedServiceImplementation => ({
    Order: (
      call: { request: cheesefarm.CheeseRequest },
      callback: (err: Partial<ServiceError> | null, value?: cheesefarm.Cheese) => void,
    ) => {
      served[name]++;
      if (name === 'a' && aFailsWith !== undefined) {
        callback({ code: aFailsWith, details: `replica a says ${status[aFailsWith]}` });
        return;
      }
      callback(null, { type: call.request.type, age: 30 });
    },
  });

  const order = (client: Client): Promise<cheesefarm.Cheese> =>
    new Promise((resolve, reject) =>
      (
        client as unknown as {
          order: (
            r: cheesefarm.CheeseRequest,
            m: Metadata,
            cb: (e: ServiceError | null, v?: cheesefarm.Cheese) => void,
          ) => void;
        }
      ).order({ type: cheesefarm.CheeseType.BRIE }, new Metadata(), (err, value) =>
        err ? reject(err) : resolve(value!),
      ),
    );

  let client: Client;

  beforeAll(async () => {
    const definition = service('cheese');
    for (const name of ['a', 'b'] as const) {
      const server = new Server();
      server.addService(definition, replica(name));
      const port = await new Promise<number>((resolve, reject) =>
        server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) =>
          err ? reject(err) : resolve(p),
        ),
      );
      servers.push(server);
      ports.push(port);
    }
    const { options } = grpcClientOptions('cheese', {
      url: ports.map((p) => `127.0.0.1:${p}`).join(','),
      maxMessageBytes: 1024 * 1024,
      unaryDeadlineMs: 5000,
    });
    client = createGrpcClient(
      'cheese',
      options.url!,
      credentials.createInsecure(),
      options.channelOptions,
    );
    // Both subchannels READY before counting (round robin skips one still connecting).
    for (let i = 0; i < 200 && (served.a === 0 || served.b === 0); i++) await order(client);
  });

  afterAll(() => {
    client?.close();
    for (const server of servers) server.forceShutdown();
  });

  it('spreads calls over both replicas', async () => {
    served.a = served.b = 0;
    for (let i = 0; i < 100; i++) await order(client);
    expect(served.a + served.b).toBe(100);
    expect(served.a).toBeGreaterThanOrEqual(40);
    expect(served.b).toBeGreaterThanOrEqual(40);
  });

  it('retries an Order that one replica answered UNAVAILABLE on the other', async () => {
    aFailsWith = status.UNAVAILABLE;
    served.a = served.b = 0;
    try {
      for (let i = 0; i < 20; i++) expect((await order(client)).age).toBe(30);
    } finally {
      aFailsWith = undefined;
    }
    expect(served.a).toBeGreaterThan(0); // the failures happened, and were retried
    expect(served.b).toBe(20);
  });

  it('does not retry other errors', async () => {
    aFailsWith = status.INTERNAL;
    served.a = served.b = 0;
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => order(client)));
    aFailsWith = undefined;
    const failed = results.filter((r) => r.status === 'rejected');
    expect(failed.length).toBe(served.a);
    expect(failed.length).toBeGreaterThan(0);
    for (const f of failed) expect((f.reason as ServiceError).code).toBe(status.INTERNAL);
  });
});
