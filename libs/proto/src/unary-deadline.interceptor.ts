import { InterceptingCall, type Interceptor } from '@grpc/grpc-js';

/**
 * Gives every unary call a deadline unless the caller set one, so no request
 * can hang on a stuck backend. Streaming calls are left alone: how long a
 * match may be watched is not a transport timeout.
 */
export function unaryDeadlineInterceptor(deadlineMs: number): Interceptor {
  return (options, nextCall) => {
    const { requestStream, responseStream } = options.method_definition;
    const isUnary = !requestStream && !responseStream;
    const withDeadline =
      isUnary && options.deadline === undefined
        ? { ...options, deadline: Date.now() + deadlineMs }
        : options;
    return new InterceptingCall(nextCall(withDeadline));
  };
}
