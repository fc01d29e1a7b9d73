/*
 * What an app counts, read from its /metrics endpoint: the tests' way to see
 * what happened inside a process (calls started, cancelled, still open)
 * without parsing its log, whose lines reach the test later than the answers.
 */
import { parsePrometheusText, sampleSum, type PrometheusSample } from '#observability';

/** The /metrics URL of a gRPC service started with `metricsPort` (METRICS_PORT). */
export function serviceMetricsUrl(metricsPort: number): string {
  return `http://127.0.0.1:${metricsPort}/metrics`;
}

/** The samples of a /metrics endpoint now. */
export async function scrapeSamples(url: string): Promise<PrometheusSample[]> {
  const res = await fetch(url);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status}: ${text.slice(0, 200)}`);
  return parsePrometheusText(text).samples;
}

/** The sum of the samples `name{labels}` of a /metrics endpoint now (0 when absent). */
export async function metricSum(
  url: string,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): Promise<number> {
  return sampleSum(await scrapeSamples(url), name, labels);
}

/** The labels of one method of a gRPC service, as the `grpc_server_*` / `grpc_client_*` families carry them. */
export function grpcMethod(service: string, method: string): Record<string, string> {
  return { grpc_service: service, grpc_method: method };
}
