import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { CheeseController } from './cheese.controller.js';
import { CHEESE_PREP_MS, CheeseOrderService } from './cheese-order.service.js';
import type { CheeseServiceEnv } from '../config/cheese-service.env.js';

@Module({
  controllers: [CheeseController],
  providers: [
    CheeseOrderService,
    {
      provide: CHEESE_PREP_MS,
      inject: [ConfigService],
      useFactory: (config: ConfigService<CheeseServiceEnv, true>): number =>
        config.get('CHEESE_PREP_MS', { infer: true }),
    },
  ],
})
export class CheeseModule {}
