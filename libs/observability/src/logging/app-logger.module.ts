import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AppEnv } from '#config';
import { createAppLogger } from './app-logger.js';

/** Injection token of the process's root pino logger. */
export const APP_LOGGER = Symbol('APP_LOGGER');
/** Injection token of the app's name (`service.name`, the `app` field of each log line). */
export const APP_NAME = Symbol('APP_NAME');

/** The root pino logger, one per process, shared by Nest's logger and the interceptors. */
@Module({})
export class AppLoggerModule {
  static forApp(app: string) {
    return {
      module: AppLoggerModule,
      providers: [
        { provide: APP_NAME, useValue: app },
        {
          provide: APP_LOGGER,
          inject: [ConfigService],
          useFactory: (config: ConfigService<AppEnv, true>) =>
            createAppLogger(
              app,
              config.get('LOG_LEVEL', { infer: true }),
              // As Tracing.start decides: traces only with an OTLP endpoint.
              config.get('OTEL_EXPORTER_OTLP_ENDPOINT', { infer: true }) !== undefined,
            ),
        },
      ],
      exports: [APP_NAME, APP_LOGGER],
    };
  }
}
