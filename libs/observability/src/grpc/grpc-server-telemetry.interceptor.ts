import {
  Metadata,
  ResponderBuilder,
  ServerInterceptingCall,
  ServerListenerBuilder,
  status as GrpcStatus,
  type ServerInterceptor,
} from '@grpc/grpc-js';
import {
  context as otelContext,
  INVALID_SPAN_CONTEXT,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
} from '@opentelemetry/api';
import type { Logger } from 'pino';
import { acceptRequestId, REQUEST_ID_HEADER, runInRequestContext } from '../request-context.js';
import {
  grpcCodeName,
  grpcMethodInfo,
  isInfrastructureService,
  metadataGetter,
} from './grpc-method.js';

/** Server errors: the service's fault, worth an error line (as grpc-go's logging maps them). */
const SERVER_ERROR_CODES = new Set<number>([
  GrpcStatus.UNKNOWN,
  GrpcStatus.INTERNAL,
  GrpcStatus.DATA_LOSS,
  GrpcStatus.UNIMPLEMENTED,
]);

/**
 * The services' one interceptor for request ids, traces and logs: for every
 * call it takes the caller's `x-request-id` (or makes one) and W3C trace
 * context from the metadata, runs the handler inside both (so its own log
 * lines and spans belong to the call), echoes the request id in the response
 * headers, and when the call ends writes one log line (method, status code,
 * duration, request id) and ends a SERVER span.
 */
export function grpcServerTelemetryInterceptor(logger: Logger): ServerInterceptor {
  const tracer = trace.getTracer('cheese-farm-soccer/grpc-server');
  return (definition, call) => {
    const info = grpcMethodInfo(definition);
    const started = performance.now();
    let requestId = '';
    let callContext: Context = ROOT_CONTEXT;
    let span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
    let ended = false;

    // Handlers run inside a listener's `next`: streaming ones when metadata
    // arrives, unary ones at half-close. Each is entered in the call's context.
    const inCall = (fn: () => void) =>
      runInRequestContext({ requestId }, () => otelContext.with(callContext, fn));

    const end = (code: number, details: string) => {
      if (ended) return;
      ended = true;
      const durationMs = Math.round((performance.now() - started) * 10) / 10;
      const codeName = grpcCodeName(code);
      span.setAttribute('rpc.grpc.status_code', code);
      if (SERVER_ERROR_CODES.has(code))
        span.setStatus({ code: SpanStatusCode.ERROR, message: details });
      span.end();
      const level = isInfrastructureService(info.service)
        ? 'debug'
        : SERVER_ERROR_CODES.has(code)
          ? 'error'
          : 'info';
      const spanContext = span.spanContext();
      logger[level](
        {
          reqId: requestId,
          ...(trace.isSpanContextValid(spanContext) ? { traceId: spanContext.traceId } : {}),
          grpc: { method: info.fullMethod, type: info.type, code: codeName },
          durationMs,
          peer: call.getPeer(),
          ...(code === (GrpcStatus.OK as number) ? {} : { details }),
        },
        `gRPC ${info.fullMethod} ${codeName}`,
      );
    };

    const listener = new ServerListenerBuilder()
      .withOnReceiveMetadata((metadata: Metadata, next) => {
        requestId = acceptRequestId(metadata.get(REQUEST_ID_HEADER)[0]);
        const parent = propagation.extract(ROOT_CONTEXT, metadata, metadataGetter);
        span = tracer.startSpan(
          info.fullMethod,
          {
            kind: SpanKind.SERVER,
            attributes: {
              'rpc.system': 'grpc',
              'rpc.service': info.service,
              'rpc.method': info.method,
              'request.id': requestId,
            },
          },
          parent,
        );
        callContext = trace.setSpan(parent, span);
        inCall(() => next(metadata));
      })
      .withOnReceiveMessage((message, next) => inCall(() => next(message)))
      .withOnReceiveHalfClose((next) => inCall(next))
      .withOnCancel(() => end(GrpcStatus.CANCELLED, 'cancelled by the client'))
      .build();

    const responder = new ResponderBuilder()
      .withStart((next) => next(listener))
      .withSendMetadata((metadata, next) => {
        if (requestId) metadata.set(REQUEST_ID_HEADER, requestId);
        next(metadata);
      })
      .withSendStatus((status, next) => {
        end(status.code, status.details);
        next(status);
      })
      .build();
    return new ServerInterceptingCall(call, responder);
  };
}
