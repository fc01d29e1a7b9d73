import {
  Metadata,
  status as GrpcStatus,
  type ServerInterceptingCallInterface,
} from '@grpc/grpc-js';
import {
  context as otelContext,
  SpanStatusCode,
  type Context,
  type Span,
} from '@opentelemetry/api';
import {
  acceptRequestId,
  REQUEST_ID_HEADER,
  runInRequestContext,
  type RequestContext,
} from '../request-context.js';
import type { GrpcSpanAttributes } from './grpc-span-attributes.js';
import type { MethodTelemetry } from './grpc-server-telemetry.interceptor.js';

/** Server errors: the service's fault, worth an error line (as grpc-go's logging maps them). */
export const SERVER_ERROR_CODES = new Set<number>([
  GrpcStatus.UNKNOWN,
  GrpcStatus.INTERNAL,
  GrpcStatus.DATA_LOSS,
  GrpcStatus.UNIMPLEMENTED,
]);

/** What grpc-js gives a call's `start`: the next layer's listener. */
type CallListener = Parameters<ServerInterceptingCallInterface['start']>[0];
type ListenerEvent = 'onReceiveMetadata' | 'onReceiveMessage' | 'onReceiveHalfClose';

/**
 * The telemetry of one call: a layer between grpc-js's call and the
 * handler, both the call the handler sees and the listener grpc-js feeds.
 * One object per call, where grpc-js's ServerInterceptingCall with a
 * listener and a responder made some twenty closures and objects per call
 * (docs/performance-investigations.md). Every step passes on at once, so
 * the order of events is grpc-js's own.
 */
export class TelemetryCall implements ServerInterceptingCallInterface, CallListener {
  private readonly started = performance.now();
  private listener!: CallListener;
  private request: RequestContext | undefined;
  private span: Span | undefined;
  private spanContext: Context | undefined;
  private metadataSent = false;
  private cancelled = false;
  private ended = false;

  constructor(
    private readonly call: ServerInterceptingCallInterface,
    private readonly method: MethodTelemetry,
  ) {
    method.metrics?.start();
  }

  // The handler's side.

  start(listener: CallListener): void {
    this.listener = listener;
    this.call.start(this);
  }

  sendMetadata(metadata: Metadata): void {
    this.metadataSent = true;
    if (this.request) metadata.set(REQUEST_ID_HEADER, this.request.requestId);
    this.call.sendMetadata(metadata);
  }

  sendMessage(message: unknown, callback: () => void): void {
    // As grpc-js's own layer: the headers go first, with the request id.
    if (!this.metadataSent) this.sendMetadata(new Metadata());
    if (this.method.metrics) this.method.metrics.sent++;
    this.call.sendMessage(message, callback);
  }

  sendStatus(status: Parameters<ServerInterceptingCallInterface['sendStatus']>[0]): void {
    this.end(status.code, status.details);
    this.call.sendStatus(status);
  }

  startRead(): void {
    this.call.startRead();
  }

  getPeer() {
    return this.call.getPeer();
  }

  getDeadline() {
    return this.call.getDeadline();
  }

  getHost() {
    return this.call.getHost();
  }

  getAuthContext() {
    return this.call.getAuthContext();
  }

  getConnectionInfo() {
    return this.call.getConnectionInfo();
  }

  getMetricsRecorder() {
    return this.call.getMetricsRecorder();
  }

  // grpc-js's side. Handlers run inside a listener event: streaming-in ones
  // when metadata arrives, unary and server-streaming ones at half-close
  // (their one message is only stored before). The call's context is entered there.

  onReceiveMetadata(metadata: Metadata): void {
    if (this.cancelled) return;
    const { method } = this;
    if (method.ids) {
      this.request = { requestId: acceptRequestId(metadata.get(REQUEST_ID_HEADER)[0]) };
      if (method.spans) {
        const { span, context } = method.startSpan(metadata, this.request.requestId);
        this.span = span;
        this.spanContext = context;
      }
    }
    if (method.streamsIn) this.enter('onReceiveMetadata', metadata);
    else this.listener.onReceiveMetadata(metadata);
  }

  onReceiveMessage(message: unknown): void {
    if (this.cancelled) return;
    const { method } = this;
    if (method.metrics) method.metrics.received++;
    if (method.streamsIn) this.enter('onReceiveMessage', message);
    else this.listener.onReceiveMessage(message);
  }

  onReceiveHalfClose(): void {
    if (this.cancelled) return;
    this.enter('onReceiveHalfClose');
  }

  onCancel(): void {
    this.cancelled = true;
    this.end(GrpcStatus.CANCELLED, 'cancelled by the client');
    this.listener.onCancel();
  }

  /** The next listener's `event`, within the call's request context (and span). */
  private enter(event: ListenerEvent, arg?: unknown): void {
    const { request, spanContext, listener } = this;
    if (!request) deliver(listener, event, arg);
    else if (!spanContext) runInRequestContext(request, deliver, listener, event, arg);
    else runInRequestContext(request, deliverInSpan, spanContext, listener, event, arg);
  }

  private end(code: number, details: string): void {
    if (this.ended) return;
    this.ended = true;
    const ms = performance.now() - this.started;
    const { method, span } = this;
    method.metrics?.end(code, ms / 1000);
    if (span) endSpan(span, method.spans!.attributes, code, details);
    if (method.ids) method.log(code, details, this.request?.requestId ?? '', ms, this.call, span);
  }
}

function deliver(listener: CallListener, event: ListenerEvent, arg: unknown): void {
  if (event === 'onReceiveHalfClose') listener.onReceiveHalfClose();
  else if (event === 'onReceiveMessage') listener.onReceiveMessage(arg);
  else listener.onReceiveMetadata(arg as Metadata);
}

function deliverInSpan(
  spanContext: Context,
  listener: CallListener,
  event: ListenerEvent,
  arg: unknown,
): void {
  otelContext.with(spanContext, deliver, undefined, listener, event, arg);
}

function endSpan(span: Span, attributes: GrpcSpanAttributes, code: number, details: string): void {
  span.setAttribute(attributes.statusCode, code);
  if (SERVER_ERROR_CODES.has(code))
    span.setStatus({ code: SpanStatusCode.ERROR, message: details });
  span.end();
}
