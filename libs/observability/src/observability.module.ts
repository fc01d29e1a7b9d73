import { Module, type DynamicModule } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { LoggerModule, type Params } from 'nestjs-pino';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import type { AppEnv } from '#config';
import { GrpcTelemetry } from './grpc/grpc-telemetry.js';
import { APP_LOGGER, AppLoggerModule } from './logging/app-logger.module.js';
import { createMetricsRegistry } from './metrics/metrics-registry.js';
import { Tracing } from './tracing/tracing.js';

/**
 * nestjs-pino's parameters, over the app's root logger. The first
 * PinoLogger made in a process fixes them (nestjs-pino keeps one pino-http
 * instance), so the start-up logger (startApp) is made with these too. No
 * route gets its middleware: an HTTP app's line per request is a Fastify
 * hook's (installHttpRequestLog), and lines written while a request is
 * handled get its `reqId` from the request context (createAppLogger).
 */
export function nestLoggerParams(logger: Logger): Params {
  return { pinoHttp: { logger }, forRoutes: [] };
}

/**
 * Logs, traces (and metrics) of one app, for the whole app: nestjs-pino as
 * Nest's logger (`app.useLogger(app.get(Logger))` in main.ts), the gRPC interceptors (GrpcTelemetry) and the tracer
 * provider. docs/operations.md explains what each produces.
 */
@Module({})
export class ObservabilityModule {
  /** `app`: the app's name, as in libs/launcher's APPS ('cheese-service', 'gateway', …). */
  static forApp(app: string): DynamicModule {
    const appLogger = AppLoggerModule.forApp(app);
    return {
      module: ObservabilityModule,
      global: true,
      imports: [
        appLogger,
        LoggerModule.forRootAsync({
          imports: [appLogger],
          inject: [APP_LOGGER],
          useFactory: nestLoggerParams,
        }),
      ],
      providers: [
        {
          provide: Tracing,
          inject: [ConfigService],
          useFactory: (config: ConfigService<AppEnv, true>) =>
            Tracing.start({
              serviceName: config.get('OTEL_SERVICE_NAME', { infer: true }) ?? app,
              endpoint: config.get('OTEL_EXPORTER_OTLP_ENDPOINT', { infer: true }),
              protocol: config.get('OTEL_EXPORTER_OTLP_PROTOCOL', { infer: true }),
            }),
        },
        { provide: Registry, useFactory: createMetricsRegistry },
        GrpcTelemetry,
      ],
      exports: [appLogger, LoggerModule, Tracing, Registry, GrpcTelemetry],
    };
  }
}
