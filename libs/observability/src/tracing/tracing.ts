import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { OtlpProtocol } from '#config';

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
 */
export class Tracing implements OnApplicationShutdown {
  private constructor(private readonly provider?: TracerProvider) {}

  get enabled(): boolean {
    return this.provider !== undefined;
  }

  static start(options: TracingOptions): Tracing {
    if (!options.endpoint) return new Tracing();
    // The exporters read the endpoint, headers and timeouts from the standard OTEL_* variables.
    const exporter =
      options.protocol === 'http/json' ? new OtlpJsonExporter() : new OtlpProtobufExporter();
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
    return new Tracing(provider);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.provider?.shutdown();
  }
}
