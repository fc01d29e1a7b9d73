import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { Logger as PinoNestLogger } from 'nestjs-pino';
import { GrpcOperations, grpcServerOptions, serveUntilSignal } from '#proto';
import type { SoccerServiceEnv } from './config/soccer-service.env.js';
import { SoccerServiceModule } from './soccer-service.module.js';

async function bootstrap() {
  const app = await NestFactory.createMicroservice(SoccerServiceModule, {
    abortOnError: false,
    bufferLogs: true,
    inject: [ConfigService, GrpcOperations],
    useFactory: (config: ConfigService<SoccerServiceEnv, true>, operations: GrpcOperations) =>
      grpcServerOptions(
        'soccer',
        {
          url: `${config.get('SOCCER_GRPC_HOST', { infer: true })}:${config.get('SOCCER_GRPC_PORT', { infer: true })}`,
          maxMessageBytes: config.get('GRPC_MAX_MESSAGE_BYTES', { infer: true }),
        },
        operations,
      ),
  });
  app.useLogger(app.get(PinoNestLogger));
  // Listens, reports SERVING, and shuts down gracefully on SIGTERM/SIGINT (docs/operations.md).
  await serveUntilSignal(app);
  const config = app.get<ConfigService<SoccerServiceEnv, true>>(ConfigService);
  new Logger('SoccerService').log(
    `gRPC stream.Soccer listening on ${config.get('SOCCER_GRPC_HOST', { infer: true })}:${config.get('SOCCER_GRPC_PORT', { infer: true })}`,
  );
}

bootstrap().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
