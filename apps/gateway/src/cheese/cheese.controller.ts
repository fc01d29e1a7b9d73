import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { RouteConfig, RouteSchema } from '@nestjs/platform-fastify';
import { ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { SMALL_ANSWERS } from '../http-platform.js';
import { ApiDeadlineHeaders, ApiErrors } from '../openapi/responses.js';
import { CheeseView, CheeseTypesView } from '../openapi/models.js';
import { ApiRateLimited } from '../security/rate-limit.js';
import { CHEESE_TYPES } from './cheese-types.js';
import { CheeseOrderBodyPipe, type CheeseOrder } from './cheese-order-body.pipe.js';
import { CheeseOrdersService } from './cheese-orders.service.js';
import { CreateCheeseOrderDto } from './create-cheese-order.dto.js';

/** CheeseView as JSON Schema, for the order's serializer (openapi.spec checks it against the class). */
export const CHEESE_VIEW_SCHEMA = {
  type: 'object',
  required: ['type', 'age'],
  properties: { type: { type: 'string' }, age: { type: 'integer' } },
};

@ApiTags('cheese')
@ApiRateLimited()
@Controller('v1')
export class CheeseController {
  constructor(private readonly orders: CheeseOrdersService) {}

  /** The cheese types that can be ordered. */
  @Get('cheeses')
  @ApiOperation({ summary: 'The cheese types that can be ordered' })
  @ApiOkResponse({ description: 'the types, by name and enum number', type: CheeseTypesView })
  @ApiErrors({})
  listTypes(): { types: typeof CHEESE_TYPES } {
    return { types: CHEESE_TYPES };
  }

  /** Orders one cheese (cheesefarm.CheeseService/Order). */
  @Post('cheese/orders')
  @HttpCode(200)
  @ApiOperation({ summary: 'Orders one cheese (cheesefarm.CheeseService/Order)' })
  @ApiOkResponse({ description: 'the cheese', type: CheeseView })
  @ApiErrors({
    400: '`INVALID_ARGUMENT`: unknown type, bad JSON, missing or unknown field',
    413: '`RESOURCE_EXHAUSTED`: body over GATEWAY_BODY_LIMIT_BYTES',
    415: '`INVALID_ARGUMENT`: body not `application/json`',
    503: '`UNAVAILABLE`: cheese-service down',
    504: '`DEADLINE_EXCEEDED`: cheese-service slower than GATEWAY_DEADLINE_MS',
  })
  @ApiDeadlineHeaders()
  @ApiBody({ type: CreateCheeseOrderDto })
  // The answer serialized by a compiled serializer (fast-json-stringify), not JSON.stringify.
  @RouteSchema({ response: { 200: CHEESE_VIEW_SCHEMA } })
  @RouteConfig(SMALL_ANSWERS)
  order(@Body(CheeseOrderBodyPipe) order: CheeseOrder): Promise<CheeseView> {
    return this.orders.order(order.type);
  }
}
