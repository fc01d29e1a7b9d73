import { IsInt, IsOptional, Matches, Max, Min, MinLength } from 'class-validator';
import { AppEnv } from './app-env.js';
import { IsReadableFile, RequiresEnv } from './env-file.js';
import { SecretEnv } from './secret-env.js';

/**
 * Transport security of every gRPC link (docs/security.md). Plaintext and
 * no token unless set. One environment serves the whole stack: the services
 * read the server side (GRPC_TLS_CERT, GRPC_TLS_KEY, GRPC_TLS_CLIENT_CA), the
 * gateway the client side (GRPC_TLS_CA, GRPC_TLS_CLIENT_CERT,
 * GRPC_TLS_CLIENT_KEY, GRPC_TLS_SERVER_NAME), both GRPC_AUTH_TOKEN. Files
 * are PEM paths, checked to be readable at start-up.
 */
export class GrpcSecurityEnv extends AppEnv {
  /** Server: certificate (chain) the services present; TLS is on when set. */
  @IsOptional()
  @IsReadableFile()
  @RequiresEnv('GRPC_TLS_KEY')
  GRPC_TLS_CERT?: string;

  /** Server: private key of GRPC_TLS_CERT. */
  @IsOptional()
  @IsReadableFile()
  @RequiresEnv('GRPC_TLS_CERT')
  GRPC_TLS_KEY?: string;

  /** Server: CA whose client certificates are accepted; when set, one is required (mutual TLS). */
  @IsOptional()
  @IsReadableFile()
  @RequiresEnv('GRPC_TLS_CERT', 'GRPC_TLS_KEY')
  GRPC_TLS_CLIENT_CA?: string;

  /** Client: CA the servers' certificates are verified against; the gateway dials TLS when set. */
  @IsOptional()
  @IsReadableFile()
  GRPC_TLS_CA?: string;

  /** Client: certificate the gateway presents (mutual TLS). */
  @IsOptional()
  @IsReadableFile()
  @RequiresEnv('GRPC_TLS_CLIENT_KEY', 'GRPC_TLS_CA')
  GRPC_TLS_CLIENT_CERT?: string;

  /** Client: private key of GRPC_TLS_CLIENT_CERT. */
  @IsOptional()
  @IsReadableFile()
  @RequiresEnv('GRPC_TLS_CLIENT_CERT')
  GRPC_TLS_CLIENT_KEY?: string;

  /**
   * Client: the name the servers' certificates are checked for, instead of
   * the host dialled (`grpc.ssl_target_name_override`): for a target whose
   * name or IP is not in the certificate. Rarely needed.
   */
  @IsOptional()
  @Matches(/^[A-Za-z0-9.-]{1,253}$/, { message: 'must be a DNS name' })
  @RequiresEnv('GRPC_TLS_CA')
  GRPC_TLS_SERVER_NAME?: string;

  /**
   * How often the TLS files above (and the gateway's GATEWAY_TLS_CERT/KEY)
   * are re-read, in ms: a renewed certificate is used for new connections
   * without a restart. 0: read at start only.
   */
  @IsInt()
  @Min(0)
  @Max(3600_000)
  TLS_RELOAD_INTERVAL_MS: number = 10_000;

  /**
   * Bearer token: services require `authorization: Bearer <token>` on every
   * call but health and reflection, the gateway sends it. A secret: never
   * logged, not even in a start-up error.
   */
  @SecretEnv()
  @IsOptional()
  @MinLength(16, { message: 'must be at least 16 characters (e.g. `openssl rand -hex 32`)' })
  @Matches(/^[\x21-\x7e]+$/, { message: 'must be printable ASCII without spaces' })
  GRPC_AUTH_TOKEN?: string;
}
