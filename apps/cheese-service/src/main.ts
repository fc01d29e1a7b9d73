import 'reflect-metadata';
import { runGrpcService } from '#proto';
import { CheeseServiceModule } from './cheese-service.module.js';

// Serves cheesefarm.CheeseService until SIGTERM/SIGINT (docs/operations.md).
await runGrpcService(CheeseServiceModule, 'cheese', {
  host: 'CHEESE_GRPC_HOST',
  port: 'CHEESE_GRPC_PORT',
});
