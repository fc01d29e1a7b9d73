import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';

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
 * Accept only JSON bodies, up to `bodyLimit` bytes (415 / 413 otherwise).
 * Fastify's own errors (bad JSON, body too large) still reach Nest's
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
}
