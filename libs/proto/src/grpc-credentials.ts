import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  credentials,
  ServerCredentials,
  type ChannelCredentials,
  type Interceptor,
  type ServerInterceptor,
} from '@grpc/grpc-js';
import { ConfigurationError, type GrpcSecurityEnv } from '#config';
import { bearerTokenInterceptor, grpcAuthInterceptor } from './grpc-auth.js';

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

/** Thrown at start-up when a configured certificate or key cannot be used. */
export class GrpcTlsConfigError extends ConfigurationError {
  override name = 'GrpcTlsConfigError';
}

function readPemFile(variable: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new GrpcTlsConfigError(
      `${variable}=${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
    );
  }
}

/** A PEM certificate file (the first certificate of a chain is the one checked). */
function readCertificate(variable: string, path: string): { pem: Buffer; x509: X509Certificate } {
  const pem = readPemFile(variable, path);
  try {
    return { pem, x509: new X509Certificate(pem) };
  } catch {
    throw new GrpcTlsConfigError(`${variable}=${path}: not a PEM certificate`);
  }
}

/** A PEM private key file. Its contents never reach an error message. */
function readPrivateKey(variable: string, path: string): { pem: Buffer; key: KeyObject } {
  const pem = readPemFile(variable, path);
  try {
    return { pem, key: createPrivateKey(pem) };
  } catch {
    throw new GrpcTlsConfigError(
      `${variable}=${path}: not an unencrypted PEM private key (PKCS#8, SEC1 or PKCS#1)`,
    );
  }
}

/** A certificate and its key, checked to belong together (TLS would fail at the handshake). */
export function readKeyPair(
  certVariable: string,
  certPath: string,
  keyVariable: string,
  keyPath: string,
) {
  const cert = readCertificate(certVariable, certPath);
  const key = readPrivateKey(keyVariable, keyPath);
  if (!cert.x509.checkPrivateKey(key.key)) {
    throw new GrpcTlsConfigError(
      `${keyVariable}=${keyPath} is not the private key of ${certVariable}=${certPath}`,
    );
  }
  return { cert_chain: cert.pem, private_key: key.pem };
}

/**
 * The credentials every gRPC server of the system binds with: plaintext by
 * default, TLS with GRPC_TLS_CERT + GRPC_TLS_KEY, mutual TLS when
 * GRPC_TLS_CLIENT_CA is set too (a client without a certificate from that CA
 * fails the handshake). Files are read and checked now: a bad one stops the
 * start with the variable's name.
 */
export function grpcServerCredentials(env: GrpcServerTlsEnv): ServerCredentials {
  const { GRPC_TLS_CERT: cert, GRPC_TLS_KEY: key, GRPC_TLS_CLIENT_CA: clientCa } = env;
  if (!cert && !key && !clientCa) return ServerCredentials.createInsecure();
  if (!cert || !key) {
    throw new GrpcTlsConfigError('GRPC_TLS_CERT and GRPC_TLS_KEY must be set together');
  }
  const pair = readKeyPair('GRPC_TLS_CERT', cert, 'GRPC_TLS_KEY', key);
  const clientRoots = clientCa ? readCertificate('GRPC_TLS_CLIENT_CA', clientCa).pem : null;
  return ServerCredentials.createSsl(clientRoots, [pair], clientRoots !== null);
}

/**
 * The credentials every gRPC client of the system dials with: plaintext by
 * default, TLS verifying the servers against GRPC_TLS_CA when it is set, and
 * presenting GRPC_TLS_CLIENT_CERT + GRPC_TLS_CLIENT_KEY (mutual TLS) when
 * those are set too. GRPC_TLS_SERVER_NAME is a channel option, see
 * `grpcTlsChannelOptions`.
 */
export function grpcChannelCredentials(env: GrpcClientTlsEnv): ChannelCredentials {
  const { GRPC_TLS_CA: ca, GRPC_TLS_CLIENT_CERT: cert, GRPC_TLS_CLIENT_KEY: key } = env;
  if (!ca) {
    if (cert || key) {
      throw new GrpcTlsConfigError('GRPC_TLS_CLIENT_CERT/GRPC_TLS_CLIENT_KEY need GRPC_TLS_CA');
    }
    return credentials.createInsecure();
  }
  const roots = readCertificate('GRPC_TLS_CA', ca).pem;
  if (!cert && !key) return credentials.createSsl(roots);
  if (!cert || !key) {
    throw new GrpcTlsConfigError(
      'GRPC_TLS_CLIENT_CERT and GRPC_TLS_CLIENT_KEY must be set together',
    );
  }
  const pair = readKeyPair('GRPC_TLS_CLIENT_CERT', cert, 'GRPC_TLS_CLIENT_KEY', key);
  return credentials.createSsl(roots, pair.private_key, pair.cert_chain);
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
): GrpcServerSecurity {
  return {
    credentials: grpcServerCredentials(env),
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
): GrpcClientSecurity {
  return {
    credentials: grpcChannelCredentials(env),
    channelOptions: grpcTlsChannelOptions(env),
    interceptors: env.GRPC_AUTH_TOKEN ? [bearerTokenInterceptor(env.GRPC_AUTH_TOKEN)] : [],
    description: describeClientSecurity(env),
  };
}
