import { Global, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ClientsModule } from '@nestjs/microservices';
import { grpcClientOptions } from '#proto';
import type { GatewayEnv } from '../config/gateway.env.js';

/** Injection token of the cheese-service `ClientGrpc`. */
export const CHEESE_CLIENT = Symbol('CHEESE_CLIENT');
/** Injection token of the soccer-service `ClientGrpc`. */
export const SOCCER_CLIENT = Symbol('SOCCER_CLIENT');

/** The gateway's gRPC clients, one per backend, built from config. */
@Global()
@Module({
  imports: [
    ClientsModule.registerAsync([
      {
        name: CHEESE_CLIENT,
        inject: [ConfigService],
        useFactory: (config: ConfigService<GatewayEnv, true>) =>
          grpcClientOptions('cheese', {
            url: config.get('CHEESE_GRPC_URL', { infer: true }),
            maxMessageBytes: config.get('GRPC_MAX_MESSAGE_BYTES', { infer: true }),
            unaryDeadlineMs: config.get('GATEWAY_DEADLINE_MS', { infer: true }),
          }),
      },
      {
        name: SOCCER_CLIENT,
        inject: [ConfigService],
        useFactory: (config: ConfigService<GatewayEnv, true>) =>
          grpcClientOptions('soccer', {
            url: config.get('SOCCER_GRPC_URL', { infer: true }),
            maxMessageBytes: config.get('GRPC_MAX_MESSAGE_BYTES', { infer: true }),
            unaryDeadlineMs: config.get('GATEWAY_DEADLINE_MS', { infer: true }),
          }),
      },
    ]),
  ],
  exports: [ClientsModule],
})
export class GrpcClientsModule {}
