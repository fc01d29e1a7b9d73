import type { ServerInterceptor } from '@grpc/grpc-js';
import type { Registry } from 'prom-client';
import { grpcServerTelemetryInterceptor } from '../grpc/grpc-server-telemetry.interceptor.js';

/**
 * Counts every call a gRPC server handles (`grpc_server_*`, see
 * GrpcCallMetrics): started, in flight, messages each way, and once the
 * status goes out (or the client cancels, counted once as CANCELLED) handled
 * by code and its handling time. The metric families appear on `registry`
 * with the first call, so an app that serves no gRPC shows none. (The
 * services' GrpcTelemetry counts in the same layer as it logs.)
 */
export function grpcServerMetricsInterceptor(registry: Registry): ServerInterceptor {
  return grpcServerTelemetryInterceptor({ registry });
}
