import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { validateEnv } from '#config';
import { MetricsServerModule, ObservabilityModule } from '#observability';
import { GrpcOperationsModule } from '#grpc';
import { CheeseModule } from './cheese/cheese.module.js';
import { CheeseServiceEnv } from './config/cheese-service.env.js';

@Module({
  imports: [
    ConfigModule.forRoot({
      isGlobal: true,
      ignoreEnvFile: true,
      skipProcessEnv: true,
      validate: validateEnv(CheeseServiceEnv),
    }),
    ObservabilityModule.forApp('cheese-service'),
    MetricsServerModule,
    GrpcOperationsModule.forServices('cheese'),
    CheeseModule,
  ],
})
export class CheeseServiceModule {}
