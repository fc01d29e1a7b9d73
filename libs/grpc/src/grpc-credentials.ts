import {
  credentials,
  experimental,
  ServerCredentials,
  type ChannelCredentials,
  type Interceptor,
  type ServerInterceptor,
} from '@grpc/grpc-js';
import type { GrpcSecurityEnv } from '#config';
import { bearerTokenInterceptor, grpcAuthInterceptor } from './grpc-auth.js';
import { reloadingTlsFiles, type TlsReloadOptions } from './reloading-tls-files.js';
import { GrpcTlsConfigError, readCaCertificate, readKeyPair, type TlsFiles } from './tls-files.js';

export { GrpcTlsConfigError, readKeyPair } from './tls-files.js';

/** What the services read: their certificate and key, and the CA of client certificates (mTLS). */
export type GrpcServerTlsEnv = Pick<
  GrpcSecurityEnv,
  'GRPC_TLS_CERT' | 'GRPC_TLS_KEY' | 'GRPC_TLS_CLIENT_CA'
>;

/** What a client (the gateway) reads: the CA of the servers, its own certificate and key (mTLS). */
export type GrpcClientTlsEnv = Pick<
  GrpcSecurityEnv,
  'GRPC_TLS_CA' | 'GRPC_TLS_CLIENT_CERT' | 'GRPC_TLS_CLIENT_KEY' | 'GRPC_TLS_SERVER_NAME'
>;

/**
 * The credentials every gRPC server of the system binds with: plaintext by
 * default, TLS with GRPC_TLS_CERT + GRPC_TLS_KEY, mutual TLS when
 * GRPC_TLS_CLIENT_CA is set too (a client without a certificate from that CA
 * fails the handshake). Files are read and checked now: a bad one stops the
 * start with the variable's name. With `reload`, they are re-read while the
 * server runs (ReloadingTlsFiles): renewed files serve new connections.
 */
export function grpcServerCredentials(
  env: GrpcServerTlsEnv,
  reload?: TlsReloadOptions,
): ServerCredentials {
  const files = serverTlsFiles(env);
  if (!files) return ServerCredentials.createInsecure();
  if (reload) {
    // Re-read while serving: new connections get a renewed certificate.
    const provider = reloadingTlsFiles(files, reload);
    return experimental.createCertificateProviderServerCredentials(
      provider, // the identity provider (grpc-js names its parameters the other way round)
      files.ca ? provider : null,
      files.ca !== undefined,
    );
  }
  const pair = readKeyPair('GRPC_TLS_CERT', files.cert!.path, 'GRPC_TLS_KEY', files.key!.path);
  const clientRoots = files.ca ? readCaCertificate(files.ca.variable, files.ca.path) : null;
  return ServerCredentials.createSsl(clientRoots, [pair], clientRoots !== null);
}

/** The server's TLS files, checked to be a whole pair; undefined: plaintext. */
function serverTlsFiles(env: GrpcServerTlsEnv): TlsFiles | undefined {
  const { GRPC_TLS_CERT: cert, GRPC_TLS_KEY: key, GRPC_TLS_CLIENT_CA: clientCa } = env;
  if (!cert && !key && !clientCa) return undefined;
  if (!cert || !key) {
    throw new GrpcTlsConfigError('GRPC_TLS_CERT and GRPC_TLS_KEY must be set together');
  }
  return {
    cert: { variable: 'GRPC_TLS_CERT', path: cert },
    key: { variable: 'GRPC_TLS_KEY', path: key },
    ...(clientCa ? { ca: { variable: 'GRPC_TLS_CLIENT_CA', path: clientCa } } : {}),
  };
}

/**
 * The credentials every gRPC client of the system dials with: plaintext by
 * default, TLS verifying the servers against GRPC_TLS_CA when it is set, and
 * presenting GRPC_TLS_CLIENT_CERT + GRPC_TLS_CLIENT_KEY (mutual TLS) when
 * those are set too. GRPC_TLS_SERVER_NAME is a channel option, see
 * `grpcTlsChannelOptions`. With `reload`, the files are re-read while the
 * client runs, as for the server.
 */
export function grpcChannelCredentials(
  env: GrpcClientTlsEnv,
  reload?: TlsReloadOptions,
): ChannelCredentials {
  const files = clientTlsFiles(env);
  if (!files) return credentials.createInsecure();
  if (reload) {
    // Re-read while running: new connections use a renewed certificate and CA.
    const provider = reloadingTlsFiles(files, reload);
    return experimental.createCertificateProviderChannelCredentials(
      provider,
      files.cert ? provider : null,
    );
  }
  const roots = readCaCertificate(files.ca!.variable, files.ca!.path);
  if (!files.cert) return credentials.createSsl(roots);
  const pair = readKeyPair(files.cert.variable, files.cert.path, files.key!.variable, files.key!.path); // prettier-ignore
  return credentials.createSsl(roots, pair.private_key, pair.cert_chain);
}

/** The client's TLS files, checked to be whole; undefined: plaintext. */
function clientTlsFiles(env: GrpcClientTlsEnv): TlsFiles | undefined {
  const { GRPC_TLS_CA: ca, GRPC_TLS_CLIENT_CERT: cert, GRPC_TLS_CLIENT_KEY: key } = env;
  if (!ca) {
    if (cert || key) {
      throw new GrpcTlsConfigError('GRPC_TLS_CLIENT_CERT/GRPC_TLS_CLIENT_KEY need GRPC_TLS_CA');
    }
    return undefined;
  }
  if (!cert !== !key) {
    throw new GrpcTlsConfigError(
      'GRPC_TLS_CLIENT_CERT and GRPC_TLS_CLIENT_KEY must be set together',
    );
  }
  return {
    ca: { variable: 'GRPC_TLS_CA', path: ca },
    ...(cert && key
      ? {
          cert: { variable: 'GRPC_TLS_CLIENT_CERT', path: cert },
          key: { variable: 'GRPC_TLS_CLIENT_KEY', path: key },
        }
      : {}),
  };
}

/**
 * Channel options that go with `grpcChannelCredentials`: the name server
 * certificates are checked for, when it is not the host dialled.
 */
export function grpcTlsChannelOptions(env: GrpcClientTlsEnv): Record<string, string> {
  return env.GRPC_TLS_CA && env.GRPC_TLS_SERVER_NAME
    ? { 'grpc.ssl_target_name_override': env.GRPC_TLS_SERVER_NAME }
    : {};
}

/** One log line's worth on a server's transport security: which controls are on, no secrets. */
export function describeServerSecurity(env: GrpcServerTlsEnv & { GRPC_AUTH_TOKEN?: string }) {
  const tls = !env.GRPC_TLS_CERT
    ? 'plaintext (no GRPC_TLS_CERT)'
    : env.GRPC_TLS_CLIENT_CA
      ? 'mutual TLS (client certificates from GRPC_TLS_CLIENT_CA required)'
      : 'TLS';
  const auth = !env.GRPC_AUTH_TOKEN
    ? 'no token required'
    : `bearer token required (health and reflection open)${env.GRPC_TLS_CERT ? '' : ', sent unencrypted without TLS'}`;
  return `gRPC transport: ${tls}; ${auth}`;
}

/** The same for a client: how it dials, no secrets. */
export function describeClientSecurity(env: GrpcClientTlsEnv & { GRPC_AUTH_TOKEN?: string }) {
  const tls = !env.GRPC_TLS_CA
    ? 'plaintext (no GRPC_TLS_CA)'
    : env.GRPC_TLS_CLIENT_CERT
      ? 'mutual TLS (client certificate GRPC_TLS_CLIENT_CERT)'
      : 'TLS';
  const name =
    env.GRPC_TLS_CA && env.GRPC_TLS_SERVER_NAME ? `, server name ${env.GRPC_TLS_SERVER_NAME}` : '';
  const auth = !env.GRPC_AUTH_TOKEN
    ? 'no token'
    : `bearer token sent${env.GRPC_TLS_CA ? '' : ' unencrypted (set GRPC_TLS_CA for TLS)'}`;
  return `gRPC clients: ${tls}${name}; ${auth}`;
}

/** A server's transport security, from GrpcSecurityEnv: what `grpcServerOptions` applies. */
export interface GrpcServerSecurity {
  credentials: ServerCredentials;
  /** The token check (GRPC_AUTH_TOKEN), to run after the telemetry interceptors; or none. */
  interceptors: readonly ServerInterceptor[];
  /** For the start-up log; names no secret. */
  description: string;
}

export function grpcServerSecurity(
  env: GrpcServerTlsEnv & Pick<GrpcSecurityEnv, 'GRPC_AUTH_TOKEN'>,
  reload?: TlsReloadOptions,
): GrpcServerSecurity {
  return {
    credentials: grpcServerCredentials(env, reload),
    interceptors: env.GRPC_AUTH_TOKEN ? [grpcAuthInterceptor(env.GRPC_AUTH_TOKEN)] : [],
    description: describeServerSecurity(env),
  };
}

/** A client's transport security, from GrpcSecurityEnv: what `grpcClientOptions` applies. */
export interface GrpcClientSecurity {
  credentials: ChannelCredentials;
  /** Channel options that go with the credentials (GRPC_TLS_SERVER_NAME). */
  channelOptions: Readonly<Record<string, string>>;
  /**
   * The bearer token (GRPC_AUTH_TOKEN) on every call. An interceptor, not
   * call credentials: grpc-js refuses call credentials on a plaintext
   * channel, and the token must work with or without TLS.
   */
  interceptors: readonly Interceptor[];
  /** For the start-up log; names no secret. */
  description: string;
}

export function grpcClientSecurity(
  env: GrpcClientTlsEnv & Pick<GrpcSecurityEnv, 'GRPC_AUTH_TOKEN'>,
  reload?: TlsReloadOptions,
): GrpcClientSecurity {
  return {
    credentials: grpcChannelCredentials(env, reload),
    channelOptions: grpcTlsChannelOptions(env),
    interceptors: env.GRPC_AUTH_TOKEN ? [bearerTokenInterceptor(env.GRPC_AUTH_TOKEN)] : [],
    description: describeClientSecurity(env),
  };
}
