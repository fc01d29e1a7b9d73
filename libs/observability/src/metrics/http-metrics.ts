import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { DURATION_BUCKETS_SECONDS } from './metrics-registry.js';

/** The `route` of requests no route matched (404s): any URL would be unbounded. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * Status of a response the client went away from before its head was sent:
 * nginx's "client closed request", as the gateway answers CANCELLED.
 */
export const CLIENT_CLOSED_REQUEST = 499;

type RequestLabel = 'method' | 'route';
type ResponseLabel = RequestLabel | 'status_code';

/**
 * HTTP server metrics of a Fastify app, labelled by the route's pattern
 * (`/v1/matches/:id/watch`), never the URL, whose ids would make a series each:
 * - `http_requests_total{method,route,status_code}`
 * - `http_request_duration_seconds{method,route,status_code}`: until the
 *   response is finished or the client went away; for SSE and MJPEG routes
 *   that is the stream's whole life
 * - `http_requests_in_flight{method,route}`: open streams show here.
 * A response is counted on its 'close' event, which comes after every
 * response, including hijacked (streamed) and aborted ones.
 */
export function installHttpMetrics(app: FastifyInstance, registry: Registry): void {
  const registers = [registry];
  const requests = new Counter<ResponseLabel>({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status_code'],
    registers,
  });
  const duration = new Histogram<ResponseLabel>({
    name: 'http_request_duration_seconds',
    help: 'Time from a request to the end of its response, in seconds (streams: their whole life).',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [...DURATION_BUCKETS_SECONDS],
    registers,
  });
  const inFlight = new Gauge<RequestLabel>({
    name: 'http_requests_in_flight',
    help: 'HTTP requests being answered, by method and route pattern (open SSE/MJPEG streams too).',
    labelNames: ['method', 'route'],
    registers,
  });

  app.addHook('onRequest', (request, reply, done) => {
    const started = performance.now();
    const labels = { method: request.method, route: request.routeOptions.url ?? UNMATCHED_ROUTE };
    inFlight.inc(labels);
    reply.raw.once('close', () => {
      inFlight.dec(labels);
      const answered = { ...labels, status_code: statusOf(reply.raw) };
      requests.inc(answered);
      duration.observe(answered, (performance.now() - started) / 1000);
    });
    done();
  });
}

/** A WebSocket's 101 is written on the socket by the WebSocket server, not by the response. */
function statusOf(response: ServerResponse): number {
  const answered = response.headersSent || response.statusCode === 101;
  return answered ? response.statusCode : CLIENT_CLOSED_REQUEST;
}
