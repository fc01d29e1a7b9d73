import type { IncomingMessage } from 'node:http';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Registry } from 'prom-client';
import { installHttpMetrics, installHttpTelemetry, requestIdOf } from '#observability';

/** Media types a streamed body may have (match videos). */
export const STREAM_BODY_TYPES = ['application/octet-stream', 'video/mp4'];

/**
 * Route config (`@RouteConfig(STREAM_BODY)`) of a route that reads its body
 * itself, as a stream: the parser hands it `request.raw` untouched, with no
 * body limit (the route enforces its own). Other routes still answer 415.
 */
export const STREAM_BODY = { streamBody: true } as const;

/**
 * Fastify rather than Express: as fast on POST /v1/cheese/orders (the gRPC
 * call dominates; docs/architecture.md has the numbers) and it brings
 * per-content-type body limits, 415 for unknown media types and
 * prototype-poisoning checks without extra middleware.
 */
export function createHttpAdapter(): FastifyAdapter {
  // Fastify's request id is the one logs, traces and gRPC metadata carry.
  return new FastifyAdapter({
    return503OnClosing: true,
    requestIdHeader: false,
    genReqId: (req: IncomingMessage) => requestIdOf(req),
  });
}

/**
 * Accept only JSON bodies, up to `bodyLimit` bytes (415 / 413 otherwise),
 * except on STREAM_BODY routes, which get the body of STREAM_BODY_TYPES as a
 * stream. Fastify's own errors (bad JSON, body too large) still reach Nest's
 * exception filters, so they get the API's error body too. Every request
 * gets a request id and a trace span, and is counted in the HTTP metrics
 * (docs/operations.md).
 */
export function configureHttpPlatform(app: NestFastifyApplication, bodyLimit: number): void {
  const fastify = app.getHttpAdapter().getInstance();
  installHttpTelemetry(fastify);
  installHttpMetrics(fastify, app.get(Registry));
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser(
    'application/json',
    { parseAs: 'string', bodyLimit },
    fastify.getDefaultJsonParser('error', 'error'),
  );
  fastify.addContentTypeParser(STREAM_BODY_TYPES, (request, payload, done) => {
    const config = request.routeOptions.config as { streamBody?: boolean } | undefined;
    if (config?.streamBody) {
      done(null, payload);
      return;
    }
    done(Object.assign(new Error('Unsupported Media Type'), { statusCode: 415 }), undefined);
  });
}
