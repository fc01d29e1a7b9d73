import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import { ServerGrpc } from '@nestjs/microservices';
import { isObservable } from 'rxjs';

type UnaryHandler = (request: unknown, metadata: unknown, call: unknown) => Promise<unknown>;
type UnaryMethod = (
  call: ServerUnaryCall<unknown, unknown>,
  callback: sendUnaryData<unknown>,
) => void;

/**
 * Nest's gRPC server, with the answer of a unary call passed to grpc-js
 * straight from the handler's promise. Nest's own path copies the call
 * object (`{...call}`) for processing hooks nobody set and wraps every
 * answer in three Observables; that is a fifth of cheese-service's work per
 * call (docs/benchmarks.md). The handler Nest gives is unchanged (its
 * guards, pipes, interceptors and exception filters run as before), and so
 * is what reaches grpc-js: each value an Observable answer emits, or the
 * value a promise gives. With processing hooks set, Nest's path runs.
 */
export class GrpcServer extends ServerGrpc {
  private hooked = false;

  override setOnProcessingStartHook(...args: Parameters<ServerGrpc['setOnProcessingStartHook']>) {
    this.hooked = true;
    super.setOnProcessingStartHook(...args);
  }

  override setOnProcessingEndHook(...args: Parameters<ServerGrpc['setOnProcessingEndHook']>) {
    this.hooked = true;
    super.setOnProcessingEndHook(...args);
  }

  override createUnaryServiceMethod(methodHandler: UnaryHandler): UnaryMethod {
    const nest = super.createUnaryServiceMethod(methodHandler) as UnaryMethod;
    return (call, callback) => {
      if (this.hooked) return nest(call, callback);
      methodHandler(call.request, call.metadata, call).then(
        (answer) => {
          if (!isObservable(answer)) return callback(null, answer);
          answer.subscribe({
            next: (value) => void Promise.resolve(value).then((v) => callback(null, v)),
            error: (err: unknown) => callback(err as Error),
          });
        },
        (err: unknown) => callback(err as Error),
      );
    };
  }
}
