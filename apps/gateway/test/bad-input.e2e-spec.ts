import { mkdtemp, rm } from 'node:fs/promises';
import { get, request, type ClientRequest, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppProcess, freePort } from '#launcher';
import { mediaLeftovers, uploadTempFiles } from '../../../test/support/media-leftovers.js';
import { httpRequest, rawHttp, type HttpRequestOptions } from './support/hostile-http.js';
import { SseClient } from './support/sse-client.js';

/**
 * The bad-input suite, HTTP side (issue #4): each row sends the gateway one
 * hostile request and asserts the exact answer: HTTP status and, for an
 * error, the API's one error body `{code, status, message}` (nothing more,
 * nothing less). After every row both gateways answer /healthz and a good
 * order, the services answer through them, nothing is left in soccer-service's
 * MEDIA_DIR, and every process is the one started at the beginning.
 *
 * Two gateways in front of the same services:
 * - `main`: small body (32 KiB) and upload (1 MiB) limits, no rate limit, so
 *   that the rows see the input checks and nothing else;
 * - `guarded`: API keys, a rate limit of 5, 2 streams per address, short
 *   header (500 ms) and idle (1 s) timeouts and 4 KiB of headers: the HTTP
 *   hardening, each row from a loopback address of its own (127.0.x.y), so
 *   that per-address limits count only that row.
 */

const KiB = 1024;
const MiB = 1024 * KiB;
const BODY_LIMIT = 32 * KiB;
const UPLOAD_LIMIT = MiB;
const CHAT_MAX_TEXT = 500;

const API_KEY = 'bad-input-suite-key-0123456789';
const GUARDED = {
  GATEWAY_API_KEYS: API_KEY,
  GATEWAY_RATE_LIMIT: '5',
  GATEWAY_RATE_LIMIT_WINDOW_MS: '60000',
  GATEWAY_MAX_STREAMS_PER_IP: '2',
  GATEWAY_HEADERS_TIMEOUT_MS: '500',
  GATEWAY_IDLE_TIMEOUT_MS: '1000',
  GATEWAY_MAX_HEADER_BYTES: '4096',
};

/** What came back: an HTTP answer, or how the connection ended (raw rows). */
interface Answer {
  /** Undefined when no response came at all. */
  status?: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  closedByServer?: boolean;
  closedAfterMs?: number;
}

interface Expected {
  status: number | undefined;
  /**
   * The API error body: gRPC code, its name, (optionally) what the message
   * says, and the google.rpc details types of an error a service sent.
   */
  error?: { code: number; status: string; message?: RegExp; details?: string[] };
  /** A success body (subset). */
  json?: Record<string, unknown>;
  /** Headers the answer must carry. */
  headers?: Record<string, RegExp>;
  /** The server closes the connection, within `closedWithinMs` of its opening. */
  closedWithinMs?: number;
  /** ... but not before this long. */
  openForMs?: number;
}

interface Row {
  name: string;
  send: () => Promise<Answer>;
  expect: Expected;
}

const INVALID = (message?: RegExp) => ({ code: 3, status: 'INVALID_ARGUMENT', message });
const NOT_FOUND = (message?: RegExp) => ({ code: 5, status: 'NOT_FOUND', message });
const EXHAUSTED = (message?: RegExp) => ({ code: 8, status: 'RESOURCE_EXHAUSTED', message });
const UNAUTHENTICATED = (message?: RegExp) => ({ code: 16, status: 'UNAUTHENTICATED', message });

const JSON_TYPE = { 'content-type': 'application/json' };
const NOT_JSON = /not valid JSON/;
const TYPE_HINT = /^type must be one of EMMENTAL, BRIE, PECORINO, ROQUEFORT, CANASTRA/;
const BAD_ID = /^id must match \^\[A-Za-z0-9_-\]\{1,64\}\$$/;

/** Ports and paths, known once the apps run (rows read them when they run). */
let mainPort: number;
let guardedPort: number;
let mediaDir: string;

/** A loopback source address no row used before: per-address limits start from zero. */
let addressesUsed = 0;
function freshAddress(): string {
  const n = addressesUsed++;
  return `127.0.${Math.floor(n / 250)}.${(n % 250) + 2}`;
}

const main = (options: HttpRequestOptions) => () => httpRequest(mainPort, options);
const guarded = (options: HttpRequestOptions) => () =>
  httpRequest(guardedPort, { localAddress: freshAddress(), ...options });

const order = (body: string | Buffer, headers: Record<string, string> = JSON_TYPE) =>
  main({ method: 'POST', path: '/v1/cheese/orders', headers, body });
const watch = (query: string, id = 'demo') => main({ path: `/v1/matches/${id}/watch?${query}` });
const chatPost = (body: string, id = 'bad-input') =>
  main({ method: 'POST', path: `/v1/matches/${id}/chat`, headers: JSON_TYPE, body });
const upload = (id: string, body: string | Buffer, headers: Record<string, string>) =>
  main({ method: 'PUT', path: `/v1/matches/${id}/video`, headers, body });
/** Raw bytes to the main gateway: its answer, and whether (and when) it then hung up. */
const raw =
  (...parts: Array<string | Buffer | number>) =>
  () =>
    rawHttp(mainPort, parts, { untilClosed: true, waitMs: 3000 });

/** `levels` arrays, one inside the other, around nothing. */
const nestedArrays = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);
/** `levels` objects, one inside the other: {"a":{"a":...{}...}}. */
const nestedObjects = (levels: number) => '{"a":'.repeat(levels) + '{}' + '}'.repeat(levels);

/** A real chat session on the main gateway: its SSE stream and session id. */
async function joinChat(
  room: string,
  user: string,
): Promise<{ sse: SseClient; sessionId: string }> {
  const sse = await SseClient.open(
    `http://127.0.0.1:${mainPort}/v1/matches/${room}/chat?user=${user}`,
  );
  expect(sse.status).toBe(200);
  const joined = await sse.next();
  expect(joined?.event).toBe('joined');
  return { sse, sessionId: (JSON.parse(joined!.data) as { sessionId: string }).sessionId };
}

/** Opens a watch on the guarded gateway from `localAddress`: resolves with the response once its head is in. */
function openWatch(localAddress: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    get(
      {
        host: '127.0.0.1',
        port: guardedPort,
        path: '/v1/matches/live/watch?fps=1',
        localAddress,
        agent: false,
      },
      resolve,
    ).on('error', reject);
  });
}

/** Reads a whole response (an error answer). */
async function answerOf(res: IncomingMessage): Promise<Answer> {
  let body = '';
  res.setEncoding('utf8');
  for await (const chunk of res) body += chunk as string;
  return { status: res.statusCode, headers: res.headers, body };
}

const ROWS: Row[] = [
  // --- malformed JSON --------------------------------------------------------------------------
  {
    name: 'JSON cut off: {"type":',
    send: order('{"type":'),
    expect: { status: 400, error: INVALID(NOT_JSON) },
  },
  {
    name: 'JSON with a trailing comma',
    send: order('{"type":"BRIE",}'),
    expect: { status: 400, error: INVALID(NOT_JSON) },
  },
  {
    name: 'JSON body empty',
    send: order(''),
    expect: { status: 400, error: INVALID(/cannot be empty/) },
  },
  {
    name: 'JSON with a NUL byte between tokens',
    send: order('{"type":\u0000"BRIE"}'),
    expect: { status: 400, error: INVALID(NOT_JSON) },
  },
  { name: 'JSON null', send: order('null'), expect: { status: 400, error: INVALID(TYPE_HINT) } },
  {
    name: 'a JSON array instead of an object',
    send: order('[{"type":"BRIE"}]'),
    expect: { status: 400, error: INVALID(/^property 0 should not exist; type must be one of/) },
  },
  // --- deeply nested JSON: within the body limit, so the parser and validation see it ---------
  {
    // 20 KB, under the 32 KiB limit. A bad request, not a server error: validation
    // must not recurse 10,000 levels deep (a stack overflow is a 500).
    name: '10,000 nested arrays as the type',
    send: order(`{"type":${nestedArrays(10_000)}}`),
    expect: { status: 400, error: INVALID() },
  },
  {
    name: '5,000 nested objects in an unknown field',
    send: order(`{"type":"BRIE","x":${nestedObjects(5_000)}}`),
    expect: { status: 400, error: INVALID() },
  },
  // --- wrong content types ---------------------------------------------------------------------
  {
    name: 'order as text/plain',
    send: order('{"type":"BRIE"}', { 'content-type': 'text/plain' }),
    expect: { status: 415, error: INVALID(/Unsupported Media Type/) },
  },
  {
    name: 'order as multipart/form-data',
    send: order('--x\r\nContent-Disposition: form-data; name="type"\r\n\r\nBRIE\r\n--x--\r\n', {
      'content-type': 'multipart/form-data; boundary=x',
    }),
    expect: { status: 415, error: INVALID(/Unsupported Media Type/) },
  },
  {
    name: 'order as application/x-www-form-urlencoded',
    send: order('type=BRIE', { 'content-type': 'application/x-www-form-urlencoded' }),
    expect: { status: 415, error: INVALID(/Unsupported Media Type/) },
  },
  {
    name: 'order with no content-type',
    send: order('{"type":"BRIE"}', {}),
    expect: { status: 415, error: INVALID(/Unsupported Media Type/) },
  },
  {
    name: 'upload as text/plain',
    send: upload('x1', 'abc', { 'content-type': 'text/plain' }),
    expect: { status: 415, error: INVALID(/Unsupported Media Type/) },
  },
  {
    name: 'upload as multipart/form-data',
    send: upload('x1', '--x\r\n\r\nabc\r\n--x--\r\n', {
      'content-type': 'multipart/form-data; boundary=x',
    }),
    expect: { status: 415, error: INVALID(/Unsupported Media Type/) },
  },
  {
    name: 'upload with no content-type',
    send: upload('x1', 'abc', {}),
    expect: { status: 415, error: INVALID(/Unsupported Media Type/) },
  },
  {
    // docs/matches-api.md: octet-stream or video/mp4, "any other type is 415".
    name: 'upload as application/json',
    send: upload('x1', '{"video":"yes"}', JSON_TYPE),
    expect: { status: 415, error: INVALID(/Unsupported Media Type/) },
  },
  // --- invalid UTF-8 ---------------------------------------------------------------------------
  {
    // Decoded with U+FFFD replacements: a type name nobody knows.
    name: 'invalid UTF-8 inside a JSON string',
    send: order(
      Buffer.concat([Buffer.from('{"type":"BR'), Buffer.from([0xff, 0xfe]), Buffer.from('IE"}')]),
    ),
    expect: { status: 400, error: INVALID(TYPE_HINT) },
  },
  {
    name: 'invalid UTF-8 between JSON tokens',
    send: order(
      Buffer.concat([Buffer.from('{"type":'), Buffer.from([0xc3, 0x28]), Buffer.from('}')]),
    ),
    expect: { status: 400, error: INVALID(NOT_JSON) },
  },
  {
    name: 'id percent-encoding invalid UTF-8 (%ff%fe)',
    send: main({ path: '/v1/matches/%ff%fe/watch' }),
    expect: { status: 400, error: INVALID() },
  },
  {
    name: 'id with a broken percent escape (%zz)',
    send: main({ path: '/v1/matches/a%zz/watch' }),
    expect: { status: 400, error: INVALID() },
  },
  {
    name: 'query value of invalid UTF-8 (encoding=%ff)',
    send: watch('encoding=%ff'),
    expect: { status: 400, error: INVALID(/^encoding must be jpeg or raw$/) },
  },
  {
    // Node's HTTP parser refuses the request line before any route runs.
    name: 'raw bytes 0xff 0xfe in the request line',
    send: raw(
      Buffer.concat([
        Buffer.from('GET /v1/matches/'),
        Buffer.from([0xff, 0xfe]),
        Buffer.from('/watch HTTP/1.1\r\nHost: x\r\n\r\n'),
      ]),
    ),
    expect: { status: 400, error: INVALID(), closedWithinMs: 2000 },
  },
  // --- path traversal and ids ------------------------------------------------------------------
  {
    name: 'id ..%2F..%2Fetc%2Fpasswd',
    send: main({ path: '/v1/matches/..%2F..%2Fetc%2Fpasswd/watch' }),
    expect: { status: 400, error: INVALID(BAD_ID) },
  },
  {
    name: 'id %2e%2e',
    send: main({ path: '/v1/matches/%2e%2e/watch' }),
    expect: { status: 400, error: INVALID(BAD_ID) },
  },
  {
    name: 'id with backslashes ..%5C..%5Cwindows%5Cwin.ini',
    send: main({ path: '/v1/matches/..%5C..%5Cwindows%5Cwin.ini/watch' }),
    expect: { status: 400, error: INVALID(BAD_ID) },
  },
  {
    name: 'id with a NUL byte (demo%00.mp4)',
    send: main({ path: '/v1/matches/demo%00.mp4/watch' }),
    expect: { status: 400, error: INVALID(BAD_ID) },
  },
  {
    // Dot segments are not resolved by the router: no route has this shape.
    name: 'literal /v1/matches/../../etc/passwd',
    send: main({ path: '/v1/matches/../../etc/passwd' }),
    expect: {
      status: 404,
      error: NOT_FOUND(/^Cannot GET \/v1\/matches\/\.\.\/\.\.\/etc\/passwd$/),
    },
  },
  {
    name: 'upload to id ..%2Fdemo',
    send: upload('..%2Fdemo', 'abc', { 'content-type': 'video/mp4' }),
    expect: { status: 400, error: INVALID(BAD_ID) },
  },
  {
    name: 'chat to id ..%2F..%2Fetc',
    send: chatPost('{"sessionId":"x","text":"hi"}', '..%2F..%2Fetc'),
    expect: { status: 400, error: INVALID(BAD_ID) },
  },
  {
    name: 'id of 65 characters',
    send: main({ path: `/v1/matches/${'a'.repeat(65)}/watch` }),
    expect: { status: 400, error: INVALID(BAD_ID) },
  },
  {
    // Over the router's own parameter limit (100): refused before validation,
    // still with the API's body.
    name: 'id of 5,000 characters',
    send: main({ path: `/v1/matches/${'a'.repeat(5000)}/watch` }),
    expect: { status: 414, error: INVALID() },
  },
  // --- query numbers ---------------------------------------------------------------------------
  {
    name: 'fps=-1',
    send: watch('fps=-1'),
    expect: { status: 400, error: INVALID(/^fps must be an integer number$/) },
  },
  {
    name: 'fps=NaN',
    send: watch('fps=NaN'),
    expect: { status: 400, error: INVALID(/^fps must be an integer number$/) },
  },
  {
    name: 'fps=99999999999999999999',
    send: watch('fps=99999999999999999999'),
    expect: { status: 400, error: INVALID(/^fps must be an integer number$/) },
  },
  {
    name: 'fps=1.5',
    send: watch('fps=1.5'),
    expect: { status: 400, error: INVALID(/^fps must be an integer number$/) },
  },
  {
    name: 'fps=0x10',
    send: watch('fps=0x10'),
    expect: { status: 400, error: INVALID(/^fps must be an integer number$/) },
  },
  {
    name: 'fps=1e2',
    send: watch('fps=1e2'),
    expect: { status: 400, error: INVALID(/^fps must be an integer number$/) },
  },
  {
    name: 'fps=121',
    send: watch('fps=121'),
    expect: { status: 400, error: INVALID(/^fps must not be greater than 120$/) },
  },
  {
    name: 'fps=1&fps=2 (repeated)',
    send: watch('fps=1&fps=2'),
    expect: { status: 400, error: INVALID(/^fps must be an integer number$/) },
  },
  {
    name: 'maxFrames=-5',
    send: watch('maxFrames=-5'),
    expect: { status: 400, error: INVALID(/^maxFrames must be an integer number$/) },
  },
  {
    name: 'maxFrames=1000001',
    send: watch('maxFrames=1000001'),
    expect: { status: 400, error: INVALID(/^maxFrames must not be greater than 1000000$/) },
  },
  {
    name: 'quality=0',
    send: watch('quality=0'),
    expect: { status: 400, error: INVALID(/^quality must not be less than 1$/) },
  },
  {
    name: 'quality=Infinity',
    send: watch('quality=Infinity'),
    expect: { status: 400, error: INVALID(/^quality must be an integer number$/) },
  },
  {
    name: 'stream.mjpeg fps=-1',
    send: main({ path: '/v1/matches/demo/stream.mjpeg?fps=-1' }),
    expect: { status: 400, error: INVALID(/^fps must be an integer number$/) },
  },
  {
    name: 'unknown query parameter',
    send: watch('maxFrames=1&bogus=1'),
    expect: { status: 400, error: INVALID(/^property bogus should not exist$/) },
  },
  {
    // docs/matches-api.md: "a parameter the route does not know is a 400".
    // (maxFrames=1: were it served, the answer would at least end soon.)
    name: 'query __proto__[polluted]=1',
    send: watch('maxFrames=1&__proto__[polluted]=1'),
    expect: { status: 400, error: INVALID(/__proto__/) },
  },
  {
    name: 'query constructor[prototype][polluted]=1',
    send: watch('maxFrames=1&constructor[prototype][polluted]=1'),
    expect: { status: 400, error: INVALID(/constructor/) },
  },
  // --- unknown routes and methods --------------------------------------------------------------
  {
    name: 'GET /nope',
    send: main({ path: '/nope' }),
    expect: { status: 404, error: NOT_FOUND(/^Cannot GET \/nope$/) },
  },
  // Fastify answers a known path with another method 404 (not 405): no route matches.
  {
    name: 'GET on the POST-only /v1/cheese/orders',
    send: main({ path: '/v1/cheese/orders' }),
    expect: { status: 404, error: NOT_FOUND(/^Cannot GET \/v1\/cheese\/orders$/) },
  },
  {
    name: 'DELETE /v1/cheese/orders',
    send: main({ method: 'DELETE', path: '/v1/cheese/orders' }),
    expect: { status: 404, error: NOT_FOUND(/^Cannot DELETE/) },
  },
  {
    name: 'PATCH /v1/matches',
    send: main({ method: 'PATCH', path: '/v1/matches' }),
    expect: { status: 404, error: NOT_FOUND(/^Cannot PATCH/) },
  },
  {
    name: 'PROPFIND /v1/cheeses (WebDAV)',
    send: main({ method: 'PROPFIND', path: '/v1/cheeses' }),
    expect: { status: 404, error: NOT_FOUND(/^Cannot PROPFIND/) },
  },
  {
    name: 'BREW, not an HTTP method',
    send: raw('BREW /v1/cheeses HTTP/1.1\r\nHost: x\r\n\r\n'),
    expect: { status: 400, error: INVALID(), closedWithinMs: 2000 },
  },
  {
    name: 'a header name with a control character',
    send: raw('GET /v1/cheeses HTTP/1.1\r\nHost: x\r\nX-A\u0001: b\r\n\r\n'),
    expect: { status: 400, error: INVALID(), closedWithinMs: 2000 },
  },
  {
    // Request smuggling: both lengths at once is refused outright (RFC 9112 6.1).
    name: 'Content-Length and Transfer-Encoding together',
    send: raw(
      'POST /v1/cheese/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 15\r\nTransfer-Encoding: chunked\r\n\r\nf\r\n{"type":"BRIE"}\r\n0\r\n\r\n',
    ),
    expect: { status: 400, error: INVALID(), closedWithinMs: 2000 },
  },
  // --- oversized -------------------------------------------------------------------------------
  {
    name: 'a 20 KiB header (over the default GATEWAY_MAX_HEADER_BYTES, 16 KiB)',
    send: raw(`GET /v1/cheeses HTTP/1.1\r\nHost: x\r\nX-Padding: ${'a'.repeat(20 * KiB)}\r\n\r\n`),
    expect: {
      status: 431,
      error: EXHAUSTED(/^request headers over 16384 bytes$/),
      closedWithinMs: 2000,
    },
  },
  {
    name: 'guarded: a 6 KiB header (over GATEWAY_MAX_HEADER_BYTES=4096)',
    send: guarded({ path: '/v1/cheeses', headers: { 'x-padding': 'a'.repeat(6 * KiB) } }),
    expect: { status: 431, error: EXHAUSTED(/^request headers over 4096 bytes$/) },
  },
  {
    name: 'JSON body of 40 KB (over GATEWAY_BODY_LIMIT_BYTES=32768)',
    send: order(`{"type":"BRIE","pad":"${'x'.repeat(40_000)}"}`),
    expect: { status: 413, error: EXHAUSTED(/^Request body is too large$/) },
  },
  {
    // Refused from the header alone: the gateway does not wait for 1 GB.
    name: 'Content-Length of 1 GB on a JSON route, no body sent',
    send: () =>
      rawHttp(mainPort, [
        'POST /v1/cheese/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n',
      ]),
    expect: { status: 413, error: EXHAUSTED(/^Request body is too large$/) },
  },
  {
    // Refused at once, from the header: the rest of the body is never waited for.
    name: 'upload Content-Length of 2 MiB (over GATEWAY_MAX_UPLOAD_BYTES=1 MiB), 64 KiB sent',
    send: raw(
      `PUT /v1/matches/too-big/video HTTP/1.1\r\nHost: x\r\nContent-Type: video/mp4\r\nContent-Length: ${2 * MiB}\r\n\r\n`,
      Buffer.alloc(64 * KiB),
    ),
    expect: {
      status: 413,
      error: EXHAUSTED(/^upload of 2097152 bytes is over the limit of 1048576 bytes$/),
      headers: { connection: /^close$/ },
      closedWithinMs: 2000,
    },
  },
  {
    // No Content-Length: refused as the body passes the limit (17 chunks of 64 KiB),
    // while the client is still sending; the call to soccer-service is cancelled.
    name: 'chunked upload that passes GATEWAY_MAX_UPLOAD_BYTES',
    send: raw(
      'PUT /v1/matches/too-big/video HTTP/1.1\r\nHost: x\r\nContent-Type: video/mp4\r\nTransfer-Encoding: chunked\r\n\r\n',
      ...Array.from({ length: 17 }, () =>
        Buffer.concat([
          Buffer.from(`${(64 * KiB).toString(16)}\r\n`),
          Buffer.alloc(64 * KiB),
          Buffer.from('\r\n'),
        ]),
      ),
    ),
    expect: { status: 413, error: EXHAUSTED(/more than 1048576 bytes/), closedWithinMs: 3000 },
  },
  // --- prototype poisoning, duplicate and unknown fields ---------------------------------------
  {
    name: 'body with "__proto__"',
    send: order('{"type":"BRIE","__proto__":{"polluted":true}}'),
    expect: { status: 400, error: INVALID(NOT_JSON) },
  },
  {
    name: 'body with "constructor":{"prototype":...}',
    send: order('{"type":"BRIE","constructor":{"prototype":{"polluted":true}}}'),
    expect: { status: 400, error: INVALID(NOT_JSON) },
  },
  {
    name: 'chat body with "__proto__"',
    send: chatPost('{"sessionId":"x","text":"hi","__proto__":{"isAdmin":true}}'),
    expect: { status: 400, error: INVALID(NOT_JSON) },
  },
  {
    name: 'type "__proto__"',
    send: order('{"type":"__proto__"}'),
    expect: { status: 400, error: INVALID(TYPE_HINT) },
  },
  {
    name: 'type "toString" (an Object.prototype name)',
    send: order('{"type":"toString"}'),
    expect: { status: 400, error: INVALID(TYPE_HINT) },
  },
  {
    // JSON.parse semantics (RFC 8259 leaves duplicates to the parser): the last wins,
    // and validation sees only that one.
    name: 'duplicate field: "type":"BRIE","type":"PECORINO"',
    send: order('{"type":"BRIE","type":"PECORINO"}'),
    expect: { status: 200, json: { type: 'PECORINO' } },
  },
  {
    name: 'unknown field',
    send: order('{"type":"BRIE","extra":1}'),
    expect: { status: 400, error: INVALID(/^property extra should not exist$/) },
  },
  // --- cheese types ----------------------------------------------------------------------------
  {
    name: 'type true',
    send: order('{"type":true}'),
    expect: { status: 400, error: INVALID(TYPE_HINT) },
  },
  {
    name: 'type "GOUDA"',
    send: order('{"type":"GOUDA"}'),
    expect: { status: 400, error: INVALID(TYPE_HINT) },
  },
  {
    // A number passes the gateway; cheese-service, which owns the list, refuses it.
    name: 'type 42 (refused by cheese-service)',
    send: order('{"type":42}'),
    expect: {
      status: 400,
      error: {
        ...INVALID(/^unknown cheese type 42; valid types: EMMENTAL \(0\)/),
        details: ['google.rpc.ErrorInfo', 'google.rpc.BadRequest'],
      },
    },
  },
  {
    name: 'type -1',
    send: order('{"type":-1}'),
    expect: { status: 400, error: INVALID(TYPE_HINT) },
  },
  {
    name: 'type 2147483648 (over int32)',
    send: order('{"type":2147483648}'),
    expect: { status: 400, error: INVALID(TYPE_HINT) },
  },
  {
    name: 'type 1e400 (Infinity)',
    send: order('{"type":1e400}'),
    expect: { status: 400, error: INVALID(TYPE_HINT) },
  },
  // --- chat ------------------------------------------------------------------------------------
  {
    name: 'chat: unknown session',
    send: chatPost('{"sessionId":"no-such-session","text":"hi"}'),
    expect: {
      status: 404,
      error: NOT_FOUND(/^no chat session no-such-session in match bad-input$/),
    },
  },
  {
    name: 'chat: empty text',
    send: chatPost('{"sessionId":"x","text":""}'),
    expect: { status: 400, error: INVALID(/^text should not be empty$/) },
  },
  {
    name: 'chat: text not a string',
    send: chatPost('{"sessionId":"x","text":123}'),
    expect: { status: 400, error: INVALID(/^text must be a string$/) },
  },
  {
    name: 'chat: no sessionId',
    send: chatPost('{"text":"hi"}'),
    expect: { status: 400, error: INVALID(/^sessionId must be a string$/) },
  },
  {
    name: 'chat: sessionId of 65 characters',
    send: chatPost(`{"sessionId":"${'s'.repeat(65)}","text":"hi"}`),
    expect: {
      status: 400,
      error: INVALID(/^sessionId must be shorter than or equal to 64 characters$/),
    },
  },
  {
    name: 'chat: text of GATEWAY_CHAT_MAX_TEXT + 1 characters, in a real session',
    send: async () => {
      const { sse, sessionId } = await joinChat('bad-input', 'mallory');
      try {
        return await chatPost(JSON.stringify({ sessionId, text: 'x'.repeat(CHAT_MAX_TEXT + 1) }))();
      } finally {
        sse.close();
      }
    },
    expect: { status: 400, error: INVALID(/^text is too long: at most 500 characters$/) },
  },
  {
    name: 'chat join: empty user',
    send: main({ path: '/v1/matches/bad-input/chat?user=' }),
    expect: { status: 400, error: INVALID(/^user should not be empty$/) },
  },
  {
    name: 'chat join: no user',
    send: main({ path: '/v1/matches/bad-input/chat' }),
    expect: { status: 400, error: INVALID(/^user must be a string$/) },
  },
  {
    // The gateway passes the name on; soccer-service refuses control characters.
    name: 'chat join: user with a newline (forged log lines)',
    send: main({ path: '/v1/matches/bad-input/chat?user=ana%0AADMIN' }),
    expect: { status: 400, error: INVALID(/no control characters/) },
  },
  // --- uploads ---------------------------------------------------------------------------------
  {
    name: 'upload: not a video',
    send: upload('not-a-video', Buffer.alloc(64 * KiB, 7), { 'content-type': 'video/mp4' }),
    expect: { status: 400, error: INVALID(/^upload not-a-video is not a video ffprobe can read/) },
  },
  {
    name: 'upload: empty body',
    send: upload('empty', '', { 'content-type': 'video/mp4' }),
    expect: { status: 400, error: INVALID(/^empty upload$/) },
  },
  {
    name: 'upload: overwrite=1',
    send: main({
      method: 'PUT',
      path: '/v1/matches/x1/video?overwrite=1',
      headers: { 'content-type': 'video/mp4' },
      body: 'abc',
    }),
    expect: { status: 400, error: INVALID(/^overwrite must be true or false$/) },
  },
  {
    name: 'upload: overwrite the built-in match demo',
    send: main({
      method: 'PUT',
      path: '/v1/matches/demo/video?overwrite=true',
      headers: { 'content-type': 'video/mp4' },
      body: Buffer.alloc(KiB),
    }),
    expect: {
      status: 409,
      error: {
        code: 6,
        status: 'ALREADY_EXISTS',
        message: /^match demo is built in and cannot be replaced$/,
      },
    },
  },
  {
    // No answer (the client is gone); what matters is checked after every row:
    // the service's temp file is removed, the processes serve on.
    name: 'upload: the client disconnects after 512 KiB of 900 KiB',
    send: async () => {
      const req: ClientRequest = request({
        host: '127.0.0.1',
        port: mainPort,
        method: 'PUT',
        path: '/v1/matches/cut-off/video',
        headers: { 'content-type': 'video/mp4', 'content-length': 900 * KiB },
        agent: false,
      });
      req.on('error', () => undefined);
      req.write(Buffer.alloc(512 * KiB, 3));
      const deadline = Date.now() + 5000;
      while ((await uploadTempFiles(mediaDir)).length === 0 && Date.now() < deadline)
        await sleep(20);
      // The service is writing the temp file: its removal is what this row tests.
      expect(await uploadTempFiles(mediaDir)).toHaveLength(1);
      req.destroy();
      return { headers: {}, body: '' };
    },
    expect: { status: undefined },
  },
  // --- slow and idle clients (guarded: 500 ms for the head, 1 s idle) --------------------------
  {
    // A header line every 150 ms keeps the connection busy (no idle timeout),
    // but the head is not complete after 500 ms: 408, then closed.
    name: 'guarded: slow-loris, headers trickled for 3 s',
    send: () =>
      rawHttp(
        guardedPort,
        [
          'GET /v1/cheeses HTTP/1.1\r\nHost: x\r\n',
          ...Array.from({ length: 20 }, (_, i) => [150, `X-Slow-${i}: ${i}\r\n`]).flat(),
          '\r\n',
        ],
        { localAddress: freshAddress(), untilClosed: true, waitMs: 4000 },
      ),
    expect: { status: 408, error: { code: 4, status: 'DEADLINE_EXCEEDED' }, closedWithinMs: 1500 },
  },
  {
    name: 'guarded: a connection that never sends a byte',
    send: () =>
      rawHttp(guardedPort, [], { localAddress: freshAddress(), untilClosed: true, waitMs: 4000 }),
    expect: { status: 408, error: { code: 4, status: 'DEADLINE_EXCEEDED' }, closedWithinMs: 1500 },
  },
  {
    // One good request, then nothing: the keep-alive connection is closed after
    // GATEWAY_IDLE_TIMEOUT_MS (1 s), not held open. Node 24 adds its
    // keepAliveTimeoutBuffer (1 s) to the keep-alive timeout: closed after ~2 s.
    name: 'guarded: a keep-alive connection left idle after one request',
    send: () =>
      rawHttp(guardedPort, ['GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'], {
        localAddress: freshAddress(),
        untilClosed: true,
        waitMs: 5000,
      }),
    expect: { status: 200, closedWithinMs: 3500, openForMs: 1000 },
  },
  // --- authentication and limits (guarded) -----------------------------------------------------
  {
    name: 'guarded: upload with no API key',
    send: guarded({
      method: 'PUT',
      path: '/v1/matches/x1/video',
      headers: { 'content-type': 'video/mp4' },
      body: Buffer.alloc(KiB),
    }),
    expect: {
      status: 401,
      error: UNAUTHENTICATED(/^missing API key/),
      headers: { 'www-authenticate': /^Bearer/ },
    },
  },
  {
    name: 'guarded: upload with a wrong x-api-key',
    send: guarded({
      method: 'PUT',
      path: '/v1/matches/x1/video',
      headers: { 'content-type': 'video/mp4', 'x-api-key': `${API_KEY}x` },
      body: Buffer.alloc(KiB),
    }),
    expect: {
      status: 401,
      error: UNAUTHENTICATED(/^invalid API key$/),
      headers: { 'www-authenticate': /^Bearer/ },
    },
  },
  {
    name: 'guarded: chat with a wrong bearer token',
    send: guarded({
      method: 'POST',
      path: '/v1/matches/bad-input/chat',
      headers: { ...JSON_TYPE, authorization: 'Bearer not-the-key-0123456789' },
      body: '{"sessionId":"x","text":"hi"}',
    }),
    expect: {
      status: 401,
      error: UNAUTHENTICATED(/^invalid API key$/),
      headers: { 'www-authenticate': /^Bearer/ },
    },
  },
  {
    name: 'guarded: chat with the key as Basic credentials',
    send: guarded({
      method: 'POST',
      path: '/v1/matches/bad-input/chat',
      headers: {
        ...JSON_TYPE,
        authorization: `Basic ${Buffer.from(`u:${API_KEY}`).toString('base64')}`,
      },
      body: '{"sessionId":"x","text":"hi"}',
    }),
    expect: {
      status: 401,
      error: UNAUTHENTICATED(/^missing API key/),
      headers: { 'www-authenticate': /^Bearer/ },
    },
  },
  {
    name: 'guarded: the 6th request within the window (GATEWAY_RATE_LIMIT=5)',
    send: async () => {
      const localAddress = freshAddress();
      for (let i = 0; i < 5; i++) {
        expect((await httpRequest(guardedPort, { path: '/v1/cheeses', localAddress })).status).toBe(
          200,
        );
      }
      return httpRequest(guardedPort, { path: '/v1/cheeses', localAddress });
    },
    expect: {
      status: 429,
      error: EXHAUSTED(/^too many requests from this address/),
      headers: { 'retry-after': /^\d+$/ },
    },
  },
  {
    name: 'guarded: a 3rd open stream from one address (GATEWAY_MAX_STREAMS_PER_IP=2)',
    send: async () => {
      const localAddress = freshAddress();
      const open = [await openWatch(localAddress), await openWatch(localAddress)];
      try {
        expect(open.map((res) => res.statusCode)).toEqual([200, 200]);
        return await answerOf(await openWatch(localAddress));
      } finally {
        for (const res of open) res.destroy();
      }
    },
    expect: {
      status: 429,
      error: EXHAUSTED(/^too many open streams from this address$/),
      headers: { 'retry-after': /^1$/ },
    },
  },
];

function parsed(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}

describe('bad input over HTTP: exact answers, the gateway and services unharmed', () => {
  let cheese: AppProcess;
  let soccer: AppProcess;
  let mainGateway: AppProcess;
  let guardedGateway: AppProcess;
  let pids: number[];

  beforeAll(async () => {
    mediaDir = await mkdtemp(join(tmpdir(), 'bad-http-media-'));
    const [cheesePort, soccerPort] = await Promise.all([freePort(), freePort()]);
    [mainPort, guardedPort] = await Promise.all([freePort(), freePort()]);
    [cheese, soccer] = await Promise.all([
      AppProcess.start('cheese-service', {
        port: cheesePort,
        env: { CHEESE_GRPC_HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
      }),
      AppProcess.start('soccer-service', {
        port: soccerPort,
        env: { SOCCER_GRPC_HOST: '127.0.0.1', MEDIA_DIR: mediaDir, LOG_LEVEL: 'warn' },
      }),
    ]);
    const gatewayEnv = {
      GATEWAY_HTTP_HOST: '127.0.0.1',
      CHEESE_GRPC_URL: `127.0.0.1:${cheesePort}`,
      SOCCER_GRPC_URL: `127.0.0.1:${soccerPort}`,
      GATEWAY_BODY_LIMIT_BYTES: String(BODY_LIMIT),
      GATEWAY_MAX_UPLOAD_BYTES: String(UPLOAD_LIMIT),
      GATEWAY_CHAT_MAX_TEXT: String(CHAT_MAX_TEXT),
      LOG_LEVEL: 'warn',
    };
    [mainGateway, guardedGateway] = await Promise.all([
      // No rate limit here: ~500 requests from one address in a minute are the suite's own.
      AppProcess.start('gateway', {
        port: mainPort,
        env: { ...gatewayEnv, GATEWAY_RATE_LIMIT: '0' },
      }),
      AppProcess.start('gateway', { port: guardedPort, env: { ...gatewayEnv, ...GUARDED } }),
    ]);
    pids = [cheese, soccer, mainGateway, guardedGateway].map((app) => app.child.pid!);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([mainGateway?.stop(), guardedGateway?.stop()]);
    await Promise.all([cheese?.stop(), soccer?.stop()]);
    if (mediaDir) await rm(mediaDir, { recursive: true, force: true });
  });

  /** Both gateways live, a good order and the match list through each, nothing left behind. */
  async function expectAllHealthy(): Promise<void> {
    for (const [port, localAddress] of [
      [mainPort, undefined],
      [guardedPort, freshAddress()],
    ] as const) {
      const health = await httpRequest(port, { path: '/healthz', localAddress });
      expect(health.status, `${port} /healthz`).toBe(200);
      const good = await httpRequest(port, {
        method: 'POST',
        path: '/v1/cheese/orders',
        headers: JSON_TYPE,
        body: '{"type":"BRIE"}',
        localAddress,
      });
      expect({ status: good.status, body: parsed(good.body) }).toMatchObject({
        status: 200,
        body: { type: 'BRIE' },
      });
    }
    const list = await httpRequest(mainPort, { path: '/v1/matches' });
    expect(list.status).toBe(200);
    expect(await mediaLeftovers(mediaDir)).toEqual([]);
    for (const app of [cheese, soccer, mainGateway, guardedGateway]) {
      expect(app.exited, `${app.name} exited`).toBe(false);
    }
  }

  it('everything starts healthy', expectAllHealthy);

  it.each(ROWS.map((row) => [row.name, row] as const))('%s', async (_name, row) => {
    const answer = await row.send();
    const { status, error, json, headers = {}, closedWithinMs, openForMs = 0 } = row.expect;
    expect(answer.status, answer.body.slice(0, 300)).toBe(status);
    if (error) {
      expect(parsed(answer.body)).toEqual({
        code: error.code,
        status: error.status,
        message: expect.stringMatching(error.message ?? /./) as unknown,
        ...(error.details && {
          details: error.details.map((type): unknown =>
            expect.objectContaining({ '@type': `type.googleapis.com/${type}` }),
          ),
        }),
      });
    }
    if (json) expect(parsed(answer.body)).toMatchObject(json);
    for (const [name, value] of Object.entries(headers)) {
      expect(answer.headers[name], name).toMatch(value);
    }
    if (closedWithinMs !== undefined) {
      expect(answer.closedByServer).toBe(true);
      expect(answer.closedAfterMs).toBeLessThan(closedWithinMs);
      expect(answer.closedAfterMs).toBeGreaterThanOrEqual(openForMs);
    }
    await expectAllHealthy();
  });

  it('the same processes served every row', () => {
    expect([cheese, soccer, mainGateway, guardedGateway].map((app) => app.child.pid)).toEqual(pids);
    for (const app of [cheese, soccer, mainGateway, guardedGateway]) expect(app.exited).toBe(false);
  });
});
