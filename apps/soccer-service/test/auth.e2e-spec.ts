import { createRequire } from 'node:module';
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  credentials,
  InterceptingCall,
  loadPackageDefinition,
  Metadata,
  status,
  type Client,
  type ClientDuplexStream,
  type GrpcObject,
  type Interceptor,
  type ServiceClientConstructor,
  type ServiceError,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { type stream } from '#proto';
import { bearerTokenInterceptor, checkHealth, createGrpcClient, createHealthClient } from '#grpc';
import { startSoccerService, type SoccerService } from './support/soccer-service.js';

const TOKEN = 'soccer-e2e-token-7c1d9a0b4e2f';
const WRONG = 'soccer-e2e-token-0000000000000';

interface SoccerCalls {
  listMatches(
    request: object,
    metadata: Metadata,
    options: object,
    callback: (err: ServiceError | null, value?: stream.ListMatchesResponse) => void,
  ): void;
  watch(
    request: Partial<stream.Match>,
    metadata: Metadata,
  ): ClientDuplexStream<never, stream.Video>;
  upload(
    metadata: Metadata,
    callback: (err: ServiceError | null, value?: stream.UploadResult) => void,
  ): ClientDuplexStream<Partial<stream.UploadChunk>, never>;
  chat(metadata: Metadata): ClientDuplexStream<Partial<stream.ChatMessage>, stream.ChatMessage>;
}

/** Sends `authorization` exactly as given, well-formed or not. */
function sendsAuthorization(value: string): Interceptor {
  return (options, nextCall) =>
    new InterceptingCall(nextCall(options), {
      start: (metadata, listener, next) => {
        metadata.set('authorization', value);
        next(metadata, listener);
      },
    });
}

const CALLERS = {
  'no token': [],
  'a wrong token': [bearerTokenInterceptor(WRONG)],
  'another scheme': [sendsAuthorization(`Basic ${TOKEN}`)],
  'the right token': [bearerTokenInterceptor(TOKEN)],
} satisfies Record<string, Interceptor[]>;
type Caller = keyof typeof CALLERS;

const codeName = (err: ServiceError | null | undefined) => status[err?.code ?? status.OK];

describe('soccer-service with GRPC_AUTH_TOKEN', () => {
  let soccer: SoccerService;
  const clients = new Map<Caller, Client & SoccerCalls>();

  beforeAll(async () => {
    soccer = await startSoccerService({ GRPC_AUTH_TOKEN: TOKEN, LOG_LEVEL: 'debug' });
    for (const [caller, interceptors] of Object.entries(CALLERS) as [Caller, Interceptor[]][]) {
      const client = createGrpcClient(
        'soccer',
        `127.0.0.1:${soccer.port}`,
        credentials.createInsecure(),
        { interceptors },
      );
      clients.set(caller, client as Client & SoccerCalls);
    }
  });

  afterAll(async () => {
    for (const client of clients.values()) client.close();
    await soccer?.stop();
  });

  const listMatches = (caller: Caller) =>
    new Promise<string>((resolve) =>
      clients
        .get(caller)!
        .listMatches({}, new Metadata(), { deadline: Date.now() + 5000 }, (err) =>
          resolve(codeName(err)),
        ),
    );

  /** Watch of the built-in `demo`: the status, and how many frames came first. */
  const watch = (caller: Caller) =>
    new Promise<{ code: string; frames: number }>((resolve) => {
      let frames = 0;
      const call = clients.get(caller)!.watch({ id: 'demo' }, new Metadata());
      call.on('data', () => {
        if (++frames === 2) call.cancel(); // enough: the stream flows
      });
      call.on('error', () => undefined);
      call.on('status', (s: { code: number }) => resolve({ code: status[s.code], frames }));
    });

  it.each(['no token', 'a wrong token', 'another scheme'] as const)(
    'answers %s with UNAUTHENTICATED: unary ListMatches',
    async (caller) => {
      expect(await listMatches(caller)).toBe('UNAUTHENTICATED');
    },
  );

  it.each(['no token', 'a wrong token', 'another scheme'] as const)(
    'answers %s with UNAUTHENTICATED before any frame: server-streaming Watch',
    async (caller) => {
      expect(await watch(caller)).toEqual({ code: 'UNAUTHENTICATED', frames: 0 });
    },
  );

  it('serves the right token: ListMatches OK, Watch streams frames', async () => {
    expect(await listMatches('the right token')).toBe('OK');
    expect(await watch('the right token')).toEqual({ code: 'CANCELLED', frames: 2 });
  });

  it('refuses an Upload with a wrong token and stores nothing, not even a temp file', async () => {
    const code = await new Promise<string>((resolve) => {
      const call = clients
        .get('a wrong token')!
        .upload(new Metadata(), (err) => resolve(codeName(err)));
      call.on('error', () => undefined);
      call.write({ id: 'intruder', overwrite: true, data: Buffer.alloc(64 * 1024, 1) });
      call.write({ data: Buffer.alloc(64 * 1024, 2) });
      call.end();
    });
    expect(code).toBe('UNAUTHENTICATED');
    const files = (await readdir(soccer.mediaDir)).filter((f) => !f.startsWith('.write-check'));
    expect(files).toEqual([]);
  });

  it('refuses a Chat with no token: the bidi call ends UNAUTHENTICATED', async () => {
    const code = await new Promise<string>((resolve) => {
      const call = clients.get('no token')!.chat(new Metadata());
      call.on('data', () => undefined);
      call.on('error', () => undefined);
      call.on('status', (s: { code: number }) => resolve(status[s.code]));
      call.write({ matchId: 'demo', user: 'intruder' });
    });
    expect(code).toBe('UNAUTHENTICATED');
  });

  it('leaves health open: Check answers SERVING without a token', async () => {
    const health = createHealthClient(`127.0.0.1:${soccer.port}`);
    try {
      expect(await checkHealth(health, 'stream.Soccer')).toBe('SERVING');
    } finally {
      health.close();
    }
  });

  it('leaves reflection open: it lists the services without a token', async () => {
    const reflection = reflectionClient(soccer.port);
    try {
      const call = reflection.ServerReflectionInfo();
      const answer = new Promise<{ listServicesResponse?: { service: { name: string }[] } }>(
        (resolve, reject) => {
          call.on('data', resolve);
          call.on('error', reject);
        },
      );
      call.write({ listServices: '' });
      const services = (await answer).listServicesResponse!.service.map((s) => s.name);
      call.end();
      expect(services).toContain('stream.Soccer');
    } finally {
      reflection.close();
    }
  });

  it('logs refused calls, and never the token', async () => {
    // A call's log line is written as it ends, and read from the pipe a moment later.
    const logs = () => soccer.app.logMessages;
    await expect.poll(logs).toMatch(/gRPC stream\.Soccer\/ListMatches UNAUTHENTICATED/);
    await expect.poll(logs).toMatch(/gRPC stream\.Soccer\/Watch UNAUTHENTICATED/);
    expect(soccer.app.logMessages).toContain('bearer token required');
    expect(soccer.app.logs).not.toContain(TOKEN);
    expect(soccer.app.logs).not.toContain(WRONG);
  });
});

/** A grpc-js client of grpc.reflection.v1 from the proto @grpc/reflection ships. */
function reflectionClient(port: number) {
  const require = createRequire(import.meta.url);
  const protos = join(dirname(require.resolve('@grpc/reflection')), '../proto');
  const definition = loadSync('grpc/reflection/v1/reflection.proto', { includeDirs: [protos] });
  const pkg = loadPackageDefinition(definition) as unknown as {
    grpc: { reflection: { v1: GrpcObject } };
  };
  const Constructor = pkg.grpc.reflection.v1.ServerReflection as ServiceClientConstructor;
  return new Constructor(`127.0.0.1:${port}`, credentials.createInsecure()) as unknown as Client & {
    ServerReflectionInfo(): ClientDuplexStream<object, object>;
  };
}
