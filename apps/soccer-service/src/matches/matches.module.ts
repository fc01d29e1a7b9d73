import { Module } from '@nestjs/common';
import { MatchCatalogService } from './match-catalog.service.js';
import { MatchesController } from './matches.controller.js';
import { WatchService } from './watch.service.js';

@Module({
  controllers: [MatchesController],
  providers: [MatchCatalogService, WatchService],
  exports: [MatchCatalogService],
})
export class MatchesModule {}
