import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger as PinoNestLogger } from 'nestjs-pino';
import { closeOnSignal } from './close-on-signal.js';
import type { GatewayEnv } from './config/gateway.env.js';
import { GatewayModule } from './gateway.module.js';
import { configureHttpPlatform, createHttpAdapter } from './http-platform.js';
import { setupOpenApi } from './openapi/openapi.js';

async function bootstrap() {
  const app = await NestFactory.create<NestFastifyApplication>(GatewayModule, createHttpAdapter(), {
    abortOnError: false,
    bodyParser: false,
    bufferLogs: true,
  });
  app.useLogger(app.get(PinoNestLogger));
  const config = app.get<ConfigService<GatewayEnv, true>>(ConfigService);
  configureHttpPlatform(app, config.get('GATEWAY_BODY_LIMIT_BYTES', { infer: true }));
  setupOpenApi(app);
  closeOnSignal(app);
  const host = config.get('GATEWAY_HTTP_HOST', { infer: true });
  const port = config.get('GATEWAY_HTTP_PORT', { infer: true });
  await app.listen(port, host);
  new Logger('Gateway').log(`HTTP gateway listening on http://${host}:${port}`);
}

bootstrap().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
