import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { API_KEY_HEADER } from '../security/api-keys.js';
import { API_KEY_SCHEME, BEARER_SCHEME } from '../security/requires-api-key.decorator.js';

/** Swagger UI; its assets (swagger-ui-dist) are served from under it, never from a CDN. */
export const DOCS_PATH = '/docs';
/** The OpenAPI document, as JSON. */
export const OPENAPI_JSON_PATH = '/docs/openapi.json';

/** The OpenAPI 3 document of every route, from the controllers' and DTOs' decorators. */
export function createOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Cheese Farm & Soccer gateway')
    .setDescription(
      'REST, SSE and MJPEG in front of the gRPC services cheese-service ' +
        '(`cheesefarm.CheeseService`) and soccer-service (`stream.Soccer`), and every method ' +
        'of both as gRPC-Web and Connect at `/{package}.{Service}/{Method}`. Every error has ' +
        'one body, `{code, status, message, details?}`, with the gRPC status that caused it ' +
        "and the service's google.rpc details; the HTTP status follows grpc-gateway's table. " +
        "`Grpc-Timeout` or `Request-Timeout` shortens a call's deadline. JSON answers are " +
        'brotli/gzip-compressed on request. Unknown body fields and query parameters are 400. ' +
        'The writes (PUT video, POST chat) need an API key when the gateway has any; every ' +
        'route but the probes and /metrics is rate limited per client address (429, ' +
        '`Retry-After`), and streams are capped per client address.',
    )
    .setVersion('1')
    .setLicense('Apache-2.0', 'https://www.apache.org/licenses/LICENSE-2.0')
    // The writes' API key (GATEWAY_API_KEYS), in either header.
    .addApiKey(
      {
        type: 'apiKey',
        in: 'header',
        name: API_KEY_HEADER,
        description: 'One of GATEWAY_API_KEYS; needed by the writes only when keys are set',
      },
      API_KEY_SCHEME,
    )
    .addBearerAuth(
      {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'API key',
        description: 'The same API key, as a bearer token',
      },
      BEARER_SCHEME,
    )
    .build();
  return SwaggerModule.createDocument(app, config);
}

/** Serves Swagger UI at DOCS_PATH and the document at OPENAPI_JSON_PATH (GET routes only). */
export function setupOpenApi(app: INestApplication): void {
  SwaggerModule.setup(DOCS_PATH, app, createOpenApiDocument(app), {
    jsonDocumentUrl: OPENAPI_JSON_PATH,
    raw: ['json'],
    customSiteTitle: 'Gateway API',
  });
}
