import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { validateEnv } from '#config';
import { MetricsServerModule, ObservabilityModule } from '#observability';
import { GrpcOperationsModule } from '#grpc';
import { ChatModule } from './chat/chat.module.js';
import { SoccerServiceEnv } from './config/soccer-service.env.js';
import { MatchesModule } from './matches/matches.module.js';
import { MediaModule } from './media/media.module.js';
import { UploadModule } from './upload/upload.module.js';

@Module({
  imports: [
    ConfigModule.forRoot({
      isGlobal: true,
      ignoreEnvFile: true,
      skipProcessEnv: true,
      validate: validateEnv(SoccerServiceEnv),
    }),
    ObservabilityModule.forApp('soccer-service'),
    MetricsServerModule,
    GrpcOperationsModule.forServices('soccer'),
    MediaModule,
    MatchesModule,
    UploadModule,
    ChatModule,
  ],
})
export class SoccerServiceModule {}
