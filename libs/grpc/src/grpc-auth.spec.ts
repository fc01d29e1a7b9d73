import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  credentials,
  InterceptingCall,
  Metadata,
  ResponderBuilder,
  Server,
  ServerCredentials,
  ServerInterceptingCall,
  status,
  type Client,
  type ClientDuplexStream,
  type ClientReadableStream,
  type ClientWritableStream,
  type Interceptor,
  type ServerInterceptor,
  type ServiceError,
  type StatusObject,
} from '@grpc/grpc-js';
import type { ServiceDefinition } from '@grpc/proto-loader';
import { GRPC_SERVICES, loadServiceProto } from '#proto';
import { bearerTokenInterceptor, grpcAuthInterceptor, isOpenGrpcMethod } from './grpc-auth.js';
import { createGrpcClient } from './grpc-client.js';
import { checkHealth, createHealthClient } from './health-client.js';
import { GrpcHealth } from './operations/grpc-health.js';

const TOKEN = 'the-right-token-1f9c2a7e5b';

interface SoccerTestClient extends Client {
  listMatches(
    request: object,
    metadata: Metadata,
    options: object,
    callback: (err: ServiceError | null, value?: { matches: unknown[] }) => void,
  ): void;
  watch(request: { id: string }, metadata: Metadata): ClientReadableStream<{ data: Buffer }>;
  upload(
    metadata: Metadata,
    callback: (err: ServiceError | null, value?: { id: string }) => void,
  ): ClientWritableStream<{ id: string; data: Buffer }>;
  chat(metadata: Metadata): ClientDuplexStream<{ matchId: string; text: string }, object>;
}

describe('grpcAuthInterceptor: a grpc-js server requiring a bearer token', () => {
  const server = new Server({
    interceptors: [statusRecorder(), grpcAuthInterceptor(TOKEN)],
  });
  /** Handler invocations per method: a refused call must never reach one. */
  const handled = { listMatches: 0, watch: 0, upload: 0, chat: 0 };
  /** Status codes as an outer (telemetry-like) interceptor saw them. */
  const seen: status[] = [];
  let port: number;

  function statusRecorder(): ServerInterceptor {
    return (_definition, call) =>
      new ServerInterceptingCall(
        call,
        new ResponderBuilder()
          .withSendStatus((sent, next) => {
            seen.push(sent.code);
            next(sent);
          })
          .build(),
      );
  }

  beforeAll(async () => {
    const { package: pkg, service } = GRPC_SERVICES.soccer;
    const definition = loadServiceProto('soccer')[`${pkg}.${service}`] as ServiceDefinition;
    server.addService(definition, {
      listMatches: (_call: unknown, callback: (e: null, v: object) => void) => {
        handled.listMatches++;
        callback(null, { matches: [] });
      },
      watch: (call: { write(v: object): void; end(): void }) => {
        handled.watch++;
        call.write({ data: Buffer.from([1]) });
        call.end();
      },
      upload: (call: NodeJS.ReadableStream, callback: (e: null, v: object) => void) => {
        handled.upload++;
        call.resume();
        call.on('end', () => callback(null, { id: 'x' }));
      },
      chat: (call: NodeJS.ReadWriteStream) => {
        handled.chat++;
        call.on('data', () => undefined);
        call.on('end', () => call.end());
      },
    });
    const health = new GrpcHealth([`${pkg}.${service}`]);
    health.addToServer(server);
    health.serving();
    port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
  });

  afterAll(() => server.forceShutdown());

  beforeEach(() => {
    for (const key of Object.keys(handled) as (keyof typeof handled)[]) handled[key] = 0;
    seen.length = 0;
  });

  /** A soccer client sending `authorization` as given (undefined: none). */
  function client(authorization?: string): SoccerTestClient {
    return createGrpcClient('soccer', `127.0.0.1:${port}`, credentials.createInsecure(), {
      interceptors: authorization === undefined ? [] : [sendsAuthorization(authorization)],
    }) as SoccerTestClient;
  }

  /** Any `authorization` value, well-formed or not (bearerTokenInterceptor only makes good ones). */
  function sendsAuthorization(value: string): Interceptor {
    return (options, nextCall) =>
      new InterceptingCall(nextCall(options), {
        start: (metadata, listener, next) => {
          metadata.set('authorization', value);
          next(metadata, listener);
        },
      });
  }

  /** All four call styles; each one's status code name. */
  async function callEveryStyle(c: SoccerTestClient): Promise<Record<string, string>> {
    const codeName = (err: ServiceError | null | undefined) => status[err?.code ?? status.OK];
    const unary = new Promise<string>((resolve) =>
      c.listMatches({}, new Metadata(), { deadline: Date.now() + 5000 }, (err) =>
        resolve(codeName(err)),
      ),
    );
    const serverStream = new Promise<string>((resolve) => {
      const call = c.watch({ id: 'demo' }, new Metadata());
      call.on('data', () => undefined);
      call.on('error', (err: ServiceError) => resolve(codeName(err)));
      call.on('status', (s: StatusObject) => s.code === status.OK && resolve('OK'));
    });
    const clientStream = new Promise<string>((resolve) => {
      const call = c.upload(new Metadata(), (err) => resolve(codeName(err)));
      call.write({ id: 'final', data: Buffer.alloc(1024) });
      call.end();
    });
    const bidi = new Promise<string>((resolve) => {
      const call = c.chat(new Metadata());
      call.on('data', () => undefined);
      call.on('error', (err: ServiceError) => resolve(codeName(err)));
      call.on('status', (s: StatusObject) => s.code === status.OK && resolve('OK'));
      call.write({ matchId: 'demo', text: 'hello' });
      call.end();
    });
    const [listMatches, watch, upload, chat] = await Promise.all([
      unary,
      serverStream,
      clientStream,
      bidi,
    ]);
    return { listMatches, watch, upload, chat };
  }

  it('serves every call style with the right token', async () => {
    const c = client(`Bearer ${TOKEN}`);
    try {
      expect(await callEveryStyle(c)).toEqual({
        listMatches: 'OK',
        watch: 'OK',
        upload: 'OK',
        chat: 'OK',
      });
      expect(handled).toEqual({ listMatches: 1, watch: 1, upload: 1, chat: 1 });
    } finally {
      c.close();
    }
  });

  it('accepts the scheme in any case (RFC 6750)', async () => {
    const c = client(`bearer ${TOKEN}`);
    try {
      expect((await callEveryStyle(c)).listMatches).toBe('OK');
    } finally {
      c.close();
    }
  });

  it.each([
    ['no authorization', undefined],
    ['a wrong token', 'Bearer the-wrong-token-1f9c2a7e5b'],
    ['the token as a prefix', `Bearer ${TOKEN}x`],
    ['a prefix of the token', `Bearer ${TOKEN.slice(0, -1)}`],
    ['another scheme', `Basic ${TOKEN}`],
    ['the bare token', TOKEN],
    ['an empty value', ''],
  ])(
    'refuses %s with UNAUTHENTICATED in every call style; no handler runs',
    async (_case, authorization) => {
      const c = client(authorization);
      try {
        expect(await callEveryStyle(c)).toEqual({
          listMatches: 'UNAUTHENTICATED',
          watch: 'UNAUTHENTICATED',
          upload: 'UNAUTHENTICATED',
          chat: 'UNAUTHENTICATED',
        });
        expect(handled).toEqual({ listMatches: 0, watch: 0, upload: 0, chat: 0 });
        // The outer interceptors (logs, metrics) saw every refusal.
        expect(seen.filter((code) => code === status.UNAUTHENTICATED)).toHaveLength(4);
      } finally {
        c.close();
      }
    },
  );

  it('says why without echoing any token', async () => {
    const c = client(`Bearer the-wrong-token-1f9c2a7e5b`);
    try {
      const err = await new Promise<ServiceError>((resolve) =>
        c.listMatches({}, new Metadata(), {}, (e) => resolve(e!)),
      );
      expect(err.code).toBe(status.UNAUTHENTICATED);
      expect(err.details).toBe('invalid bearer token');
      expect(err.details).not.toContain('wrong-token');
      expect(err.details).not.toContain(TOKEN);
    } finally {
      c.close();
    }
    const none = client();
    try {
      const err = await new Promise<ServiceError>((resolve) =>
        none.listMatches({}, new Metadata(), {}, (e) => resolve(e!)),
      );
      expect(err.details).toBe('missing authorization metadata: expected "Bearer <token>"');
    } finally {
      none.close();
    }
  });

  it('leaves health open without a token', async () => {
    const health = createHealthClient(`127.0.0.1:${port}`);
    try {
      expect(await checkHealth(health, '')).toBe('SERVING');
    } finally {
      health.close();
    }
  });

  it('bearerTokenInterceptor (the gateway side) sends what the server wants', async () => {
    const c = createGrpcClient('soccer', `127.0.0.1:${port}`, credentials.createInsecure(), {
      interceptors: [bearerTokenInterceptor(TOKEN)],
    }) as SoccerTestClient;
    try {
      expect(await callEveryStyle(c)).toEqual({
        listMatches: 'OK',
        watch: 'OK',
        upload: 'OK',
        chat: 'OK',
      });
    } finally {
      c.close();
    }
  });
});

describe('isOpenGrpcMethod', () => {
  it.each([
    ['/grpc.health.v1.Health/Check', true],
    ['/grpc.health.v1.Health/Watch', true],
    ['/grpc.reflection.v1.ServerReflection/ServerReflectionInfo', true],
    ['/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo', true],
    ['/cheesefarm.CheeseService/Order', false],
    ['/stream.Soccer/Upload', false],
    ['/grpc.healthy.Fake/Check', false],
    ['/grpc.health.v2.Health/Check', false],
  ])('%s: %s', (path, open) => {
    expect(isOpenGrpcMethod(path)).toBe(open);
  });
});
