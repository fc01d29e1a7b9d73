import { InterceptingCall, type CallOptions, type Interceptor } from '@grpc/grpc-js';

/**
 * Paces the reading of a server stream by demand. Each message received is
 * held here until `wanted()` is true (at once, or at the next `wake()`);
 * grpc-js asks HTTP/2 for the next message only once this one has been
 * passed on, so while nothing is wanted the call's flow-control window
 * fills and the server stops sending. At most one message waits here.
 * (A paused grpc-js stream would not do: its Readable reads ahead 16 messages.)
 */
export class ReadGate {
  private held: (() => void) | undefined;

  constructor(private readonly wanted: () => boolean) {}

  /** Something may want a message now: the held one goes on if so. */
  wake(): void {
    if (this.held && this.wanted()) this.release();
  }

  /** @internal the message, on now or once wanted. */
  receive(deliver: () => void): void {
    if (this.wanted()) deliver();
    else this.held = deliver;
  }

  /** @internal passes on the held message, if any. */
  release(): void {
    const held = this.held;
    this.held = undefined;
    held?.();
  }
}

/** Call options of a stream read through a ReadGate (readGateInterceptor). */
export interface GatedCallOptions extends CallOptions {
  readGate?: ReadGate;
}

/**
 * The client interceptor behind `GatedCallOptions.readGate`; a call without
 * one passes straight through. The status (the end, an error, a
 * cancellation) first lets a held message go, so the call always ends.
 */
export const readGateInterceptor: Interceptor = (options, nextCall) => {
  const gate = (options as GatedCallOptions).readGate;
  if (!gate) return new InterceptingCall(nextCall(options));
  return new InterceptingCall(nextCall(options), {
    start(metadata, _listener, next) {
      next(metadata, {
        onReceiveMessage(message, deliver) {
          gate.receive(() => deliver(message));
        },
        onReceiveStatus(status, next) {
          gate.release();
          next(status);
        },
      });
    },
  });
};
