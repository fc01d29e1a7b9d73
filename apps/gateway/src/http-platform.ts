import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';

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
  return new FastifyAdapter({ return503OnClosing: true });
}

/**
 * Accept only JSON bodies, up to `bodyLimit` bytes (415 / 413 otherwise),
 * except on STREAM_BODY routes, which get the body of STREAM_BODY_TYPES as a
 * stream. Fastify's own errors (bad JSON, body too large) still reach Nest's
 * exception filters, so they get the API's error body too.
 */
export function configureHttpPlatform(app: NestFastifyApplication, bodyLimit: number): void {
  const fastify = app.getHttpAdapter().getInstance();
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
