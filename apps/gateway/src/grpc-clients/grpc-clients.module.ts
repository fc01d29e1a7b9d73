import { Global, Logger, Module, type OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ClientsModule, type ClientGrpc } from '@nestjs/microservices';
import type { Client } from '@grpc/grpc-js';
import { GrpcTelemetry } from '#observability';
import { cheesefarm, stream } from '#proto';
import { describeClientSecurity, grpcClientOptions, readGateInterceptor, TlsMetrics } from '#grpc';
import type { GatewayEnv } from '../config/gateway.env.js';
import { backendClientConfig, clientSecurityEnv } from './backend-client-config.js';
import type { SoccerRawClient } from './soccer-raw-client.js';

/** The cheese-service `ClientGrpc` (one channel per backend). */
const CHEESE_CLIENT = Symbol('CHEESE_CLIENT');
/** The soccer-service `ClientGrpc`. */
const SOCCER_CLIENT = Symbol('SOCCER_CLIENT');

/** Injection token of the typed `cheesefarm.CheeseService` client (`cheesefarm.CheeseServiceClient`). */
export const CHEESE_SERVICE = Symbol('cheesefarm.CheeseService');
/** Injection token of the typed `stream.Soccer` client (`stream.SoccerClient`: Observables). */
export const SOCCER_SERVICE = Symbol('stream.Soccer');
/** Injection token of the raw grpc-js `cheesefarm.CheeseService` client on the same channel (`Client`). */
export const CHEESE_RAW_CLIENT = Symbol('cheesefarm.CheeseService raw');
/** Injection token of the raw grpc-js `stream.Soccer` client on the same channel (`SoccerRawClient`). */
export const SOCCER_RAW_CLIENT = Symbol('stream.Soccer raw');

/**
 * The gateway's gRPC clients, one channel per backend, built from config,
 * and the typed service clients on them that the rest of the gateway
 * injects (`@Inject(SOCCER_SERVICE) soccer: stream.SoccerClient`).
 */
@Global()
@Module({
  imports: [
    ClientsModule.registerAsync([
      {
        name: CHEESE_CLIENT,
        inject: [ConfigService, GrpcTelemetry],
        useFactory: (config: ConfigService<GatewayEnv, true>, telemetry: GrpcTelemetry) =>
          grpcClientOptions(
            'cheese',
            backendClientConfig('cheese', config),
            telemetry.clientInterceptors,
          ),
      },
      {
        name: SOCCER_CLIENT,
        inject: [ConfigService, GrpcTelemetry],
        useFactory: (config: ConfigService<GatewayEnv, true>, telemetry: GrpcTelemetry) =>
          grpcClientOptions('soccer', backendClientConfig('soccer', config), [
            ...telemetry.clientInterceptors,
            // A live match's shared Watch is read as fast as its viewers take frames.
            readGateInterceptor,
          ]),
      },
    ]),
  ],
  providers: [
    // The certificates' expiry and reloads (the clients' and the HTTPS listener's).
    TlsMetrics,
    {
      provide: CHEESE_SERVICE,
      inject: [CHEESE_CLIENT],
      useFactory: (client: ClientGrpc) =>
        client.getService<cheesefarm.CheeseServiceClient>(cheesefarm.CHEESE_SERVICE_NAME),
    },
    {
      provide: SOCCER_SERVICE,
      inject: [SOCCER_CLIENT],
      useFactory: (client: ClientGrpc) =>
        client.getService<stream.SoccerClient>(stream.SOCCER_SERVICE_NAME),
    },
    {
      provide: CHEESE_RAW_CLIENT,
      inject: [CHEESE_CLIENT],
      useFactory: (client: ClientGrpc) =>
        client.getClientByServiceName<Client>(cheesefarm.CHEESE_SERVICE_NAME),
    },
    {
      provide: SOCCER_RAW_CLIENT,
      inject: [SOCCER_CLIENT],
      useFactory: (client: ClientGrpc) =>
        client.getClientByServiceName<SoccerRawClient>(stream.SOCCER_SERVICE_NAME),
    },
  ],
  exports: [CHEESE_SERVICE, SOCCER_SERVICE, CHEESE_RAW_CLIENT, SOCCER_RAW_CLIENT],
})
export class GrpcClientsModule implements OnApplicationBootstrap {
  constructor(private readonly config: ConfigService<GatewayEnv, true>) {}

  onApplicationBootstrap(): void {
    // Which of TLS, mTLS and the token are on, never their secrets.
    new Logger('GrpcClients').log(describeClientSecurity(clientSecurityEnv(this.config)));
  }
}
