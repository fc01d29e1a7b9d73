import { IsBoolean, IsInt, Max, Min } from 'class-validator';
import { EnvBoolean } from './env-boolean.js';
import { GrpcSecurityEnv } from './grpc-security-env.js';

/** Environment shared by every app that speaks gRPC. */
export class GrpcEnv extends GrpcSecurityEnv {
  /** Largest gRPC message sent or received, in bytes (grpc's default is 4 MiB). */
  @IsInt()
  @Min(1024)
  @Max(256 * 1024 * 1024)
  GRPC_MAX_MESSAGE_BYTES: number = 4 * 1024 * 1024;

  /** Serve gRPC server reflection (grpc.reflection.v1 and v1alpha). */
  @EnvBoolean()
  @IsBoolean()
  GRPC_REFLECTION: boolean = true;

  /**
   * On SIGTERM/SIGINT, how long in-flight calls get to finish before the
   * ones still open are cancelled and the process exits (docs/operations.md).
   */
  @IsInt()
  @Min(0)
  @Max(600_000)
  SHUTDOWN_GRACE_MS: number = 10_000;
}
