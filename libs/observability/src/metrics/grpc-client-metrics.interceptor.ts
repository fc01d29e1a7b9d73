import {
  InterceptingCall,
  ListenerBuilder,
  RequesterBuilder,
  type Interceptor,
} from '@grpc/grpc-js';
import type { Registry } from 'prom-client';
import { GrpcCallMetrics } from './grpc-call-metrics.js';

/**
 * Counts every call a gRPC client makes (`grpc_client_*`, see
 * GrpcCallMetrics): started, in flight, messages each way, and once its
 * status arrives (CANCELLED too, when the caller cancels) handled by code
 * and its duration. Retries happen below interceptors, so a call retried on
 * another replica counts once, with its final status. The metric families
 * appear on `registry` with the first call.
 */
export function grpcClientMetricsInterceptor(registry: Registry): Interceptor {
  let families: GrpcCallMetrics | undefined;
  return (options, nextCall) => {
    families ??= new GrpcCallMetrics(registry, 'client');
    const method = families.method(options.method_definition);
    const started = performance.now();
    method.started.inc();
    method.active.inc();

    const requester = new RequesterBuilder()
      .withStart((metadata, listener, next) => {
        const counting = new ListenerBuilder()
          .withOnReceiveMessage((message, nextMessage) => {
            method.received.inc();
            nextMessage(message);
          })
          .withOnReceiveStatus((status, nextStatus) => {
            method.active.dec();
            method.handled(status.code).inc();
            method.handlingSeconds.observe((performance.now() - started) / 1000);
            nextStatus(status);
          })
          .build();
        next(metadata, counting);
      })
      .withSendMessage((message, next) => {
        method.sent.inc();
        next(message);
      })
      .build();
    return new InterceptingCall(nextCall(options), requester);
  };
}
