import { IsInt, Max, Min } from 'class-validator';

/** Environment shared by every app that speaks gRPC. */
export class GrpcEnv {
  /** Largest gRPC message sent or received, in bytes (grpc's default is 4 MiB). */
  @IsInt()
  @Min(1024)
  @Max(256 * 1024 * 1024)
  GRPC_MAX_MESSAGE_BYTES: number = 4 * 1024 * 1024;
}
