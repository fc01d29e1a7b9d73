import { IsIn, IsOptional, IsString, IsUrl } from 'class-validator';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const OTLP_PROTOCOLS = ['http/protobuf', 'http/json'] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];

/** Environment shared by every app: logs and tracing (docs/operations.md). */
export class AppEnv {
  /** Lowest level logged. Logs are JSON lines, or pretty when stdout is a terminal. */
  @IsIn(LOG_LEVELS)
  LOG_LEVEL: LogLevel = 'info';

  /**
   * OTLP/HTTP collector base URL (e.g. http://otel-collector:4318). Traces are
   * exported when set and not recorded at all otherwise.
   */
  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'] })
  OTEL_EXPORTER_OTLP_ENDPOINT?: string;

  /** OTLP encoding, as the OpenTelemetry spec names it. */
  @IsIn(OTLP_PROTOCOLS)
  OTEL_EXPORTER_OTLP_PROTOCOL: OtlpProtocol = 'http/protobuf';

  /** `service.name` of the spans; the app's name when unset. */
  @IsOptional()
  @IsString()
  OTEL_SERVICE_NAME?: string;
}
