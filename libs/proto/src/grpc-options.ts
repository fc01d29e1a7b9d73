import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type {
  ChannelOptions,
  Interceptor,
  Server,
  ServerCredentials,
  ServerInterceptor,
} from '@grpc/grpc-js';
import { loadSync, type PackageDefinition } from '@grpc/proto-loader';
import { Transport, type GrpcOptions } from '@nestjs/microservices';
import * as cheese from './generated/cheesefarm/cheese.pb.js';
import * as stream from './generated/stream/stream.pb.js';
import type { GrpcClientSecurity } from './grpc-credentials.js';
import { answerLostRetryInterceptor } from './answer-lost-retry.interceptor.js';
import { grpcTarget } from './grpc-target.js';
import { unaryDeadlineInterceptor } from './unary-deadline.interceptor.js';

/** libs/proto/proto in the repo; the build copies it beside the compiled code. */
export const PROTO_ROOT = fileURLToPath(new URL('../proto/', import.meta.url));

/**
 * Must agree with the ts-proto options in buf.gen.yaml, or fields silently
 * vanish on the wire: camelCase names (data_type -> dataType), enums and
 * longs as numbers, and proto3 zero values present (a Python client ordering
 * EMMENTAL sends an empty message; the handler must still see type 0).
 */
export const PROTO_LOADER_OPTIONS = {
  keepCase: false,
  longs: Number,
  defaults: true,
  arrays: true,
  objects: true,
  oneofs: true,
  includeDirs: [PROTO_ROOT],
} as const;

/** Every gRPC service of the system: its proto package, file and service name. */
export const GRPC_SERVICES = {
  cheese: {
    package: cheese.CHEESEFARM_PACKAGE_NAME,
    protoFile: cheese.protobufFileName,
    service: cheese.CHEESE_SERVICE_NAME,
  },
  soccer: {
    package: stream.STREAM_PACKAGE_NAME,
    protoFile: stream.protobufFileName,
    service: stream.SOCCER_SERVICE_NAME,
  },
} as const;

export type GrpcServiceKey = keyof typeof GRPC_SERVICES;

/** A mutable copy of PROTO_LOADER_OPTIONS, as Nest and proto-loader take them. */
function loaderOptions() {
  return { ...PROTO_LOADER_OPTIONS, includeDirs: [...PROTO_LOADER_OPTIONS.includeDirs] };
}

/** The proto of one of GRPC_SERVICES, loaded exactly as the apps load it. */
export function loadServiceProto(key: GrpcServiceKey): PackageDefinition {
  return loadSync(join(PROTO_ROOT, GRPC_SERVICES[key].protoFile), loaderOptions());
}

/** The fully qualified name of a service: 'cheesefarm.CheeseService', 'stream.Soccer'. */
export function grpcServiceName(key: GrpcServiceKey): string {
  return `${GRPC_SERVICES[key].package}.${GRPC_SERVICES[key].service}`;
}

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

export interface GrpcLinkConfig {
  /** host:port to listen on (server) or to dial (client). */
  url: string;
  /** Largest message accepted or sent, in bytes. */
  maxMessageBytes: number;
}

export interface GrpcClientConfig extends GrpcLinkConfig {
  /** Where to dial: one address, a list of IP:port, or a target URI (see `grpcTarget`). */
  url: string;
  /** Deadline given to every unary call that has none of its own. */
  unaryDeadlineMs: number;
  /** TLS/mTLS credentials and the bearer token (`grpcClientSecurity`); plaintext when absent. */
  security?: GrpcClientSecurity;
}

/** Client keepalive: a ping this often on every connection, and how long its answer may take. */
export const GRPC_KEEPALIVE = { timeMs: 30_000, timeoutMs: 10_000 } as const;

/**
 * The methods a client retries on UNAVAILABLE, on another replica, within
 * the call's deadline. UNAVAILABLE means the call never reached a server
 * (refused connection, GOAWAY) or its connection broke (a replica killed
 * mid-call). Calls that never left the client are retried by grpc-js anyway
 * (transparent retry); these are also retried after they were sent:
 *
 * - `Order`: not idempotent in general, but a cheese order here has no side
 *   effect beyond its answer (no stock, no bill), so a repeat is harmless and
 *   a replica killed mid-order costs the caller nothing. Remove it if an
 *   order ever changes state, or give orders an id the service deduplicates.
 * - `ListMatches`, `Watch`: reads. A stream is retried only until its first
 *   message arrives (then grpc-js has committed to the replica).
 *
 * Not `Upload` (a streamed body longer than grpc-js's retry buffer cannot be
 * replayed; the HTTP client repeats the idempotent PUT) nor `Chat` and `Say`
 * (a message sent again would be broadcast twice).
 *
 * The retry policy stops once response headers arrived (the call is then
 * committed); a unary call among these whose connection broke after that is
 * repeated once more by answerLostRetryInterceptor.
 */
export const CLIENT_RETRIED_METHODS: Readonly<Record<GrpcServiceKey, readonly string[]>> = {
  cheese: ['Order'],
  soccer: ['ListMatches', 'Watch'],
};

/**
 * At most 3 attempts, each on a replica picked afresh by round robin; the
 * deadline bounds them all (grpc-js retries below the interceptors). No
 * retry throttling: a killed replica fails every call in flight on it at
 * once, and throttling would refuse exactly those retries.
 */
const RETRY_ON_UNAVAILABLE = {
  maxAttempts: 3,
  initialBackoff: '0.05s',
  maxBackoff: '0.5s',
  backoffMultiplier: 2,
  retryableStatusCodes: ['UNAVAILABLE'],
};

/** The paths of CLIENT_RETRIED_METHODS of `key`: '/cheesefarm.CheeseService/Order'. */
function retriedMethodPaths(key: GrpcServiceKey): string[] {
  return CLIENT_RETRIED_METHODS[key].map((method) => `/${grpcServiceName(key)}/${method}`);
}

/** The gRPC service config of a client of `key`: round robin, and retries. */
export function clientServiceConfig(key: GrpcServiceKey) {
  return {
    // Every address of the target gets calls in turn, not just the first
    // (pick_first); a replica that is not READY is skipped.
    loadBalancingConfig: [{ round_robin: {} }],
    methodConfig: [
      {
        name: CLIENT_RETRIED_METHODS[key].map((method) => ({
          service: grpcServiceName(key),
          method,
        })),
        retryPolicy: RETRY_ON_UNAVAILABLE,
      },
    ],
  };
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

function baseOptions(key: GrpcServiceKey, link: GrpcLinkConfig) {
  const def = GRPC_SERVICES[key];
  return {
    package: def.package,
    protoPath: join(PROTO_ROOT, def.protoFile),
    loader: loaderOptions(),
    url: link.url,
    maxReceiveMessageLength: link.maxMessageBytes,
    maxSendMessageLength: link.maxMessageBytes,
  };
}

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
  const options = baseOptions(key, link);
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

/**
 * Options for a `ClientsModule` entry calling one of GRPC_SERVICES.
 * `interceptors` (tracing, request ids, metrics) run outside the deadline one.
 * `client.security` adds TLS credentials and the bearer token: every channel
 * built from these options (the ClientGrpc, the raw grpc-js client behind it,
 * a readiness check) is secured the same way.
 */
export function grpcClientOptions(
  key: GrpcServiceKey,
  client: GrpcClientConfig,
  interceptors: readonly Interceptor[] = [],
): GrpcOptions {
  const channelOptions = {
    // Round robin over every address of the target, retries of UNAVAILABLE
    // for the methods that may be repeated (CLIENT_RETRIED_METHODS).
    'grpc.service_config': JSON.stringify(clientServiceConfig(key)),
    // Ours is the only service config: no DNS TXT lookup may replace it.
    'grpc.service_config_disable_resolution': 1,
    // grpc-js re-resolves a DNS name only when a connection is lost, at most
    // this often (default 30 s): a rolling update must not outrun it.
    'grpc.dns_min_time_between_resolutions_ms': 5000,
    // grpc's default backoff grows to 2 minutes; a restarted backend should
    // be found again within seconds.
    'grpc.initial_reconnect_backoff_ms': 250,
    'grpc.max_reconnect_backoff_ms': 5000,
    // Finds a dead connection (a host gone without a TCP reset) within
    // 40 s, idle or not, so round robin stops picking it; the servers
    // permit this rate (grpcServerOptions).
    'grpc.keepalive_time_ms': GRPC_KEEPALIVE.timeMs,
    'grpc.keepalive_timeout_ms': GRPC_KEEPALIVE.timeoutMs,
    'grpc.keepalive_permit_without_calls': 1,
    // grpc-js reads `interceptors` from the client options Nest passes through.
    interceptors: [
      ...interceptors,
      unaryDeadlineInterceptor(client.unaryDeadlineMs),
      // Inside the deadline: a repeat keeps the call's deadline.
      answerLostRetryInterceptor(retriedMethodPaths(key)),
      // Innermost: every attempt, repeats included, carries the bearer token.
      ...(client.security?.interceptors ?? []),
    ],
    ...client.security?.channelOptions,
  } as ChannelOptions;
  return {
    transport: Transport.GRPC,
    options: {
      ...baseOptions(key, client),
      url: grpcTarget(client.url),
      channelOptions,
      // Nest dials with these (plaintext when undefined).
      credentials: client.security?.credentials,
    },
  };
}
