import { IsInt, IsString, Max, Min } from 'class-validator';
import { GrpcEnv } from './grpc-env.js';

/**
 * Environment shared by the gRPC services (cheese-service, soccer-service):
 * their Prometheus endpoint. Each service's env class sets its own default
 * METRICS_PORT, so that `npm start` can run them side by side.
 */
export class GrpcServiceEnv extends GrpcEnv {
  /** Interface the metrics endpoint binds to. */
  @IsString()
  METRICS_HOST: string = '0.0.0.0';

  /** Port of `GET /metrics` (Prometheus text); 0 turns the endpoint off. */
  @IsInt()
  @Min(0)
  @Max(65535)
  METRICS_PORT: number = 0;
}
