import { Module } from '@nestjs/common';
import { ChatModule } from '../chat/chat.module.js';
import { SoccerMetrics } from './soccer-metrics.js';

/** SoccerMetrics on the app's registry (ObservabilityModule), for the modules that count. */
@Module({
  imports: [ChatModule],
  providers: [SoccerMetrics],
  exports: [SoccerMetrics],
})
export class SoccerMetricsModule {}
