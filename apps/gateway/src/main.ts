import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger as PinoNestLogger } from 'nestjs-pino';
import { validateEnv } from '#config';
import { closeOnSignal } from './close-on-signal.js';
import { GatewayEnv } from './config/gateway.env.js';
import { GatewayModule } from './gateway.module.js';
import { configureHttpPlatform, createHttpAdapter } from './http-platform.js';
import { setupOpenApi } from './openapi/openapi.js';
import { listenerOptions } from './security/http-hardening.js';

async function bootstrap() {
  // Read before the app exists: the listener (HTTPS, timeouts) is made with the adapter.
  const env = validateEnv(GatewayEnv)(process.env);
  const app = await NestFactory.create<NestFastifyApplication>(
    GatewayModule,
    createHttpAdapter(listenerOptions(env)),
    { abortOnError: false, bodyParser: false, bufferLogs: true },
  );
  app.useLogger(app.get(PinoNestLogger));
  const https = env.GATEWAY_TLS_CERT !== undefined;
  await configureHttpPlatform(app, env.GATEWAY_BODY_LIMIT_BYTES, {
    https,
    corsOrigins: env.GATEWAY_CORS_ORIGINS,
  });
  setupOpenApi(app);
  closeOnSignal(app);
  const { GATEWAY_HTTP_HOST: host, GATEWAY_HTTP_PORT: port } = env;
  await app.listen(port, host);
  new Logger('Gateway').log(
    `HTTP gateway listening on ${https ? 'https' : 'http'}://${host}:${port}`,
  );
}

bootstrap().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
