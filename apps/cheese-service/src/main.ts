import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { Logger as PinoNestLogger } from 'nestjs-pino';
import { GrpcOperations, grpcServerOptions, serveUntilSignal } from '#proto';
import { CheeseServiceModule } from './cheese-service.module.js';
import type { CheeseServiceEnv } from './config/cheese-service.env.js';

async function bootstrap() {
  const app = await NestFactory.createMicroservice(CheeseServiceModule, {
    abortOnError: false,
    bufferLogs: true,
    inject: [ConfigService, GrpcOperations],
    useFactory: (config: ConfigService<CheeseServiceEnv, true>, operations: GrpcOperations) =>
      grpcServerOptions(
        'cheese',
        {
          url: `${config.get('CHEESE_GRPC_HOST', { infer: true })}:${config.get('CHEESE_GRPC_PORT', { infer: true })}`,
          maxMessageBytes: config.get('GRPC_MAX_MESSAGE_BYTES', { infer: true }),
        },
        operations,
      ),
  });
  app.useLogger(app.get(PinoNestLogger));
  // Listens, reports SERVING, and shuts down gracefully on SIGTERM/SIGINT (docs/operations.md).
  await serveUntilSignal(app);
  const config = app.get<ConfigService<CheeseServiceEnv, true>>(ConfigService);
  new Logger('CheeseService').log(
    `gRPC cheesefarm.CheeseService listening on ${config.get('CHEESE_GRPC_HOST', { infer: true })}:${config.get('CHEESE_GRPC_PORT', { infer: true })}`,
  );
}

bootstrap().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
