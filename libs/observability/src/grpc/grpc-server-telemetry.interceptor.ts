import {
  Metadata,
  ServerInterceptingCall,
  status as GrpcStatus,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  type ServerListener,
  type ServerMethodDefinition,
} from '@grpc/grpc-js';
import {
  context as otelContext,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import type { Level, Logger } from 'pino';
import type { Registry } from 'prom-client';
import { GrpcCallMetrics, type GrpcMethodMetrics } from '../metrics/grpc-call-metrics.js';
import {
  acceptRequestId,
  REQUEST_ID_HEADER,
  runInRequestContext,
  type RequestContext,
} from '../request-context.js';
import {
  grpcCodeName,
  grpcMethodInfo,
  isInfrastructureService,
  metadataGetter,
  type GrpcMethodInfo,
} from './grpc-method.js';
import type { GrpcSpanAttributes } from './grpc-span-attributes.js';

/** Server errors: the service's fault, worth an error line (as grpc-go's logging maps them). */
const SERVER_ERROR_CODES = new Set<number>([
  GrpcStatus.UNKNOWN,
  GrpcStatus.INTERNAL,
  GrpcStatus.DATA_LOSS,
  GrpcStatus.UNIMPLEMENTED,
]);

/** What the server interceptor does for every call; each part is off when absent. */
export interface GrpcServerTelemetryOptions {
  /**
   * Request ids and one log line per call: the caller's `x-request-id` (or
   * a new one) is the call's request context and is echoed in the response
   * headers; the line (method, status code, duration, request id, peer) is
   * written when the call ends.
   */
  logger?: Logger;
  /** `grpc_server_*` metrics (GrpcCallMetrics) on this registry, from the first call. */
  registry?: Registry;
  /**
   * Tracing is on (`Tracing.grpcSpanAttributes`, loaded when tracing starts):
   * a SERVER span per call with these attributes, child of the caller's W3C
   * trace context, current while the handler runs. Off, no OpenTelemetry code
   * runs per call.
   */
  tracing?: GrpcSpanAttributes;
}

/**
 * The services' one interceptor around every call (every call style, health
 * and reflection included): request ids, logs, metrics and traces, in one
 * layer, with everything that depends only on the method (labels, the log
 * line's constant fields, its level) made on the method's first call.
 */
export function grpcServerTelemetryInterceptor(
  options: GrpcServerTelemetryOptions,
): ServerInterceptor {
  const spans = options.tracing && {
    tracer: trace.getTracer('cheese-farm-soccer/grpc-server'),
    attributes: options.tracing,
  };
  let families: GrpcCallMetrics | undefined;
  const methods = new Map<string, MethodTelemetry>();
  return (definition, call) => {
    let method = methods.get(definition.path);
    if (!method) {
      if (options.registry) families ??= new GrpcCallMetrics(options.registry, 'server');
      method = new MethodTelemetry(definition, options.logger, families?.method(definition), spans);
      methods.set(definition.path, method);
    }
    return method.intercept(call);
  };
}

/** With tracing on: the tracer of server spans and their attributes. */
interface ServerSpans {
  readonly tracer: Tracer;
  readonly attributes: GrpcSpanAttributes;
}

interface LogLine {
  readonly logger: Logger;
  readonly msg: string;
  readonly level: Level;
}

/** One method's part of the interceptor: its constants, and the per-call work. */
class MethodTelemetry {
  private readonly info: GrpcMethodInfo;
  /** The log line of each status code: its level, message, and a child logger with its `grpc` field bound. */
  private readonly lines = new Map<number, LogLine>();

  constructor(
    definition: ServerMethodDefinition<unknown, unknown> | Parameters<typeof grpcMethodInfo>[0],
    private readonly logger: Logger | undefined,
    private readonly metrics: GrpcMethodMetrics | undefined,
    private readonly spans: ServerSpans | undefined,
  ) {
    this.info = grpcMethodInfo(definition);
  }

  intercept(call: ServerInterceptingCallInterface): ServerInterceptingCall {
    const { metrics, spans } = this;
    const ids = this.logger !== undefined;
    const started = performance.now();
    metrics?.start();
    let request: RequestContext | undefined;
    let span: Span | undefined;
    let spanContext: Context | undefined;
    let ended = false;

    const end = (code: number, details: string) => {
      if (ended) return;
      ended = true;
      const ms = performance.now() - started;
      metrics?.end(code, ms / 1000);
      if (span) endSpan(span, spans!.attributes, code, details);
      if (ids) this.log(code, details, request?.requestId ?? '', ms, call, span);
    };
    // Handlers run inside a listener's `next`: streaming ones when metadata
    // arrives, unary and server-streaming ones at half-close (their one
    // message is only stored before). The call's context is entered there.
    const enter: <A extends unknown[]>(next: (...args: A) => void, ...args: A) => void = !ids
      ? (next, ...args) => next(...args)
      : !spans
        ? (next, ...args) => runInRequestContext(request!, next, ...args)
        : (next, ...args) =>
            runInRequestContext(request!, () =>
              otelContext.with(spanContext!, next, undefined, ...args),
            );
    const enterStreaming = this.info.type === 'client_stream' || this.info.type === 'bidi_stream';

    const listener: ServerListener = {
      onReceiveMetadata: (metadata: Metadata, next) => {
        if (ids) {
          request = { requestId: acceptRequestId(metadata.get(REQUEST_ID_HEADER)[0]) };
          if (spans) {
            const parent = propagation.extract(ROOT_CONTEXT, metadata, metadataGetter);
            span = this.startSpan(spans, parent, request.requestId);
            spanContext = trace.setSpan(parent, span);
          }
        }
        if (enterStreaming) enter(next, metadata);
        else next(metadata);
      },
      onReceiveMessage: (message, next) => {
        if (metrics) metrics.received++;
        if (enterStreaming) enter(next, message);
        else next(message);
      },
      onReceiveHalfClose: (next) => enter(next),
      onCancel: () => end(GrpcStatus.CANCELLED, 'cancelled by the client'),
    };
    return new ServerInterceptingCall(call, {
      start: (next) => next(listener),
      sendMetadata: (metadata, next) => {
        if (request) metadata.set(REQUEST_ID_HEADER, request.requestId);
        next(metadata);
      },
      sendMessage: (message, next) => {
        if (metrics) metrics.sent++;
        next(message);
      },
      sendStatus: (status, next) => {
        end(status.code, status.details);
        next(status);
      },
    });
  }

  private startSpan({ tracer, attributes }: ServerSpans, parent: Context, requestId: string): Span {
    const { info } = this;
    return tracer.startSpan(
      info.fullMethod,
      {
        kind: SpanKind.SERVER,
        attributes: { ...attributes.ofMethod(info), 'request.id': requestId },
      },
      parent,
    );
  }

  /** The call's one log line. */
  private log(
    code: number,
    details: string,
    reqId: string,
    ms: number,
    call: ServerInterceptingCallInterface,
    span: Span | undefined,
  ): void {
    const line = this.line(code);
    if (!line.logger.isLevelEnabled(line.level)) return;
    const durationMs = Math.round(ms * 10) / 10;
    const peer = call.getPeer();
    const traced = span?.spanContext();
    const fields =
      traced && trace.isSpanContextValid(traced)
        ? { reqId, traceId: traced.traceId, durationMs, peer }
        : { reqId, durationMs, peer };
    line.logger[line.level](
      code === (GrpcStatus.OK as number) ? fields : { ...fields, details },
      line.msg,
    );
  }

  private line(code: number): LogLine {
    let line = this.lines.get(code);
    if (!line) {
      const { info } = this;
      const codeName = grpcCodeName(code);
      line = {
        // Bound once: pino writes a child's bindings as JSON made when the child is.
        logger: this.logger!.child({
          grpc: { method: info.fullMethod, type: info.type, code: codeName },
        }),
        msg: `gRPC ${info.fullMethod} ${codeName}`,
        level: isInfrastructureService(info.service)
          ? 'debug'
          : SERVER_ERROR_CODES.has(code)
            ? 'error'
            : 'info',
      };
      this.lines.set(code, line);
    }
    return line;
  }
}

function endSpan(span: Span, attributes: GrpcSpanAttributes, code: number, details: string): void {
  span.setAttribute(attributes.statusCode, code);
  if (SERVER_ERROR_CODES.has(code))
    span.setStatus({ code: SpanStatusCode.ERROR, message: details });
  span.end();
}
