import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Logger, Module, type OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';

/**
 * The built page (`npm run build` bundles apps/gateway/web there with
 * esbuild). From dist this module is dist/apps/gateway/src/web/, so the page
 * is two levels up; run from source (tests), it is the same dist folder.
 */
export const WEB_ROOT = fileURLToPath(
  import.meta.url.includes('/dist/')
    ? new URL('../../web/', import.meta.url)
    : new URL('../../../../dist/apps/gateway/web/', import.meta.url),
);

/**
 * Headers of the page's files. No-cache: the file names carry no hash, so
 * the browser revalidates (ETag) and never runs a stale script. The CSP
 * allows only this origin: no inline code, no CDN, no external font.
 */
function setHeaders(reply: FastifyReply, path: string): void {
  reply.header('cache-control', 'no-cache');
  reply.header('x-content-type-options', 'nosniff');
  if (path.endsWith('.html')) {
    reply.header(
      'content-security-policy',
      "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; " +
        "frame-ancestors 'none'",
    );
    reply.header('referrer-policy', 'no-referrer');
  }
}

/**
 * Serves the web page at `/` and its files under `/assets/`. Only the files
 * that exist get routes (`wildcard: false`), so every other path still
 * reaches Nest and its JSON 404.
 */
@Module({})
export class WebModule implements OnApplicationBootstrap {
  private readonly logger = new Logger('Web');

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  async onApplicationBootstrap(): Promise<void> {
    const adapter = this.adapterHost.httpAdapter;
    if (adapter?.getType() !== 'fastify') return;
    if (!existsSync(`${WEB_ROOT}index.html`)) {
      this.logger.warn(`No web page in ${WEB_ROOT}: run npm run build to serve it at /`);
      return;
    }
    // At bootstrap, not at module init: awaiting the plugin makes Fastify load
    // the routes declared so far, and Nest installs its error handler between
    // the two. Loaded earlier, the routes would keep Fastify's default one and
    // its own errors (bad JSON, 413, 415) would lose the API's error body.
    await adapter.getInstance<FastifyInstance>().register(fastifyStatic, {
      root: WEB_ROOT,
      prefix: '/',
      wildcard: false,
      index: 'index.html',
      // @nestjs/swagger registers @fastify/static too; only one may decorate the reply.
      decorateReply: false,
      cacheControl: false,
      setHeaders,
    });
  }
}
