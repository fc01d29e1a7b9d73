import { Injectable, ServiceUnavailableException } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import {
  GRPCHealthIndicator,
  HealthCheckService,
  HealthIndicatorService,
  type HealthCheckResult,
  type HealthIndicatorFunction,
} from '@nestjs/terminus';
import { grpcClientOptions, grpcServiceName, type GrpcServiceKey } from '#proto';
import type { GatewayEnv } from '../config/gateway.env.js';
import { backendClientConfig } from '../grpc-clients/backend-client-config.js';
import { ShutdownState } from './shutdown-state.js';

/**
 * How long one backend's health check may take, gRPC deadline included.
 * Short: a probe that waits on a hung backend is a failed probe anyway, and
 * Kubernetes gives probes 1 s by default.
 */
export const READINESS_CHECK_TIMEOUT_MS = 1000;

/** The backends whose health makes the gateway ready, by result key. */
const BACKENDS: ReadonlyArray<{ name: string; key: GrpcServiceKey }> = [
  { name: 'cheese-service', key: 'cheese' },
  { name: 'soccer-service', key: 'soccer' },
];

export interface Readiness {
  ready: boolean;
  /** Terminus's report: per backend (and `gateway`), up or down and why. */
  result: HealthCheckResult;
}

/**
 * Readiness: the gateway is not shutting down, and each backend answers
 * `grpc.health.v1.Health/Check` SERVING for its service. Each check dials
 * the backend as the gateway's own client does (same target, round robin,
 * credentials: grpcClientOptions from backendClientConfig), on a channel of
 * its own kept open across probes; with several replicas, each probe asks
 * the one round robin picks.
 */
@Injectable()
export class BackendReadiness {
  private readonly checks: HealthIndicatorFunction[];

  constructor(
    private readonly health: HealthCheckService,
    indicator: HealthIndicatorService,
    grpc: GRPCHealthIndicator,
    shutdown: ShutdownState,
    config: ConfigService<GatewayEnv, true>,
  ) {
    this.checks = [
      () =>
        shutdown.shuttingDown
          ? indicator.check('gateway').down({ message: 'shutting down' })
          : indicator.check('gateway').up(),
      ...BACKENDS.map(({ name, key }) => {
        const options = healthCheckOptions(key, config);
        return () =>
          grpc
            .checkService(name, grpcServiceName(key), options)
            .withTimeout(READINESS_CHECK_TIMEOUT_MS);
      }),
    ];
  }

  async check(): Promise<Readiness> {
    try {
      return { ready: true, result: await this.health.check(this.checks) };
    } catch (err) {
      // Terminus reports "not ready" by throwing its report in a 503.
      if (err instanceof ServiceUnavailableException) {
        return { ready: false, result: err.getResponse() as HealthCheckResult };
      }
      throw err;
    }
  }
}

/**
 * The gateway's client options for `key`, minus what names its own proto:
 * terminus loads grpc.health.v1 from its bundled proto instead. No telemetry
 * interceptors (probes are not traffic); the check's deadline is its timeout.
 */
function healthCheckOptions(key: GrpcServiceKey, config: ConfigService<GatewayEnv, true>) {
  const { options } = grpcClientOptions(key, {
    ...backendClientConfig(key, config),
    unaryDeadlineMs: READINESS_CHECK_TIMEOUT_MS,
  });
  const { package: _package, protoPath: _protoPath, loader: _loader, ...link } = options;
  return link;
}
