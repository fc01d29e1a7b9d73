import { Module } from '@nestjs/common';
import { MetricsController } from './metrics.controller.js';

/**
 * `GET /metrics` on the gateway's own port. The HTTP metrics are counted by
 * a Fastify hook (configureHttpPlatform), the gRPC client metrics by the
 * clients' interceptors (GrpcTelemetry); the registry is ObservabilityModule's.
 */
@Module({ controllers: [MetricsController] })
export class MetricsModule {}
