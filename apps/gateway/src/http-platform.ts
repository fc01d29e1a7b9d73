import type { IncomingMessage } from 'node:http';
import fastifyCompress from '@fastify/compress';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction, RouteOptions } from 'fastify';
import { Registry } from 'prom-client';
import {
  APP_LOGGER,
  installHttpMetrics,
  installHttpRequestLog,
  installHttpTelemetry,
  requestIdOf,
  Tracing,
} from '#observability';
import { toApiError } from './errors/api-error.js';
import { installRequestTimeouts } from './request-timeout.js';
import { RPC_BODY_TYPES } from './rpc-web/rpc-content-types.js';
import { MAX_JSON_DEPTH, nestsDeeperThan } from './json-body.js';
import {
  corsOptions,
  helmetOptions,
  installSecurityHeaders,
  type ListenerOptions,
} from './security/http-hardening.js';
import { installHttp2RequestChecks } from './security/http2-request-checks.js';

/** Media types a streamed body may have (match videos). */
export const STREAM_BODY_TYPES = ['application/octet-stream', 'video/mp4'];

/**
 * Route config (`@RouteConfig(STREAM_BODY)`) of a route that reads its body
 * itself, as a stream: the parser hands it `request.raw` untouched, with no
 * body limit (the route enforces its own). Other routes still answer 415.
 */
export const STREAM_BODY = { streamBody: true } as const;

/**
 * Route config (`@RouteConfig(SMALL_ANSWERS)`) of a route whose answers are
 * always far below compression's 1 KiB threshold: it gets no compression
 * hook, which would only look at every answer to leave it as it is.
 */
export const SMALL_ANSWERS = { smallAnswers: true } as const;

/**
 * Fastify rather than Express: as fast on POST /v1/cheese/orders (the gRPC
 * call dominates; docs/architecture.md has the numbers) and it brings
 * per-content-type body limits, 415 for unknown media types and
 * prototype-poisoning checks without extra middleware.
 */
export function createHttpAdapter(listener: ListenerOptions = {}): FastifyAdapter {
  // Fastify's request id is the one logs, traces and gRPC metadata carry.
  return new FastifyAdapter({
    ...listener,
    return503OnClosing: true,
    requestIdHeader: false,
    genReqId: (req: IncomingMessage) => requestIdOf(req),
    // The router's own refusals (a bad percent-escape in the path, a path
    // parameter over 100 characters) get the API's error body too.
    frameworkErrors: (error: Error, _request: FastifyRequest, reply: FastifyReply) => {
      const { httpStatus, body } = toApiError(error);
      void reply.code(httpStatus).send(body);
    },
  });
}

/** What configureHttpPlatform needs beyond the body limit. */
export interface HttpPlatformOptions {
  /** The listener serves HTTPS (HSTS then). */
  https?: boolean;
  /** GATEWAY_CORS_ORIGINS; none: no CORS headers. */
  corsOrigins?: readonly string[];
  /** GATEWAY_MAX_HEADER_BYTES, checked here for HTTP/2 requests (the parser does for HTTP/1.1). */
  maxHeaderBytes?: number;
}

/**
 * Accept only JSON bodies, up to `bodyLimit` bytes (415 / 413 otherwise),
 * except on STREAM_BODY routes, which get the body of STREAM_BODY_TYPES as a
 * stream. Fastify's own errors (bad JSON, body too large) still reach Nest's
 * exception filters, so they get the API's error body too. Every request
 * gets a request id, a trace span and a log line, and is counted in the HTTP metrics
 * (docs/operations.md), and every response the security headers (installSecurityHeaders),
 * plus CORS headers when origins are configured (docs/security.md).
 * Await before listening: the plugins must load before Nest's routes.
 */
export async function configureHttpPlatform(
  app: NestFastifyApplication,
  bodyLimit: number,
  { https = false, corsOrigins = [], maxHeaderBytes = 16 * 1024 }: HttpPlatformOptions = {},
): Promise<void> {
  const fastify = app.getHttpAdapter().getInstance();
  installHttpTelemetry(fastify, { tracing: app.get(Tracing).enabled });
  installHttpRequestLog(fastify, app.get(APP_LOGGER));
  installRequestTimeouts(fastify);
  installHttpMetrics(fastify, app.get(Registry));
  installSecurityHeaders(fastify, helmetOptions({ https }));
  // Before @fastify/compress, whose own onRoute hook reads `compress`.
  fastify.addHook('onRoute', applyRouteConfig);
  // brotli or gzip by Accept-Encoding, for what Fastify sends (JSON, the page,
  // the docs) from 1 KiB on. Streams (SSE, MJPEG, NDJSON, gRPC-Web/Connect)
  // are written raw, past this hook: never compressed here, so never held
  // back in a compressor's buffer. Request bodies are taken as sent. Awaited:
  // it hooks each route as it is added, so it must be loaded before Nest's.
  await app.register(fastifyCompress, { encodings: ['br', 'gzip'], globalDecompression: false });
  // Only the TLS listener speaks HTTP/2 (listenerOptions).
  if (https) installHttp2RequestChecks(fastify, maxHeaderBytes);
  // Nest's hook runs @fastify/cors's before its own, and copies the headers to
  // the raw response, so hijacked streams (SSE) carry them too.
  if (corsOrigins.length > 0) app.enableCors(corsOptions(corsOrigins));
  fastify.removeAllContentTypeParsers();
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.addContentTypeParser(
    'application/json',
    { parseAs: 'string', bodyLimit },
    (request, body: string, done) => {
      if (isStreamBodyRoute(request)) return done(unsupportedMediaType(), undefined);
      if (nestsDeeperThan(body, MAX_JSON_DEPTH)) {
        const error = new Error(`JSON body nested deeper than ${MAX_JSON_DEPTH} levels`);
        return done(Object.assign(error, { statusCode: 400 }), undefined);
      }
      void parseJson(request, body, done);
    },
  );
  fastify.addContentTypeParser(STREAM_BODY_TYPES, (request, payload, done) => {
    if (isStreamBodyRoute(request)) return done(null, payload);
    done(unsupportedMediaType(), undefined);
  });
  // gRPC-Web and Connect bodies: left unread, for connect to read (rpc-web/).
  fastify.addContentTypeParser(RPC_BODY_TYPES, (request, _payload, done) => {
    if (routeConfig(request)?.rpcBody === true) return done(null, undefined);
    done(unsupportedMediaType(), undefined);
  });
}

interface RouteFlags {
  streamBody?: boolean;
  rpcBody?: boolean;
  smallAnswers?: boolean;
}

function routeConfig(request: { routeOptions: { config?: unknown } }) {
  return request.routeOptions.config as RouteFlags | undefined;
}

/**
 * What a route's config (STREAM_BODY, SMALL_ANSWERS) changes in its Fastify
 * options, as the route is added: only those routes pay for it per request.
 */
function applyRouteConfig(route: RouteOptions): void {
  const config: RouteFlags | undefined = route.config;
  if (config?.smallAnswers === true) route.compress = false;
  if (config?.streamBody === true) {
    const hooks = route.onRequest ?? [];
    route.onRequest = [...(Array.isArray(hooks) ? hooks : [hooks]), defaultStreamBodyType];
  }
}

/**
 * A PUT of a stream body with no Content-Type is a stream of bytes (RFC 9110
 * §8.3 lets the recipient assume application/octet-stream): `curl -T`.
 */
function defaultStreamBodyType(
  request: FastifyRequest,
  _reply: FastifyReply,
  done: HookHandlerDoneFunction,
): void {
  request.headers['content-type'] ??= STREAM_BODY_TYPES[0];
  done();
}

function isStreamBodyRoute(request: { routeOptions: { config?: unknown } }): boolean {
  return routeConfig(request)?.streamBody === true;
}

function unsupportedMediaType(): Error {
  return Object.assign(new Error('Unsupported Media Type'), { statusCode: 415 });
}
