import { Inject, Injectable } from '@nestjs/common';
import type { Interceptor, ServerInterceptor } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { APP_LOGGER } from '../logging/app-logger.module.js';
import { grpcClientMetricsInterceptor } from '../metrics/grpc-client-metrics.interceptor.js';
import { grpcServerMetricsInterceptor } from '../metrics/grpc-server-metrics.interceptor.js';
import { grpcClientTelemetryInterceptor } from './grpc-client-telemetry.interceptor.js';
import { grpcServerTelemetryInterceptor } from './grpc-server-telemetry.interceptor.js';

/**
 * The interceptors every gRPC server and client of the system runs, built
 * once per process: request ids, traces and logs, then metrics. Servers get
 * them through GrpcOperations (`grpcServerOptions`), the gateway's clients
 * through `grpcClientOptions`.
 */
@Injectable()
export class GrpcTelemetry {
  readonly serverInterceptors: readonly ServerInterceptor[];
  readonly clientInterceptors: readonly Interceptor[];

  constructor(@Inject(APP_LOGGER) logger: Logger, registry: Registry) {
    this.serverInterceptors = [
      grpcServerTelemetryInterceptor(logger),
      grpcServerMetricsInterceptor(registry),
    ];
    this.clientInterceptors = [
      grpcClientTelemetryInterceptor(),
      grpcClientMetricsInterceptor(registry),
    ];
  }
}
