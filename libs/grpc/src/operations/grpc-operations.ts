import { Logger } from '@nestjs/common';
import type { Server, ServerCredentials, ServerInterceptor } from '@grpc/grpc-js';
import type { GrpcServerSecurity } from '../grpc-credentials.js';
import type { PackageDefinition } from '@grpc/proto-loader';
import type { DrainHold } from '../shutdown/close-within-grace.js';
import { GrpcHealth } from './grpc-health.js';
import { addReflection } from './grpc-reflection.js';
import { passEncodedMessages } from '../encoded-message.js';

export interface GrpcOperationsOptions {
  /** Fully qualified names of the services the server hosts, for health. */
  services: readonly string[];
  /** Serve server reflection (GRPC_REFLECTION). */
  reflection: boolean;
  /** How long a graceful shutdown waits for open calls (SHUTDOWN_GRACE_MS). */
  shutdownGraceMs: number;
  /** Interceptors around every call (the app's GrpcTelemetry: request ids, traces, logs, metrics). */
  interceptors?: readonly ServerInterceptor[];
  /** TLS/mTLS credentials and the token check (`grpcServerSecurity`); plaintext and open when absent. */
  security?: GrpcServerSecurity;
}

/**
 * What a gRPC server does besides its own services, in one place per process:
 * health, reflection, interceptors and the shutdown signal. `GrpcOperationsModule` provides
 * it; `grpcServerOptions` registers it on the server (Nest's
 * `onLoadPackageDefinition` hook); `serveUntilSignal` drives it.
 */
export class GrpcOperations {
  readonly health: GrpcHealth;
  private readonly logger = new Logger('GrpcOperations');
  private readonly stopping = new AbortController();
  private server?: Pick<Server, 'forceShutdown'>;
  private hold?: DrainHold;

  constructor(readonly options: GrpcOperationsOptions) {
    this.health = new GrpcHealth(options.services);
  }

  /** The telemetry interceptors, then the token check: refused calls are logged and counted too. */
  get interceptors(): readonly ServerInterceptor[] {
    return [...(this.options.interceptors ?? []), ...(this.options.security?.interceptors ?? [])];
  }

  get credentials(): ServerCredentials | undefined {
    return this.options.security?.credentials;
  }

  /**
   * Nest's `onLoadPackageDefinition(pkg, server)`: called with the bound
   * grpc-js server before the app's services are added to it.
   */
  readonly onLoadPackageDefinition = (pkg: PackageDefinition, server: Server): void => {
    this.server = server;
    // Before Nest adds the services: their answers may be sent pre-encoded.
    passEncodedMessages(pkg);
    this.health.addToServer(server);
    if (this.options.reflection) addReflection(server, pkg);
    this.logger.log(
      `grpc.health.v1.Health on; server reflection ${this.options.reflection ? 'on' : 'off (GRPC_REFLECTION=false)'}`,
    );
    if (this.options.security) this.logger.log(this.options.security.description);
  };

  /**
   * Aborted when shutdown begins: streams that would otherwise never end
   * (an endless match, a chat) end themselves on it.
   */
  get shutdownSignal(): AbortSignal {
    return this.stopping.signal;
  }

  get shuttingDown(): boolean {
    return this.stopping.signal.aborted;
  }

  /** The server listens: health turns SERVING (where no check fails). */
  serving(): void {
    this.health.serving();
  }

  /**
   * Reports a check of `service` (e.g. 'stream.Soccer', 'media-dir'): failing
   * with `reason`, or passing when `reason` is undefined. Logged when it changes.
   */
  setCheck(service: string, check: string, reason: string | undefined): void {
    if (!this.health.setCheck(service, check, reason)) return;
    if (reason === undefined) {
      this.logger.log(`${service}: check ${check} passes; health ${this.health.status(service)}`);
    } else {
      this.logger.warn(`${service}: check ${check} fails (${reason}); health NOT_SERVING`);
    }
  }

  /** Shutdown begins: health NOT_SERVING (Watch calls told, then ended), shutdownSignal aborted. */
  beginShutdown(): void {
    if (this.shuttingDown) return;
    this.health.stopping();
    this.stopping.abort(new Error('server is shutting down'));
  }

  /**
   * Work the shutdown waits for past SHUTDOWN_GRACE_MS, up to its own bound
   * (soccer-service's uploads): the calls are cancelled only once none of it
   * is in flight or the bound is reached.
   */
  holdShutdownFor(hold: DrainHold): void {
    this.hold = hold;
  }

  get shutdownHold(): DrainHold | undefined {
    return this.hold;
  }

  /** Cancels every call still open (the grace period is over). */
  forceShutdown(): void {
    this.server?.forceShutdown();
  }
}
