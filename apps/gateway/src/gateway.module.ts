import { Module, ValidationPipe } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { validateEnv } from '#config';
import { CheeseModule } from './cheese/cheese.module.js';
import { GatewayEnv } from './config/gateway.env.js';
import { ApiExceptionFilter } from './errors/api-exception.filter.js';
import { GrpcClientsModule } from './grpc-clients/grpc-clients.module.js';
import { MatchesModule } from './matches/matches.module.js';
import { WebModule } from './web/web.module.js';

@Module({
  imports: [
    ConfigModule.forRoot({
      isGlobal: true,
      ignoreEnvFile: true,
      validate: validateEnv(GatewayEnv),
    }),
    GrpcClientsModule,
    CheeseModule,
    MatchesModule,
    WebModule,
  ],
  providers: [
    { provide: APP_FILTER, useClass: ApiExceptionFilter },
    {
      provide: APP_PIPE,
      useValue: new ValidationPipe({
        transform: true,
        whitelist: true,
        forbidNonWhitelisted: true,
        stopAtFirstError: true,
      }),
    },
  ],
})
export class GatewayModule {}
