import 'reflect-metadata';
import { runGrpcService } from '#grpc';
import { CheeseServiceModule } from './cheese-service.module.js';
import { CheeseServiceEnv } from './config/cheese-service.env.js';

// Serves cheesefarm.CheeseService until SIGTERM/SIGINT (docs/operations.md).
await runGrpcService({
  module: CheeseServiceModule,
  service: 'cheese',
  env: CheeseServiceEnv,
  listen: { host: 'CHEESE_GRPC_HOST', port: 'CHEESE_GRPC_PORT' },
});
