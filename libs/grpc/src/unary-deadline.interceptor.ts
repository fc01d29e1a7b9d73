import type { Interceptor } from '@grpc/grpc-js';
import { requestedDeadline } from './call-deadline.js';
import { nextCallAsIs } from './next-call-as-is.js';

/**
 * Gives every unary call a deadline unless the caller set one, so no request
 * can hang on a stuck backend: `deadlineMs` from now, or sooner when the
 * code making the call runs with a requested deadline (withRequestedDeadline:
 * an HTTP client's `Grpc-Timeout`), never later. Streaming calls are left
 * alone: how long a match may be watched is not a transport timeout.
 */
export function unaryDeadlineInterceptor(deadlineMs: number): Interceptor {
  return (options, nextCall) => {
    const { requestStream, responseStream } = options.method_definition;
    const isUnary = !requestStream && !responseStream;
    const withDeadline =
      isUnary && options.deadline === undefined
        ? {
            ...options,
            deadline: Math.min(Date.now() + deadlineMs, requestedDeadline() ?? Infinity),
          }
        : options;
    return nextCallAsIs(nextCall(withDeadline));
  };
}
