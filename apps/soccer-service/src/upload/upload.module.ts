import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { SoccerServiceEnv } from '../config/soccer-service.env.js';
import { SoccerMetricsModule } from '../metrics/soccer-metrics.module.js';
import { MatchUploadService } from './match-upload.service.js';
import { StaleUploadSweeper } from './stale-upload-sweeper.js';
import { UPLOAD_LIMITS, type UploadLimits } from './upload-limits.js';
import { UploadController } from './upload.controller.js';
import { UploadsInFlight } from './uploads-in-flight.js';

@Module({
  imports: [SoccerMetricsModule],
  controllers: [UploadController],
  providers: [
    MatchUploadService,
    UploadsInFlight,
    StaleUploadSweeper,
    {
      provide: UPLOAD_LIMITS,
      inject: [ConfigService],
      useFactory: (config: ConfigService<SoccerServiceEnv, true>): UploadLimits => ({
        maxBytes: config.get('MAX_UPLOAD_BYTES', { infer: true }),
        timeoutMs: config.get('UPLOAD_TIMEOUT_MS', { infer: true }),
      }),
    },
  ],
  exports: [UploadsInFlight],
})
export class UploadModule {}
