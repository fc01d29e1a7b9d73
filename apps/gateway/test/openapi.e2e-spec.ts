import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import SwaggerParser from '@apidevtools/swagger-parser';
import type {
  OpenAPIObject,
  OperationObject,
  PathItemObject,
  ResponseObject,
} from '@nestjs/swagger';
import { AppProcess, freePort } from '#launcher';

const ERROR_REF = '#/components/schemas/ApiError';
const READINESS_REPORT_REF = '#/components/schemas/ReadinessReport';
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** Every operation of the document, as [`METHOD /path`, operation]. */
function operations(doc: OpenAPIObject): Array<[string, OperationObject]> {
  return Object.entries(doc.paths).flatMap(([path, item]: [string, PathItemObject]) =>
    METHODS.flatMap((m) => {
      const op = item[m];
      return op ? [[`${m.toUpperCase()} ${path}`, op] as [string, OperationObject]] : [];
    }),
  );
}

/** The 200 (or 201) response of an operation. */
function ok(op: OperationObject | undefined, status = '200'): ResponseObject {
  return op!.responses[status] as ResponseObject;
}

/** The URLs of the scripts, stylesheets and icons an HTML page loads. */
function assetUrls(html: string): string[] {
  const tags = html.match(/<(script|link)\b[^>]*>/g) ?? [];
  return tags.flatMap((tag) => {
    const url = /\s(?:src|href)=["']([^"']+)["']/.exec(tag)?.[1];
    return url ? [url] : [];
  });
}

describe('API docs at /docs (the gateway process)', () => {
  let gateway: AppProcess;
  let base: string;

  beforeAll(async () => {
    const port = await freePort();
    // No service runs: the docs need none.
    gateway = await AppProcess.start('gateway', {
      port,
      env: {
        GATEWAY_HTTP_HOST: '127.0.0.1',
        CHEESE_GRPC_URL: '127.0.0.1:1',
        SOCCER_GRPC_URL: '127.0.0.1:1',
      },
    });
    base = `http://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    await gateway?.stop();
  });

  const getDocument = async (): Promise<OpenAPIObject> => {
    const res = await fetch(`${base}/docs/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    return (await res.json()) as OpenAPIObject;
  };

  it('GET /docs/openapi.json is a valid OpenAPI 3 document', async () => {
    const doc = await getDocument();
    expect(doc.openapi).toMatch(/^3\./);
    // validate() dereferences in place: give it a copy.
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeDefined();
  });

  it('every error response of every route has the API error body', async () => {
    const doc = await getDocument();
    expect(doc.components?.schemas?.ApiError).toMatchObject({
      type: 'object',
      required: ['code', 'status', 'message'],
      properties: {
        code: { type: 'integer' },
        status: { type: 'string' },
        message: { type: 'string' },
      },
    });
    const ops = operations(doc);
    expect(ops.length).toBeGreaterThan(0);
    for (const [route, op] of ops) {
      const errors = Object.entries(op.responses).filter(
        ([status]) => status === 'default' || Number(status) >= 400,
      );
      expect(
        errors.map(([status]) => status),
        route,
      ).toContain('default');
      for (const [status, response] of errors) {
        // A readiness probe's 503 is its health report, as its 200 is (docs/operations.md).
        const ref = route === 'GET /readyz' && status === '503' ? READINESS_REPORT_REF : ERROR_REF;
        expect((response as ResponseObject).content, `${route} ${status}`).toEqual({
          'application/json': { schema: { $ref: ref } },
        });
      }
    }
  });

  it('documents the rich error details, the deadline headers and Retry-After', async () => {
    const doc = await getDocument();
    expect(doc.components?.schemas?.ApiError).toMatchObject({
      properties: {
        details: {
          type: 'array',
          items: {
            type: 'object',
            required: ['@type'],
            properties: { '@type': { type: 'string' } },
          },
        },
      },
    });
    const order = doc.paths['/v1/cheese/orders'].post!;
    const headers = (order.parameters as Array<{ in: string; name: string }>)
      .filter((p) => p.in === 'header')
      .map((p) => p.name);
    expect(headers).toEqual(expect.arrayContaining(['grpc-timeout', 'request-timeout']));
    expect((order.responses['503'] as ResponseObject).headers).toHaveProperty('Retry-After');
    const rpc = doc.paths['/{service}/{method}'].post!;
    expect(Object.keys((rpc.requestBody as { content: object }).content)).toEqual(
      expect.arrayContaining(['application/grpc-web+proto', 'application/connect+json']),
    );
  });

  it('documents the streams, the upload body and the query ranges', async () => {
    const { paths } = await getDocument();
    const watch = paths['/v1/matches/{id}/watch'].get;
    expect(Object.keys(ok(watch).content!)).toEqual(['text/event-stream', 'application/x-ndjson']);
    expect(ok(watch).description).toMatch(/`frame`.*`end`.*`error`/s);
    expect(watch!.parameters).toContainEqual(
      expect.objectContaining({
        name: 'fps',
        in: 'query',
        required: false,
        schema: expect.objectContaining({ minimum: 0, maximum: 120, default: 25 }),
      }),
    );
    const chat = paths['/v1/matches/{id}/chat'].get;
    expect(Object.keys(ok(chat).content!)).toEqual(['text/event-stream']);
    expect(ok(chat).description).toMatch(/`joined`.*`message`/s);
    const mjpeg = paths['/v1/matches/{id}/stream.mjpeg'].get;
    expect(Object.keys(ok(mjpeg).content!)).toEqual(['multipart/x-mixed-replace']);
    const upload = paths['/v1/matches/{id}/video'].put;
    const binary = { schema: { type: 'string', format: 'binary' } };
    expect(ok(upload, '201').content).toEqual({
      'application/json': { schema: { $ref: '#/components/schemas/UploadResult' } },
    });
    expect(upload!.requestBody).toMatchObject({
      required: true,
      content: { 'application/octet-stream': binary, 'video/mp4': binary },
    });
  });

  it.each(['/docs', '/docs/'])(
    'GET %s is Swagger UI, every asset served by the gateway itself',
    async (path) => {
      const page = `${base}${path}`;
      const res = await fetch(page);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      const urls = assetUrls(await res.text()).map((u) => new URL(u, page));
      expect(urls.map((u) => u.pathname)).toEqual(
        expect.arrayContaining([
          '/docs/swagger-ui.css',
          '/docs/swagger-ui-bundle.js',
          '/docs/swagger-ui-standalone-preset.js',
          '/docs/swagger-ui-init.js',
        ]),
      );
      for (const url of urls) {
        expect(url.origin, String(url)).toBe(base);
        const asset = await fetch(url);
        expect(asset.status, String(url)).toBe(200);
        expect((await asset.arrayBuffer()).byteLength, String(url)).toBeGreaterThan(0);
      }
    },
  );

  it('the UI is initialised with the same document', async () => {
    const init = await (await fetch(`${base}/docs/swagger-ui-init.js`)).text();
    expect(init).toContain('"/v1/matches/{id}/watch"');
  });
});
