import { Module } from '@nestjs/common';
import { CheeseController } from './cheese.controller.js';
import { CheeseOrdersService } from './cheese-orders.service.js';

@Module({
  controllers: [CheeseController],
  providers: [CheeseOrdersService],
})
export class CheeseModule {}
