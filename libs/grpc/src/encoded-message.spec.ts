import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  credentials,
  makeGenericClientConstructor,
  Server,
  ServerCredentials,
  type ClientReadableStream,
  type ServerWritableStream,
  type ServiceDefinition,
} from '@grpc/grpc-js';
import type { PackageDefinition } from '@grpc/proto-loader';
import { EncodedMessage, GRPC_PREFIX_BYTES, passEncodedMessages } from './encoded-message.js';

/** Messages as raw bytes: what the client receives is what the server's message held. */
const service = () =>
  ({
    Frames: {
      path: '/test.Frames/Frames',
      requestStream: false,
      responseStream: true,
      requestSerialize: (b: Buffer) => b,
      requestDeserialize: (b: Buffer) => b,
      responseSerialize: (b: Buffer) => Buffer.concat([Buffer.from('encoded:'), b]),
      responseDeserialize: (b: Buffer) => b,
    },
  }) satisfies ServiceDefinition;

const FRAME_BYTES = 100_000; // over the client's 64 KiB window: writes wait for the reader
const FRAMES = 120;

/** Frame n: every byte n % 251, so a frame written over by a later one shows. */
const expected = (n: number) => Buffer.alloc(FRAME_BYTES, n % 251);

describe('EncodedMessage through a grpc-js server', () => {
  let server: Server;
  let client: InstanceType<ReturnType<typeof makeGenericClientConstructor>>;
  /** Buffers the server's pool ever allocated. */
  let allocated = 0;

  beforeAll(async () => {
    const pkg = { 'test.Frames': service() } as unknown as PackageDefinition;
    passEncodedMessages(pkg);
    const definition = pkg['test.Frames'] as ServiceDefinition;
    server = new Server();
    server.addService(definition, {
      Frames: (call: ServerWritableStream<Buffer, unknown>) => {
        const free: Buffer[] = [];
        void (async () => {
          for (let n = 0; n < FRAMES && !call.cancelled; n++) {
            const framed = free.pop() ?? (allocated++, Buffer.allocUnsafeSlow(5 + FRAME_BYTES));
            framed.fill(n % 251, GRPC_PREFIX_BYTES);
            call.write(new EncodedMessage(framed, () => free.push(framed)));
            if (call.writableNeedDrain) await once(call, 'drain');
          }
          call.end();
        })();
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    const Client = makeGenericClientConstructor(definition, 'Frames');
    client = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
  });

  afterAll(() => {
    client?.close();
    server?.forceShutdown();
  });

  it('sends each buffer as it is, and recycles it only once it is on the wire', async () => {
    const call = (
      client as unknown as { Frames(req: Buffer): ClientReadableStream<Buffer> }
    ).Frames(Buffer.alloc(0));
    const received: Buffer[] = [];
    // A slow reader: the server's writes wait on HTTP/2 flow control all along.
    call.on('data', (frame: Buffer) => {
      received.push(frame);
      call.pause();
      setTimeout(() => call.resume(), 2);
    });
    await once(call, 'end');
    expect(received).toHaveLength(FRAMES);
    const wrong = received.flatMap((frame, n) => (frame.equals(expected(n)) ? [] : [n]));
    expect(wrong).toEqual([]);
    // Recycled: a pool as deep as the frames in flight (the stream's 16 and the one written).
    expect(allocated).toBeLessThanOrEqual(18);
  });

  it("encodes any other value with the method's serializer", () => {
    const pkg = { 'test.Frames': service() } as unknown as PackageDefinition;
    passEncodedMessages(pkg);
    const serialize = (pkg['test.Frames'] as ServiceDefinition).Frames.responseSerialize;
    expect(serialize(Buffer.from('x')).toString()).toBe('encoded:x');
    const framed = Buffer.from([9, 9, 9, 9, 9, 1, 2, 3]);
    expect([...serialize(new EncodedMessage(framed))]).toEqual([1, 2, 3]);
    expect([...framed.subarray(0, GRPC_PREFIX_BYTES)]).toEqual([0, 0, 0, 0, 3]);
  });
});
