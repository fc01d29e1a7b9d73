import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { SoccerServiceEnv } from '../config/soccer-service.env.js';
import type { MediaTools } from '../media/media-tools.js';
import { MEDIA_TOOLS } from '../media/media.module.js';
import { SoccerMetrics } from '../metrics/soccer-metrics.js';
import { SoccerMetricsModule } from '../metrics/soccer-metrics.module.js';
import { VideoDecoders } from './file/video-decoders.js';
import { MatchCatalogService } from './match-catalog.service.js';
import { MatchesController } from './matches.controller.js';
import { MatchWatchService } from './match-watch.service.js';

@Module({
  imports: [SoccerMetricsModule],
  controllers: [MatchesController],
  providers: [
    MatchCatalogService,
    MatchWatchService,
    {
      provide: VideoDecoders,
      inject: [ConfigService, MEDIA_TOOLS, SoccerMetrics],
      useFactory: (
        config: ConfigService<SoccerServiceEnv, true>,
        tools: MediaTools,
        metrics: SoccerMetrics,
      ) =>
        new VideoDecoders(config.get('VIDEO_DECODER', { infer: true }), tools.ffmpeg, (name) =>
          metrics.decoderOpened(name),
        ),
    },
  ],
  exports: [MatchCatalogService],
})
export class MatchesModule {}
