import { Module, type DynamicModule } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { GrpcEnv } from '#config';
import { grpcServiceName, type GrpcServiceKey } from '../grpc-options.js';
import { GrpcOperations } from './grpc-operations.js';

/**
 * Provides the process's GrpcOperations (health, reflection, shutdown
 * signal), configured from GrpcEnv, to the whole app.
 */
@Module({})
export class GrpcOperationsModule {
  /** For a server hosting the services `keys` of GRPC_SERVICES. */
  static forServices(...keys: GrpcServiceKey[]): DynamicModule {
    return {
      module: GrpcOperationsModule,
      global: true,
      providers: [
        {
          provide: GrpcOperations,
          inject: [ConfigService],
          useFactory: (config: ConfigService<GrpcEnv, true>) =>
            new GrpcOperations({
              services: keys.map(grpcServiceName),
              reflection: config.get('GRPC_REFLECTION', { infer: true }),
              shutdownGraceMs: config.get('SHUTDOWN_GRACE_MS', { infer: true }),
            }),
        },
      ],
      exports: [GrpcOperations],
    };
  }
}
