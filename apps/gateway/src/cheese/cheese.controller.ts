import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { CHEESE_TYPES } from './cheese-types.js';
import { CheeseOrdersService, type CheeseView } from './cheese-orders.service.js';
import { CreateCheeseOrderDto } from './create-cheese-order.dto.js';

@Controller('v1')
export class CheeseController {
  constructor(private readonly orders: CheeseOrdersService) {}

  /** The cheese types that can be ordered. */
  @Get('cheeses')
  listTypes(): { types: typeof CHEESE_TYPES } {
    return { types: CHEESE_TYPES };
  }

  /** Orders one cheese (cheesefarm.CheeseService/Order). */
  @Post('cheese/orders')
  @HttpCode(200)
  order(@Body() dto: CreateCheeseOrderDto): Promise<CheeseView> {
    return this.orders.order(dto.type);
  }
}
