import { Logger, Module, type DynamicModule } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { GrpcEnv } from '#config';
import { GrpcTelemetry, PROBE_ROUTES } from '#observability';
import { grpcServiceName, type GrpcServiceKey } from '#proto';
import { grpcServerSecurity } from '../grpc-credentials.js';
import { TlsMetrics } from '../tls-metrics.js';
import { GrpcOperations } from './grpc-operations.js';
import { grpcProbeRoutes } from './grpc-probe-routes.js';

/**
 * Provides the process's GrpcOperations (health, reflection, transport
 * security, shutdown signal), configured from GrpcEnv, to the whole app, and
 * the probe endpoints MetricsServer serves from its health (PROBE_ROUTES). Needs
 * ObservabilityModule (the interceptors) imported beside it.
 */
@Module({})
export class GrpcOperationsModule {
  /** For a server hosting the services `keys` of GRPC_SERVICES. */
  static forServices(...keys: GrpcServiceKey[]): DynamicModule {
    return {
      module: GrpcOperationsModule,
      global: true,
      providers: [
        {
          provide: GrpcOperations,
          inject: [ConfigService, GrpcTelemetry],
          useFactory: (config: ConfigService<GrpcEnv, true>, telemetry: GrpcTelemetry) =>
            new GrpcOperations({
              services: keys.map(grpcServiceName),
              reflection: config.get('GRPC_REFLECTION', { infer: true }),
              shutdownGraceMs: config.get('SHUTDOWN_GRACE_MS', { infer: true }),
              interceptors: telemetry.serverInterceptors,
              // Certificates are read and checked here: a bad one stops the start.
              // Then they are re-read, and renewed ones serve new connections.
              security: grpcServerSecurity(
                {
                  GRPC_TLS_CERT: config.get('GRPC_TLS_CERT', { infer: true }),
                  GRPC_TLS_KEY: config.get('GRPC_TLS_KEY', { infer: true }),
                  GRPC_TLS_CLIENT_CA: config.get('GRPC_TLS_CLIENT_CA', { infer: true }),
                  GRPC_AUTH_TOKEN: config.get('GRPC_AUTH_TOKEN', { infer: true }),
                },
                {
                  intervalMs: config.get('TLS_RELOAD_INTERVAL_MS', { infer: true }),
                  log: new Logger('Tls'),
                },
              ),
            }),
        },
        TlsMetrics,
        // The metrics port's /healthz and /readyz (MetricsServer).
        {
          provide: PROBE_ROUTES,
          inject: [GrpcOperations],
          useFactory: (operations: GrpcOperations) => grpcProbeRoutes(operations.health),
        },
      ],
      exports: [GrpcOperations, PROBE_ROUTES],
    };
  }
}
