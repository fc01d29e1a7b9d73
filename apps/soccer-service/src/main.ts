import 'reflect-metadata';
import { runGrpcService } from '#proto';
import { SoccerServiceModule } from './soccer-service.module.js';

// Serves stream.Soccer until SIGTERM/SIGINT (docs/operations.md).
await runGrpcService(SoccerServiceModule, 'soccer', {
  host: 'SOCCER_GRPC_HOST',
  port: 'SOCCER_GRPC_PORT',
});
