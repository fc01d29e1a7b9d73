import type { Interceptor } from '@grpc/grpc-js';
import type { Registry } from 'prom-client';
import { grpcClientTelemetryInterceptor } from '../grpc/grpc-client-telemetry.interceptor.js';

/**
 * Counts every call a gRPC client makes (`grpc_client_*`, see
 * GrpcCallMetrics): started, in flight, messages each way, and once its
 * status arrives (CANCELLED too, when the caller cancels) handled by code
 * and its duration. Retries happen below interceptors, so a call retried on
 * another replica counts once, with its final status. The metric families
 * appear on `registry` with the first call. (The gateway's GrpcTelemetry
 * counts in the same layer as it passes request ids and traces on.)
 */
export function grpcClientMetricsInterceptor(registry: Registry): Interceptor {
  return grpcClientTelemetryInterceptor({ registry });
}
