import { Module } from '@nestjs/common';
import { SoccerMetricsModule } from '../metrics/soccer-metrics.module.js';
import { MatchCatalogService } from './match-catalog.service.js';
import { MatchesController } from './matches.controller.js';
import { WatchService } from './watch.service.js';

@Module({
  imports: [SoccerMetricsModule],
  controllers: [MatchesController],
  providers: [MatchCatalogService, WatchService],
  exports: [MatchCatalogService],
})
export class MatchesModule {}
