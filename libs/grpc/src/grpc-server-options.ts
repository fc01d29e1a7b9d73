import type { Server, ServerCredentials, ServerInterceptor } from '@grpc/grpc-js';
import type { PackageDefinition } from '@grpc/proto-loader';
import { Transport, type GrpcOptions } from '@nestjs/microservices';
import type { GrpcServiceKey } from '#proto';
import { GRPC_KEEPALIVE, grpcLinkOptions, type GrpcLinkConfig } from './grpc-link.js';

/** What a server registers beside its own services (GrpcOperations is one). */
export interface GrpcServerHooks {
  /** Called with the package definition and the bound grpc-js server, before services are added. */
  onLoadPackageDefinition(pkg: PackageDefinition, server: Server): void;
  /**
   * grpc-js server interceptors wrapping every call the server handles (its
   * own services, health and reflection), outermost first: tracing, logs and
   * metrics are plugged in here once, not per handler.
   */
  readonly interceptors?: readonly ServerInterceptor[];
  /** What the server binds with (`grpcServerSecurity`: TLS, mTLS); plaintext when absent. */
  readonly credentials?: ServerCredentials;
}

/**
 * Connection options of the servers. grpc-js (1.14) enforces no ping
 * policy; C-core and grpc-go do (5 minutes between pings by default, then
 * GOAWAY too_many_pings), so the permit for the clients' keepalive is set
 * under C-core's names, for a server implementation that reads them.
 */
const SERVER_CONNECTION_OPTIONS = {
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.http2.min_ping_interval_without_data_ms': GRPC_KEEPALIVE.timeMs / 2,
  // Clients reconnect at least every ~5 minutes (GOAWAY; calls in flight
  // finish, no grace limit), so they re-resolve DNS and a scaled-out
  // service gets its share of connections.
  'grpc.max_connection_age_ms': 5 * 60_000,
} as const;

/**
 * Options for `NestFactory.createMicroservice` serving one of GRPC_SERVICES.
 * With `hooks` (the app's GrpcOperations), health and reflection are served
 * too, and closing the app is graceful: grpc-js `tryShutdown` lets the calls
 * in flight finish instead of cancelling them.
 */
export function grpcServerOptions(
  key: GrpcServiceKey,
  link: GrpcLinkConfig,
  hooks?: GrpcServerHooks,
): GrpcOptions {
  const options = grpcLinkOptions(key, link);
  if (!hooks) return { transport: Transport.GRPC, options };
  return {
    transport: Transport.GRPC,
    options: {
      ...options,
      // Nest hands channelOptions to `new grpc.Server(...)`, which reads `interceptors`.
      channelOptions: {
        interceptors: [...(hooks.interceptors ?? [])],
        ...SERVER_CONNECTION_OPTIONS,
      },
      gracefulShutdown: true,
      // Nest binds with these (plaintext when undefined).
      credentials: hooks.credentials,
      onLoadPackageDefinition: (pkg: PackageDefinition, server: Server) =>
        hooks.onLoadPackageDefinition(pkg, server),
    },
  };
}
