import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger as PinoNestLogger } from 'nestjs-pino';
import { startApp } from '#observability';
import { closeOnSignal } from './close-on-signal.js';
import { GatewayEnv } from './config/gateway.env.js';
import { GatewayModule } from './gateway.module.js';
import { configureHttpPlatform, createHttpAdapter } from './http-platform.js';
import { setupOpenApi } from './openapi/openapi.js';
import { listenerOptions } from './security/http-hardening.js';

// Serves the HTTP API until SIGTERM/SIGINT (docs/operations.md).
await startApp({
  app: 'gateway',
  env: GatewayEnv,
  start: async (env, logger) => {
    // The listener (HTTPS, timeouts) is made with the adapter, from the validated env.
    const app = await NestFactory.create<NestFastifyApplication>(
      GatewayModule,
      createHttpAdapter(listenerOptions(env)),
      { abortOnError: false, bodyParser: false, logger },
    );
    app.useLogger(app.get(PinoNestLogger));
    const https = env.GATEWAY_TLS_CERT !== undefined;
    await configureHttpPlatform(app, env.GATEWAY_BODY_LIMIT_BYTES, {
      https,
      corsOrigins: env.GATEWAY_CORS_ORIGINS,
      maxHeaderBytes: env.GATEWAY_MAX_HEADER_BYTES,
    });
    setupOpenApi(app);
    closeOnSignal(app);
    const { GATEWAY_HTTP_HOST: host, GATEWAY_HTTP_PORT: port } = env;
    await app.listen(port, host);
    new Logger('Gateway').log(
      `HTTP gateway listening on ${https ? 'https' : 'http'}://${host}:${port}`,
    );
  },
});
