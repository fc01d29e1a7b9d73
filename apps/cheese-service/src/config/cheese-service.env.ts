import { IsInt, IsString, Max, Min } from 'class-validator';
import { GrpcServiceEnv } from '#config';

/** cheese-service's environment, validated at start-up. */
export class CheeseServiceEnv extends GrpcServiceEnv {
  /** Interface the gRPC server binds to. */
  @IsString()
  CHEESE_GRPC_HOST: string = '0.0.0.0';

  /** gRPC port; the talk's clients dial 4000. */
  @IsInt()
  @Min(1)
  @Max(65535)
  CHEESE_GRPC_PORT: number = 4000;

  /** Port of `GET /metrics`, one of its own so the services can share a host; 0: off. */
  override METRICS_PORT: number = 9400;

  /** Simulated preparation time per order in ms ("simulates a cheese order load"). */
  @IsInt()
  @Min(0)
  @Max(600_000)
  CHEESE_PREP_MS: number = 0;
}
