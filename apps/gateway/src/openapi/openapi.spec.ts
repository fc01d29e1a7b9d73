import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type {
  OpenAPIObject,
  OperationObject,
  ParameterObject,
  PathItemObject,
  ResponseObject,
  SchemaObject,
} from '@nestjs/swagger';
import { Test } from '@nestjs/testing';
import { CHEESE_VIEW_SCHEMA } from '../cheese/cheese.controller.js';
import { GatewayModule } from '../gateway.module.js';
import { configureHttpPlatform, createHttpAdapter } from '../http-platform.js';
import { WEB_ROOT } from '../web/web.module.js';
import { offlineOpenApiDocument } from './offline-document.js';
import { OPENAPI_JSON_PATH, setupOpenApi } from './openapi.js';

/** The routes SwaggerModule.setup adds for itself: the UI, its assets, the document. */
const DOCS_ROUTES = [
  'GET /docs',
  'GET /docs/',
  'GET /docs/index.html',
  'GET /docs/LICENSE',
  'GET /docs/swagger-ui-init.js',
  'GET /docs/docs/swagger-ui-init.js',
  'GET /docs/*', // swagger-ui-dist's files (@fastify/static)
  `GET ${OPENAPI_JSON_PATH}`,
];

/**
 * The routes of the web page (not part of the API), which WebModule serves
 * when it is built: `/` and each file of WEB_ROOT, by its path.
 */
function webPageRoutes(): string[] {
  if (!existsSync(join(WEB_ROOT, 'index.html'))) return [];
  const files = readdirSync(WEB_ROOT, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(WEB_ROOT, join(entry.parentPath, entry.name)).split(sep).join('/'));
  return ['GET /', ...files.map((file) => `GET /${file}`)];
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** Every operation of the document, keyed `METHOD /path/:param` as Fastify names routes. */
function operations(doc: OpenAPIObject): Map<string, OperationObject> {
  const ops = new Map<string, OperationObject>();
  for (const [path, item] of Object.entries<PathItemObject>(doc.paths)) {
    for (const m of METHODS) {
      const op = item[m];
      if (op) ops.set(`${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`, op);
    }
  }
  return ops;
}

describe('the OpenAPI document covers every route of the gateway', () => {
  let app: NestFastifyApplication;
  /** Every route Fastify registered, as `METHOD /url`. */
  const routes: string[] = [];
  let ops: Map<string, OperationObject>;
  let served: OpenAPIObject;

  beforeAll(async () => {
    // ConfigModule validates process.env; the gRPC clients never connect here.
    vi.stubEnv('CHEESE_GRPC_URL', '127.0.0.1:1');
    vi.stubEnv('SOCCER_GRPC_URL', '127.0.0.1:1');
    const moduleRef = await Test.createTestingModule({ imports: [GatewayModule] }).compile();
    app = moduleRef.createNestApplication<NestFastifyApplication>(createHttpAdapter(), {
      bodyParser: false,
      logger: false,
    });
    const fastify = app.getHttpAdapter().getInstance();
    fastify.addHook('onRoute', ({ method, url }) => {
      for (const m of [method].flat()) routes.push(`${m} ${url}`);
    });
    // As main.ts does.
    await configureHttpPlatform(app, 16 * 1024);
    setupOpenApi(app);
    await app.init();
    await fastify.ready();
    const res = await fastify.inject({ method: 'GET', url: OPENAPI_JSON_PATH });
    expect(res.statusCode).toBe(200);
    served = res.json<OpenAPIObject>();
    ops = operations(served);
  });

  afterAll(async () => {
    await app?.close();
    vi.unstubAllEnvs();
  });

  it('sees the routes (the hook works)', () => {
    expect(routes).toContain('GET /v1/cheeses');
    expect(routes).toContain('PUT /v1/matches/:id/video');
  });

  it('leaves out only the docs routes and the web page, each of which exists', () => {
    const excluded = [...DOCS_ROUTES, ...webPageRoutes()];
    expect(routes).toEqual(expect.arrayContaining(excluded));
    // Fastify adds a HEAD route to each GET: it is that GET without a body.
    const isHeadOfGet = (r: string) =>
      r.startsWith('HEAD ') && routes.includes(`GET ${r.slice(5)}`);
    const undocumented = routes.filter(
      (r) => !ops.has(r) && !excluded.includes(r) && !isHeadOfGet(r),
    );
    expect(undocumented).toEqual([]);
  });

  it('documents no route that does not exist', () => {
    expect([...ops.keys()].filter((op) => !routes.includes(op))).toEqual([]);
  });

  it("the order's response serializer has CheeseView's fields, as the document has them", () => {
    const { required, properties } = served.components!.schemas!.Cheese as SchemaObject;
    const documented = Object.fromEntries(
      Object.entries(properties!).map(([name, p]) => [name, { type: (p as SchemaObject).type }]),
    );
    expect(CHEESE_VIEW_SCHEMA).toEqual({ type: 'object', required, properties: documented });
  });

  it('is the document openapi:gen makes without a server, for the web page types', async () => {
    expect(await offlineOpenApiDocument()).toEqual(served);
  });

  it('documents each operation: summary, success, errors, path parameters', () => {
    expect(ops.size).toBeGreaterThan(0);
    for (const [route, op] of ops) {
      expect(op.summary, route).toBeTruthy();
      const responses = Object.entries(op.responses) as Array<[string, ResponseObject]>;
      const success = responses.filter(([status]) => /^2\d\d$/.test(status));
      expect(success.length, route).toBeGreaterThan(0);
      for (const [status, response] of success) {
        expect(response.description, `${route} ${status}`).toBeTruthy();
      }
      expect(op.responses.default, route).toMatchObject({
        content: { 'application/json': { schema: { $ref: '#/components/schemas/ApiError' } } },
      });
      const pathParams = [...route.matchAll(/:(\w+)/g)].map((m) => m[1]);
      const declared = ((op.parameters ?? []) as ParameterObject[])
        .filter((p) => p.in === 'path')
        .map((p) => p.name);
      expect(declared, route).toEqual(pathParams);
    }
  });
});
