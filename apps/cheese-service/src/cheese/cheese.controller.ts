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
    // An order that takes no time has nothing to cancel.
    if (!this.orders.takesTime) return this.orders.order(request.type);
    const controller = new AbortController();
    const abort = () => controller.abort();
    call.once('cancelled', abort);
    // grpc-js emits 'cancelled' after every call, answered ones too: once the
    // order is settled nothing needs aborting (and an abort costs a DOMException).
    return this.orders
      .order(request.type, controller.signal)
      .finally(() => call.off('cancelled', abort));
  }
}
