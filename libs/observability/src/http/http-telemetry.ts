import {
  ATTR_CLIENT_ADDRESS,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_URL_PATH,
} from '@opentelemetry/semantic-conventions';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  context as otelContext,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
} from '@opentelemetry/api';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { acceptRequestId, REQUEST_ID_HEADER, runInRequestContext } from '../request-context.js';

/**
 * The request id of an HTTP request: the caller's `x-request-id` when
 * acceptable, else a new one. It is the Fastify app's `genReqId`, so the id
 * is made once, as `request.id`, which the request's log line carries
 * (installHttpRequestLog).
 */
export function requestIdOf(req: IncomingMessage): string {
  return acceptRequestId(req.headers[REQUEST_ID_HEADER]);
}

const clientAddresses = new WeakMap<IncomingMessage, string>();

/**
 * The client address of a request as Fastify resolved it (`request.ip`:
 * from `X-Forwarded-For` when the peer is a trusted proxy, else the peer),
 * for the request's log line; undefined before installHttpTelemetry saw it.
 */
export function clientAddressOf(req: IncomingMessage): string | undefined {
  return clientAddresses.get(req);
}

interface RequestTelemetry {
  readonly requestId: string;
  readonly span: Span;
  readonly context: Context;
}

const telemetry = new WeakMap<FastifyRequest, RequestTelemetry>();

/**
 * Request ids and SERVER spans for every HTTP request of a Fastify app: the
 * request id is echoed in the response, and the request's handler (and the
 * gRPC calls it makes) run inside both, so the gRPC client interceptor can
 * pass them on. The context is entered at preValidation, where the chain
 * that ends in the handler begins: body parsing, before it, runs on the
 * socket's events, which would lose a context entered at onRequest (the
 * hooks between log nothing). The span and the log line carry the
 * client's address (`request.ip`: behind trusted proxies, the forwarded
 * one). The app must be created with `genReqId: requestIdOf` (the request id
 * is `request.id`). With `tracing` off (`Tracing.enabled`) there are no spans
 * (OpenTelemetry's would be no-ops that record nothing): only the request id
 * and the client's address, at no OpenTelemetry cost per request.
 */
export function installHttpTelemetry(
  app: FastifyInstance,
  { tracing }: { tracing: boolean },
): void {
  if (!tracing) return installRequestIds(app);
  const tracer = trace.getTracer('cheese-farm-soccer/http-server');

  const enter = (request: FastifyRequest, done: () => void) => {
    const t = telemetry.get(request);
    if (!t) return done();
    runInRequestContext({ requestId: t.requestId }, () => otelContext.with(t.context, done));
  };

  app.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done) => {
    const requestId = request.id;
    const clientAddress = request.ip;
    clientAddresses.set(request.raw, clientAddress);
    void reply.header(REQUEST_ID_HEADER, requestId);
    const parent = propagation.extract(ROOT_CONTEXT, request.headers);
    const span = tracer.startSpan(
      `${request.method} ${request.routeOptions.url ?? ''}`.trim(),
      {
        kind: SpanKind.SERVER,
        attributes: {
          [ATTR_HTTP_REQUEST_METHOD]: request.method,
          [ATTR_URL_PATH]: request.url.split('?')[0],
          'request.id': requestId,
          [ATTR_CLIENT_ADDRESS]: clientAddress,
        },
      },
      parent,
    );
    telemetry.set(request, { requestId, span, context: trace.setSpan(parent, span) });
    // 'close' comes once after every response, also hijacked (SSE) and aborted
    // ones: `on`, as the request log's and metrics' listeners.
    reply.raw.on('close', () => endSpan(request, reply.raw));
    done();
  });
  app.addHook('preValidation', (request, _reply, done) => enter(request, done));
}

/** installHttpTelemetry without tracing: the request id, echoed and entered, and the client's address. */
function installRequestIds(app: FastifyInstance): void {
  app.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done) => {
    clientAddresses.set(request.raw, request.ip);
    void reply.header(REQUEST_ID_HEADER, request.id);
    done();
  });
  app.addHook('preValidation', (request, _reply, done) => {
    runInRequestContext({ requestId: request.id }, done);
  });
}

function endSpan(request: FastifyRequest, response: ServerResponse): void {
  const t = telemetry.get(request);
  if (!t) return;
  telemetry.delete(request);
  const route = request.routeOptions.url;
  if (route) {
    t.span.setAttribute(ATTR_HTTP_ROUTE, route);
    t.span.updateName(`${request.method} ${route}`);
  }
  t.span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, response.statusCode);
  if (!response.writableFinished) t.span.setAttribute('http.aborted', true);
  if (response.statusCode >= 500) t.span.setStatus({ code: SpanStatusCode.ERROR });
  t.span.end();
}
