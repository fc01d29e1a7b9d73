import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, type Metric, type Registry } from 'prom-client';
import { DurationCounts, DurationHistogram } from './duration-histogram.js';

/** The `route` of requests no route matched (404s): any URL would be unbounded. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * Status of a response the client went away from before its head was sent:
 * nginx's "client closed request", as the gateway answers CANCELLED.
 */
export const CLIENT_CLOSED_REQUEST = 499;

type RouteLabels = Readonly<{ method: string; route: string }>;

/** One route's and method's requests as plain numbers, read on scrape. */
class HttpRouteMetrics {
  inFlight = 0;
  /** Durations of the answered requests, by status code. */
  readonly answered = new Map<number, DurationCounts>();

  constructor(readonly labels: RouteLabels) {}

  start(): void {
    this.inFlight++;
  }

  answer(status: number, seconds: number): void {
    this.inFlight--;
    let durations = this.answered.get(status);
    if (!durations) this.answered.set(status, (durations = new DurationCounts()));
    durations.observe(seconds);
  }
}

/**
 * HTTP server metrics of a Fastify app, labelled by the route's pattern
 * (`/v1/matches/:id/watch`), never the URL, whose ids would make a series each:
 * - `http_requests_total{method,route,status_code}`
 * - `http_request_duration_seconds{method,route,status_code}`: until the
 *   response is finished or the client went away; for SSE and MJPEG routes
 *   that is the stream's whole life
 * - `http_requests_in_flight{method,route}`: open streams show here.
 * A response is counted on its 'close' event, which comes after every
 * response, including hijacked (streamed) and aborted ones. The counts are
 * plain numbers per route and method (GrpcCallMetrics' way): prom-client's
 * inc() and observe() hash the labels on every call.
 */
export function installHttpMetrics(app: FastifyInstance, registry: Registry): void {
  /** By route pattern, then method: both bounded (the app's routes; the methods Node parses). */
  const routes = new Map<string, Map<string, HttpRouteMetrics>>();
  const all = function* () {
    for (const byMethod of routes.values()) yield* byMethod.values();
  };
  /** The answered requests' series: `method`, `route` and `status_code`, with their durations. */
  const answered = function* () {
    for (const m of all()) {
      for (const [status, d] of m.answered)
        yield [{ ...m.labels, status_code: status }, d] as const;
    }
  };
  const registers = [registry];
  new Counter<'method' | 'route' | 'status_code'>({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status_code'],
    registers,
    collect() {
      this.reset();
      for (const [labels, d] of answered()) this.inc(labels, d.count);
    },
  });
  registry.registerMetric(
    new DurationHistogram(
      'http_request_duration_seconds',
      'Time from a request to the end of its response, in seconds (streams: their whole life).',
      answered,
    ) as unknown as Metric,
  );
  new Gauge<'method' | 'route'>({
    name: 'http_requests_in_flight',
    help: 'HTTP requests being answered, by method and route pattern (open SSE/MJPEG streams too).',
    labelNames: ['method', 'route'],
    registers,
    collect() {
      for (const m of all()) this.set(m.labels, m.inFlight);
    },
  });

  const metricsOf = (method: string, route: string): HttpRouteMetrics => {
    let byMethod = routes.get(route);
    if (!byMethod) routes.set(route, (byMethod = new Map<string, HttpRouteMetrics>()));
    let metrics = byMethod.get(method);
    if (!metrics) byMethod.set(method, (metrics = new HttpRouteMetrics({ method, route })));
    return metrics;
  };

  app.addHook('onRequest', (request, reply, done) => {
    const started = performance.now();
    const metrics = metricsOf(request.method, request.routeOptions.url ?? UNMATCHED_ROUTE);
    metrics.start();
    // A response closes once: `on` spares the wrapper and removal of `once`.
    reply.raw.on('close', () => {
      metrics.answer(statusOf(reply.raw), (performance.now() - started) / 1000);
    });
    done();
  });
}

/** A WebSocket's 101 is written on the socket by the WebSocket server, not by the response. */
function statusOf(response: ServerResponse): number {
  const answered = response.headersSent || response.statusCode === 101;
  return answered ? response.statusCode : CLIENT_CLOSED_REQUEST;
}
