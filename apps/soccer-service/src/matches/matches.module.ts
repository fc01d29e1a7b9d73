import { Module } from '@nestjs/common';
import { SoccerMetricsModule } from '../metrics/soccer-metrics.module.js';
import { MatchCatalogService } from './match-catalog.service.js';
import { MatchesController } from './matches.controller.js';
import { MatchWatchService } from './match-watch.service.js';

@Module({
  imports: [SoccerMetricsModule],
  controllers: [MatchesController],
  providers: [MatchCatalogService, MatchWatchService],
  exports: [MatchCatalogService],
})
export class MatchesModule {}
