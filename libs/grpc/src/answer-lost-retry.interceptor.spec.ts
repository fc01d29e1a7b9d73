import { once } from 'node:events';
import { constants, createServer, type Http2Server, type ServerHttp2Stream } from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Metadata,
  Server,
  ServerCredentials,
  credentials,
  type ChannelOptions,
  type Client,
  type ServiceError,
} from '@grpc/grpc-js';
import type { ServiceDefinition } from '@grpc/proto-loader';
import { cheesefarm, grpcServiceName, loadServiceProto } from '#proto';
import { createGrpcClient } from './grpc-client.js';
import { grpcClientOptions } from './grpc-client-options.js';

/** A gRPC message frame: not compressed, 4-byte length, the bytes. */
function grpcFrame(payload: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(payload.length, 1);
  return Buffer.concat([header, payload]);
}

/**
 * A "replica" that dies mid-answer, on the wire: it sends the response
 * headers (and with `withMessage`, a cheese aged 99) and then drops the
 * connection before the status, as a process killed at that moment does
 * (`socket`); or it ends the stream without a status (`stream`).
 */
async function dyingReplica(withMessage: boolean, close: 'socket' | 'stream') {
  const server: Http2Server = createServer();
  let calls = 0;
  server.on('stream', (stream: ServerHttp2Stream) => {
    calls++;
    stream.on('error', () => undefined);
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
    const drop = () =>
      setTimeout(() => {
        if (close === 'socket') stream.session?.socket.destroy();
        else stream.close(constants.NGHTTP2_NO_ERROR);
      }, 10);
    // field 1 (age) = 99, field 2 (type) = BRIE
    if (withMessage) stream.write(grpcFrame(Buffer.from([0x08, 99, 0x10, 0x01])), drop);
    else drop();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as { port: number }).port,
    calls: () => calls,
    close: () => server.close(),
  };
}

type OrderFn = (
  request: cheesefarm.CheeseRequest,
  metadata: Metadata,
  callback: (err: ServiceError | null, cheese?: cheesefarm.Cheese) => void,
) => void;

function order(client: Client, metadata = new Metadata()): Promise<cheesefarm.Cheese> {
  return new Promise((resolve, reject) =>
    (client as unknown as { order: OrderFn }).order(
      { type: cheesefarm.CheeseType.BRIE },
      metadata,
      (err, cheese) => (err ? reject(err) : resolve(cheese!)),
    ),
  );
}

describe.each([
  ['response headers, then its socket closes', false, 'socket'],
  ['response headers and message, then its socket closes', true, 'socket'],
  ['response headers and message, then ends the stream with no status', true, 'stream'],
] as const)('a replica that sends %s', (_what, withMessage, close) => {
  let dying: Awaited<ReturnType<typeof dyingReplica>>;
  const healthy = new Server();
  let healthyCalls = 0;
  const healthyRequestIds: unknown[] = [];
  let target: string;
  let channelOptions: ChannelOptions;

  beforeAll(async () => {
    dying = await dyingReplica(withMessage, close);
    const definition = loadServiceProto('cheese')[grpcServiceName('cheese')] as ServiceDefinition;
    healthy.addService(definition, {
      Order: (call: { metadata: Metadata }, callback: (e: null, c: cheesefarm.Cheese) => void) => {
        healthyCalls++;
        healthyRequestIds.push(call.metadata.get('x-request-id')[0]);
        callback(null, { type: cheesefarm.CheeseType.BRIE, age: 30 });
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      healthy.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    const { options } = grpcClientOptions('cheese', {
      url: `127.0.0.1:${dying.port},127.0.0.1:${port}`,
      maxMessageBytes: 1024 * 1024,
      unaryDeadlineMs: 5000,
    });
    target = options.url!;
    channelOptions = options.channelOptions!;
  });

  afterAll(() => {
    dying?.close();
    healthy.forceShutdown();
  });

  /** A client of both replicas, once it has reached each (round robin then alternates). */
  const connectedClient = async (options: ChannelOptions) => {
    const client = createGrpcClient('cheese', target, credentials.createInsecure(), options);
    const start = { dying: dying.calls(), healthy: healthyCalls };
    for (let i = 0; dying.calls() === start.dying || healthyCalls === start.healthy; i++) {
      if (i > 50) throw new Error('round robin never reached both replicas');
      await order(client).catch(() => undefined);
    }
    return client;
  };

  it('fails with the retry policy alone (the call was committed)', async () => {
    const { interceptors: _all, ...policyOnly } = channelOptions;
    const client = await connectedClient(policyOnly);
    try {
      const before = dying.calls();
      const errors: string[] = [];
      for (let i = 0; i < 10; i++) {
        await order(client).catch((err: Error) => errors.push(err.message));
      }
      expect(dying.calls()).toBeGreaterThan(before);
      expect(errors.length).toBeGreaterThan(0);
      // How grpc-js words it depends on which it sees first: the stream's end or the socket's.
      for (const error of errors) {
        expect(error).toMatch(/^(14 UNAVAILABLE|13 INTERNAL: .*Call ended without gRPC status)/);
      }
    } finally {
      client.close();
    }
  });

  it('is answered by the other replica with grpcClientOptions, never with the lost answer', async () => {
    const client = await connectedClient(channelOptions);
    try {
      const before = dying.calls();
      for (let i = 0; i < 10; i++) expect(await order(client)).toEqual({ type: 1, age: 30 });
      expect(dying.calls()).toBeGreaterThan(before);
    } finally {
      client.close();
    }
  });

  it("repeats the call with the caller's metadata", async () => {
    const client = await connectedClient(channelOptions);
    try {
      const before = { dying: dying.calls(), healthy: healthyRequestIds.length };
      for (let i = 0; i < 10; i++) {
        const metadata = new Metadata();
        metadata.set('x-request-id', `order-${i}`);
        expect(await order(client, metadata)).toEqual({ type: 1, age: 30 });
      }
      // Each order reached the healthy replica once, the repeats among them, with its own id.
      expect(dying.calls()).toBeGreaterThan(before.dying);
      expect(healthyRequestIds.slice(before.healthy)).toEqual(
        Array.from({ length: 10 }, (_, i) => `order-${i}`),
      );
    } finally {
      client.close();
    }
  });
});
