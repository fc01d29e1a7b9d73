import { Global, Logger, Module, type OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ClientsModule } from '@nestjs/microservices';
import { GrpcTelemetry } from '#observability';
import { describeClientSecurity, grpcClientOptions, TlsMetrics } from '#proto';
import type { GatewayEnv } from '../config/gateway.env.js';
import { backendClientConfig, clientSecurityEnv } from './backend-client-config.js';

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
          grpcClientOptions(
            'soccer',
            backendClientConfig('soccer', config),
            telemetry.clientInterceptors,
          ),
      },
    ]),
  ],
  // The certificates' expiry and reloads (the clients' and the HTTPS listener's).
  providers: [TlsMetrics],
  exports: [ClientsModule],
})
export class GrpcClientsModule implements OnApplicationBootstrap {
  constructor(private readonly config: ConfigService<GatewayEnv, true>) {}

  onApplicationBootstrap(): void {
    // Which of TLS, mTLS and the token are on, never their secrets.
    new Logger('GrpcClients').log(describeClientSecurity(clientSecurityEnv(this.config)));
  }
}
