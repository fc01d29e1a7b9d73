import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * Buckets, in seconds, of the handling-time histograms (HTTP and gRPC):
 * fine below 25 ms, where the gateway's p99 bar is, and up to 2 minutes,
 * past which a request is a stream and only counts in the +Inf bucket.
 */
export const DURATION_BUCKETS_SECONDS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120,
] as const;

/**
 * The process's own registry, with prom-client's process and Node.js metrics
 * (`process_cpu_seconds_total`, `process_resident_memory_bytes`,
 * `nodejs_eventloop_lag_seconds`, …), collected on each scrape. Not
 * prom-client's global one: nothing a dependency registers there leaks into
 * /metrics, and tests can build as many apps in one process as they like.
 */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}
