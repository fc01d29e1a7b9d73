import { Inject, Injectable } from '@nestjs/common';
import type { Interceptor, ServerInterceptor } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { APP_LOGGER } from '../logging/app-logger.module.js';
import { Tracing } from '../tracing/tracing.js';
import { grpcClientTelemetryInterceptor } from './grpc-client-telemetry.interceptor.js';
import { grpcServerTelemetryInterceptor } from './grpc-server-telemetry.interceptor.js';

/**
 * The interceptors every gRPC server and client of the system runs, built
 * once per process, one layer each: request ids, logs, metrics, and traces
 * when tracing is on. Servers get theirs through GrpcOperations
 * (`grpcServerOptions`), the gateway's clients through `grpcClientOptions`.
 */
@Injectable()
export class GrpcTelemetry {
  readonly serverInterceptors: readonly ServerInterceptor[];
  readonly clientInterceptors: readonly Interceptor[];

  constructor(@Inject(APP_LOGGER) logger: Logger, registry: Registry, tracing: Tracing) {
    this.serverInterceptors = [
      grpcServerTelemetryInterceptor({ logger, registry, tracing: tracing.grpcSpanAttributes }),
    ];
    this.clientInterceptors = [
      grpcClientTelemetryInterceptor({
        requestIds: true,
        registry,
        tracing: tracing.grpcSpanAttributes,
      }),
    ];
  }
}
