import { Controller } from '@nestjs/common';
import type { Metadata, ServerUnaryCall } from '@grpc/grpc-js';
import { cheesefarm } from '#proto';
import { CheeseOrderService } from './cheese-order.service.js';

/** gRPC `cheesefarm.CheeseService`: wiring only, the work is in CheeseOrderService. */
@Controller()
@cheesefarm.CheeseServiceControllerMethods()
export class CheeseController implements cheesefarm.CheeseServiceController {
  constructor(private readonly orders: CheeseOrderService) {}

  order(
    request: cheesefarm.CheeseRequest,
    _metadata: Metadata,
    call: ServerUnaryCall<cheesefarm.CheeseRequest, cheesefarm.Cheese>,
  ): Promise<cheesefarm.Cheese> {
    return this.orders.order(request.type, cancellationSignal(call));
  }
}

/** Aborts when the client cancels the call or its deadline passes. */
function cancellationSignal(call: ServerUnaryCall<unknown, unknown>): AbortSignal {
  const controller = new AbortController();
  call.once('cancelled', () => controller.abort());
  return controller.signal;
}
