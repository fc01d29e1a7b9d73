import { IsInt, IsString, Max, Min } from 'class-validator';
import { GrpcEnv } from '#config';

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

  /** Where cheese-service listens (host:port, or any gRPC target name). */
  @IsString()
  CHEESE_GRPC_URL: string = 'localhost:4000';

  /** Where soccer-service listens (host:port, or any gRPC target name). */
  @IsString()
  SOCCER_GRPC_URL: string = 'localhost:4001';

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
}
