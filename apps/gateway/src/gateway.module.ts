import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { validateEnv } from '#config';
import { ObservabilityModule } from '#observability';
import { ChatSocketModule } from './chat-socket/chat-socket.module.js';
import { CheeseModule } from './cheese/cheese.module.js';
import { GatewayEnv } from './config/gateway.env.js';
import { ApiExceptionFilter } from './errors/api-exception.filter.js';
import { GrpcClientsModule } from './grpc-clients/grpc-clients.module.js';
import { HealthModule } from './health/health.module.js';
import { MatchesModule } from './matches/matches.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { RpcWebModule } from './rpc-web/rpc-web.module.js';
import { SecurityModule } from './security/security.module.js';
import { createValidationPipe } from './validation-pipe.js';
import { WebModule } from './web/web.module.js';

@Module({
  imports: [
    ConfigModule.forRoot({
      isGlobal: true,
      ignoreEnvFile: true,
      skipProcessEnv: true,
      validate: validateEnv(GatewayEnv),
    }),
    ObservabilityModule.forApp('gateway'),
    SecurityModule,
    GrpcClientsModule,
    CheeseModule,
    MatchesModule,
    RpcWebModule,
    ChatSocketModule,
    HealthModule,
    MetricsModule,
    WebModule,
  ],
  providers: [
    { provide: APP_FILTER, useClass: ApiExceptionFilter },
    { provide: APP_PIPE, useValue: createValidationPipe() },
  ],
})
export class GatewayModule {}
