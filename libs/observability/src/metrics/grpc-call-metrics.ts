import { Counter, Gauge, type Metric, type Registry } from 'prom-client';
import { grpcCodeName, grpcMethodInfo } from '../grpc/grpc-method.js';
import { DurationCounts, DurationHistogram } from './duration-histogram.js';

/** Which end of the calls the metrics describe: `grpc_server_*` or `grpc_client_*`. */
export type GrpcSide = 'server' | 'client';

const METHOD_LABELS = ['grpc_service', 'grpc_method', 'grpc_type'] as const;
type MethodLabel = (typeof METHOD_LABELS)[number];
type MethodLabels = Readonly<Record<MethodLabel, string>>;

/**
 * One method's metrics as plain numbers: what a call or a message does to
 * them is an addition (prom-client's own inc() and observe() hash the labels
 * every time). The families read them when scraped.
 */
export class GrpcMethodMetrics {
  readonly labels: MethodLabels;
  started = 0;
  /** Calls started and not ended yet. */
  active = 0;
  received = 0;
  sent = 0;
  /** Calls ended, by status code. */
  readonly handled = new Map<number, number>();
  /** Handling times of the calls ended. */
  readonly durations = new DurationCounts();

  constructor(labels: MethodLabels) {
    this.labels = labels;
  }

  start(): void {
    this.started++;
    this.active++;
  }

  /** The call ended with status `code`, `seconds` after it started. */
  end(code: number, seconds: number): void {
    this.active--;
    this.handled.set(code, (this.handled.get(code) ?? 0) + 1);
    this.durations.observe(seconds);
  }
}

/**
 * The go-grpc-prometheus metric families of one side, on `registry`:
 * `grpc_<side>_started_total`, `_handled_total` (with `grpc_code`),
 * `_handling_seconds`, `_msg_received_total`, `_msg_sent_total`, and
 * `grpc_<side>_active_streams` (calls in flight: each gRPC call is one HTTP/2
 * stream). Labels are the service, method and call type of registered
 * methods only (grpc-js answers unknown paths UNIMPLEMENTED before any
 * interceptor runs), so their number is bounded. A method's series appear
 * with its first call.
 */
export class GrpcCallMetrics {
  private readonly methods = new Map<string, GrpcMethodMetrics>();

  constructor(registry: Registry, side: GrpcSide) {
    const where = side === 'server' ? 'on the server' : 'by the client';
    const methods = this.methods;
    const registers = [registry];
    const labelNames = METHOD_LABELS;
    const counter = (name: string, help: string, count: (m: GrpcMethodMetrics) => number) =>
      new Counter<MethodLabel>({
        name: `grpc_${side}_${name}`,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          for (const m of methods.values()) if (count(m) > 0) this.inc(m.labels, count(m));
        },
      });
    counter('started_total', `RPCs started ${where}.`, (m) => m.started);
    new Counter<MethodLabel | 'grpc_code'>({
      name: `grpc_${side}_handled_total`,
      help: `RPCs completed ${where}, by status code (CANCELLED when the client cancelled).`,
      labelNames: [...METHOD_LABELS, 'grpc_code'],
      registers,
      collect() {
        this.reset();
        for (const m of methods.values()) {
          for (const [code, n] of m.handled)
            this.inc({ ...m.labels, grpc_code: grpcCodeName(code) }, n);
        }
      },
    });
    registry.registerMetric(
      new DurationHistogram(
        `grpc_${side}_handling_seconds`,
        `Time from the start of an RPC to its status ${where}, in seconds (streams: their whole life).`,
        () => [...methods.values()].map((m) => [m.labels, m.durations] as const),
      ) as unknown as Metric,
    );
    counter('msg_received_total', `Messages received ${where}, per RPC method.`, (m) => m.received);
    counter('msg_sent_total', `Messages sent ${where}, per RPC method.`, (m) => m.sent);
    new Gauge<MethodLabel>({
      name: `grpc_${side}_active_streams`,
      help: `RPCs in flight ${where} (started, no status yet); streaming ones are the long-lived.`,
      labelNames,
      registers,
      collect() {
        for (const m of methods.values()) this.set(m.labels, m.active);
      },
    });
  }

  /** The metrics of the method `definition` describes, made on its first call. */
  method(definition: {
    path: string;
    requestStream: boolean;
    responseStream: boolean;
  }): GrpcMethodMetrics {
    let metrics = this.methods.get(definition.path);
    if (!metrics) {
      const info = grpcMethodInfo(definition);
      metrics = new GrpcMethodMetrics({
        grpc_service: info.service,
        grpc_method: info.method,
        grpc_type: info.type,
      });
      this.methods.set(definition.path, metrics);
    }
    return metrics;
  }
}
