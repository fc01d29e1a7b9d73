import { Logger, type Type } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { Logger as PinoNestLogger } from 'nestjs-pino';
import type { GrpcEnv } from '#config';
import { grpcServerOptions, grpcServiceName, type GrpcServiceKey } from '../grpc-options.js';
import { GrpcOperations } from './grpc-operations.js';
import { GrpcServer } from './grpc-server.js';
import { serveUntilSignal } from './serve-until-signal.js';

/** The environment variables that hold where a service listens. */
export interface ListenVars {
  host: string;
  port: string;
}

/**
 * A gRPC service's whole `main.ts`: builds the Nest microservice of `module`
 * serving `key` of GRPC_SERVICES on the configured host and port (with the
 * GrpcOperations of the module: health, reflection, interceptors, TLS),
 * logs through pino, and serves until SIGTERM/SIGINT (`serveUntilSignal`).
 * A failed start prints its reason and exits 1.
 */
export async function runGrpcService(
  module: Type,
  key: GrpcServiceKey,
  listen: ListenVars,
): Promise<void> {
  try {
    const app = await NestFactory.createMicroservice(module, {
      abortOnError: false,
      bufferLogs: true,
      inject: [ConfigService, GrpcOperations],
      useFactory: (config: ConfigService<GrpcEnv, true>, operations: GrpcOperations) => ({
        strategy: new GrpcServer(
          grpcServerOptions(
            key,
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
    await serveUntilSignal(app);
    new Logger('Main').log(
      `gRPC ${grpcServiceName(key)} listening on ${listenUrl(app.get(ConfigService), listen)}`,
    );
  } catch (err: unknown) {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  }
}

/** host:port from the app's validated config (`listen` names a service's own variables). */
function listenUrl(config: { get(name: string): unknown }, listen: ListenVars): string {
  return `${String(config.get(listen.host))}:${String(config.get(listen.port))}`;
}
