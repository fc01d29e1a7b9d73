import type { ChannelOptions, Interceptor } from '@grpc/grpc-js';
import { Transport, type GrpcOptions } from '@nestjs/microservices';
import { grpcServiceName, type GrpcServiceKey } from '#proto';
import type { GrpcClientSecurity } from './grpc-credentials.js';
import { answerLostRetryInterceptor } from './answer-lost-retry.interceptor.js';
import { GRPC_KEEPALIVE, grpcLinkOptions, type GrpcLinkConfig } from './grpc-link.js';
import { grpcTarget } from './grpc-target.js';
import { unaryDeadlineInterceptor } from './unary-deadline.interceptor.js';
import { keepCallsAliveAfterGoaway } from './keepalive-after-goaway.js';

export interface GrpcClientConfig extends GrpcLinkConfig {
  /** Where to dial: one address, a list of IP:port, or a target URI (see `grpcTarget`). */
  url: string;
  /** Deadline given to every unary call that has none of its own. */
  unaryDeadlineMs: number;
  /** TLS/mTLS credentials and the bearer token (`grpcClientSecurity`); plaintext when absent. */
  security?: GrpcClientSecurity;
}

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
  keepCallsAliveAfterGoaway();
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
      ...grpcLinkOptions(key, client),
      url: grpcTarget(client.url),
      channelOptions,
      // Nest dials with these (plaintext when undefined).
      credentials: client.security?.credentials,
    },
  };
}
