import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import { context, propagation, trace } from '@opentelemetry/api';
import type { SpanExporter, TracerProvider } from '@opentelemetry/sdk-trace';
import type { OtlpProtocol } from '#config';
import type { GrpcSpanAttributes } from '../grpc/grpc-span-attributes.js';

export interface TracingOptions {
  /** `service.name` of every span. */
  serviceName: string;
  /** OTEL_EXPORTER_OTLP_ENDPOINT: tracing is on only when set. */
  endpoint?: string;
  /** OTEL_EXPORTER_OTLP_PROTOCOL. */
  protocol: OtlpProtocol;
}

/**
 * The process's OpenTelemetry tracer provider, registered globally when an
 * OTLP endpoint is configured. Spans are made by the gRPC and HTTP
 * interceptors through `@opentelemetry/api`; with tracing off they are
 * no-ops and nothing is recorded. Closing the app flushes what is buffered.
 *
 * The SDK, the exporter and the gRPC span attributes are imported here, when
 * tracing starts: with tracing off (the default) a process does not hold them
 * (together over 10 MB of resident memory).
 */
export class Tracing implements OnApplicationShutdown {
  private constructor(
    private readonly provider?: TracerProvider,
    /** The gRPC interceptors' span attributes; undefined with tracing off. */
    readonly grpcSpanAttributes?: GrpcSpanAttributes,
  ) {}

  get enabled(): boolean {
    return this.provider !== undefined;
  }

  static async start(options: TracingOptions): Promise<Tracing> {
    if (!options.endpoint) return new Tracing();
    const [
      { AsyncLocalStorageContextManager },
      { W3CTraceContextPropagator },
      { resourceFromAttributes },
      { BatchSpanProcessor, TracerProvider },
      exporter,
      { grpcSpanAttributes },
    ] = await Promise.all([
      import('@opentelemetry/context-async-hooks'),
      import('@opentelemetry/core'),
      import('@opentelemetry/resources'),
      import('@opentelemetry/sdk-trace'),
      otlpExporter(options.protocol),
      import('../grpc/grpc-span-attributes.js'),
    ]);
    const provider = new TracerProvider({
      resource: resourceFromAttributes({ 'service.name': options.serviceName }),
      spanProcessors: [new BatchSpanProcessor({ exporter })],
    });
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(provider);
    new Logger('Tracing').log(
      `OpenTelemetry traces of ${options.serviceName} exported to ${options.endpoint} (${options.protocol})`,
    );
    return new Tracing(provider, grpcSpanAttributes);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.provider?.shutdown();
  }
}

/**
 * The exporter of the configured protocol, the only one loaded. It reads the
 * endpoint, headers and timeouts from the standard OTEL_* variables.
 */
async function otlpExporter(protocol: OtlpProtocol): Promise<SpanExporter> {
  if (protocol === 'http/json') {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    return new OTLPTraceExporter();
  }
  const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');
  return new OTLPTraceExporter();
}
