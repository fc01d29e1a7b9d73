import 'reflect-metadata';
import { runGrpcService } from '#grpc';
import { SoccerServiceEnv } from './config/soccer-service.env.js';
import { SoccerServiceModule } from './soccer-service.module.js';

// Serves stream.Soccer until SIGTERM/SIGINT (docs/operations.md).
await runGrpcService({
  module: SoccerServiceModule,
  service: 'soccer',
  env: SoccerServiceEnv,
  listen: { host: 'SOCCER_GRPC_HOST', port: 'SOCCER_GRPC_PORT' },
});
