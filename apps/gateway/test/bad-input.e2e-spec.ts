import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppProcess, freePort, generateDevCerts, type DevCerts } from '#launcher';
import { mediaLeftovers, uploadTempFilesOnceThere } from '../../../test/support/media-leftovers.js';
import {
  overHttp1,
  rawHttp,
  type HttpRequestOptions,
  type PendingRequest,
  type Transport,
} from './support/hostile-http.js';
import { overHttp2 } from './support/hostile-http2.js';

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
 *
 * The whole table runs twice: over HTTP/1.1 on plain HTTP listeners, then
 * over HTTP/2 on TLS listeners (ALPN h2, as browsers connect), each request
 * on a connection of its own. The rows marked `http1Only` test HTTP/1.1's
 * wire format or its connection timeouts, which HTTP/2 does not have: raw
 * request and header lines (HTTP/2 sends HPACK headers, and node:http2
 * refuses to send invalid ones), Content-Length with Transfer-Encoding and
 * chunked bodies (HTTP/2 frames bodies itself; a body with no length is
 * tested over HTTP/2 in matches-upload.e2e), the head and keep-alive
 * timeouts (HTTP/2 has a TLS handshake and a session idle timeout instead),
 * and the 431/413 answers that close the connection.
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
  /** Why the row runs over HTTP/1.1 only (see above). */
  http1Only?: string;
}

const REQUEST_LINE = 'HTTP/1.1 request or header line';
const FRAMING = 'HTTP/1.1 body framing';
const CONNECTION = 'HTTP/1.1 connection handling';

const INVALID = (message?: RegExp) => ({ code: 3, status: 'INVALID_ARGUMENT', message });
const NOT_FOUND = (message?: RegExp) => ({ code: 5, status: 'NOT_FOUND', message });
const EXHAUSTED = (message?: RegExp) => ({ code: 8, status: 'RESOURCE_EXHAUSTED', message });
const UNAUTHENTICATED = (message?: RegExp) => ({ code: 16, status: 'UNAUTHENTICATED', message });

const JSON_TYPE = { 'content-type': 'application/json' };
const NOT_JSON = /not valid JSON/;
const TYPE_HINT = /^type must be one of EMMENTAL, BRIE, PECORINO, ROQUEFORT, CANASTRA/;
const BAD_ID = /^id must match \^\[A-Za-z0-9_-\]\{1,64\}\$$/;

/** Ports, paths and the listener's transport, known once the apps run (rows read them when they run). */
let mainPort: number;
let guardedPort: number;
let mediaDir: string;
let transport: Transport;

/** A loopback source address no row used before: per-address limits start from zero. */
let addressesUsed = 0;
function freshAddress(): string {
  const n = addressesUsed++;
  return `127.0.${Math.floor(n / 250)}.${(n % 250) + 2}`;
}

const main = (options: HttpRequestOptions) => () => transport.request(mainPort, options);
const guarded = (options: HttpRequestOptions) => () =>
  transport.request(guardedPort, { localAddress: freshAddress(), ...options });

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

/** The first event of an SSE body, skipping comments (heartbeats); the stream stays open. */
async function firstSseEvent(body: Readable): Promise<{ event: string; data: string }> {
  let text = '';
  body.setEncoding('utf8');
  for await (const chunk of body.iterator({ destroyOnReturn: false })) {
    text += chunk as string;
    for (const block of text.split('\n\n').slice(0, -1)) {
      if (block.startsWith(':')) continue;
      const line = (name: string) =>
        block
          .split('\n')
          .find((l) => l.startsWith(`${name}: `))
          ?.slice(name.length + 2) ?? '';
      return { event: line('event'), data: line('data') };
    }
  }
  throw new Error(`SSE stream ended with no event: ${text}`);
}

/** A real chat session on the main gateway: its session id, and how to leave. */
async function joinChat(
  room: string,
  user: string,
): Promise<{ sessionId: string; leave: () => void }> {
  const sse = transport.start(mainPort, { path: `/v1/matches/${room}/chat?user=${user}` });
  sse.body.end();
  try {
    const { status, body } = await sse.response;
    expect(status).toBe(200);
    const joined = await firstSseEvent(body);
    expect(joined.event).toBe('joined');
    return {
      sessionId: (JSON.parse(joined.data) as { sessionId: string }).sessionId,
      leave: sse.cut,
    };
  } catch (err) {
    sse.cut();
    throw err;
  }
}

/** A watch on the guarded gateway from `localAddress`, left open. */
function startWatch(localAddress: string): PendingRequest {
  const watch = transport.start(guardedPort, {
    path: '/v1/matches/live/watch?fps=1',
    localAddress,
  });
  watch.body.end();
  return watch;
}

/** The whole answer to a request under way (an error), then the request let go. */
async function answerOf(pending: PendingRequest): Promise<Answer> {
  try {
    const { status, headers, body } = await pending.response;
    let text = '';
    body.setEncoding('utf8');
    for await (const chunk of body) text += chunk as string;
    return { status, headers, body: text };
  } finally {
    pending.cut();
  }
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
    // No body to type (over HTTP/2: an empty DATA frame ends it): judged as an empty order.
    name: 'order with no body and no content-type',
    send: main({ method: 'POST', path: '/v1/cheese/orders' }),
    expect: { status: 400, error: INVALID(TYPE_HINT) },
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
    // No type is a stream of bytes (RFC 9110 §8.3; `curl -T`), judged as a video like any other.
    name: 'upload with no content-type',
    send: upload('x1', 'abc', {}),
    expect: { status: 400, error: INVALID(/^upload x1 is not a video ffprobe can read/) },
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
    http1Only: REQUEST_LINE,
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
    http1Only: REQUEST_LINE,
  },
  {
    name: 'a header name with a control character',
    send: raw('GET /v1/cheeses HTTP/1.1\r\nHost: x\r\nX-A\u0001: b\r\n\r\n'),
    expect: { status: 400, error: INVALID(), closedWithinMs: 2000 },
    http1Only: REQUEST_LINE,
  },
  {
    // Request smuggling: both lengths at once is refused outright (RFC 9112 6.1).
    name: 'Content-Length and Transfer-Encoding together',
    send: raw(
      'POST /v1/cheese/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 15\r\nTransfer-Encoding: chunked\r\n\r\nf\r\n{"type":"BRIE"}\r\n0\r\n\r\n',
    ),
    expect: { status: 400, error: INVALID(), closedWithinMs: 2000 },
    http1Only: FRAMING,
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
    // Over HTTP/2 the guarded row below checks the header limit.
    http1Only: CONNECTION,
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
      answerOf(
        transport.start(mainPort, {
          method: 'POST',
          path: '/v1/cheese/orders',
          headers: { ...JSON_TYPE, 'content-length': 1_000_000_000 },
        }),
      ),
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
    // Over HTTP/2, matches-upload.e2e checks this 413.
    http1Only: CONNECTION,
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
    http1Only: FRAMING,
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
    // soccer-service, which keeps the sessions, refuses it (the token is not echoed).
    name: 'chat: unknown session',
    send: chatPost('{"sessionId":"no-such-session","text":"hi"}'),
    expect: {
      status: 404,
      error: {
        ...NOT_FOUND(/^no chat session with this token in match bad-input$/),
        details: ['google.rpc.ErrorInfo'],
      },
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
      const { sessionId, leave } = await joinChat('bad-input', 'mallory');
      try {
        return await chatPost(JSON.stringify({ sessionId, text: 'x'.repeat(CHAT_MAX_TEXT + 1) }))();
      } finally {
        leave();
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
    expect: {
      status: 400,
      error: {
        ...INVALID(/no control characters/),
        details: ['google.rpc.ErrorInfo', 'google.rpc.BadRequest'],
      },
    },
  },
  // --- uploads ---------------------------------------------------------------------------------
  {
    name: 'upload: not a video',
    send: upload('not-a-video', Buffer.alloc(64 * KiB, 7), { 'content-type': 'video/mp4' }),
    // ffprobe's reason, without its command line or the server's temp file path.
    expect: {
      status: 400,
      error: INVALID(
        /^upload not-a-video is not a video ffprobe can read \(not a readable video: [^/]+\)$/,
      ),
    },
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
    // Over HTTP/2 the stream is reset (CANCEL); its connection would live on.
    send: async () => {
      const req = transport.start(mainPort, {
        method: 'PUT',
        path: '/v1/matches/cut-off/video',
        headers: { 'content-type': 'video/mp4', 'content-length': 900 * KiB },
      });
      req.body.on('error', () => undefined);
      req.body.write(Buffer.alloc(512 * KiB, 3));
      try {
        // The service is writing the temp file: its removal is what this row tests.
        expect(await uploadTempFilesOnceThere(mediaDir)).toHaveLength(1);
      } finally {
        req.cut();
      }
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
    http1Only: CONNECTION,
  },
  {
    name: 'guarded: a connection that never sends a byte',
    send: () =>
      rawHttp(guardedPort, [], { localAddress: freshAddress(), untilClosed: true, waitMs: 4000 }),
    expect: { status: 408, error: { code: 4, status: 'DEADLINE_EXCEEDED' }, closedWithinMs: 1500 },
    http1Only: CONNECTION,
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
    http1Only: CONNECTION,
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
        const answer = await transport.request(guardedPort, { path: '/v1/cheeses', localAddress });
        expect(answer.status).toBe(200);
      }
      return transport.request(guardedPort, { path: '/v1/cheeses', localAddress });
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
      const open: PendingRequest[] = [];
      try {
        for (let i = 0; i < 2; i++) {
          open.push(startWatch(localAddress));
          expect((await open[i].response).status).toBe(200);
        }
        return await answerOf(startWatch(localAddress));
      } finally {
        for (const watch of open) watch.cut();
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

/** The listeners the table runs against: plain HTTP/1.1, and TLS spoken as HTTP/2. */
const LISTENERS = [
  { name: 'HTTP/1.1', tls: false },
  { name: 'HTTP/2 (TLS, ALPN h2)', tls: true },
] as const;

describe('bad input over HTTP: exact answers, the gateway and services unharmed', () => {
  let work: string;
  let certs: DevCerts;
  let cheese: AppProcess;
  let soccer: AppProcess;
  let gatewayEnv: Record<string, string>;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'bad-http-'));
    mediaDir = join(work, 'media');
    await mkdir(mediaDir);
    certs = await generateDevCerts(join(work, 'certs'));
    const [cheesePort, soccerPort] = await Promise.all([freePort(), freePort()]);
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
    gatewayEnv = {
      GATEWAY_HTTP_HOST: '127.0.0.1',
      CHEESE_GRPC_URL: `127.0.0.1:${cheesePort}`,
      SOCCER_GRPC_URL: `127.0.0.1:${soccerPort}`,
      GATEWAY_BODY_LIMIT_BYTES: String(BODY_LIMIT),
      GATEWAY_MAX_UPLOAD_BYTES: String(UPLOAD_LIMIT),
      GATEWAY_CHAT_MAX_TEXT: String(CHAT_MAX_TEXT),
      LOG_LEVEL: 'warn',
    };
  });

  afterAll(async () => {
    await Promise.all([cheese?.stop(), soccer?.stop()]);
    if (work) await rm(work, { recursive: true, force: true });
  });

  describe.each(LISTENERS)('over $name', ({ tls }) => {
    let mainGateway: AppProcess;
    let guardedGateway: AppProcess;
    let pids: number[];

    beforeAll(async () => {
      transport = tls ? overHttp2(await readFile(certs.ca)) : overHttp1;
      const env = {
        ...gatewayEnv,
        ...(tls && { GATEWAY_TLS_CERT: certs.serverCert, GATEWAY_TLS_KEY: certs.serverKey }),
      };
      [mainPort, guardedPort] = await Promise.all([freePort(), freePort()]);
      [mainGateway, guardedGateway] = await Promise.all([
        // No rate limit here: ~500 requests from one address in a minute are the suite's own.
        AppProcess.start('gateway', { port: mainPort, env: { ...env, GATEWAY_RATE_LIMIT: '0' } }),
        AppProcess.start('gateway', { port: guardedPort, env: { ...env, ...GUARDED } }),
      ]);
      pids = [cheese, soccer, mainGateway, guardedGateway].map((app) => app.child.pid!);
    });

    afterAll(async () => {
      await Promise.all([mainGateway?.stop(), guardedGateway?.stop()]);
    });

    /** Both gateways live, a good order and the match list through each, nothing left behind. */
    async function expectAllHealthy(): Promise<void> {
      for (const [port, localAddress] of [
        [mainPort, undefined],
        [guardedPort, freshAddress()],
      ] as const) {
        const health = await transport.request(port, { path: '/healthz', localAddress });
        expect(health.status, `${port} /healthz`).toBe(200);
        const good = await transport.request(port, {
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
      const list = await transport.request(mainPort, { path: '/v1/matches' });
      expect(list.status).toBe(200);
      expect(await mediaLeftovers(mediaDir)).toEqual([]);
      for (const app of [cheese, soccer, mainGateway, guardedGateway]) {
        expect(app.exited, `${app.name} exited`).toBe(false);
      }
    }

    it('everything starts healthy', expectAllHealthy);

    const rows = ROWS.filter((row) => !tls || !row.http1Only);
    it.each(rows.map((row) => [row.name, row] as const))('%s', async (_name, row) => {
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
      const apps = [cheese, soccer, mainGateway, guardedGateway];
      expect(apps.map((app) => app.child.pid)).toEqual(pids);
      for (const app of apps) expect(app.exited).toBe(false);
    });
  });
});
