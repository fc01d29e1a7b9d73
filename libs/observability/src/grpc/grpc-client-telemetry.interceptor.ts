import {
  InterceptingCall,
  ListenerBuilder,
  RequesterBuilder,
  status as GrpcStatus,
  type Interceptor,
} from '@grpc/grpc-js';
import {
  context as otelContext,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { currentRequestId, REQUEST_ID_HEADER } from '../request-context.js';
import { grpcMethodInfo, metadataSetter } from './grpc-method.js';

/**
 * The gateway's interceptor for request ids and traces: every outgoing call
 * carries the `x-request-id` of the HTTP request it serves and the W3C trace
 * context of a CLIENT span that lasts until the call's status arrives.
 */
export function grpcClientTelemetryInterceptor(): Interceptor {
  const tracer = trace.getTracer('cheese-farm-soccer/grpc-client');
  return (options, nextCall) => {
    const info = grpcMethodInfo(options.method_definition);
    const parent = otelContext.active();
    const span = tracer.startSpan(
      info.fullMethod,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'rpc.system': 'grpc',
          'rpc.service': info.service,
          'rpc.method': info.method,
        },
      },
      parent,
    );
    const requester = new RequesterBuilder()
      .withStart((metadata, _listener, next) => {
        const requestId = currentRequestId();
        if (requestId) metadata.set(REQUEST_ID_HEADER, requestId);
        propagation.inject(trace.setSpan(parent, span), metadata, metadataSetter);
        const statusListener = new ListenerBuilder()
          .withOnReceiveStatus((status, nextStatus) => {
            span.setAttribute('rpc.grpc.status_code', status.code);
            if (status.code !== GrpcStatus.OK) {
              span.setStatus({ code: SpanStatusCode.ERROR, message: status.details });
            }
            span.end();
            nextStatus(status);
          })
          .build();
        next(metadata, statusListener);
      })
      .build();
    return new InterceptingCall(nextCall(options), requester);
  };
}
