import { NestFactory } from '@nestjs/core';
import type { OpenAPIObject } from '@nestjs/swagger';
import { GatewayModule } from '../gateway.module.js';
import { createHttpAdapter } from '../http-platform.js';
import { createOpenApiDocument } from './openapi.js';

/**
 * The document GET /docs/openapi.json serves, made without a server: the
 * app in Nest's preview mode, which scans modules, controllers and their
 * decorators but instantiates no provider (nothing connects or listens).
 * The environment must still pass GatewayEnv's validation.
 */
export async function offlineOpenApiDocument(): Promise<OpenAPIObject> {
  const app = await NestFactory.create(GatewayModule, createHttpAdapter(), {
    preview: true,
    logger: false,
    bodyParser: false,
    abortOnError: false,
  });
  try {
    return createOpenApiDocument(app);
  } finally {
    await app.close();
  }
}
