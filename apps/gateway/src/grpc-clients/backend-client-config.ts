import { Logger } from '@nestjs/common';
import type { ConfigService } from '@nestjs/config';
import { type GrpcServiceKey } from '#proto';
import { grpcClientSecurity, type GrpcClientConfig } from '#grpc';
import type { GatewayEnv } from '../config/gateway.env.js';

/** The variable that says where each backend is. */
const BACKEND_URL_VARIABLES = {
  cheese: 'CHEESE_GRPC_URL',
  soccer: 'SOCCER_GRPC_URL',
} as const satisfies Record<GrpcServiceKey, keyof GatewayEnv>;

/**
 * How the gateway reaches a backend, from config: the one source for its
 * gRPC client and its readiness check, so both dial the same addresses the
 * same way, with the same credentials and token.
 */
export function backendClientConfig(
  key: GrpcServiceKey,
  config: ConfigService<GatewayEnv, true>,
): GrpcClientConfig {
  return {
    url: config.get(BACKEND_URL_VARIABLES[key], { infer: true }),
    maxMessageBytes: config.get('GRPC_MAX_MESSAGE_BYTES', { infer: true }),
    unaryDeadlineMs: config.get('GATEWAY_DEADLINE_MS', { infer: true }),
    // Re-read while running (every channel shares them): a renewed client
    // certificate or CA is used for new connections.
    security: grpcClientSecurity(clientSecurityEnv(config), {
      intervalMs: config.get('TLS_RELOAD_INTERVAL_MS', { infer: true }),
      log: new Logger('Tls'),
    }),
  };
}

/** The variables of the gateway's gRPC transport security (TLS, mTLS, bearer token). */
export function clientSecurityEnv(config: ConfigService<GatewayEnv, true>) {
  return {
    GRPC_TLS_CA: config.get('GRPC_TLS_CA', { infer: true }),
    GRPC_TLS_CLIENT_CERT: config.get('GRPC_TLS_CLIENT_CERT', { infer: true }),
    GRPC_TLS_CLIENT_KEY: config.get('GRPC_TLS_CLIENT_KEY', { infer: true }),
    GRPC_TLS_SERVER_NAME: config.get('GRPC_TLS_SERVER_NAME', { infer: true }),
    GRPC_AUTH_TOKEN: config.get('GRPC_AUTH_TOKEN', { infer: true }),
  };
}
