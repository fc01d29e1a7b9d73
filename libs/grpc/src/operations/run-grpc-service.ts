import { Logger, type Type } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import type { ClassConstructor } from 'class-transformer';
import { Logger as PinoNestLogger } from 'nestjs-pino';
import type { GrpcEnv } from '#config';
import { startApp } from '#observability';
import { grpcServiceName, type GrpcServiceKey } from '#proto';
import { grpcServerOptions } from '../grpc-server-options.js';
import { directRpcHandlers } from './direct-rpc-handlers.js';
import { GrpcOperations } from './grpc-operations.js';
import { GrpcServer } from './grpc-server.js';
import { serveUntilSignal } from './serve-until-signal.js';

/** The environment variables that hold where a service listens. */
export interface ListenVars {
  host: string;
  port: string;
}

export interface GrpcServiceApp<E extends GrpcEnv> {
  /** The app's root module. */
  module: Type;
  /** Which of GRPC_SERVICES it serves. */
  service: GrpcServiceKey;
  /** Its env class, the one its ConfigModule validates with. */
  env: ClassConstructor<E>;
  /** The variables of its host and port. */
  listen: ListenVars;
}

/**
 * A gRPC service's whole `main.ts`: through startApp (environment checked
 * first, JSON logs from the first line, clean start-up errors), builds the
 * Nest microservice of `module` serving `service` on the configured host and
 * port (with the GrpcOperations of the module: health, reflection,
 * interceptors, TLS), and serves until SIGTERM/SIGINT (`serveUntilSignal`).
 */
export async function runGrpcService<E extends GrpcEnv>(service: GrpcServiceApp<E>): Promise<void> {
  const { module, listen } = service;
  await startApp({
    app: `${service.service}-service`,
    env: service.env,
    start: async (_env, logger) => {
      const app = await NestFactory.createMicroservice(module, {
        abortOnError: false,
        logger,
        inject: [ConfigService, GrpcOperations],
        useFactory: (config: ConfigService<GrpcEnv, true>, operations: GrpcOperations) => ({
          strategy: new GrpcServer(
            grpcServerOptions(
              service.service,
              {
                url: listenUrl(config, listen),
                maxMessageBytes: config.get('GRPC_MAX_MESSAGE_BYTES', { infer: true }),
              },
              operations,
            ).options,
          ),
        }),
      });
      app.useLogger(app.get(PinoNestLogger));
      // Handlers with no guards, pipes or interceptors call their method directly.
      if (!directRpcHandlers(app)) new Logger('Main').warn('Nest RPC handlers: no direct path');
      await serveUntilSignal(app);
      new Logger('Main').log(
        `gRPC ${grpcServiceName(service.service)} listening on ${listenUrl(app.get(ConfigService), listen)}`,
      );
    },
  });
}

/** host:port from the app's validated config (`listen` names a service's own variables). */
function listenUrl(config: { get(name: string): unknown }, listen: ListenVars): string {
  return `${String(config.get(listen.host))}:${String(config.get(listen.port))}`;
}
