import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { SoccerServiceEnv } from '../config/soccer-service.env.js';
import { SoccerMetricsModule } from '../metrics/soccer-metrics.module.js';
import { MatchUploadService, MAX_UPLOAD_BYTES } from './match-upload.service.js';
import { UploadsController } from './uploads.controller.js';

@Module({
  imports: [SoccerMetricsModule],
  controllers: [UploadsController],
  providers: [
    MatchUploadService,
    {
      provide: MAX_UPLOAD_BYTES,
      inject: [ConfigService],
      useFactory: (config: ConfigService<SoccerServiceEnv, true>): number =>
        config.get('MAX_UPLOAD_BYTES', { infer: true }),
    },
  ],
})
export class UploadsModule {}
