import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Metadata, status, type Client, type ServiceError } from '@grpc/grpc-js';
import { AppProcess, freePort } from '#launcher';
import { checkHealth, createGrpcClient, createHealthClient, type HealthClient } from '#grpc';
import { orderCheese } from '../apps/cheese-service/test/support/order-cheese.js';
import { mediaLeftovers, uploadTempFilesOnceThere } from './support/media-leftovers.js';
import {
  grpcFrame,
  rawGrpcCall,
  requestEncoder,
  tcpExchange,
  type RawGrpcAnswer,
  type RawGrpcRequest,
} from './support/raw-grpc.js';

/**
 * The bad-input suite, gRPC side (issue #4): each row sends cheese-service or
 * soccer-service one hostile call over raw HTTP/2, bytes a gRPC client never
 * sends, and asserts the exact answer: HTTP `:status`, `grpc-status` and a
 * part of `grpc-message`. The answers are grpc-js 1.14's (server.ts,
 * server-interceptors.ts, stream-decoder.ts) for what breaks the protocol,
 * the services' own for what breaks their contract. After every row both
 * services still answer health checks and good calls, nothing is left in
 * MEDIA_DIR, and they are the same processes as at the start.
 */

/** cheese-service's GRPC_MAX_MESSAGE_BYTES here: small, to reach it with a real message. */
const CHEESE_MAX_MESSAGE = 64 * 1024;
/** soccer-service keeps the default, 4 MiB. */
const SOCCER_MAX_MESSAGE = 4 * 1024 * 1024;

const ORDER = '/cheesefarm.CheeseService/Order';
const WATCH = '/stream.Soccer/Watch';
const UPLOAD = '/stream.Soccer/Upload';
const CHAT = '/stream.Soccer/Chat';
const LIST = '/stream.Soccer/ListMatches';

const encodeOrder = requestEncoder('cheese', 'Order');
const encodeMatch = requestEncoder('soccer', 'Watch');
const encodeChunk = requestEncoder('soccer', 'Upload');
const encodeChat = requestEncoder('soccer', 'Chat');

const BRIE = encodeOrder({ type: 1 });
/** Field 1 with wire type 7, which does not exist: no protobuf parser takes it. */
const GARBAGE = Buffer.from([0x0f, 0xde, 0xad, 0xbe, 0xef]);
/** Field 1, varint, cut in the middle of the varint. */
const CUT_VARINT = Buffer.from([0x08, 0xff]);

/**
 * `message` grown to exactly `size` bytes by an unknown length-delimited field
 * 15 (tag, varint length, zeros): valid protobuf, just too big.
 */
function paddedTo(message: Buffer, size: number): Buffer {
  for (let padding = size - message.length - 6; padding < size; padding++) {
    const length: number[] = [];
    for (let n = padding; ; n >>>= 7) {
      length.push(n < 0x80 ? n : (n & 0x7f) | 0x80);
      if (n < 0x80) break;
    }
    const grown = Buffer.concat([
      message,
      Buffer.from([(15 << 3) | 2, ...length]),
      Buffer.alloc(padding),
    ]);
    if (grown.length === size) return grown;
  }
  throw new Error(`cannot pad to ${size} bytes`);
}

type Service = 'cheese' | 'soccer';

/** soccer-service's MEDIA_DIR (set in beforeAll, read by rows as they run). */
let mediaDir: string;

/**
 * Mid-upload: the service is writing its temp file (so its removal is what
 * gets tested). It appears once the service has taken the first chunk.
 */
async function expectTempFile(): Promise<void> {
  expect(await uploadTempFilesOnceThere(mediaDir)).toHaveLength(1);
}

interface Expected {
  /** HTTP `:status`; undefined: no response headers at all. */
  httpStatus: number | undefined;
  /** `grpc-status`; undefined: none (not a gRPC answer). */
  grpcStatus: status | undefined;
  /** Part of `grpc-message`. */
  message?: string;
  /** RST_STREAM code the stream ended with; 0 (default) for a normal end. */
  rstCode?: number;
}

interface Row {
  name: string;
  service: Service;
  send: (port: number) => Promise<RawGrpcAnswer>;
  expect: Expected;
}

const call =
  (path: string, body: RawGrpcRequest['body'], more: Omit<RawGrpcRequest, 'path' | 'body'> = {}) =>
  (port: number) =>
    rawGrpcCall(port, { path, body, ...more });

const ROWS: Row[] = [
  // --- framing ---------------------------------------------------------------------------------
  {
    // The decoder keeps the 3 bytes waiting for 2 more; at end of stream no message
    // was ever complete, which grpc-js's unary handler answers with UNIMPLEMENTED.
    name: 'Order: truncated length prefix (3 of 5 bytes)',
    service: 'cheese',
    send: call(ORDER, [Buffer.from([0, 0, 0])]),
    expect: {
      httpStatus: 200,
      grpcStatus: status.UNIMPLEMENTED,
      message: 'Received no request message',
    },
  },
  {
    name: 'Order: length prefix says 100 bytes, 2 follow, then end of stream',
    service: 'cheese',
    send: call(ORDER, [grpcFrame(BRIE, { declaredLength: 100 })]),
    expect: {
      httpStatus: 200,
      grpcStatus: status.UNIMPLEMENTED,
      message: 'Received no request message',
    },
  },
  {
    // Refused from the prefix alone: the 1 GiB is never waited for nor buffered.
    name: 'Order: length prefix of 1 GiB, 2 bytes sent',
    service: 'cheese',
    send: call(ORDER, [grpcFrame(BRIE, { declaredLength: 2 ** 30 })], { finish: 'none' }),
    expect: {
      httpStatus: 200,
      grpcStatus: status.RESOURCE_EXHAUSTED,
      message: `Received message larger than max (1073741824 vs ${CHEESE_MAX_MESSAGE})`,
    },
  },
  {
    name: 'Order: a real message of GRPC_MAX_MESSAGE_BYTES + 1 (64 KiB + 1)',
    service: 'cheese',
    send: call(ORDER, [grpcFrame(paddedTo(BRIE, CHEESE_MAX_MESSAGE + 1))]),
    expect: {
      httpStatus: 200,
      grpcStatus: status.RESOURCE_EXHAUSTED,
      message: `Received message larger than max (${CHEESE_MAX_MESSAGE + 1} vs ${CHEESE_MAX_MESSAGE})`,
    },
  },
  {
    // The boundary of the row above: the limit itself is allowed.
    name: 'Order: a message of exactly GRPC_MAX_MESSAGE_BYTES (64 KiB) is served',
    service: 'cheese',
    send: call(ORDER, [grpcFrame(paddedTo(BRIE, CHEESE_MAX_MESSAGE))]),
    expect: { httpStatus: 200, grpcStatus: status.OK, message: 'OK' },
  },
  {
    name: 'Order: two request messages on a unary method',
    service: 'cheese',
    send: call(ORDER, [grpcFrame(BRIE), grpcFrame(BRIE)]),
    expect: {
      httpStatus: 200,
      grpcStatus: status.UNIMPLEMENTED,
      message: 'Received a second request message',
    },
  },
  {
    name: 'Order: no message at all (headers, then end of stream)',
    service: 'cheese',
    send: call(ORDER, []),
    expect: {
      httpStatus: 200,
      grpcStatus: status.UNIMPLEMENTED,
      message: 'Received no request message',
    },
  },
  // --- message bytes ---------------------------------------------------------------------------
  {
    name: 'Order: garbage protobuf (wire type 7)',
    service: 'cheese',
    send: call(ORDER, [grpcFrame(GARBAGE)]),
    expect: {
      httpStatus: 200,
      grpcStatus: status.INTERNAL,
      message: 'Error deserializing request',
    },
  },
  {
    name: 'Order: protobuf cut inside a varint',
    service: 'cheese',
    send: call(ORDER, [grpcFrame(CUT_VARINT)]),
    expect: {
      httpStatus: 200,
      grpcStatus: status.INTERNAL,
      message: 'Error deserializing request',
    },
  },
  {
    // Well-formed protobuf, but a type the service does not know: its own check.
    name: 'Order: cheese type 99 (not in the enum)',
    service: 'cheese',
    send: call(ORDER, [grpcFrame(encodeOrder({ type: 99 }))]),
    expect: {
      httpStatus: 200,
      grpcStatus: status.INVALID_ARGUMENT,
      message: 'unknown cheese type 99',
    },
  },
  {
    name: 'Order: cheese type -1 (a negative enum, 10 bytes of varint)',
    service: 'cheese',
    send: call(ORDER, [grpcFrame(encodeOrder({ type: -1 }))]),
    expect: {
      httpStatus: 200,
      grpcStatus: status.INVALID_ARGUMENT,
      message: 'unknown cheese type -1',
    },
  },
  // --- compression -----------------------------------------------------------------------------
  {
    // The spec calls a compressed flag without grpc-encoding a protocol error;
    // grpc-js 1.14 reads the message as "identity" (its default encoding), which here
    // it is. Harmless: the bytes are read as they are, nothing is inflated.
    name: 'Order: compressed flag set, no grpc-encoding',
    service: 'cheese',
    send: call(ORDER, [grpcFrame(BRIE, { flag: 1 })]),
    expect: { httpStatus: 200, grpcStatus: status.OK, message: 'OK' },
  },
  {
    name: 'Order: compressed flag, grpc-encoding gzip, bytes that are not gzip',
    service: 'cheese',
    send: call(ORDER, [grpcFrame(BRIE, { flag: 1 })], { headers: { 'grpc-encoding': 'gzip' } }),
    expect: {
      httpStatus: 200,
      grpcStatus: status.INTERNAL,
      message: 'Failed to decompress message',
    },
  },
  {
    name: 'Order: compressed flag, grpc-encoding "snappy" (not supported)',
    service: 'cheese',
    send: call(ORDER, [grpcFrame(BRIE, { flag: 1 })], { headers: { 'grpc-encoding': 'snappy' } }),
    expect: {
      httpStatus: 200,
      grpcStatus: status.UNIMPLEMENTED,
      message: 'Received message compressed with unsupported encoding "snappy"',
    },
  },
  {
    // 10 MiB of zeros gzip to ~10 KiB, under the limit; inflating stops at the limit.
    name: 'Order: gzip bomb (10 KiB inflating to 10 MiB)',
    service: 'cheese',
    send: call(ORDER, [grpcFrame(gzipSync(Buffer.alloc(10 * 1024 * 1024)), { flag: 1 })], {
      headers: { 'grpc-encoding': 'gzip' },
    }),
    expect: {
      httpStatus: 200,
      grpcStatus: status.RESOURCE_EXHAUSTED,
      message: `decompresses to a size larger than ${CHEESE_MAX_MESSAGE}`,
    },
  },
  // --- headers ---------------------------------------------------------------------------------
  {
    name: 'unknown method /cheesefarm.CheeseService/Steal',
    service: 'cheese',
    send: call('/cheesefarm.CheeseService/Steal', [grpcFrame(BRIE)]),
    expect: {
      httpStatus: 200,
      grpcStatus: status.UNIMPLEMENTED,
      message: 'does not implement the method /cheesefarm.CheeseService/Steal',
    },
  },
  {
    name: 'unknown service /cheesefarm.GoatService/Order',
    service: 'cheese',
    send: call('/cheesefarm.GoatService/Order', [grpcFrame(BRIE)]),
    expect: {
      httpStatus: 200,
      grpcStatus: status.UNIMPLEMENTED,
      message: 'does not implement the method /cheesefarm.GoatService/Order',
    },
  },
  {
    name: 'path traversal as the :path (/../../etc/passwd)',
    service: 'cheese',
    send: call('/../../etc/passwd', [grpcFrame(BRIE)]),
    expect: {
      httpStatus: 200,
      grpcStatus: status.UNIMPLEMENTED,
      message: 'does not implement the method /../../etc/passwd',
    },
  },
  {
    // grpc-js answers a non-gRPC content type with a bare HTTP 415: no grpc-status.
    name: 'content-type text/plain',
    service: 'cheese',
    send: call(ORDER, [grpcFrame(BRIE)], { headers: { 'content-type': 'text/plain' } }),
    expect: { httpStatus: 415, grpcStatus: undefined },
  },
  {
    name: 'no content-type',
    service: 'cheese',
    send: call(ORDER, [grpcFrame(BRIE)], { headers: { 'content-type': undefined } }),
    expect: { httpStatus: 415, grpcStatus: undefined },
  },
  {
    name: 'malformed grpc-timeout ("soon")',
    service: 'cheese',
    send: call(ORDER, [grpcFrame(BRIE)], { headers: { 'grpc-timeout': 'soon' } }),
    expect: {
      httpStatus: 200,
      grpcStatus: status.INTERNAL,
      message: 'Invalid grpc-timeout value "soon"',
    },
  },
  {
    name: 'grpc-timeout of 1 ns, the message sent 100 ms later',
    service: 'cheese',
    send: call(ORDER, [100, grpcFrame(BRIE)], { headers: { 'grpc-timeout': '1n' } }),
    expect: { httpStatus: 200, grpcStatus: status.DEADLINE_EXCEEDED, message: 'Deadline exceeded' },
  },
  {
    // grpc-js 1.14 checks neither :method nor te (only content-type): a GET with a
    // body, or a call without `te: trailers`, is served like any other.
    name: 'GET instead of POST',
    service: 'cheese',
    send: call(ORDER, [grpcFrame(BRIE)], { headers: { ':method': 'GET' } }),
    expect: { httpStatus: 200, grpcStatus: status.OK, message: 'OK' },
  },
  {
    name: 'no te: trailers header',
    service: 'cheese',
    send: call(ORDER, [grpcFrame(BRIE)], { headers: { te: undefined } }),
    expect: { httpStatus: 200, grpcStatus: status.OK, message: 'OK' },
  },
  {
    // Node's HTTP/2 header list limit (64 KiB) refuses the stream before grpc-js sees it.
    name: 'metadata of 70 KB',
    service: 'cheese',
    send: call(ORDER, [grpcFrame(BRIE)], { headers: { 'x-padding': 'a'.repeat(70_000) } }),
    expect: { httpStatus: undefined, grpcStatus: undefined, rstCode: 7 /* REFUSED_STREAM */ },
  },
  // --- soccer-service: streams -----------------------------------------------------------------
  {
    name: 'Watch: truncated length prefix (2 of 5 bytes)',
    service: 'soccer',
    send: call(WATCH, [Buffer.from([0, 0])]),
    expect: {
      httpStatus: 200,
      grpcStatus: status.UNIMPLEMENTED,
      message: 'Received no request message',
    },
  },
  {
    name: 'Watch: match id ../../etc/passwd',
    service: 'soccer',
    send: call(WATCH, [grpcFrame(encodeMatch({ id: '../../etc/passwd' }))]),
    expect: {
      httpStatus: 200,
      grpcStatus: status.INVALID_ARGUMENT,
      message: 'invalid match id "../../etc/passwd"',
    },
  },
  {
    name: 'Watch: match id with a NUL byte',
    service: 'soccer',
    send: call(WATCH, [grpcFrame(encodeMatch({ id: 'demo\u0000.mp4' }))]),
    expect: { httpStatus: 200, grpcStatus: status.INVALID_ARGUMENT, message: 'invalid match id' },
  },
  {
    name: 'ListMatches: garbage protobuf',
    service: 'soccer',
    send: call(LIST, [grpcFrame(GARBAGE)]),
    expect: {
      httpStatus: 200,
      grpcStatus: status.INTERNAL,
      message: 'Error deserializing request',
    },
  },
  {
    name: 'Upload: garbage as the first message',
    service: 'soccer',
    send: call(UPLOAD, [grpcFrame(GARBAGE)]),
    expect: {
      httpStatus: 200,
      grpcStatus: status.INTERNAL,
      message: 'Error deserializing request',
    },
  },
  {
    // The first chunk is accepted and written to the temp file; the garbage then
    // fails the call, and the temp file must go (checked after every row).
    name: 'Upload: a good 64 KiB chunk, then garbage',
    service: 'soccer',
    send: call(UPLOAD, [
      grpcFrame(encodeChunk({ id: 'bad-input', data: Buffer.alloc(64 * 1024, 1) })),
      expectTempFile,
      grpcFrame(GARBAGE),
    ]),
    expect: {
      httpStatus: 200,
      grpcStatus: status.INTERNAL,
      message: 'Error deserializing request',
    },
  },
  {
    name: 'Upload: a good chunk, then a length prefix over the limit',
    service: 'soccer',
    send: call(
      UPLOAD,
      [
        grpcFrame(encodeChunk({ id: 'bad-input', data: Buffer.alloc(1024, 1) })),
        expectTempFile,
        grpcFrame(GARBAGE, { declaredLength: SOCCER_MAX_MESSAGE + 1 }),
      ],
      { finish: 'none' },
    ),
    expect: {
      httpStatus: 200,
      grpcStatus: status.RESOURCE_EXHAUSTED,
      message: `Received message larger than max (${SOCCER_MAX_MESSAGE + 1} vs ${SOCCER_MAX_MESSAGE})`,
    },
  },
  {
    name: 'Upload: match id ../../etc/passwd',
    service: 'soccer',
    send: call(UPLOAD, [
      grpcFrame(encodeChunk({ id: '../../etc/passwd', data: Buffer.alloc(1024) })),
    ]),
    expect: {
      httpStatus: 200,
      grpcStatus: status.INVALID_ARGUMENT,
      message: 'invalid match id "../../etc/passwd"',
    },
  },
  {
    name: 'Upload: no message at all',
    service: 'soccer',
    send: call(UPLOAD, []),
    expect: { httpStatus: 200, grpcStatus: status.INVALID_ARGUMENT, message: 'empty upload' },
  },
  {
    // The client resets the stream mid-upload: no status comes back (the reset is
    // the client's own, CANCEL), and the temp file must go all the same.
    name: 'Upload: client resets the stream after 256 KiB',
    service: 'soccer',
    send: call(
      UPLOAD,
      [
        ...Array.from({ length: 4 }, (_, i) =>
          grpcFrame(
            encodeChunk({ id: i === 0 ? 'bad-input' : '', data: Buffer.alloc(64 * 1024, 2) }),
          ),
        ),
        expectTempFile,
      ],
      { finish: 'reset' },
    ),
    expect: { httpStatus: undefined, grpcStatus: undefined, rstCode: 8 /* CANCEL */ },
  },
  {
    name: 'Chat: garbage as the first message',
    service: 'soccer',
    send: call(CHAT, [grpcFrame(GARBAGE)]),
    expect: {
      httpStatus: 200,
      grpcStatus: status.INTERNAL,
      message: 'Error deserializing request',
    },
  },
  {
    name: 'Chat: a good join, then garbage',
    service: 'soccer',
    send: call(CHAT, [
      grpcFrame(encodeChat({ matchId: 'bad-input', user: 'mallory' })),
      100,
      grpcFrame(GARBAGE),
    ]),
    expect: {
      httpStatus: 200,
      grpcStatus: status.INTERNAL,
      message: 'Error deserializing request',
    },
  },
  {
    name: 'Chat: join room ../../etc/passwd',
    service: 'soccer',
    send: call(CHAT, [grpcFrame(encodeChat({ matchId: '../../etc/passwd', user: 'mallory' }))], {
      finish: 'none',
    }),
    expect: { httpStatus: 200, grpcStatus: status.INVALID_ARGUMENT, message: 'invalid match id' },
  },
  {
    name: 'Chat: user name with a newline (forged log lines)',
    service: 'soccer',
    send: call(
      CHAT,
      [grpcFrame(encodeChat({ matchId: 'bad-input', user: 'ana\nADMIN: all clear' }))],
      { finish: 'none' },
    ),
    expect: {
      httpStatus: 200,
      grpcStatus: status.INVALID_ARGUMENT,
      message: 'no control characters',
    },
  },
  {
    name: 'Chat: text of CHAT_MAX_TEXT + 1 characters',
    service: 'soccer',
    send: call(
      CHAT,
      [
        grpcFrame(encodeChat({ matchId: 'bad-input', user: 'mallory' })),
        100,
        grpcFrame(encodeChat({ text: 'x'.repeat(501) })),
      ],
      { finish: 'none' },
    ),
    expect: {
      httpStatus: 200,
      grpcStatus: status.INVALID_ARGUMENT,
      message: 'chat message too long: at most 500 characters',
    },
  },
];

interface Running {
  app: AppProcess;
  port: number;
  pid: number;
  health: HealthClient;
}

describe('bad input over raw HTTP/2 gRPC: exact status, services unharmed', () => {
  let cheese: Running;
  let soccer: Running;
  let cheeseClient: Client;
  let soccerClient: Client;

  async function start(name: 'cheese-service' | 'soccer-service', env: Record<string, string>) {
    const port = await freePort();
    const app = await AppProcess.start(name, { port, env: { LOG_LEVEL: 'warn', ...env } });
    const health = createHealthClient(`127.0.0.1:${port}`);
    return { app, port, pid: app.child.pid!, health };
  }

  beforeAll(async () => {
    mediaDir = await mkdtemp(join(tmpdir(), 'bad-grpc-media-'));
    [cheese, soccer] = await Promise.all([
      start('cheese-service', {
        CHEESE_GRPC_HOST: '127.0.0.1',
        GRPC_MAX_MESSAGE_BYTES: String(CHEESE_MAX_MESSAGE),
      }),
      start('soccer-service', { SOCCER_GRPC_HOST: '127.0.0.1', MEDIA_DIR: mediaDir }),
    ]);
    cheeseClient = createGrpcClient('cheese', `127.0.0.1:${cheese.port}`);
    soccerClient = createGrpcClient('soccer', `127.0.0.1:${soccer.port}`);
  });

  afterAll(async () => {
    for (const client of [cheeseClient, soccerClient, cheese?.health, soccer?.health]) {
      client?.close();
    }
    await Promise.all([cheese?.app.stop(), soccer?.app.stop()]);
    if (mediaDir) await rm(mediaDir, { recursive: true, force: true });
  });

  function listMatches(): Promise<{ matches: Array<{ id: string }> }> {
    const client = soccerClient as unknown as {
      listMatches(
        req: object,
        md: Metadata,
        opts: object,
        cb: (err: ServiceError | null, res?: { matches: Array<{ id: string }> }) => void,
      ): void;
    };
    return new Promise((resolve, reject) =>
      client.listMatches({}, new Metadata(), { deadline: Date.now() + 5000 }, (err, res) =>
        err ? reject(err) : resolve(res!),
      ),
    );
  }

  /** Both services answer health and a good call, nothing is left in MEDIA_DIR. */
  async function expectServicesHealthy(): Promise<void> {
    expect(await checkHealth(cheese.health, '')).toBe('SERVING');
    expect(await checkHealth(soccer.health, '')).toBe('SERVING');
    expect((await orderCheese(cheeseClient, 1)).type).toBe(1);
    expect((await listMatches()).matches.map((m) => m.id)).toContain('demo');
    expect(await mediaLeftovers(mediaDir)).toEqual([]);
    expect(cheese.app.exited || soccer.app.exited).toBe(false);
  }

  it('the services start healthy', expectServicesHealthy);

  it.each(ROWS.map((row) => [row.name, row] as const))('%s', async (_name, row) => {
    const port = row.service === 'cheese' ? cheese.port : soccer.port;
    const answer = await row.send(port);
    const { httpStatus, grpcStatus, message, rstCode = 0 } = row.expect;
    expect({
      httpStatus: answer.httpStatus,
      grpcStatus: answer.grpcStatus,
      rstCode: answer.rstCode,
    }).toEqual({ httpStatus, grpcStatus, rstCode });
    if (message !== undefined) expect(answer.grpcMessage).toContain(message);
    await expectServicesHealthy();
  });

  it('HTTP/1.1 on the gRPC port: the connection is closed, no HTTP/1 answer', async () => {
    const answer = await tcpExchange(
      cheese.port,
      Buffer.from('POST /cheesefarm.CheeseService/Order HTTP/1.1\r\nHost: x\r\n\r\n'),
    );
    expect(answer.closedByServer).toBe(true);
    expect(answer.bytes.toString('latin1')).not.toMatch(/^HTTP\//);
    await expectServicesHealthy();
  });

  it('the same processes answered every row', () => {
    expect(cheese.app.child.pid).toBe(cheese.pid);
    expect(soccer.app.child.pid).toBe(soccer.pid);
    expect(cheese.app.exited).toBe(false);
    expect(soccer.app.exited).toBe(false);
  });
});
