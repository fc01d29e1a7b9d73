import {
  ResponderBuilder,
  ServerInterceptingCall,
  ServerListenerBuilder,
  status as GrpcStatus,
  type ServerInterceptor,
} from '@grpc/grpc-js';
import type { Registry } from 'prom-client';
import { GrpcCallMetrics } from './grpc-call-metrics.js';

/**
 * Counts every call a gRPC server handles (`grpc_server_*`, see
 * GrpcCallMetrics): started, in flight, messages each way, and once the
 * status goes out (or the client cancels, counted once as CANCELLED) handled
 * by code and its handling time. The metric families appear on `registry`
 * with the first call, so an app that serves no gRPC shows none.
 */
export function grpcServerMetricsInterceptor(registry: Registry): ServerInterceptor {
  let families: GrpcCallMetrics | undefined;
  return (definition, call) => {
    families ??= new GrpcCallMetrics(registry, 'server');
    const method = families.method(definition);
    const started = performance.now();
    let ended = false;
    method.started.inc();
    method.active.inc();

    const end = (code: number) => {
      if (ended) return;
      ended = true;
      method.active.dec();
      method.handled(code).inc();
      method.handlingSeconds.observe((performance.now() - started) / 1000);
    };

    const listener = new ServerListenerBuilder()
      .withOnReceiveMessage((message, next) => {
        method.received.inc();
        next(message);
      })
      .withOnCancel(() => end(GrpcStatus.CANCELLED))
      .build();
    const responder = new ResponderBuilder()
      .withStart((next) => next(listener))
      .withSendMessage((message, next) => {
        method.sent.inc();
        next(message);
      })
      .withSendStatus((status, next) => {
        end(status.code);
        next(status);
      })
      .build();
    return new ServerInterceptingCall(call, responder);
  };
}
