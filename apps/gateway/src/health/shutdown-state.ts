import { Injectable } from '@nestjs/common';

/**
 * Whether the gateway has begun shutting down (closeOnSignal sets it on the
 * first signal). From then on `/readyz` answers 503, so load balancers take
 * the gateway out of rotation while it still serves what it gets.
 */
@Injectable()
export class ShutdownState {
  private started = false;

  get shuttingDown(): boolean {
    return this.started;
  }

  begin(): void {
    this.started = true;
  }
}
