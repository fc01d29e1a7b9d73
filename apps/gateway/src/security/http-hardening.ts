import {
  STATUS_CODES,
  type IncomingMessage,
  type ServerOptions,
  type ServerResponse,
} from 'node:http';
import type { SecureServerOptions as Http2SecureServerOptions } from 'node:http2';
import type { Socket } from 'node:net';
import type { FastifyCorsOptions } from '@fastify/cors';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import helmet, { type HelmetOptions } from 'helmet';
import { readKeyPair } from '#grpc';
import type { GatewayEnv } from '../config/gateway.env.js';
import { apiErrorBody } from '../errors/api-error.js';
import { grpcStatusFromHttp } from '../errors/grpc-http-status.js';
import { API_KEY_HEADER } from './api-keys.js';

type ListenerEnv = Pick<
  GatewayEnv,
  | 'GATEWAY_HEADERS_TIMEOUT_MS'
  | 'GATEWAY_IDLE_TIMEOUT_MS'
  | 'GATEWAY_MAX_HEADER_BYTES'
  | 'GATEWAY_DEADLINE_MS'
  | 'GATEWAY_UPLOAD_TIMEOUT_MS'
  | 'GATEWAY_TLS_CERT'
  | 'GATEWAY_TLS_KEY'
  | 'GATEWAY_TRUSTED_PROXIES'
>;

/**
 * Fastify's options of the listener: HTTP/1.1, or HTTPS with HTTP/2 and
 * HTTP/1.1, and the limits against slow clients and stream floods.
 */
export type ListenerOptions = Pick<
  FastifyServerOptions,
  'keepAliveTimeout' | 'connectionTimeout' | 'requestTimeout' | 'clientErrorHandler' | 'trustProxy'
> &
  (
    | { http?: ServerOptions; http2?: undefined; https?: undefined }
    | {
        http?: undefined;
        http2: true;
        http2SessionTimeout: number;
        https: Http2SecureServerOptions;
      }
  );

/**
 * Streams one HTTP/2 connection may have open at once (SETTINGS
 * MAX_CONCURRENT_STREAMS; Node's default is unbounded). A client that opens
 * more has them refused (REFUSED_STREAM), and after
 * MAX_REFUSED_STREAMS_PER_SESSION refusals the connection is closed.
 * The per-address stream cap (GATEWAY_MAX_STREAMS_PER_IP) still counts
 * each stream, over however many connections.
 */
export const HTTP2_MAX_CONCURRENT_STREAMS = 100;
export const MAX_REFUSED_STREAMS_PER_SESSION = 100;
/**
 * Rapid reset (CVE-2023-44487): streams a client may open and reset at
 * once, then per second, before nghttp2 closes the connection with GOAWAY.
 * Tighter than nghttp2's own default (1000, then 33/s): a page resets few.
 */
export const HTTP2_STREAM_RESET_BURST = 200;
export const HTTP2_STREAM_RESET_RATE = 33;

/**
 * The gateway's listener, from its environment:
 *
 * - `headersTimeout`: a client that has not sent its whole request head
 *   within GATEWAY_HEADERS_TIMEOUT_MS gets 408 and is disconnected (Node
 *   checks every `connectionsCheckingInterval`, so up to a quarter of it
 *   later, at most 1 s); the TLS handshake gets as long.
 * - `keepAliveTimeout`: a keep-alive connection idle for
 *   GATEWAY_IDLE_TIMEOUT_MS between requests is closed;
 *   `connectionTimeout`: so is one with no traffic during a request
 *   (a stalled body, a reader that stopped reading), though never before a
 *   unary answer may come (GATEWAY_DEADLINE_MS + 1 s). SSE streams send a
 *   heartbeat more often (http-streaming's sseHeartbeatMs).
 * - `requestTimeout`: receiving one request may take as long as an upload
 *   may (GATEWAY_UPLOAD_TIMEOUT_MS), plus 10 s so that the upload's own
 *   deadline answers first, with the API's error body. (Node's default,
 *   300 s, would cut long uploads.)
 * - `maxHeaderSize`: a larger request head is answered 431 (over HTTP/2 by
 *   http2-request-checks, the limit told to clients in SETTINGS).
 *
 * With GATEWAY_TLS_CERT and GATEWAY_TLS_KEY it serves HTTPS; the files are
 * read and checked now (PEM, key of the certificate), as for gRPC. HTTPS
 * speaks HTTP/2 to clients that offer it (ALPN `h2`: every browser) and
 * HTTP/1.1 to the others (`allowHTTP1`), so the WebSocket chat (an
 * HTTP/1.1 upgrade) works too. Over HTTP/2 the timeouts above apply to
 * HTTP/1.1 connections; an HTTP/2 connection idle for
 * GATEWAY_IDLE_TIMEOUT_MS is closed (`http2SessionTimeout`), its streams
 * are bounded as HTTP2_MAX_CONCURRENT_STREAMS says, and a client that
 * resets streams faster than HTTP2_STREAM_RESET_RATE per second gets GOAWAY.
 *
 * `trustProxy`: GATEWAY_TRUSTED_PROXIES, given to Fastify, whose proxy-addr
 * then makes `request.ip` the rightmost `X-Forwarded-For` address that is
 * not a trusted proxy, and only for requests whose TCP peer is one (else the
 * peer itself; clientAddress). Unset: `false`, the header is never read.
 */
export function listenerOptions(env: ListenerEnv): ListenerOptions {
  const headersTimeout = env.GATEWAY_HEADERS_TIMEOUT_MS;
  const requestTimeout = Math.max(env.GATEWAY_UPLOAD_TIMEOUT_MS + 10_000, headersTimeout);
  const server: ServerOptions = {
    maxHeaderSize: env.GATEWAY_MAX_HEADER_BYTES,
    headersTimeout,
    requestTimeout,
    connectionsCheckingInterval: Math.min(1000, Math.max(50, Math.floor(headersTimeout / 4))),
  };
  const options = {
    keepAliveTimeout: env.GATEWAY_IDLE_TIMEOUT_MS,
    connectionTimeout: Math.max(env.GATEWAY_IDLE_TIMEOUT_MS, env.GATEWAY_DEADLINE_MS + 1000),
    requestTimeout,
    clientErrorHandler: answerClientError(env.GATEWAY_MAX_HEADER_BYTES),
    trustProxy: env.GATEWAY_TRUSTED_PROXIES ? [...env.GATEWAY_TRUSTED_PROXIES] : false,
  };
  if (env.GATEWAY_TLS_CERT && env.GATEWAY_TLS_KEY) {
    const pair = readKeyPair(
      'GATEWAY_TLS_CERT',
      env.GATEWAY_TLS_CERT,
      'GATEWAY_TLS_KEY',
      env.GATEWAY_TLS_KEY,
    );
    return {
      ...options,
      http2: true,
      http2SessionTimeout: options.connectionTimeout,
      https: {
        ...server,
        allowHTTP1: true,
        cert: pair.cert_chain,
        key: pair.private_key,
        handshakeTimeout: headersTimeout,
        settings: {
          maxConcurrentStreams: HTTP2_MAX_CONCURRENT_STREAMS,
          maxHeaderListSize: env.GATEWAY_MAX_HEADER_BYTES,
        },
        maxSessionRejectedStreams: MAX_REFUSED_STREAMS_PER_SESSION,
        streamResetBurst: HTTP2_STREAM_RESET_BURST,
        streamResetRate: HTTP2_STREAM_RESET_RATE,
      },
    };
  }
  return { ...options, http: server };
}

/**
 * Answers what Node refuses before any request exists (no route, no Nest,
 * no Fastify reply): a request head too slow (408) or too large (431), or
 * not HTTP (400). Written on the socket, with the API's error body, then the
 * connection is closed. (Fastify's default answers with a body of its own.)
 */
function answerClientError(maxHeaderBytes: number) {
  return (clientError: Error & { code?: string }, socket: Socket): void => {
    if (clientError.code === 'ECONNRESET' || socket.destroyed) return;
    const [status, message] =
      clientError.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'request not received in time']
        : clientError.code === 'HPE_HEADER_OVERFLOW'
          ? [431, `request headers over ${maxHeaderBytes} bytes`]
          : [400, 'malformed HTTP request'];
    // Not into a response already under way (Node's default does the same).
    const response = (socket as Socket & { _httpMessage?: { headersSent: boolean } })._httpMessage;
    if (socket.writable && !response?.headersSent) {
      const body = JSON.stringify(apiErrorBody(grpcStatusFromHttp(status), message));
      socket.write(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
          'content-type: application/json; charset=utf-8\r\n' +
          `content-length: ${Buffer.byteLength(body)}\r\n` +
          `connection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy(clientError);
  };
}

/** Swagger UI (under /docs) styles itself with inline styles; nothing else needs them. */
const isDocs = (req: IncomingMessage) => req.url === '/docs' || !!req.url?.startsWith('/docs/');

/**
 * The security headers (helmet's): the CSP allows this origin only: the web
 * page's bundle and Swagger UI's files are served from here; no inline
 * script anywhere; inline styles only under /docs; `data:` images (Swagger
 * UI's icons). Framing is refused. HSTS and upgrade-insecure-requests only
 * when the listener is HTTPS: on plain HTTP they would send browsers to a
 * port that does not speak TLS.
 */
export function helmetOptions({ https }: { https: boolean }): HelmetOptions {
  return {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        baseUri: ["'self'"],
        objectSrc: ["'none'"],
        frameAncestors: ["'none'"],
        formAction: ["'self'"],
        scriptSrc: ["'self'"],
        scriptSrcAttr: ["'none'"],
        styleSrc: [(req) => (isDocs(req) ? "'self' 'unsafe-inline'" : "'self'")],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        ...(https ? { upgradeInsecureRequests: [] } : {}),
      },
    },
    strictTransportSecurity: https ? { maxAge: 31_536_000 } : false,
    xFrameOptions: { action: 'deny' },
  };
}

type Headers = Readonly<Record<string, string>>;

/** The headers helmet's middleware sets on a response to `url` (it is synchronous). */
function helmetHeaders(options: HelmetOptions, url: string): Headers {
  const headers: Record<string, string> = {};
  const response = {
    setHeader: (name: string, value: string) => (headers[name.toLowerCase()] = value),
    removeHeader: () => {},
  } as unknown as ServerResponse;
  helmet(options)({ url } as IncomingMessage, response, () => {});
  return headers;
}

/**
 * Security headers (helmetOptions) on every response. helmet computes them
 * once per kind of page (the docs, the rest) at start, rather than per
 * request: its middleware rebuilds the CSP on each call, a tenth of the
 * gateway's CPU per order. They are Fastify's reply headers, which it hands
 * to Node in one writeHead (headers set on the raw response would send
 * every header of the response through Node's setHeader); streams take them
 * when they take the response over (`hijackWithHeaders`).
 */
export function installSecurityHeaders(fastify: FastifyInstance, options: HelmetOptions): void {
  const api = helmetHeaders(options, '/');
  const docs = helmetHeaders(options, '/docs');
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.headers(isDocs(request.raw) ? docs : api);
    done();
  });
}

/**
 * CORS for GATEWAY_CORS_ORIGINS (`*`, or exact origins): pages of those
 * origins may call the API with the headers it reads, and read the request
 * id and `Retry-After` of the answers; gRPC-Web and Connect clients
 * (connect-web) send and read their protocols' headers. No credentials: the
 * API uses no cookies; a key travels in a header.
 */
export function corsOptions(origins: readonly string[]): FastifyCorsOptions {
  return {
    origin: origins.includes('*') ? '*' : [...origins],
    methods: ['GET', 'HEAD', 'POST', 'PUT'],
    allowedHeaders: [
      'content-type',
      'authorization',
      API_KEY_HEADER,
      'x-request-id',
      'traceparent',
      'tracestate',
      'grpc-timeout',
      'request-timeout',
      // gRPC-Web and Connect (what connect-web sends).
      'x-grpc-web',
      'x-user-agent',
      'connect-protocol-version',
      'connect-timeout-ms',
    ],
    exposedHeaders: [
      'x-request-id',
      'retry-after',
      'grpc-status',
      'grpc-message',
      'grpc-status-details-bin',
    ],
    maxAge: 600,
  };
}
