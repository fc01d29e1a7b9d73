import {
  status as GrpcStatus,
  type Metadata,
  type ServerInterceptingCall,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  type ServerMethodDefinition,
} from '@grpc/grpc-js';
import {
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  trace,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import type { Level, Logger } from 'pino';
import type { Registry } from 'prom-client';
import { GrpcCallMetrics, type GrpcMethodMetrics } from '../metrics/grpc-call-metrics.js';
import {
  grpcCodeName,
  grpcMethodInfo,
  isInfrastructureService,
  metadataGetter,
  type GrpcMethodInfo,
} from './grpc-method.js';
import { SERVER_ERROR_CODES, TelemetryCall } from './grpc-server-telemetry-call.js';
import type { GrpcSpanAttributes } from './grpc-span-attributes.js';

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
export interface ServerSpans {
  readonly tracer: Tracer;
  readonly attributes: GrpcSpanAttributes;
}

interface LogLine {
  readonly logger: Logger;
  readonly msg: string;
  readonly level: Level;
}

/** One method's part of the interceptor: what its calls share, made on its first call. */
export class MethodTelemetry {
  private readonly info: GrpcMethodInfo;
  /** The log line of each status code: its level, message, and a child logger with its `grpc` field bound. */
  private readonly lines = new Map<number, LogLine>();
  /** Request ids and the log line are on (a logger was given). */
  readonly ids: boolean;
  /** Client and bidi streams: their handler runs as metadata and messages arrive, not at half-close. */
  readonly streamsIn: boolean;

  constructor(
    definition: ServerMethodDefinition<unknown, unknown> | Parameters<typeof grpcMethodInfo>[0],
    private readonly logger: Logger | undefined,
    readonly metrics: GrpcMethodMetrics | undefined,
    readonly spans: ServerSpans | undefined,
  ) {
    this.info = grpcMethodInfo(definition);
    this.ids = logger !== undefined;
    this.streamsIn = this.info.type === 'client_stream' || this.info.type === 'bidi_stream';
  }

  intercept(call: ServerInterceptingCallInterface): ServerInterceptingCall {
    // grpc-js types an interceptor's result as its own layer class, but
    // uses only the interface (getServerInterceptingCall), which TelemetryCall implements.
    return new TelemetryCall(call, this) as unknown as ServerInterceptingCall;
  }

  /** A SERVER span for one call, child of the caller's trace context in `metadata`. */
  startSpan(metadata: Metadata, requestId: string): { span: Span; context: Context } {
    const { tracer, attributes } = this.spans!;
    const { info } = this;
    const parent = propagation.extract(ROOT_CONTEXT, metadata, metadataGetter);
    const span = tracer.startSpan(
      info.fullMethod,
      {
        kind: SpanKind.SERVER,
        attributes: { ...attributes.ofMethod(info), 'request.id': requestId },
      },
      parent,
    );
    return { span, context: trace.setSpan(parent, span) };
  }

  /** The call's one log line. */
  log(
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
