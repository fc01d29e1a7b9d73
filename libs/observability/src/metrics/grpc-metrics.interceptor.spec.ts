import { EventEmitter, once } from 'node:events';
import {
  credentials,
  loadPackageDefinition,
  Metadata,
  Server,
  ServerCredentials,
  status,
  type Client,
  type ClientDuplexStream,
  type ClientReadableStream,
  type ClientWritableStream,
  type GrpcObject,
  type ServerDuplexStream,
  type ServerReadableStream,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceClientConstructor,
  type ServiceError,
} from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadServiceProto } from '#proto';
import { createGrpcClient } from '#grpc';
import { grpcClientMetricsInterceptor } from './grpc-client-metrics.interceptor.js';
import { grpcServerMetricsInterceptor } from './grpc-server-metrics.interceptor.js';
import { parsePrometheusText, sampleSum } from './prometheus-text.js';

type Chunk = { id?: string; data: Buffer };
type Chat = { text: string };

/** The stream.Soccer methods the test calls, as grpc-js makes them. */
interface SoccerClient extends Client {
  listMatches(request: object, done: (err: ServiceError | null) => void): void;
  watch(request: { id: string }): ClientReadableStream<unknown>;
  upload(done: (err: ServiceError | null) => void): ClientWritableStream<Chunk>;
  chat(metadata: Metadata): ClientDuplexStream<Chat, Chat>;
}

/** Emits 'ended' each time a Watch handler has ended its call after its client cancelled. */
const lateEnds = new EventEmitter();

/** stream.Soccer's four call styles, served by hand: nothing but the interceptors under test. */
const soccer = {
  listMatches: (_call: ServerUnaryCall<unknown, unknown>, done: (e: null, r: object) => void) =>
    done(null, { matches: [] }),
  watch: (call: ServerWritableStream<{ id: string }, unknown>) => {
    const { id } = call.request;
    if (id === 'bad') {
      call.emit('error', { code: status.INVALID_ARGUMENT, details: 'bad match' });
      return;
    }
    let seq = 0;
    const write = () => {
      if (call.cancelled) return;
      call.write({ seq, data: Buffer.alloc(16) });
      seq++;
      if (id !== 'endless' && seq === 3) call.end();
      else setTimeout(write, 5);
    };
    // A handler that still ends its call after the client cancelled: counted once.
    // end() sends the status through the interceptors before it returns (or,
    // with a write still pending, which a cancelled call never completes, never).
    call.on('cancelled', () => {
      call.end();
      lateEnds.emit('ended');
    });
    write();
  },
  upload: (call: ServerReadableStream<Chunk, unknown>, done: (e: null, r: object) => void) => {
    let bytes = 0;
    call.on('data', (chunk: Chunk) => (bytes += chunk.data.length));
    call.on('end', () => done(null, { id: 'x', bytes, sha256: '' }));
  },
  chat: (call: ServerDuplexStream<Chat, Chat>) => {
    call.on('data', (message: Chat) => call.write(message));
    call.on('end', () => call.end());
  },
};

async function scrape(registry: Registry) {
  return parsePrometheusText(await registry.metrics()).samples;
}

const method = (name: string) => ({ grpc_method: name });

describe('gRPC metrics interceptors, over a real connection', () => {
  const serverRegistry = new Registry();
  const clientRegistry = new Registry();
  let server: Server;
  let client: SoccerClient;

  beforeAll(async () => {
    server = new Server({ interceptors: [grpcServerMetricsInterceptor(serverRegistry)] });
    const pkg = loadPackageDefinition(loadServiceProto('soccer'));
    const Soccer = (pkg.stream as GrpcObject).Soccer as ServiceClientConstructor;
    server.addService(Soccer.service, soccer);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    client = createGrpcClient('soccer', `127.0.0.1:${port}`, credentials.createInsecure(), {
      interceptors: [grpcClientMetricsInterceptor(clientRegistry)],
    }) as SoccerClient;
  });

  afterAll(() => {
    client?.close();
    server?.forceShutdown();
  });

  it('shows no gRPC metrics before the first call', async () => {
    expect(await serverRegistry.metrics()).not.toContain('grpc_');
    expect(await clientRegistry.metrics()).not.toContain('grpc_');
  });

  it('counts each call style on both sides: started, handled by code, messages, time', async () => {
    await new Promise<void>((resolve, reject) =>
      client.listMatches({}, (err: ServiceError | null) => (err ? reject(err) : resolve())),
    );
    const frames: unknown[] = [];
    await new Promise<void>((resolve, reject) => {
      const call = client.watch({ id: 'demo' });
      call.on('data', (f: unknown) => frames.push(f));
      call.on('end', resolve);
      call.on('error', reject);
    });
    expect(frames).toHaveLength(3);
    const watchError = await new Promise<ServiceError>((resolve) => {
      const call = client.watch({ id: 'bad' });
      call.on('data', () => undefined);
      call.on('error', resolve);
    });
    expect(watchError.code).toBe(status.INVALID_ARGUMENT);
    await new Promise<void>((resolve, reject) => {
      const call = client.upload((err: ServiceError | null) => (err ? reject(err) : resolve()));
      for (let i = 0; i < 4; i++) call.write({ id: 'x', data: Buffer.alloc(1024) });
      call.end();
    });
    await new Promise<void>((resolve, reject) => {
      const call = client.chat(new Metadata());
      call.on('data', () => undefined);
      call.on('end', resolve);
      call.on('error', reject);
      call.write({ text: 'one' });
      call.write({ text: 'two' });
      call.end();
    });

    for (const [side, registry] of [
      ['server', serverRegistry],
      ['client', clientRegistry],
    ] as const) {
      // The server's counts are final once its status went out, a moment after the client's.
      await expect
        .poll(async () => sampleSum(await scrape(registry), `grpc_${side}_handled_total`))
        .toBe(5);
      const s = await scrape(registry);
      const sum = (name: string, labels: Record<string, string>) =>
        sampleSum(s, `grpc_${side}_${name}`, { grpc_service: 'stream.Soccer', ...labels });
      const sent = side === 'server' ? 'msg_sent_total' : 'msg_received_total';
      const received = side === 'server' ? 'msg_received_total' : 'msg_sent_total';

      expect(sum('started_total', { grpc_method: 'ListMatches', grpc_type: 'unary' })).toBe(1);
      expect(sum('started_total', { grpc_method: 'Watch', grpc_type: 'server_stream' })).toBe(2);
      expect(sum('started_total', { grpc_method: 'Upload', grpc_type: 'client_stream' })).toBe(1);
      expect(sum('started_total', { grpc_method: 'Chat', grpc_type: 'bidi_stream' })).toBe(1);
      expect(sum('handled_total', { ...method('Watch'), grpc_code: 'OK' })).toBe(1);
      expect(sum('handled_total', { ...method('Watch'), grpc_code: 'INVALID_ARGUMENT' })).toBe(1);
      expect(sum('handled_total', { ...method('Upload'), grpc_code: 'OK' })).toBe(1);
      expect(sum(sent, method('Watch'))).toBe(3);
      expect(sum(received, method('Upload'))).toBe(4);
      expect(sum(received, method('Chat'))).toBe(2);
      expect(sum(sent, method('Chat'))).toBe(2);
      expect(sum('handling_seconds_count', method('Watch'))).toBe(2);
      expect(sum('handling_seconds_bucket', { ...method('Chat'), le: '+Inf' })).toBe(1);
      expect(sum('active_streams', {})).toBe(0);
    }
  });

  it('shows a stream in flight, then counts its cancellation once as CANCELLED', async () => {
    const call = client.watch({ id: 'endless' });
    await new Promise((resolve) => call.once('data', resolve));
    const watching = { grpc_service: 'stream.Soccer', grpc_method: 'Watch' };
    expect(sampleSum(await scrape(clientRegistry), 'grpc_client_active_streams', watching)).toBe(1);
    await expect
      .poll(async () =>
        sampleSum(await scrape(serverRegistry), 'grpc_server_active_streams', watching),
      )
      .toBe(1);

    const cancelled = { ...watching, grpc_code: 'CANCELLED' };
    const ended = new Promise<ServiceError>((resolve) => call.on('error', resolve));
    const lateEnd = once(lateEnds, 'ended');
    call.cancel();
    expect((await ended).code).toBe(status.CANCELLED);
    await expect
      .poll(async () =>
        sampleSum(await scrape(serverRegistry), 'grpc_server_handled_total', cancelled),
      )
      .toBe(1);
    // Once the handler's late end() is past the interceptor, count again.
    await lateEnd;
    for (const [side, registry] of [
      ['server', serverRegistry],
      ['client', clientRegistry],
    ] as const) {
      const s = await scrape(registry);
      expect(sampleSum(s, `grpc_${side}_handled_total`, cancelled), side).toBe(1);
      expect(sampleSum(s, `grpc_${side}_handled_total`, watching), side).toBe(3);
      expect(sampleSum(s, `grpc_${side}_active_streams`, watching), side).toBe(0);
    }
  });
});
