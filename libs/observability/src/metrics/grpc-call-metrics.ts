import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { grpcCodeName, grpcMethodInfo } from '../grpc/grpc-method.js';
import { DURATION_BUCKETS_SECONDS } from './metrics-registry.js';

/** Which end of the calls the metrics describe: `grpc_server_*` or `grpc_client_*`. */
export type GrpcSide = 'server' | 'client';

const METHOD_LABELS = ['grpc_service', 'grpc_method', 'grpc_type'] as const;
type MethodLabel = (typeof METHOD_LABELS)[number];
type HandledLabel = MethodLabel | 'grpc_code';

/** A method's metrics, labels bound once: per message, only an increment. */
export interface GrpcMethodMetrics {
  readonly started: Counter.Internal;
  readonly active: Gauge.Internal<MethodLabel>;
  readonly received: Counter.Internal;
  readonly sent: Counter.Internal;
  readonly handlingSeconds: Histogram.Internal<MethodLabel>;
  /** `grpc_*_handled_total` of the method for status `code`. */
  handled(code: number): Counter.Internal;
}

/**
 * The go-grpc-prometheus metric families of one side, on `registry`:
 * `grpc_<side>_started_total`, `_handled_total` (with `grpc_code`),
 * `_handling_seconds`, `_msg_received_total`, `_msg_sent_total`, and
 * `grpc_<side>_active_streams` (calls in flight: each gRPC call is one HTTP/2
 * stream). Labels are the service, method and call type of registered
 * methods only (grpc-js answers unknown paths UNIMPLEMENTED before any
 * interceptor runs), so their number is bounded.
 */
export class GrpcCallMetrics {
  private readonly startedTotal: Counter<MethodLabel>;
  private readonly handledTotal: Counter<HandledLabel>;
  private readonly handlingSeconds: Histogram<MethodLabel>;
  private readonly receivedTotal: Counter<MethodLabel>;
  private readonly sentTotal: Counter<MethodLabel>;
  private readonly activeStreams: Gauge<MethodLabel>;
  private readonly methods = new Map<string, GrpcMethodMetrics>();

  constructor(registry: Registry, side: GrpcSide) {
    const where = side === 'server' ? 'on the server' : 'by the client';
    const registers = [registry];
    const labelNames = METHOD_LABELS;
    this.startedTotal = new Counter({
      name: `grpc_${side}_started_total`,
      help: `RPCs started ${where}.`,
      labelNames,
      registers,
    });
    this.handledTotal = new Counter({
      name: `grpc_${side}_handled_total`,
      help: `RPCs completed ${where}, by status code (CANCELLED when the client cancelled).`,
      labelNames: [...METHOD_LABELS, 'grpc_code'],
      registers,
    });
    this.handlingSeconds = new Histogram({
      name: `grpc_${side}_handling_seconds`,
      help: `Time from the start of an RPC to its status ${where}, in seconds (streams: their whole life).`,
      labelNames,
      buckets: [...DURATION_BUCKETS_SECONDS],
      registers,
    });
    this.receivedTotal = new Counter({
      name: `grpc_${side}_msg_received_total`,
      help: `Messages received ${where}, per RPC method.`,
      labelNames,
      registers,
    });
    this.sentTotal = new Counter({
      name: `grpc_${side}_msg_sent_total`,
      help: `Messages sent ${where}, per RPC method.`,
      labelNames,
      registers,
    });
    this.activeStreams = new Gauge({
      name: `grpc_${side}_active_streams`,
      help: `RPCs in flight ${where} (started, no status yet); streaming ones are the long-lived.`,
      labelNames,
      registers,
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
      metrics = this.bind(definition);
      this.methods.set(definition.path, metrics);
    }
    return metrics;
  }

  private bind(definition: Parameters<typeof grpcMethodInfo>[0]): GrpcMethodMetrics {
    const info = grpcMethodInfo(definition);
    const labels = { grpc_service: info.service, grpc_method: info.method, grpc_type: info.type };
    const handled = new Map<number, Counter.Internal>();
    return {
      started: this.startedTotal.labels(labels),
      active: this.activeStreams.labels(labels),
      received: this.receivedTotal.labels(labels),
      sent: this.sentTotal.labels(labels),
      handlingSeconds: this.handlingSeconds.labels(labels),
      handled: (code) => {
        let counter = handled.get(code);
        if (!counter) {
          counter = this.handledTotal.labels({ ...labels, grpc_code: grpcCodeName(code) });
          handled.set(code, counter);
        }
        return counter;
      },
    };
  }
}
