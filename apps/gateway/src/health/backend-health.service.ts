import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { GRPCHealthIndicator, type HealthIndicatorResult } from '@nestjs/terminus';
import { Gauge, Registry } from 'prom-client';
import { grpcServiceName, type GrpcServiceKey } from '#proto';
import { grpcClientOptions } from '#grpc';
import type { GatewayEnv } from '../config/gateway.env.js';
import { backendClientConfig } from '../grpc-clients/backend-client-config.js';

/**
 * How long one backend's health check may take, gRPC deadline included: a
 * backend slower than this is reported down.
 */
export const BACKEND_CHECK_TIMEOUT_MS = 1000;

/** The backends the gateway calls, by the name they are reported under. */
const BACKENDS: ReadonlyArray<{ name: string; key: GrpcServiceKey }> = [
  { name: 'cheese-service', key: 'cheese' },
  { name: 'soccer-service', key: 'soccer' },
];

/** One backend as its last check found it (terminus's indicator shape). */
export interface BackendStatus {
  status: 'up' | 'down';
  /** grpc.health.v1 status, when the backend answered. */
  servingStatus?: string;
  /** Why it is down. */
  message?: string;
  /** When it was last checked (ISO 8601); absent before the first check. */
  checkedAt?: string;
}

interface BackendCheck {
  name: string;
  /** Terminus's grpc.health.v1 check: resolves with the backend up or down. */
  run: () => PromiseLike<HealthIndicatorResult>;
}

/**
 * The backends' health, for `/readyz`'s body and the `gateway_backend_up`
 * gauge. It never decides readiness: a gateway with a backend down still
 * serves everything else (the web page, the other backend's routes), and the
 * routes of the backend that is down answer 503 by themselves (UNAVAILABLE).
 *
 * Every GATEWAY_BACKEND_CHECK_INTERVAL_MS each backend is asked
 * `grpc.health.v1.Health/Check` for its service, dialled as the gateway's own
 * client dials it (the same target, round robin and credentials:
 * grpcClientOptions from backendClientConfig), on a channel of its own kept
 * open between checks. With several replicas, each check asks the one round
 * robin picks. Probes read the last result: they cost the backends nothing.
 */
@Injectable()
export class BackendHealth implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('BackendHealth');
  private readonly checks: readonly BackendCheck[];
  private readonly statuses = new Map<string, BackendStatus>(
    BACKENDS.map(({ name }) => [name, { status: 'down', message: 'not checked yet' }]),
  );
  private readonly intervalMs: number;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    grpc: GRPCHealthIndicator,
    config: ConfigService<GatewayEnv, true>,
    registry: Registry,
  ) {
    this.intervalMs = config.get('GATEWAY_BACKEND_CHECK_INTERVAL_MS', { infer: true });
    this.checks = BACKENDS.map(({ name, key }) => {
      const options = healthCheckOptions(key, config);
      return {
        name,
        run: () =>
          grpc
            .checkService(name, grpcServiceName(key), {
              ...options,
              timeout: BACKEND_CHECK_TIMEOUT_MS,
            })
            .withTimeout(BACKEND_CHECK_TIMEOUT_MS),
      };
    });
    const statuses = this.statuses;
    new Gauge({
      name: 'gateway_backend_up',
      help: "1 while the backend's last health check answered SERVING, else 0.",
      labelNames: ['backend'],
      registers: [registry],
      collect() {
        for (const [backend, { status }] of statuses)
          this.set({ backend }, status === 'up' ? 1 : 0);
      },
    });
  }

  onApplicationBootstrap(): void {
    void this.checkAll();
    this.timer = setInterval(() => void this.checkAll(), this.intervalMs);
    this.timer.unref();
  }

  onApplicationShutdown(): Promise<void> | undefined {
    clearInterval(this.timer);
    return this.running;
  }

  /** Each backend's last status, by name. */
  report(): Record<string, BackendStatus> {
    return Object.fromEntries(this.statuses);
  }

  /** Checks every backend now (or joins the round already running). */
  checkAll(): Promise<void> {
    this.running ??= Promise.all(this.checks.map((check) => this.checkOne(check))).then(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async checkOne({ name, run }: BackendCheck): Promise<void> {
    const checkedAt = new Date().toISOString();
    let next: BackendStatus;
    try {
      const { status, servingStatus, message } = (await run())[name] as BackendStatus;
      next = { status, servingStatus, message, checkedAt };
    } catch (err) {
      next = {
        status: 'down',
        message: err instanceof Error ? err.message : String(err),
        checkedAt,
      };
    }
    const before = this.statuses.get(name)!;
    this.statuses.set(name, withoutUndefined(next));
    // Logged when it changes, and when the first check finds it down.
    const changed =
      before.checkedAt === undefined ? next.status === 'down' : before.status !== next.status;
    if (!changed) return;
    if (next.status === 'up') this.logger.log(`${name} is up again`);
    else this.logger.warn(`${name} is down: ${next.message ?? 'no reason given'}`);
  }
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/**
 * The gateway's client options for `key`, minus what names its own proto:
 * terminus loads grpc.health.v1 from its bundled proto instead. No telemetry
 * interceptors (checks are not traffic); the check's deadline is its timeout.
 */
function healthCheckOptions(key: GrpcServiceKey, config: ConfigService<GatewayEnv, true>) {
  const { options } = grpcClientOptions(key, {
    ...backendClientConfig(key, config),
    unaryDeadlineMs: BACKEND_CHECK_TIMEOUT_MS,
  });
  const { package: _package, protoPath: _protoPath, loader: _loader, ...link } = options;
  return link;
}
