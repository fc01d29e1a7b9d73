import {
  InterceptingCall,
  status as GrpcStatus,
  type Interceptor,
  type Listener,
  type Requester,
} from '@grpc/grpc-js';
import {
  context as otelContext,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import type { Registry } from 'prom-client';
import { GrpcCallMetrics, type GrpcMethodMetrics } from '../metrics/grpc-call-metrics.js';
import { currentRequestId, REQUEST_ID_HEADER } from '../request-context.js';
import { grpcMethodInfo, metadataSetter, type GrpcMethodInfo } from './grpc-method.js';
import type { GrpcSpanAttributes } from './grpc-span-attributes.js';

/** What the client interceptor does for every call; each part is off when absent. */
export interface GrpcClientTelemetryOptions {
  /** Every call carries the `x-request-id` of the HTTP request it serves. */
  requestIds?: boolean;
  /** `grpc_client_*` metrics (GrpcCallMetrics) on this registry, from the first call. */
  registry?: Registry;
  /**
   * Tracing is on (`Tracing.grpcSpanAttributes`, loaded when tracing starts):
   * a CLIENT span per call with these attributes, lasting until its status
   * arrives, whose W3C trace context the call carries. Off, no OpenTelemetry
   * code runs per call.
   */
  tracing?: GrpcSpanAttributes;
}

/**
 * The gateway's interceptor around every outgoing call, in one layer:
 * request ids, traces and metrics (started, in flight, messages each way,
 * and once its status arrives, CANCELLED too when the caller cancels,
 * handled by code and its duration). Retries happen below interceptors, so a
 * call retried on another replica counts once, with its final status.
 */
export function grpcClientTelemetryInterceptor(options: GrpcClientTelemetryOptions): Interceptor {
  const attributes = options.tracing;
  const tracer = attributes ? trace.getTracer('cheese-farm-soccer/grpc-client') : undefined;
  const requestIds = options.requestIds === true;
  let families: GrpcCallMetrics | undefined;
  const methods = new Map<string, { info: GrpcMethodInfo; metrics?: GrpcMethodMetrics }>();
  return (callOptions, nextCall) => {
    const definition = callOptions.method_definition;
    let method = methods.get(definition.path);
    if (!method) {
      if (options.registry) families ??= new GrpcCallMetrics(options.registry, 'client');
      method = { info: grpcMethodInfo(definition), metrics: families?.method(definition) };
      methods.set(definition.path, method);
    }
    const { metrics } = method;
    const started = performance.now();
    metrics?.start();
    const parent = tracer ? otelContext.active() : undefined;
    const span = tracer ? startSpan(tracer, method.info) : undefined;

    const requester: Requester = {
      start: (metadata, listener, next) => {
        if (requestIds) {
          const requestId = currentRequestId();
          if (requestId) metadata.set(REQUEST_ID_HEADER, requestId);
        }
        if (span) propagation.inject(trace.setSpan(parent!, span), metadata, metadataSetter);
        const observing: Listener = {
          onReceiveStatus: (status, nextStatus) => {
            metrics?.end(status.code, (performance.now() - started) / 1000);
            if (span) {
              span.setAttribute(attributes!.statusCode, status.code);
              if (status.code !== GrpcStatus.OK) {
                span.setStatus({ code: SpanStatusCode.ERROR, message: status.details });
              }
              span.end();
            }
            nextStatus(status);
          },
        };
        if (metrics) {
          observing.onReceiveMessage = (message, nextMessage) => {
            metrics.received++;
            nextMessage(message);
          };
        }
        next(metadata, observing);
      },
    };
    if (metrics) {
      requester.sendMessage = (message, next) => {
        metrics.sent++;
        next(message);
      };
    }
    return new InterceptingCall(nextCall(callOptions), requester);
  };

  function startSpan(t: Tracer, info: GrpcMethodInfo): Span {
    return t.startSpan(
      info.fullMethod,
      {
        kind: SpanKind.CLIENT,
        attributes: attributes!.ofMethod(info),
      },
      otelContext.active(),
    );
  }
}
