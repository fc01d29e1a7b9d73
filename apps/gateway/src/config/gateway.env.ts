import { IsInt, IsOptional, IsString, Max, Min } from 'class-validator';
import { GrpcEnv, IsReadableFile, IsRedisUrl, RequiresEnv, SecretEnv } from '#config';
import { CommaList, IsApiKeyList, IsCidrList, IsOriginList } from './env-lists.js';
import { IsGrpcTarget } from './is-grpc-target.js';

/** The gateway's environment, validated at start-up. */
export class GatewayEnv extends GrpcEnv {
  /** Interface the HTTP server binds to. */
  @IsString()
  GATEWAY_HTTP_HOST: string = '0.0.0.0';

  /** HTTP port. */
  @IsInt()
  @Min(1)
  @Max(65535)
  GATEWAY_HTTP_PORT: number = 3000;

  /**
   * Where cheese-service listens: host:port, a comma-separated list of
   * IP:port (replicas), or a gRPC target such as `dns:///name:port`. Calls are
   * spread round robin over every address (docs/operations.md).
   */
  @IsGrpcTarget()
  CHEESE_GRPC_URL: string = 'localhost:4000';

  /** Where soccer-service listens, in the same forms as CHEESE_GRPC_URL. */
  @IsGrpcTarget()
  SOCCER_GRPC_URL: string = 'localhost:4001';

  /**
   * On SIGTERM/SIGINT, how long the gateway goes on serving with `/readyz`
   * answering 503 before it stops accepting connections, so that load
   * balancers probing `/readyz` stop sending first. Part of SHUTDOWN_GRACE_MS.
   */
  @IsInt()
  @Min(0)
  @Max(600_000)
  GATEWAY_SHUTDOWN_DELAY_MS: number = 0;

  /**
   * How often each backend's grpc.health.v1 status is checked, in ms: what
   * `/readyz` reports under `backends` and the `gateway_backend_up` gauge.
   */
  @IsInt()
  @Min(100)
  @Max(600_000)
  GATEWAY_BACKEND_CHECK_INTERVAL_MS: number = 5000;

  /** Deadline of every unary gRPC call, in ms. */
  @IsInt()
  @Min(1)
  @Max(300_000)
  GATEWAY_DEADLINE_MS: number = 5000;

  /** Largest JSON request body, in bytes (413 above it). */
  @IsInt()
  @Min(64)
  @Max(16 * 1024 * 1024)
  GATEWAY_BODY_LIMIT_BYTES: number = 16 * 1024;

  /** Largest match video accepted by `PUT /v1/matches/:id/video`, in bytes (413 above it). */
  @IsInt()
  @Min(1)
  @Max(64 * 1024 ** 3)
  GATEWAY_MAX_UPLOAD_BYTES: number = 2 * 1024 ** 3;

  /**
   * Overall deadline of one upload, in ms. Uploads have no unary deadline (they
   * last as long as the body takes); this one only stops a stuck or crawling upload.
   */
  @IsInt()
  @Min(1000)
  @Max(24 * 3600_000)
  GATEWAY_UPLOAD_TIMEOUT_MS: number = 3600_000;

  /** Chat messages an SSE reader may fall behind by before it is dropped. */
  @IsInt()
  @Min(1)
  @Max(100_000)
  GATEWAY_CHAT_MAX_PENDING: number = 256;

  /**
   * Longest chat text accepted by `POST /v1/matches/:id/chat`, in characters.
   * Keep it at most soccer-service's CHAT_MAX_TEXT: a text the service refuses
   * ends the sender's chat session, one the gateway refuses is only a 400.
   */
  @IsInt()
  @Min(1)
  @Max(100_000)
  GATEWAY_CHAT_MAX_TEXT: number = 500;

  /**
   * Messages one chat WebSocket may send per minute; one more closes it with
   * RESOURCE_EXHAUSTED (docs/matches-api.md, "Chat over WebSocket").
   */
  @IsInt()
  @Min(1)
  @Max(100_000)
  GATEWAY_CHAT_MESSAGES_PER_MINUTE: number = 120;

  // HTTP hardening (docs/security.md, "Gateway HTTP").

  /**
   * API keys for the writes (`PUT …/video`, `POST …/chat`), comma-separated;
   * sent as `x-api-key` or `authorization: Bearer`. Unset: writes are open.
   * A secret: never logged, not even in a start-up error.
   */
  @SecretEnv()
  @CommaList()
  @IsOptional()
  @IsApiKeyList()
  GATEWAY_API_KEYS?: string[];

  /** Requests per GATEWAY_RATE_LIMIT_WINDOW_MS per client address (429 above); 0 = no limit. */
  @IsInt()
  @Min(0)
  @Max(1_000_000_000)
  GATEWAY_RATE_LIMIT: number = 1200;

  /** The rate limit's window, in ms. */
  @IsInt()
  @Min(1000)
  @Max(24 * 3600_000)
  GATEWAY_RATE_LIMIT_WINDOW_MS: number = 60_000;

  /**
   * Open streams (watch, MJPEG, chat SSE and WebSocket, upload) per client
   * address (429 above), across replicas with REDIS_URL; 0 = no cap.
   */
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  GATEWAY_MAX_STREAMS_PER_IP: number = 32;

  /** How long a client may take to send a request's headers, in ms; then 408 and closed. */
  @IsInt()
  @Min(100)
  @Max(600_000)
  GATEWAY_HEADERS_TIMEOUT_MS: number = 10_000;

  /**
   * A connection with no traffic for this long is closed, in ms: idle
   * keep-alive connections, stalled bodies, readers that stopped reading.
   * (Never below GATEWAY_DEADLINE_MS + 1 s while a request is being answered.)
   * Keep it above the idle time of the proxy in front (ingress-nginx and most
   * cloud load balancers keep upstream connections 60 s): a proxy that reuses
   * a connection the gateway has just closed answers 502.
   */
  @IsInt()
  @Min(100)
  @Max(3600_000)
  GATEWAY_IDLE_TIMEOUT_MS: number = 75_000;

  /** Largest request head (request line and headers), in bytes (431 above). */
  @IsInt()
  @Min(1024)
  @Max(1024 * 1024)
  GATEWAY_MAX_HEADER_BYTES: number = 16 * 1024;

  /**
   * Origins whose pages may call the API (CORS), comma-separated, or `*`.
   * Unset: no CORS headers, same origin only.
   */
  @CommaList()
  @IsOptional()
  @IsOriginList()
  GATEWAY_CORS_ORIGINS?: string[];

  /**
   * Reverse proxies in front of the gateway (load balancers, the Ingress
   * controller), as IP addresses or CIDRs, comma-separated. A request whose
   * TCP peer is one of them has its client address taken from
   * `X-Forwarded-For`: the rightmost address that is not a trusted proxy.
   * Unset: the header is ignored and the client is the TCP peer.
   */
  @CommaList()
  @IsOptional()
  @IsCidrList()
  GATEWAY_TRUSTED_PROXIES?: string[];

  /**
   * Redis shared by the gateway replicas (`redis://[user:password@]host:port[/db]`,
   * or `rediss://`): the rate limit and the stream cap then count across all
   * of them. Unset: each replica counts on its own. A secret: the URL may hold
   * a password.
   */
  @SecretEnv()
  @IsOptional()
  @IsRedisUrl()
  REDIS_URL?: string;

  /** PEM certificate (chain) of the gateway's own listener; with GATEWAY_TLS_KEY, it serves HTTPS. */
  @IsOptional()
  @IsReadableFile()
  @RequiresEnv('GATEWAY_TLS_KEY')
  GATEWAY_TLS_CERT?: string;

  /** PEM private key of GATEWAY_TLS_CERT. */
  @IsOptional()
  @IsReadableFile()
  @RequiresEnv('GATEWAY_TLS_CERT')
  GATEWAY_TLS_KEY?: string;
}
